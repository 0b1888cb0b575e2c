"""Event kinds are registered in one place, `shora.node.KIND_MODULES`
(docs/architecture.md, "Event kinds"): importing a domain module registers nothing."""

from __future__ import annotations

import importlib
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
    known = set(events.known_kinds())  # the deferred ones registered first
    assert used and used <= known == set(events._SCHEMAS)
    for name in node.KIND_MODULES:
        module = sys.modules[name]
        for table in ("AID_KINDS", "SAFETY_KINDS", "DECISION_KINDS", "CARE_KINDS"):
            assert set(getattr(module, table, {})) <= known, (name, table)
    assert {"gov.propose", "mandate.end"} <= set(kinds.STATE_KINDS)
    assert {"comment", "stock.add", "mandate.request", "aid.need"} <= known


def test_the_deferred_kinds_are_what_their_modules_register() -> None:
    """`node.DEFERRED_KINDS` names, per module, exactly the kinds its `register()` adds,
    none of them a state kind and no hook with them; the node registers the others at
    once, and a deferred kind is registered by decoding it, not by importing anything."""
    script = (
        "import importlib, json\n"
        "from shora.kernel import events, kinds, membership\n"
        "from shora import node\n"
        "out = {'before': sorted(events._SCHEMAS), 'modules': {}}\n"
        "for name in node.KIND_MODULES:\n"
        "    before = (set(events._SCHEMAS), set(kinds.STATE_KINDS),\n"
        "              len(membership.ADMISSION_HOOKS), len(membership.EMERGENCY_HOOKS))\n"
        "    importlib.import_module(name).register()\n"
        "    out['modules'][name] = {\n"
        "        'added': sorted(set(events._SCHEMAS) - before[0]),\n"
        "        'state': sorted(set(kinds.STATE_KINDS) - before[1]),\n"
        "        'hooks': len(membership.ADMISSION_HOOKS) - before[2]\n"
        "        + len(membership.EMERGENCY_HOOKS) - before[3]}\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout.splitlines()[-1])
    assert set(node.DEFERRED_KINDS) <= set(node.KIND_MODULES)
    for name in node.KIND_MODULES:
        deferred = node.DEFERRED_KINDS.get(name)
        if deferred is None:  # registered with the node: nothing left to add
            assert found["modules"][name]["added"] == [], name
            continue
        assert sorted(deferred) == found["modules"][name]["added"], name
        assert not set(deferred) & set(found["before"]), name
        assert found["modules"][name]["state"] == [] and found["modules"][name]["hooks"] == 0


def test_a_deferred_kind_is_registered_when_first_decoded() -> None:
    script = (
        "import sys\n"
        "from shora import node\n"
        "from shora.kernel import events\n"
        "from shora.domain.discussion import kinds as dk\n"
        "assert 'comment' not in events._SCHEMAS\n"
        "body = events.encode_body(dk.Comment(subject=bytes(32), text='hello'))\n"
        "assert events.decode_body('comment', body).text == 'hello'\n"
        "assert {'comment', 'comment_sealed'} <= set(events._SCHEMAS)\n"
        "assert 'aid.need' not in events._SCHEMAS\n"
        "assert 'shora.domain.aid.kinds' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_registering_again_changes_nothing() -> None:
    events.known_kinds()
    before = (dict(events._SCHEMAS), list(membership.ADMISSION_HOOKS))
    for name in node.KIND_MODULES:
        importlib.import_module(name).register()
    assert (dict(events._SCHEMAS), list(membership.ADMISSION_HOOKS)) == before


def test_the_aid_leaves_are_registered_as_leaves() -> None:
    from shora.domain.aid import kinds as ak

    events.known_kinds()
    assert {k for k in (*ak.AID_KINDS, *ak.SAFETY_KINDS) if k in events.LEAF_KINDS} == ak.LEAVES
