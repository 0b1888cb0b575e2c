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
BASE = {
    "shora",
    "shora.addresses",
    "shora.errors",
    "shora.i18n",
    "shora.i18n_extract",
    "shora.numbers",
}

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
    assert not upward, "imports against the layers:\n" + "\n".join(
        f"{a} -> {b}" for a, b in sorted(upward)
    )


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
    cycles = _cycles(g)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(sorted(c)) for c in cycles)


SQL = re.compile(
    r"^\s*(SELECT\s.+\sFROM\s|SELECT\s+(count|max|min|1)\b|INSERT\s+(OR\s+\w+\s+)?INTO\s"
    r"|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|CREATE\s+(TABLE|INDEX|TEMP)|PRAGMA\s+\w|REPLACE\s+INTO\s"
    r"|WITH\s+\w+\s+AS\b)",
    re.IGNORECASE | re.DOTALL,
)


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
    assert not holders, "SQL outside shora.kernel.storage: " + ", ".join(sorted(holders))


def test_the_layer_checks_can_fail() -> None:
    """The checks see what they are for: an upward import, a cycle, a query."""
    assert layer("shora.kernel.ingest") == "kernel"
    assert "services" not in ALLOWED["domain"] and "kernel" not in ALLOWED["interfaces"]
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [{"a", "b"}]
    assert SQL.match("SELECT id FROM events") and SQL.match("PRAGMA data_version")
    assert not SQL.match("Select a council") and not SQL.match("DELETE")
    assert PRIVATE_REACH.search("self.core.ingestor.projection")
    assert PRIVATE_REACH.search("me = core._identity(c)")
    assert PRIVATE_REACH.search("node.store.rows")
    assert not PRIVATE_REACH.search("self.core.append(council, kind, body)")
    g = graph()
    assert "shora.kernel.events" in g["shora.kernel.ingest"]


PRIVATE_REACH = re.compile(r"\b(core|node)\.(ingestor|_\w+)\b|\bnode\.store\b")


def test_services_and_interfaces_use_only_the_narrow_core() -> None:
    """Services reach the node through the core's public methods (append, me, state,
    store, now, ...): never the ingestor or a private name. Interfaces go through the
    services: never the store either."""
    found = []
    for name, path in modules().items():
        if layer(name) not in {"services", "interfaces"}:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            hit = PRIVATE_REACH.search(code)
            if hit and not (layer(name) == "services" and hit.group(0).startswith("node.store")):
                found.append(f"{name}:{number}: {hit.group(0)}")
    assert not found, "reaching past the narrow core:\n" + "\n".join(found)
