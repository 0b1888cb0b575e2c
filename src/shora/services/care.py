"""Shared stocks and the skills register on a node: writers that check their input in
the person's language, and readers over the valid events through the pure reducers of
`shora.domain.care.stocks` and `shora.domain.care.skills`. See docs/aid.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from shora.domain.aid import kinds as ak
from shora.domain.care import kinds as ck
from shora.domain.care import stocks
from shora.domain.care.skills import COORDINATOR, SkillEntry, reduce_skills, visible_to
from shora.domain.decisions.state import MS, EventView
from shora.errors import InvalidInput, NotFound
from shora.i18n import _, normalize_persian, number
from shora.kernel.core import NodeCore
from shora.services import aid, restricted
from shora.services.decisions import MIN_ID_PREFIX, _me, _require_member, _views

if TYPE_CHECKING:
    from shora.node import Node

SKILL_PURPOSE = b"skill.set"
_skill_decoder = msgspec.msgpack.Decoder(ck.SkillSet)


def check_category(value: str) -> str:
    text = value.strip().lower()
    if text not in ak.CATEGORIES:
        raise InvalidInput(
            _("unknown category: {value}; the categories are: {categories}").format(
                value=value, categories=", ".join(ak.CATEGORIES)
            )
        )
    return text


def check_quantity(quantity: int) -> int:
    if not 1 <= quantity <= ak.MAX_QUANTITY:
        raise InvalidInput(
            _("a quantity is a whole number from 1 to {high}, not {value}").format(
                high=number(ak.MAX_QUANTITY), value=number(quantity)
            )
        )
    return quantity


def check_area(node: Node, council: bytes, area: str) -> str:
    known = aid.areas(node, council)
    if known is None:
        raise InvalidInput(_("this council has no areas yet: define them with 'shora areas'"))
    if area not in known.ids:
        raise InvalidInput(
            _("unknown area: {area}; the areas are: {areas}").format(
                area=area, areas=", ".join(sorted(known.ids))
            )
        )
    return area


def _check_expiry(node: Node, expires: int | None) -> None:
    if expires is not None and expires <= int(node.now()):
        raise InvalidInput(_("the expiry must be in the future"))


def _check_text(text: str, limit: int) -> str:
    if len(text) > limit:
        raise InvalidInput(_("too long: at most {n} characters").format(n=number(limit)))
    return text


# --- stocks -----------------------------------------------------------------------------


def stocks_state(node: Node, council: bytes) -> stocks.StocksState:
    return stocks.reduce_stocks(
        _views(node, "council=? AND kind IN ('stock.add', 'stock.draw')", (council,))
    )


def find_stock(node: Node, council: bytes, ref: str) -> bytes:
    """A stock item by its name (if one item has it) or a prefix of its id."""
    items = stocks_state(node, council).items.values()
    wanted = normalize_persian(ref).casefold()
    by_name = [i.id for i in items if normalize_persian(i.item).casefold() == wanted]
    by_id = [i.id for i in items if len(wanted) >= MIN_ID_PREFIX and i.id.hex().startswith(wanted)]
    found = by_name if len(by_name) == 1 else by_id
    if len(found) != 1:
        raise NotFound(_("no single stock item here is named or numbered {ref}").format(ref=ref))
    return found[0]


def add_stock(
    node: Node,
    council: bytes,
    *,
    item: str,
    category: str,
    quantity: int,
    area: str,
    unit: str = "",
    expires: int | None = None,
    note: str = "",
) -> bytes:
    """Start a stock item with its first lot; its id is the returned one."""
    _require_member(node, council)
    item = normalize_persian(item)
    if not item:
        raise InvalidInput(_("give the item: what is in stock"))
    body = ck.StockAdd(
        item=_check_text(item, 200),
        category=check_category(category),  # type: ignore[arg-type]
        unit=_check_text(unit.strip(), 200),
        area=check_area(node, council, area.strip().lower()),
        quantity=check_quantity(quantity),
        expires=expires,
        note=_check_text(note, 200),
    )
    _check_expiry(node, expires)
    return node.append(council, "stock.add", body)


def restock(
    node: Node,
    council: bytes,
    stock: bytes,
    quantity: int,
    *,
    expires: int | None = None,
    note: str = "",
) -> bytes:
    """Add a lot to a stock item."""
    _require_member(node, council)
    if stock not in stocks_state(node, council).items:
        raise NotFound(_("no such stock item in this council"))
    _check_expiry(node, expires)
    body = ck.StockAdd(
        stock=stock, quantity=check_quantity(quantity), expires=expires, note=_check_text(note, 200)
    )
    return node.append(council, "stock.add", body)


def draw_stock(
    node: Node,
    council: bytes,
    stock: bytes,
    quantity: int,
    *,
    need: bytes | None = None,
    lot: bytes | None = None,
    note: str = "",
) -> bytes:
    """Take from a stock item, optionally for a need, optionally from one lot."""
    _require_member(node, council)
    now = int(node.now())
    item = stocks_state(node, council).items.get(stock)
    if item is None:
        raise NotFound(_("no such stock item in this council"))
    check_quantity(quantity)
    if lot is not None:
        chosen = [x for x in item.lots if x.id == lot]
        if not chosen:
            raise NotFound(_("this stock item has no such lot"))
        there = chosen[0].remaining
    else:
        there = item.available(now)
    if quantity > there:
        raise InvalidInput(
            _("only {n} {unit} in stock: cannot draw {quantity}").format(
                n=number(there), unit=item.unit, quantity=number(quantity)
            )
        )
    if need is not None and need not in aid.state(node, council, now).needs:
        raise NotFound(_("no such need in this council"))
    body = ck.StockDraw(
        stock=stock, quantity=quantity, need=need, lot=lot, note=_check_text(note, 200)
    )
    return node.append(council, "stock.draw", body)


# --- skills -----------------------------------------------------------------------------


def set_skills(
    node: Node, council: bytes, skills: list[str], note: str = "", visibility: str = "council"
) -> bytes:
    """Put oneself in the skills register (replacing one's earlier entry)."""
    _require_member(node, council)
    chosen = []
    for skill in skills:
        text = skill.strip().lower()
        if text not in ck.SKILLS:
            raise InvalidInput(
                _("unknown skill: {value}; the skills are: {skills}").format(
                    value=skill, skills=", ".join(ck.SKILLS)
                )
            )
        if text not in chosen:
            chosen.append(text)
    if not chosen:
        raise InvalidInput(_("name at least one skill"))
    if visibility not in ("council", "coordinators"):
        raise InvalidInput(_("visibility is council or coordinators"))
    body = ck.SkillSet(chosen, _check_text(note, 500), visibility)  # type: ignore[arg-type]
    if visibility == "council":
        return node.append(council, "skill.set", body)
    plain = msgspec.msgpack.encode(body)
    sealed = restricted.seal_for(node, council, "coordinators", plain, SKILL_PURPOSE)
    return node.append(council, "skill.sealed", ck.SkillSealed(sealed))


def withdraw_skills(node: Node, council: bytes) -> bytes:
    me = _require_member(node, council)
    if me not in skill_entries(node, council):
        raise NotFound(_("you are not in the skills register"))
    return node.append(council, "skill.withdraw", ck.SkillWithdraw())


def _opened(opener: restricted.Opener, e: EventView) -> EventView:
    """A sealed entry as a ``skill.set`` view if this member can open it (else as it is)."""
    if e.kind != "skill.sealed":
        return e
    plain = opener.open(e.body.sealed, SKILL_PURPOSE, e.author)
    try:
        body = None if plain is None else _skill_decoder.decode(plain)
    except (msgspec.DecodeError, UnicodeDecodeError):
        body = None  # sealed by a member, but not a valid entry: it stays hidden
    if body is None or body.visibility != "coordinators":
        return e
    return EventView(e.id, e.author, e.clock, e.time, "skill.set", body)


def skill_entries(node: Node, council: bytes) -> dict[bytes, SkillEntry]:
    """Every entry this member can read, whatever its visibility: for this module's
    checks and for `skills`, which filters by role."""
    state = node.ingestor.projection.final_state(council)
    marks = ",".join("?" * len(ck.SKILL_KINDS))
    events = _views(node, f"council=? AND kind IN ({marks})", (council, *ck.SKILL_KINDS))
    if any(e.kind == "skill.sealed" for e in events):
        opener = restricted.Opener(node, council)
        events = [_opened(opener, e) for e in events]
    return reduce_skills(events, frozenset(state.active_members()))


def coordinators(node: Node, council: bytes, now: int) -> frozenset[bytes]:
    """The holders of the role "coordinator" at `now` (unix seconds)."""
    state = node.ingestor.projection.final_state(council)
    return state.role_holders(COORDINATOR, now * MS)


def skills(node: Node, council: bytes, now: int, *, skill: str | None = None) -> list[SkillEntry]:
    """The register as this profile's member may see it at `now`: entries visible to
    coordinators only are left out unless they hold the role (or it is their own)."""
    me = _me(node, council)
    shown = visible_to(skill_entries(node, council).values(), me, coordinators(node, council, now))
    if skill is not None:
        shown = [e for e in shown if skill in e.skills]
    return shown


class Care:
    """Shared stocks and the skills register."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
