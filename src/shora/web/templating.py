"""Jinja2 for the pages: autoescaping, gettext from shora.i18n, Persian digits and dates.

Templates translate with ``{{ _("Members of %(council)s", council=name|bdi) }}``
(Jinja2's "new style" gettext: the translated text is formatted afterwards, and every
value put into it is escaped). ``|bdi`` isolates a name, key or number inside
translated text so a Latin name cannot scramble a Persian sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from shora.i18n import _, current_language, format_time, join_names, ngettext, number
from shora.ui.labels import role_label

EXTENSIONS = ["jinja2.ext.i18n"]
LANGUAGE_NAMES = {"fa": "فارسی", "en": "English"}  # each in its own language: not translated


def _bdi(value: object) -> Markup:
    return Markup("<bdi>{}</bdi>").format(value)


def _number(value: int) -> str:
    return number(int(value))


def _when(seconds: int | None) -> str:
    return format_time(int(seconds)) if seconds else _("never")


def _when_ms(milliseconds: int) -> str:
    return format_time(int(milliseconds) // 1000)


def _names(items: Iterable[str]) -> str:
    return join_names(items)


def _role(role: str) -> str:
    """A role in the person's words (a council's own role by its name)."""
    return role_label(role)


def _short(key: bytes) -> str:
    return key.hex()[:12]


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("shora.web", "templates"),
        autoescape=True,
        extensions=EXTENSIONS,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: _(message),
        lambda singular, plural, n: ngettext(singular, plural, n),
        newstyle=True,
    )
    env.filters.update(bdi=_bdi, number=_number, when=_when, when_ms=_when_ms, short=_short)
    env.filters.update(names=_names, role=_role)
    env.globals.update(language_names=LANGUAGE_NAMES)
    return env


class Pages:
    """Renders templates to responses, with what every page needs in its context."""

    def __init__(self) -> None:
        self.env = make_environment()

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        lang = current_language()
        browser = getattr(request.state, "browser", None)
        keeper = request.scope.get("state", {}).get("keeper")
        hall = getattr(request.app.state, "hall", None)  # community mode: its own name
        full = {
            "node_name": hall.name if hall is not None else "",
            "request": request,
            "lang": lang,
            "dir": "rtl" if lang == "fa" else "ltr",
            "csrf": browser.csrf if browser is not None else "",
            "unlocked": keeper is not None and keeper.node is not None,
            # In community mode, Panic and Duress show once a profile is unlocked
            # (and act on that one alone).
            "own_node": getattr(request.app.state, "hall", None) is None,
            "partial": request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-Boosted") != "true",
            **(context or {}),
        }
        html = self.env.get_template(name).render(full)
        return HTMLResponse(html, status_code=status_code)
