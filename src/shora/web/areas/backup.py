"""Key backups held by trusted members (docs/protocol.md §9.2): on a member's backup
page, leaving a backup with k of n members they trust, seeing the shares they hold for
others and releasing one to its owner's recovery request; on a new profile, restoring
the keys from released shares and the passphrase. Domain: shora.services.backup."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import InvalidInput, NotAllowed, NotFound
from shora.i18n import _, digits
from shora.node import CouncilInfo
from shora.services import backup, recovery
from shora.web.forms import TOKEN_CHARS, council_of, form_of, hex_id, integer, text
from shora.web.responses import keeper_of, node_of, pages_of

PASSPHRASE_CHARS = 1000
SHARES_CHARS = 16 * backup.MAX_SHARE_TEXT


async def settings(request: Request) -> Response:
    """The member's key backup: make one (choose k of n trusted members), and the
    shares of others' backups this profile holds."""
    node = node_of(request)
    info = council_of(request, node)
    if request.method == "GET":
        return _settings_page(request, info, {}, None, None, 200)
    form = await form_of(request)
    chosen = sorted({str(v) for v in form.getlist("trusted")})
    values = {"needed": text(form, "needed", 4, required=False), "trusted": ",".join(chosen)}
    try:
        trusted = [hex_id(v) for v in chosen]
        needed = integer(values["needed"], 2, 1, 16)
        passphrase = str(form.get("passphrase") or "")
        if not passphrase or len(passphrase) > PASSPHRASE_CHARS:
            raise InvalidInput(_("Please type your passphrase."))
        if passphrase != str(form.get("again") or ""):
            raise InvalidInput(_("The two passphrases differ; type them again."))
        if keeper_of(request).insecure_test_kdf:
            node.backup.deposit(info.id, trusted, needed, passphrase, backup.INSECURE_TEST_KDF)
        else:
            node.backup.deposit(info.id, trusted, needed, passphrase)
    except (InvalidInput, NotFound) as exc:
        return _settings_page(request, info, values, str(exc), None, 400)
    done = _(
        "Your backup is with {n} members; any {needed} of them, with your passphrase, "
        "can give your keys back. Sync to send it to them."
    ).format(n=digits(str(len(set(trusted)))), needed=digits(str(needed)))
    return _settings_page(request, info, {}, None, done, 200)


def _settings_page(
    request: Request,
    info: CouncilInfo,
    values: dict[str, str],
    error: str | None,
    done: str | None,
    status: int,
) -> Response:
    node = node_of(request)
    council = info.id
    others = [m for m in node.councils.members(council) if m.status == "active" and not m.me]
    context = {
        "council": info,
        "others": others,
        "held": node.backup.held(council),
        "values": values,
        "chosen": set(values.get("trusted", "").split(",")),
        "error": error,
        "done": done,
    }
    return pages_of(request).render(request, "backup/settings.html", context, status)


async def release(request: Request) -> Response:
    """Give one's share of a backup to the recovery request of its owner: first who
    asks to replace whom, then (confirmed) the share as text to give them."""
    node = node_of(request)
    info = council_of(request, node)
    form = await form_of(request)
    values = {"request": text(form, "request", TOKEN_CHARS, required=False)}
    try:
        signed = recovery.read_recovery_request(values["request"])
        asked = node.recovery.open(signed)
        if asked.council != info.id:
            raise InvalidInput(_("That recovery request is for another council."))
        if text(form, "confirm", 8, required=False) != "yes":
            context = {"council": info, "asked": asked, "values": values}
            return pages_of(request).render(request, "backup/confirm.html", context)
        share = node.backup.release(signed)
    except (InvalidInput, NotFound, NotAllowed) as exc:
        return _settings_page(request, info, {}, str(exc), None, 400)
    context = {"council": info, "asked": asked, "share": share}
    return pages_of(request).render(request, "backup/released.html", context)


async def restore(request: Request) -> Response:
    """On a new profile that asked for its place back: the keys from the shares the
    trusted members released, with the passphrase of the lost profile."""
    node = node_of(request)
    if request.method == "GET":
        return _restore_page(request, {}, None, 200)
    form = await form_of(request)
    values = {"shares": text(form, "shares", SHARES_CHARS, required=False)}
    try:
        texts = values["shares"].split()
        if not texts:
            raise InvalidInput(_("Please paste the shares your trusted members gave you."))
        passphrase = str(form.get("passphrase") or "")
        if not passphrase or len(passphrase) > PASSPHRASE_CHARS:
            raise InvalidInput(_("Please type your passphrase."))
        council = node.backup.restore(texts, passphrase)
    except InvalidInput as exc:
        return _restore_page(request, values, str(exc), 400)
    context = {"council": node.councils.get(council)}
    return pages_of(request).render(request, "backup/restored.html", context)


def _restore_page(
    request: Request, values: dict[str, str], error: str | None, status: int
) -> Response:
    context = {"values": values, "error": error}
    return pages_of(request).render(request, "backup/restore.html", context, status)


routes: list[BaseRoute] = [
    Route("/councils/{council}/backup", settings, methods=["GET", "POST"]),
    Route("/councils/{council}/backup/release", release, methods=["POST"]),
    Route("/recover/restore", restore, methods=["GET", "POST"]),
]
