"""Make the command tree and click's own words speak the current language.

Help texts are written as N_("...") msgids and translated when main() has chosen the
language, so ``shora --lang fa council --help`` is Persian throughout. Click marks
its words with the standard gettext module; its modules' ``_`` and ``ngettext`` are
pointed at our catalogue, which holds the click messages a person is likely to see
(listed below so the catalogue tools find them). Anything else stays English.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import click

from shora.i18n import N_, _

CLICK_MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.termui",
    "click.types",
)

CLICK_MESSAGES = (
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Positional arguments"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("Aborted!"),
    N_("Missing command."),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("No such option {name!r}."),
    N_("No such command {name!r}."),
    N_("Did you mean {possibility}?"),
    N_("(Did you mean one of: {possibilities}?)"),
    N_("Got unexpected extra argument ({args})"),
    N_("Got unexpected extra arguments ({args})"),
    N_("Option {name!r} requires an argument."),
    N_("Option {name!r} requires {nargs} arguments."),
    N_("Option {name!r} does not take a value."),
    N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("{value!r} is not {choice}."),
    N_("{value!r} is not one of {choices}."),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is a file."),
    N_("file"),
    N_("directory"),
    N_("path"),
    N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."),
    N_("Error: {message}"),
    N_("default: {default}"),
    N_("required"),
)


def _click_gettext(message: str) -> str:
    return _(message)


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    return _(singular if n == 1 else plural)


def _english_ngettext(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _point_click_at(
    gettext: Callable[[str], str], ngettext: Callable[[str, str, int], str]
) -> None:
    for name in CLICK_MODULES:
        module = importlib.import_module(name)
        names = vars(module)
        if "_" in names:
            names["_"] = gettext
        if "ngettext" in names:
            names["ngettext"] = ngettext


def localise_click() -> None:
    """Send click's gettext calls to our catalogue (idempotent)."""
    _point_click_at(_click_gettext, _click_ngettext)


def keep_click_english() -> None:
    """Have click's gettext calls return their message as written, until
    `localise_click()`: for the words click makes while the command tree is built,
    before a language is chosen (the standard gettext module would look for click's
    catalogues on disk, importing `locale` to do so, and find none)."""
    if vars(importlib.import_module("click.core"))["_"] is not _click_gettext:
        _point_click_at(N_, _english_ngettext)


_msgids: dict[tuple[int, str], str] = {}


def _translate(obj: object, attr: str) -> None:
    msgid = _msgids.setdefault((id(obj), attr), getattr(obj, attr))
    if msgid:
        setattr(obj, attr, _(msgid))


def localise_tree(command: click.Command) -> None:
    """Translate the help of `command`, its options and its subcommands, in place."""
    for attr in ("help", "short_help", "epilog"):
        _translate(command, attr)
    for param in command.params:
        if isinstance(param, click.Option | click.Argument):
            _translate(param, "help")
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            localise_tree(sub)
