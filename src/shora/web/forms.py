"""Reading what a page sends: bounded text fields and ids, with translated errors.

Every field has a hard size limit; a bad value raises InvalidInput, which the app
shows on the page (the form keeps what was typed) and the API as a 400 answer.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request

from shora.errors import InvalidInput, NotFound
from shora.i18n import _, normalize_digits, set_time_zone
from shora.node import CouncilInfo, Node
from shora.ui.labels import set_council_roles
from shora.web.responses import keeper_of

NAME_CHARS = 120  # a council's name (kernel.kinds.Name)
PERSON_CHARS = 64  # a member's name in a council
TITLE_CHARS = 200
REASON_CHARS = 1000
TEXT_CHARS = 20_000
TOKEN_CHARS = 8_000  # invitations and join requests, as text
MAX_FIELDS = 50


async def form_of(request: Request) -> FormData:
    return await request.form(max_fields=MAX_FIELDS, max_files=1)


def text(form: FormData, name: str, limit: int = NAME_CHARS, *, required: bool = True) -> str:
    """A text field, stripped; InvalidInput if missing (when required) or too long."""
    value = form.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(_("{field} must be text.").format(field=name))
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(_("Please fill in every required field."))
    if len(value) > limit:
        raise InvalidInput(_("That text is too long (at most {n} characters).").format(n=limit))
    return value


def integer(value: str | None, default: int, low: int, high: int) -> int:
    """A whole number from a query or form value (Persian digits welcome), within bounds."""
    if value is None or not value.strip():
        return default
    try:
        n = int(normalize_digits(value.strip()))
    except ValueError:
        raise InvalidInput(_("{value} is not a whole number.").format(value=value[:20])) from None
    if not low <= n <= high:
        raise InvalidInput(_("{value} is out of range.").format(value=value[:20]))
    return n


def hex_id(value: str, size: int = 32) -> bytes:
    """An id written as hex; NotFound if it cannot be one."""
    if len(value) != 2 * size:
        raise NotFound(_("No such page."))
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise NotFound(_("No such page.")) from None


def council_of(request: Request, node: Node) -> CouncilInfo:
    """The council named by the path's {council} (its hex id), if this profile has it.

    Kept until the database changes (a write here, or a commit by another connection
    such as the command line): counting a large council's events costs milliseconds,
    and every page of the council starts here.
    """
    council = hex_id(str(request.path_params["council"]))
    cache: dict[bytes, tuple[tuple[int, int, int], CouncilInfo, dict[str, str]]]
    cache = keeper_of(request).councils
    version = (id(node), *node.councils.version())
    found = cache.get(council)
    if found is not None and found[0] == version:
        info, roles = found[1], found[2]
    else:
        info = node.councils.get(council)
        roles = node.governance.council_roles(council)
        cache[council] = (version, info, roles)
    # The council's times are shown and read in its zone, and its own roles by their
    # names, for the rest of the request (the security middleware starts every request
    # in UTC, with no council's roles).
    set_time_zone(info.rules.time_zone if info.rules is not None else "")
    set_council_roles(roles)
    return info
