"""Decisions as plain JSON-ready data (for ``--json`` and, later, the web interface)."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Any

import msgspec

from shora.domain.decisions import kinds as dk
from shora.domain.decisions.state import ProposalState, TaskState, phase


def plain(value: Any) -> Any:
    """Tally results and ballots as JSON values: fractions as "n/d", decimals as text."""
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, msgspec.Struct):
        return plain(msgspec.to_builtins(value))
    if hasattr(value, "__dataclass_fields__"):
        return {name: plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def ballot_json(ballot: dk.Ballot) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(ballot)
    return data


def state_json(state: ProposalState, me: bytes | None, now: float) -> dict[str, Any]:
    mine = state.ballot_of(me) if me is not None else None
    return {
        "id": state.id.hex(),
        "author": state.author.hex(),
        "time_ms": state.time,
        "title": state.body.title,
        "text": state.text,
        "original_text": state.body.text,
        "method": state.body.method,
        "options": list(state.body.options),
        "parameters": msgspec.to_builtins(state.body),
        "action": msgspec.to_builtins(state.action) if state.action is not None else None,
        "deadline": state.body.deadline,
        "closes_at": state.closes_at,
        "phase": phase(state, now),
        "final": state.final,
        "closed_by": state.closed_by.hex() if state.closed_by else None,
        "eligible": len(state.eligible),
        "ballots": len(state.ballots),
        "ignored": {"late": state.late, "ineligible": state.ineligible, "invalid": state.invalid},
        "my_ballot": ballot_json(mine.ballot) if mine is not None else None,
        "quorum": plain(state.quorum),
        "passed": state.passed,
        "winners": list(state.winners),
        "result": plain(state.result),
        "problem": state.problem,
        "amendments": [
            {
                "id": a.id.hex(),
                "author": a.author.hex(),
                "text": a.text,
                "reason": a.reason,
                "accepted": a.accepted,
            }
            for a in state.amendments
        ],
        "outcomes": [
            {"id": i.hex(), "author": a.hex(), "statement": s} for i, a, s in state.outcomes
        ],
    }


def task_json(task: TaskState) -> dict[str, Any]:
    return {
        "id": task.id.hex(),
        "author": task.author.hex(),
        "time_ms": task.time,
        "decision": task.decision.hex() if task.decision else None,
        "what": task.what,
        "who": task.who,
        "who_member": task.who_member.hex() if task.who_member else None,
        "due": task.due,
        "status": task.status,
        "notes": [{"author": a.hex(), "status": s, "note": n} for a, s, n in task.notes],
    }
