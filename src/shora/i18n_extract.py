"""Find the translatable strings in Shora's sources.

Used by tests/test_i18n.py (every string must be in the catalogues) and by
scripts/update_catalogues.py (add the missing ones). Python files are read with
``ast``, not regular expressions; the web interface's Jinja2 templates (.html) with
Jinja2's own extractor. Another kind of file joins by adding an extractor for its
suffix to EXTRACTORS.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

# Marker name -> how many leading arguments are message strings.
MARKERS: Mapping[str, int] = MappingProxyType({"_": 1, "N_": 1, "ngettext": 2})


class Message(NamedTuple):
    """One use of a translatable string in the source."""

    msgid: str
    plural: str | None
    filename: str
    lineno: int


class ExtractError(ValueError):
    """A marker is used in a way that cannot be translated, such as _(f"...")."""


Extractor = Callable[[str, str], list[Message]]


def _marker_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name) and func.id in MARKERS:
        return func.id
    if isinstance(func, ast.Attribute) and func.attr in MARKERS:  # i18n._(...)
        return func.attr
    return None


def _is_formatted_literal(node: ast.expr) -> bool:
    """True for f"...", "..." % x and "...".format(x): formatted before translation."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.left, ast.Constant | ast.JoinedStr):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant | ast.JoinedStr)
    )


def _string_args(call: ast.Call, count: int, where: str) -> list[str] | None:
    """The `count` leading literal arguments of a marker call; None if not all literals."""
    args = call.args[:count]
    for arg in args:
        if _is_formatted_literal(arg):
            raise ExtractError(f"{where}: translate the template, then format: _('..').format()")
    strings = [a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return strings if len(strings) == count else None


def extract_python(source: str, filename: str) -> list[Message]:
    """Every literal passed to _(), N_() or ngettext() in a Python source, in order.

    Calls with variables are skipped (_(label) where label came from N_()); a marker
    given an already-formatted string raises ExtractError, as it could never match.
    """
    found: list[Message] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if not isinstance(node, ast.Call):
            continue
        name = _marker_name(node.func)
        if name is None:
            continue
        where = f"{filename}:{node.lineno}"
        strings = _string_args(node, MARKERS[name], where)
        if strings is None:  # a variable: it holds an N_() string, or this is a wrapper
            continue
        plural = strings[1] if name == "ngettext" else None
        found.append(Message(strings[0], plural, filename, node.lineno))
    return sorted(found, key=lambda m: m.lineno)


def extract_jinja(source: str, filename: str) -> list[Message]:
    """Every literal in _(), gettext() and ngettext() calls and {% trans %} blocks of a
    Jinja2 template (Jinja2's own Babel extractor, with the web interface's options)."""
    from io import BytesIO

    from jinja2.ext import babel_extract

    options = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true", "trimmed": "true"}
    found: list[Message] = []
    keywords = ("_", "gettext", "ngettext")
    for lineno, _func, message, _comments in babel_extract(
        BytesIO(source.encode("utf-8")), keywords, (), options
    ):
        forms = message if isinstance(message, tuple) else (message,)
        if not forms or not isinstance(forms[0], str):
            continue  # _(variable): the string is marked where it is defined, with N_()
        plural = forms[1] if len(forms) > 1 and isinstance(forms[1], str) else None
        found.append(Message(forms[0], plural, filename, lineno))
    return found


EXTRACTORS: Mapping[str, Extractor] = MappingProxyType(
    {".py": extract_python, ".html": extract_jinja}
)


def _files(root: Path, suffixes: Mapping[str, Extractor]) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.suffix in suffixes and path.is_file() and "__pycache__" not in path.parts:
            yield path


def extract_tree(
    root: Path, base: Path | None = None, extractors: Mapping[str, Extractor] = EXTRACTORS
) -> list[Message]:
    """Every translatable string under `root`; file names are relative to `base`.

    `base` defaults to the parent of `root`, giving names like "shora/cli/main.py".
    """
    base = root.parent if base is None else base
    found: list[Message] = []
    for path in _files(root, extractors):
        filename = path.relative_to(base).as_posix()
        found.extend(extractors[path.suffix](path.read_text(encoding="utf-8"), filename))
    return found
