"""The skills register: a pure function of the valid ``skill.*`` events. See docs/aid.md
("Skills").

Each member's latest ``skill.set``, ``skill.sealed`` or ``skill.withdraw`` by (clock,
id) is their entry; a withdrawal leaves the register. Only active members are listed.

An entry for coordinators only is a ``skill.sealed``: the node opens those it can (it
is a recipient) into ``skill.set`` views before folding; one it cannot open hides the
member's entry from this viewer, earlier entries included. On top of the encryption,
an entry with visibility ``coordinators`` is shown only to the holders of the role
``coordinator`` at the time of the query and to the member themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Set

import msgspec

from shora.domain.care import kinds as ck
from shora.domain.decisions.state import EventView

COORDINATOR = "coordinator"


class SkillEntry(msgspec.Struct, frozen=True):
    member: bytes
    event: bytes
    time: int  # ms, claimed
    skills: tuple[str, ...]  # in the register's order, each once
    note: str
    visibility: str


def reduce_skills(events: Iterable[EventView], members: Set[bytes]) -> dict[bytes, SkillEntry]:
    """Each active member's current entry (any order of events, duplicates too)."""
    latest: dict[bytes, EventView] = {}
    for e in {e.id: e for e in events}.values():
        if e.kind not in ck.SKILL_KINDS:
            continue
        seen = latest.get(e.author)
        if seen is None or e.order > seen.order:
            latest[e.author] = e
    entries: dict[bytes, SkillEntry] = {}
    for member, e in sorted(latest.items()):
        if e.kind != "skill.set" or member not in members:
            continue  # withdrawn, or sealed to others
        body: ck.SkillSet = e.body
        skills = tuple(s for s in ck.SKILLS if s in body.skills)
        entries[member] = SkillEntry(member, e.id, e.time, skills, body.note, body.visibility)
    return entries


def visible_to(
    entries: Iterable[SkillEntry], viewer: bytes, coordinators: Set[bytes]
) -> list[SkillEntry]:
    """The entries `viewer` may see, by member key."""
    return sorted(
        (
            e
            for e in entries
            if e.visibility == "council" or viewer == e.member or viewer in coordinators
        ),
        key=lambda e: e.member,
    )
