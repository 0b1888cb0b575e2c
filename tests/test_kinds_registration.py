"""Event kinds are registered in one place, `shora.node.KIND_MODULES`
(docs/architecture.md, "Event kinds"): importing a domain module registers nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shora import node
from shora.kernel import events, kinds, membership

VECTORS = Path(__file__).parent / "vectors"


def _kinds_used(value: object) -> set[str]:
    """Every inner event kind named in a vector file."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "kind" and isinstance(item, str):
                found.add(item)
            found |= _kinds_used(item)
    elif isinstance(value, list):
        for item in value:
            found |= _kinds_used(item)
    return found


@pytest.mark.parametrize("module", node.KIND_MODULES)
def test_importing_a_domain_module_registers_nothing(module: str) -> None:
    script = (
        "import sys; from shora.kernel import events, kinds, membership\n"
        "before = (set(events._SCHEMAS), set(kinds.STATE_KINDS), len(membership.ADMISSION_HOOKS))\n"
        f"import {module}\n"
        "after = (set(events._SCHEMAS), set(kinds.STATE_KINDS), len(membership.ADMISSION_HOOKS))\n"
        "assert 'shora.node' not in sys.modules\n"
        "sys.exit(0 if before == after else 1)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr or f"importing {module} registered kinds"


def test_the_node_registers_every_kind_the_vectors_and_domains_use() -> None:
    used: set[str] = set()
    for path in VECTORS.rglob("*.json"):
        used |= _kinds_used(json.loads(path.read_text(encoding="utf-8")))
    assert used and used <= set(events._SCHEMAS)
    for name in node.KIND_MODULES:
        module = sys.modules[name]
        for table in ("AID_KINDS", "SAFETY_KINDS", "DECISION_KINDS", "CARE_KINDS"):
            assert set(getattr(module, table, {})) <= set(events._SCHEMAS), (name, table)
    assert {"gov.propose", "mandate.end"} <= set(kinds.STATE_KINDS)
    assert {"comment", "stock.add", "mandate.request", "aid.need"} <= set(events._SCHEMAS)


def test_registering_again_changes_nothing() -> None:
    before = (dict(events._SCHEMAS), list(membership.ADMISSION_HOOKS))
    for name in node.KIND_MODULES:
        sys.modules[name].register()  # type: ignore[attr-defined]
    assert (dict(events._SCHEMAS), list(membership.ADMISSION_HOOKS)) == before


def test_the_aid_leaves_are_registered_as_leaves() -> None:
    from shora.domain.aid import kinds as ak

    assert {k for k in (*ak.AID_KINDS, *ak.SAFETY_KINDS) if k in events.LEAF_KINDS} == ak.LEAVES
