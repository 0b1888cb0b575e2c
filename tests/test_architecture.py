"""The layers of docs/architecture.md, checked on the source: which package may import
which, no import cycle, and SQL only in the kernel's storage package.

Imports are read with ast, including those inside functions and under TYPE_CHECKING:
a type-only import still ties one module to another for whoever reads the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import shora

SRC = Path(shora.__file__).parent
BASE = {"shora", "shora.errors", "shora.i18n", "shora.i18n_extract", "shora.numbers"}

# Which layers each layer may import (docs/architecture.md, "Layers").
LAYERS = ("base", "kernel", "sync", "domain", "services", "node", "interfaces")
ALLOWED = {
    "base": {"base"},
    "kernel": {"base", "kernel"},
    "sync": {"base", "kernel", "sync"},
    "domain": {"base", "kernel", "domain"},
    "services": {"base", "kernel", "sync", "domain", "services"},
    "node": {"base", "kernel", "sync", "domain", "services"},
    "interfaces": {"base", "node", "services", "interfaces"},
}

# What is still to move while the restructure is under way; it only ever shrinks.
KNOWN_UPWARD: set[tuple[str, str]] = {
    ("shora.cli.aid_areas", "shora.domain.aid.kinds"),
    ("shora.cli.aid_areas", "shora.domain.aid.summary"),
    ("shora.cli.aid_items", "shora.domain.aid.kinds"),
    ("shora.cli.aid_items", "shora.domain.aid.state"),
    ("shora.cli.aid_safety", "shora.domain.aid.kinds"),
    ("shora.cli.bundles", "shora.kernel.ingest"),
    ("shora.cli.bundles", "shora.sync.summary"),
    ("shora.cli.care", "shora.domain.aid.kinds"),
    ("shora.cli.care", "shora.domain.aid.taxonomy"),
    ("shora.cli.care", "shora.domain.care.kinds"),
    ("shora.cli.care", "shora.domain.care.stocks"),
    ("shora.cli.councils", "shora.kernel.kinds"),
    ("shora.cli.deadman_missing", "shora.domain.care.kinds"),
    ("shora.cli.deadman_missing", "shora.domain.decisions.state"),
    ("shora.cli.deadman_missing", "shora.domain.safety.deadman"),
    ("shora.cli.deadman_missing", "shora.domain.safety.missing"),
    ("shora.cli.decisions", "shora.domain.decisions.ballot_input"),
    ("shora.cli.decisions", "shora.domain.decisions.kinds"),
    ("shora.cli.decisions", "shora.domain.decisions.plain"),
    ("shora.cli.decisions", "shora.domain.decisions.state"),
    ("shora.cli.federation", "shora.domain.decisions.plain"),
    ("shora.cli.federation", "shora.domain.federation.mandates"),
    ("shora.cli.governance", "shora.domain.decisions.plain"),
    ("shora.cli.governance", "shora.kernel.kinds"),
    ("shora.cli.main", "shora.kernel.profile"),
    ("shora.cli.members", "shora.kernel.tokens"),
    ("shora.cli.members", "shora.sync.peers"),
    ("shora.cli.network", "shora.kernel.profile"),
    ("shora.cli.network", "shora.sync.outcome"),
    ("shora.cli.network", "shora.sync.peers"),
    ("shora.cli.network", "shora.sync.runner"),
    ("shora.cli.output", "shora.domain.decisions.plain"),
    ("shora.cli.output", "shora.kernel.kinds"),
    ("shora.cli.session", "shora.kernel.profile"),
    ("shora.domain.aid.kinds", "shora.services.restricted"),
    ("shora.domain.care.kinds", "shora.services.restricted"),
    ("shora.services.aid", "shora.node"),
    ("shora.services.care", "shora.node"),
    ("shora.services.deadman_missing", "shora.node"),
    ("shora.services.decisions", "shora.node"),
    ("shora.services.discussion", "shora.node"),
    ("shora.services.federation", "shora.node"),
    ("shora.services.federation_flow", "shora.node"),
    ("shora.services.forgetting", "shora.node"),
    ("shora.services.governance", "shora.node"),
    ("shora.services.governance", "shora.ui.labels"),
    ("shora.services.housekeeping", "shora.node"),
    ("shora.services.joining", "shora.node"),
    ("shora.services.restricted", "shora.node"),
    ("shora.services.safety", "shora.node"),
    ("shora.sync.local", "shora.node"),
    ("shora.sync.outbox", "shora.node"),
    ("shora.sync.runner", "shora.node"),
    ("shora.web.areas.aid", "shora.domain.aid.kinds"),
    ("shora.web.areas.api", "shora.sync.peers"),
    ("shora.web.areas.api_decisions_aid", "shora.domain.aid.kinds"),
    ("shora.web.areas.api_decisions_aid", "shora.domain.aid.state"),
    ("shora.web.areas.api_decisions_aid", "shora.domain.decisions.kinds"),
    ("shora.web.areas.api_decisions_aid", "shora.domain.decisions.plain"),
    ("shora.web.areas.areas_stocks_skills", "shora.domain.aid.kinds"),
    ("shora.web.areas.areas_stocks_skills", "shora.domain.aid.summary"),
    ("shora.web.areas.areas_stocks_skills", "shora.domain.care.kinds"),
    ("shora.web.areas.councils", "shora.domain.aid.kinds"),
    ("shora.web.areas.councils", "shora.kernel.kinds"),
    ("shora.web.areas.decisions", "shora.domain.decisions.kinds"),
    ("shora.web.areas.decisions", "shora.domain.decisions.state"),
    ("shora.web.areas.decisions", "shora.domain.governance.kinds"),
    ("shora.web.areas.decisions_forms", "shora.domain.decisions.kinds"),
    ("shora.web.areas.decisions_results", "shora.domain.decisions.tally"),
    ("shora.web.areas.discussion", "shora.domain.discussion.kinds"),
    ("shora.web.areas.federation", "shora.domain.federation.mandates"),
    ("shora.web.areas.governance", "shora.domain.decisions.kinds"),
    ("shora.web.areas.governance", "shora.kernel.kinds"),
    ("shora.web.areas.home", "shora.domain.decisions.state"),
    ("shora.web.areas.home", "shora.domain.safety.alerts"),
    ("shora.web.areas.joining", "shora.kernel.tokens"),
    ("shora.web.areas.joining", "shora.sync.peers"),
    ("shora.web.areas.members", "shora.kernel.tokens"),
    ("shora.web.areas.members", "shora.sync.peers"),
    ("shora.web.areas.safety", "shora.domain.aid.kinds"),
    ("shora.web.areas.safety", "shora.domain.care.kinds"),
    ("shora.web.areas.session", "shora.kernel.profile"),
    ("shora.web.areas.sync", "shora.kernel.bundle"),
    ("shora.web.areas.sync", "shora.kernel.ingest"),
    ("shora.web.areas.sync", "shora.sync.peers"),
    ("shora.web.areas.sync", "shora.sync.runner"),
    ("shora.web.state", "shora.kernel.crypto"),
    ("shora.web.state", "shora.kernel.profile"),
    ("shora.web.state", "shora.sync.runner"),
}
KNOWN_SQL: set[str] = {
    "shora.kernel.core",
    "shora.kernel.ingest",
    "shora.kernel.projection",
    "shora.kernel.waiting",
    "shora.node",
    "shora.services.deadman_missing",
    "shora.services.decisions",
    "shora.services.discussion",
    "shora.services.federation",
    "shora.services.federation_flow",
    "shora.services.forgetting",
    "shora.services.governance",
    "shora.services.joining",
    "shora.services.membership",
    "shora.services.restricted",
    "shora.sync.local",
    "shora.sync.outbox",
    "shora.sync.peers",
    "shora.sync.summary",
    "shora.web.areas.kit",
    "shora.web.forms",
    "shora.web.security",
    "shora.web.state",
}
KNOWN_CYCLES: list[set[str]] = [
    {"shora.domain.aid.classes", "shora.domain.aid.matching", "shora.domain.aid.solve"},
    {
        "shora.domain.aid.kinds",
        "shora.domain.aid.state",
        "shora.domain.aid.summary",
        "shora.domain.care.kinds",
        "shora.domain.care.skills",
        "shora.domain.care.stocks",
        "shora.domain.safety.alerts",
        "shora.domain.safety.deadman",
        "shora.domain.safety.missing",
        "shora.node",
        "shora.services.aid",
        "shora.services.care",
        "shora.services.deadman_missing",
        "shora.services.decisions",
        "shora.services.discussion",
        "shora.services.federation",
        "shora.services.federation_flow",
        "shora.services.forgetting",
        "shora.services.governance",
        "shora.services.joining",
        "shora.services.membership",
        "shora.services.restricted",
        "shora.services.safety",
        "shora.sync.local",
        "shora.sync.summary",
    },
]


def layer(module: str) -> str:
    if module in BASE:
        return "base"
    top = module.split(".")[1]
    if top in {"kernel", "sync", "domain", "services", "node"}:
        return top
    if top in {"cli", "web", "ui"}:
        return "interfaces"
    raise AssertionError(f"{module} belongs to no layer: add it to docs/architecture.md")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The shora modules `name` imports (a package's submodule when named)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                up = up[: len(up) - (node.level - 1)]
                base = ".".join([*up, *([base] if base else [])])
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("shora") and target != name:
                out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = {
        (mod, dep)
        for mod, deps in graph().items()
        for dep in deps
        if layer(dep) not in ALLOWED[layer(mod)]
    }
    new = sorted(upward - KNOWN_UPWARD)
    assert not new, "imports against the layers:\n" + "\n".join(f"{a} -> {b}" for a, b in new)


def _cycles(g: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[set[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle() -> None:
    g = graph()
    # A package's __init__ that re-exports its submodules is not a cycle with them.
    for mod, deps in g.items():
        g[mod] = {
            d for d in deps if not (mod.startswith(d + ".") and modules()[d].name == "__init__.py")
        }
    cycles = [c for c in _cycles(g) if not any(c <= known for known in KNOWN_CYCLES)]
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(sorted(c)) for c in cycles)


SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA|REPLACE|WITH\s+\w+\s+AS)\b")


def test_sql_lives_only_in_the_kernels_storage() -> None:
    holders = set()
    for name, path in modules().items():
        if name.startswith("shora.kernel.storage"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if SQL.match(node.value):
                    holders.add(name)
            elif isinstance(node, ast.JoinedStr):
                first = node.values[0] if node.values else None
                if isinstance(first, ast.Constant) and SQL.match(str(first.value)):
                    holders.add(name)
    new = sorted(holders - KNOWN_SQL)
    assert not new, "SQL outside shora.kernel.storage: " + ", ".join(new)


def test_the_layer_checks_can_fail() -> None:
    """The checks see what they are for: an upward import, a cycle, a query."""
    assert layer("shora.kernel.ingest") == "kernel"
    assert "services" not in ALLOWED["domain"] and "kernel" not in ALLOWED["interfaces"]
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [{"a", "b"}]
    assert SQL.match("SELECT id FROM events") and not SQL.match("Select a council")
    g = graph()
    assert "shora.kernel.events" in g["shora.kernel.ingest"]
