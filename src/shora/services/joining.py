"""Joining by link or QR code: one scan or one link each way. See docs/web.md, "Joining".

An invitation travels as a link to the join page of the newcomer's own node, and a
join request as a link to the admit page of a member's node:

    http://127.0.0.1:8150/join#shora:invite/BASE32?council=Block%204%20committee
    http://127.0.0.1:8150/admit#shora:join/BASE32

A phone camera hands such a link to the browser, which opens the page of the node on
that device (8150 is `shora serve`'s default port). The token is in the fragment,
which a browser never sends: no server, proxy or log along the way sees it; the page's
script moves it into the form. `council=` is the council's name as the inviter's node
knows it, only to show the newcomer while they wait; the council's own events replace
it once they are admitted. Everything that reads an invitation or a join request also
takes the plain `shora:invite/...` and `shora:join/...` text, and the text in blocks.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote

import segno

from shora.errors import InvalidInput
from shora.i18n import _
from shora.kernel import tokens
from shora.kernel.core import NodeCore

if TYPE_CHECKING:
    from shora.node import Node

LINK_PORT = 8150  # shora serve's default port (shora.web.DEFAULT_PORT)
LINK_BASE = f"http://127.0.0.1:{LINK_PORT}"
MAX_NAME_IN_LINK = 60  # characters of the council's name a link carries
MAX_LINK_CHARS = tokens.MAX_TEXT_CHARS + 1024


def invitation_link(invitation: tokens.Invitation, council_name: str = "") -> str:
    """The invitation as a link to the newcomer's own join page (token in the fragment)."""
    link = f"{LINK_BASE}/join#{tokens.invitation_uri(invitation)}"
    name = council_name.strip()[:MAX_NAME_IN_LINK]
    return link + (f"?council={quote(name, safe='')}" if name else "")


def join_request_link(signed: bytes) -> str:
    """The join request as a link to a member's admit page (token in the fragment)."""
    return f"{LINK_BASE}/admit#{tokens.join_request_text(signed)}"


def _token_of(text: str) -> tuple[str, str]:
    """The token and the rest ("council=..."), from a link, a fragment or plain text."""
    if len(text) > MAX_LINK_CHARS:
        raise InvalidInput(_("That text is too long to be an invitation or a join request."))
    text = text.strip()
    if "#" in text:
        text = text.split("#", 1)[1]
    token, _sep, rest = text.partition("?")
    return token, rest


def read_invitation(text: str) -> tuple[tokens.Invitation, str]:
    """An invitation as a link, a fragment or text, and the council's name it carries
    ("" if none); InvalidInput if the token is bad."""
    token, rest = _token_of(text)
    name = parse_qs(rest).get("council", [""])[0][:MAX_NAME_IN_LINK]
    return tokens.parse_invitation(token), name.strip()


def read_join_request(text: str) -> bytes:
    """A join request as a link, a fragment or text; InvalidInput if it is bad."""
    token, _rest = _token_of(text)
    return tokens.parse_join_request_text(token)


def qr_svg(link: str) -> str:
    """A QR code of the link as SVG (paths only: no script, no style), sized by CSS."""
    out = io.BytesIO()
    segno.make(link, error="m", micro=False).save(out, kind="svg", scale=4, xmldecl=False)
    return out.getvalue().decode("utf-8")


def qr_png(link: str, path: str) -> None:
    segno.make(link, error="m", micro=False).save(path, kind="png", scale=8)


def expect_name(node: Node, council: bytes, name: str) -> None:
    """While joining, call the council by the name its invitation gave (the council's
    own events replace it once they arrive)."""
    if name:
        node.store.execute(
            "UPDATE councils SET name=? WHERE id=? AND status='joining' AND name=''",
            (name, council),
        )


def pending_request(node: Node, council: bytes) -> bytes | None:
    """This profile's join request to a council it is still waiting to enter."""
    found = node.store.one(
        "SELECT request FROM councils WHERE id=? AND status='joining'", (council,)
    )
    return bytes(found) if found is not None else None


class Joining:
    """Joining by link or QR code."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
