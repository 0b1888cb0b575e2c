"""Shared stocks and the skills register on a node: writers that check their input in
the person's language, and readers over the valid events through the pure reducers of
`shora.domain.care.stocks` and `shora.domain.care.skills`. See docs/aid.md.
"""

from __future__ import annotations

import msgspec

from shora.domain.care import kinds as ck
from shora.domain.care import kinds as kinds  # re-exported for the pages and commands
from shora.domain.care import stocks
from shora.domain.care.skills import COORDINATOR, SkillEntry, reduce_skills, visible_to
from shora.domain.care.stocks import StockItem as StockItem
from shora.domain.decisions.state import MS, EventView
from shora.errors import InvalidInput, NotFound
from shora.i18n import _, normalize_persian, number
from shora.kernel.core import NodeCore
from shora.services.aid import MIN_ID_PREFIX, Aid, check_category, check_quantity, views
from shora.services.restricted import Opener, Restricted

SKILL_PURPOSE = b"skill.set"
_skill_decoder = msgspec.msgpack.Decoder(ck.SkillSet)


def _check_text(text: str, limit: int) -> str:
    if len(text) > limit:
        raise InvalidInput(_("too long: at most {n} characters").format(n=number(limit)))
    return text


def _opened(opener: Opener, e: EventView) -> EventView:
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


class Care:
    """Shared stocks and the skills register."""

    def __init__(self, core: NodeCore, restricted: Restricted, aid: Aid) -> None:
        self.core = core
        self.restricted = restricted
        self.aid = aid

    def _check_expiry(self, expires: int | None) -> None:
        if expires is not None and expires <= int(self.core.now()):
            raise InvalidInput(_("the expiry must be in the future"))

    def stocks_state(self, council: bytes) -> stocks.StocksState:
        return stocks.reduce_stocks(views(self.core, council, ("stock.add", "stock.draw")))

    def find_stock(self, council: bytes, ref: str) -> bytes:
        """A stock item by its name (if one item has it) or a prefix of its id."""
        items = self.stocks_state(council).items.values()
        wanted = normalize_persian(ref).casefold()
        by_name = [i.id for i in items if normalize_persian(i.item).casefold() == wanted]
        by_id = [
            i.id for i in items if len(wanted) >= MIN_ID_PREFIX and i.id.hex().startswith(wanted)
        ]
        found = by_name if len(by_name) == 1 else by_id
        if len(found) != 1:
            raise NotFound(
                _("no single stock item here is named or numbered {ref}").format(ref=ref)
            )
        return found[0]

    def add_stock(
        self,
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
        self.restricted.require_member(council)
        item = normalize_persian(item)
        if not item:
            raise InvalidInput(_("give the item: what is in stock"))
        body = ck.StockAdd(
            item=_check_text(item, 200),
            category=check_category(category),  # type: ignore[arg-type]
            unit=_check_text(unit.strip(), 200),
            area=self.aid.check_area(council, area.strip().lower()),
            quantity=check_quantity(quantity),
            expires=expires,
            note=_check_text(note, 200),
        )
        self._check_expiry(expires)
        return self.core.append(council, "stock.add", body)

    def restock(
        self,
        council: bytes,
        stock: bytes,
        quantity: int,
        *,
        expires: int | None = None,
        note: str = "",
    ) -> bytes:
        """Add a lot to a stock item."""
        self.restricted.require_member(council)
        if stock not in self.stocks_state(council).items:
            raise NotFound(_("no such stock item in this council"))
        self._check_expiry(expires)
        body = ck.StockAdd(
            stock=stock,
            quantity=check_quantity(quantity),
            expires=expires,
            note=_check_text(note, 200),
        )
        return self.core.append(council, "stock.add", body)

    def draw_stock(
        self,
        council: bytes,
        stock: bytes,
        quantity: int,
        *,
        need: bytes | None = None,
        lot: bytes | None = None,
        note: str = "",
    ) -> bytes:
        """Take from a stock item, optionally for a need, optionally from one lot."""
        self.restricted.require_member(council)
        now = int(self.core.now())
        item = self.stocks_state(council).items.get(stock)
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
        if need is not None and need not in self.aid.state(council, now).needs:
            raise NotFound(_("no such need in this council"))
        body = ck.StockDraw(
            stock=stock, quantity=quantity, need=need, lot=lot, note=_check_text(note, 200)
        )
        return self.core.append(council, "stock.draw", body)

    def set_skills(
        self, council: bytes, skills: list[str], note: str = "", visibility: str = "council"
    ) -> bytes:
        """Put oneself in the skills register (replacing one's earlier entry)."""
        self.restricted.require_member(council)
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
            return self.core.append(council, "skill.set", body)
        plain = msgspec.msgpack.encode(body)
        sealed = self.restricted.seal_for(council, "coordinators", plain, SKILL_PURPOSE)
        return self.core.append(council, "skill.sealed", ck.SkillSealed(sealed))

    def withdraw_skills(self, council: bytes) -> bytes:
        me = self.restricted.require_member(council)
        if me not in self.skill_entries(council):
            raise NotFound(_("you are not in the skills register"))
        return self.core.append(council, "skill.withdraw", ck.SkillWithdraw())

    def skill_entries(self, council: bytes) -> dict[bytes, SkillEntry]:
        """Every entry this member can read, whatever its visibility: for this module's
        checks and for `skills`, which filters by role."""
        state = self.core.state(council)
        events = views(self.core, council, tuple(ck.SKILL_KINDS))
        if any(e.kind == "skill.sealed" for e in events):
            opener = self.restricted.opener(council)
            events = [_opened(opener, e) for e in events]
        return reduce_skills(events, frozenset(state.active_members()))

    def coordinators(self, council: bytes, now: int) -> frozenset[bytes]:
        """The holders of the role "coordinator" at `now` (unix seconds)."""
        state = self.core.state(council)
        return state.role_holders(COORDINATOR, now * MS)

    def skills(self, council: bytes, now: int, *, skill: str | None = None) -> list[SkillEntry]:
        """The register as this profile's member may see it at `now`: entries visible to
        coordinators only are left out unless they hold the role (or it is their own)."""
        me = self.restricted.my_key(council)
        shown = visible_to(
            self.skill_entries(council).values(), me, self.coordinators(council, now)
        )
        if skill is not None:
            shown = [e for e in shown if skill in e.skills]
        return shown
