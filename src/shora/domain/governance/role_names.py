"""The roles as people name them. The built-in roles (coordinator, treasurer, safety
contact, delegate) have their words in every language; a council's own role is named in
any script by the election that first names it, and gets a short ASCII id made from the
name (`shora.kernel.names`), so a person never types a key. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from shora.domain.governance import kinds as gk
from shora.errors import InvalidInput
from shora.i18n import SUPPORTED, _, using_language
from shora.kernel.names import clean_name, make_id, name_key, name_ok

ROLE_KEY = re.compile(r"[a-z][a-z0-9_-]{0,31}")
MAX_ROLE_NAME = 80


def builtin_words(names: Mapping[str, str]) -> dict[str, str]:
    """Every word a built-in role is known by (its key, its words in each language),
    compared as names are: word -> key."""
    found: dict[str, str] = {}
    for key, words in names.items():
        found[name_key(key)] = key
        for lang in SUPPORTED:
            with using_language(lang):
                found[name_key(_(words))] = key
    return found


def council_roles(elections: Iterable[gk.Election], builtin: Iterable[str]) -> dict[str, str]:
    """The council's own roles, key -> name, from its elections in order: the first
    election that names a role names it (a later one cannot rename it), and a built-in
    role keeps its own words whatever an election says."""
    fixed = set(builtin)
    named: dict[str, str] = {}
    for election in elections:
        if election.name and election.role not in fixed and election.role not in named:
            named[election.role] = election.name
    return named


def role_for(
    typed: str,
    builtin: Mapping[str, str],
    own: Mapping[str, str],
    held: Iterable[str] = (),
) -> tuple[str, str | None]:
    """The role a person means by `typed` and the name to record with it: a built-in
    role by any of its words, a role of the council by its name or key, else a new role
    of the council named `typed`, with an id made for it. InvalidInput in the person's
    language for a name that cannot be one."""
    name = clean_name(typed)
    if not name:
        raise InvalidInput(_("Please name the role."))
    key = name_key(name)
    if key in builtin:
        return builtin[key], None
    for role, given in own.items():
        if name_key(given) == key or role == key:
            return role, given
    if key in set(held):  # a role written by its key before roles had names
        return key, None
    if len(name) > MAX_ROLE_NAME:
        raise InvalidInput(_("A role's name is at most {n} characters.").format(n=MAX_ROLE_NAME))
    if not name_ok(name):
        raise InvalidInput(
            _("A role's name may not hold control or direction-override characters.")
        )
    taken = {**{k: w for w, k in builtin.items()}, **{r: name_key(n) for r, n in own.items()}}
    taken.update({r: r for r in held if r not in taken})
    return make_id(name, taken, prefix="r-", pattern=ROLE_KEY, limit=32), name
