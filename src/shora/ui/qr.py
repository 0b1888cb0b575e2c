"""QR codes for the interfaces: a link or an invitation drawn as SVG (for pages and
files) or PNG (for files). segno is imported only when a code is drawn: most commands
never draw one."""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

from shora.services.joining import Invitation, invitation_uri

if TYPE_CHECKING:
    import segno


def code(text: str) -> segno.QRCode:
    import segno  # only when a QR code is drawn

    return segno.make(text, error="m", micro=False)


def qr_svg(link: str) -> str:
    """A QR code of the link as SVG (paths only: no script, no style), sized by CSS."""
    out = io.BytesIO()
    code(link).save(out, kind="svg", scale=4, xmldecl=False)
    return out.getvalue().decode("utf-8")


def qr_png(link: str, path: str | os.PathLike[str]) -> None:
    code(link).save(os.fspath(path), kind="png", scale=8)


def invitation_qr(inv: Invitation) -> segno.QRCode:
    # Upper case keeps the whole URI in QR alphanumeric mode, about 40% denser than
    # byte mode; URI schemes are case-insensitive and parse_invitation accepts it.
    return code(invitation_uri(inv).upper())


def invitation_qr_svg(inv: Invitation) -> str:
    """A standalone SVG document with no external references."""
    out = io.BytesIO()
    invitation_qr(inv).save(out, kind="svg", scale=4, xmldecl=False)
    return out.getvalue().decode("utf-8")


def invitation_qr_png(inv: Invitation, path: str | os.PathLike[str]) -> None:
    invitation_qr(inv).save(os.fspath(path), kind="png", scale=8)
