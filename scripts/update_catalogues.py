"""Add every translatable string in src/shora to the fa and en catalogues.

Run from the repository, with the project's virtualenv active, after adding or
changing _(), N_() or ngettext() strings:

    python scripts/update_catalogues.py          # rewrite the .po files
    python scripts/update_catalogues.py --check  # exit 1 if they are out of date
    python scripts/update_catalogues.py --prune  # also drop entries the source no longer uses

Existing translations are kept; new entries get an empty msgstr, so fill in the
Persian one in src/shora/locale/fa/LC_MESSAGES/shora.po (English may stay empty:
the msgid is the English). Entries no longer used in the source are listed, not
deleted, so a translation is never lost by accident; --prune removes them once you have
looked at the list.
"""

from __future__ import annotations

import argparse
import sys
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from shora import __version__
from shora.i18n import SUPPORTED
from shora.i18n_extract import Message, extract_tree

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "shora"
HEADER = "Shora's {name} catalogue: add entries with scripts/update_catalogues.py."
NAMES = {"fa": "Persian", "en": "English"}


def catalogue_path(lang: str) -> Path:
    return PACKAGE / "locale" / lang / "LC_MESSAGES" / "shora.po"


def _read(lang: str) -> Catalog:
    path = catalogue_path(lang)
    if path.exists():
        with path.open("rb") as po_file:
            return read_po(po_file, locale=lang)
    catalog = Catalog(
        locale=lang,
        project="shora",
        version=__version__,
        msgid_bugs_address="",
        last_translator="",
        language_team=NAMES[lang],
        fuzzy=False,
        charset="utf-8",
    )
    catalog.header_comment = "# " + HEADER.format(name=NAMES[lang])
    return catalog


def _message_key(message: Message) -> str | tuple[str, str]:
    return message.msgid if message.plural is None else (message.msgid, message.plural)


def update(lang: str, messages: list[Message], prune: bool = False) -> tuple[bytes, list[str]]:
    """The new text of `lang`'s catalogue, and the msgids in it that the source no longer
    uses (left out of the text when `prune`)."""
    catalog = _read(lang)
    locations: dict[str, list[tuple[str, int]]] = {}
    for message in messages:  # written without line numbers, so edits elsewhere cause no churn
        locations.setdefault(message.msgid, []).append((message.filename, message.lineno))
        entry = catalog.get(message.msgid)
        if entry is None or (message.plural is not None and not entry.pluralizable):
            empty = "" if message.plural is None else ("",) * catalog.num_plurals
            catalog.add(_message_key(message), string=empty)
    unused: list[str] = []
    for entry in catalog:
        key = entry.id if isinstance(entry.id, str) else entry.id[0]
        if not key:
            continue
        entry.locations = sorted(locations.get(key, []))
        if key not in locations:
            unused.append(key)
    if prune:
        for key in unused:
            del catalog[key]
    out = BytesIO()
    write_po(out, catalog, width=100, sort_output=True, include_lineno=False)
    return out.getvalue(), unused


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if out of date")
    parser.add_argument(
        "--prune", action="store_true", help="drop the entries the source no longer uses"
    )
    args = parser.parse_args(argv)
    messages = extract_tree(PACKAGE, base=ROOT)
    stale = False
    for lang in SUPPORTED:
        path = catalogue_path(lang)
        text, unused = update(lang, messages, prune=args.prune)
        for msgid in unused:
            done = "removed" if args.prune and not args.check else "no longer used in the source"
            print(f"{lang}: {done}: {msgid!r}")
        if path.exists() and path.read_bytes() == text:
            continue
        stale = True
        if args.check:
            print(f"{lang}: {path.relative_to(ROOT)} is out of date")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text)
            print(f"{lang}: updated {path.relative_to(ROOT)}")
    if stale and not args.check:
        print("Now fill in the empty Persian msgstr entries in the fa catalogue.")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
