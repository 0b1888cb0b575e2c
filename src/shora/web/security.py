"""The guard every request passes (docs/security.md, "The web interface").

In order: the Host header must name this server (against DNS rebinding); the
language is chosen; the browser must hold a session cookie from the login link
(else 401); a state-changing request must carry the session's CSRF token (header
or form field) and, if it says where it comes from, come from this origin; and
every response gets the security headers.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shora.i18n import DEFAULT, SUPPORTED, _, using_language, using_time_zone
from shora.ui.labels import using_council_roles
from shora.web.community import Hall
from shora.web.state import BrowserSession, Keeper
from shora.web.templating import Pages

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; manifest-src 'self'; worker-src 'self'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
# The pages that scan a QR code may use the camera (this origin only, never a frame).
CAMERA_PAGES = frozenset({"/join", "/admit"})
CAMERA_POLICY = (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_PREFIXES = ("/static/", "/login", "/favicon.ico", "/sw.js")
# Static files: a versioned address (?v=, which changes with the files) is kept a year;
# the fonts, which the style sheet names without a version, a month; others a day.
STATIC_VERSIONED = (b"cache-control", b"public, max-age=31536000, immutable")
STATIC_FONTS = (b"cache-control", b"public, max-age=2592000")
STATIC_OTHER = (b"cache-control", b"public, max-age=86400")
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
POLL_HEADER = "x-shora-poll"  # set by polling elements: not activity, keeps no session awake
LANG_COOKIE = "shora_lang"
MAX_BODY = 64 * 2**20  # a bundle upload; every other form is far smaller


def session_cookie(port: int) -> str:
    """Cookies do not separate ports, so two nodes on one machine need two names."""
    return f"shora_session_{port}"


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    names = {"127.0.0.1", "localhost", "[::1]", host if ":" not in host else f"[{host}]"}
    return frozenset(f"{name}:{port}".lower() for name in names)


def choose_language(cookie: str | None, accept: str | None) -> str:
    """The language cookie if set, else the browser's preference (Accept-Language)."""
    if cookie in SUPPORTED:
        return str(cookie)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept or "")[:500].split(",")):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary in SUPPORTED and q > 0:
            ranked.append((-q, i, primary))
    return min(ranked)[2] if ranked else DEFAULT


def _with_headers(
    headers: Iterable[tuple[bytes, bytes]], path: str, query: bytes = b""
) -> list[tuple[bytes, bytes]]:
    out = [h for h in headers if h[0].lower() not in {k for k, _ in SECURITY_HEADERS}]
    out.extend(SECURITY_HEADERS)
    if path in CAMERA_PAGES:
        out = [CAMERA_POLICY if h[0] == b"permissions-policy" else h for h in out]
    if not path.startswith("/static/"):
        out.append((b"cache-control", b"no-store"))
    elif query.startswith(b"v="):
        out.append(STATIC_VERSIONED)
    elif path.startswith("/static/fonts/"):
        out.append(STATIC_FONTS)
    else:
        out.append(STATIC_OTHER)
    return out


def cookie_header(name: str, value: str, *, secure: bool) -> tuple[bytes, bytes]:
    """The session cookie: never readable by scripts, never sent from another site."""
    flags = "; HttpOnly; Path=/; SameSite=Strict" + ("; Secure" if secure else "")
    return (b"set-cookie", f"{name}={value}{flags}".encode())


class Guard:
    """ASGI middleware: Host check, language, session, CSRF, headers.

    With one profile (`keeper`), a browser holds a session once it opened the login
    link. In community mode (`hall`), every browser gets a session on its first visit,
    bound to no profile until its person unlocks one; the request's state then carries
    that profile's Keeper, found from the session and nothing else.
    """

    def __init__(
        self,
        app: ASGIApp,
        keeper: Keeper | None,
        hosts: frozenset[str],
        port: int,
        hall: Hall | None = None,
        secure: bool = False,
    ) -> None:
        self.app = app
        self.keeper = keeper
        self.hall = hall
        self.hosts = hosts
        self.cookie = session_cookie(port)
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        query: bytes = scope.get("query_string", b"")
        first: list[tuple[bytes, bytes]] = []  # a new session's cookie, before the page's own

        async def secured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = first + list(message.get("headers", []))
                message = {**message, "headers": _with_headers(headers, path, query)}
            await send(message)

        headers = Headers(scope=scope)
        request = Request(scope)
        lang = choose_language(request.cookies.get(LANG_COOKIE), headers.get("accept-language"))
        # A council's page sets its zone and the names of its own roles.
        with using_language(lang), using_time_zone(""), using_council_roles({}):
            if headers.get("host", "").lower() not in self.hosts:
                # DNS rebinding: a page elsewhere made its name point at 127.0.0.1.
                await PlainTextResponse(_("Unknown host."), 421)(scope, receive, secured_send)
                return
            cookie = request.cookies.get(self.cookie)
            keeper: Keeper | None
            if self.hall is None:
                assert self.keeper is not None
                browser, keeper = self.keeper.session(cookie), self.keeper
            else:
                browser = self.hall.session(cookie)
                if browser is None and not path.startswith("/static/"):
                    browser = self.hall.new_session()
                    first.append(cookie_header(self.cookie, browser.id, secure=self.secure))
                keeper = self.hall.keeper_for(browser)
            state = scope.setdefault("state", {})
            state["browser"], state["keeper"] = browser, keeper
            if browser is None and not path.startswith(PUBLIC_PREFIXES):
                await self._unauthorised(request)(scope, receive, secured_send)
                return
            if scope["method"] in UNSAFE_METHODS:
                assert browser is not None or path.startswith(PUBLIC_PREFIXES)
                refused, receive = await self._check_csrf(scope, receive, headers, browser)
                if refused is not None:
                    await refused(scope, receive, secured_send)
                    return
            if browser is not None and keeper is not None and POLL_HEADER not in headers:
                keeper.touch()
            await self.app(scope, receive, secured_send)

    def _unauthorised(self, request: Request) -> Response:
        if request.url.path.startswith("/api"):
            message = _("Not logged in: open the link printed by shora serve.")
            return JSONResponse({"error": "unauthorised", "message": message}, 401)
        pages: Pages = request.app.state.pages
        return pages.render(request, "session/login_needed.html", status_code=401)

    async def _check_csrf(
        self, scope: Scope, receive: Receive, headers: Headers, browser: BrowserSession | None
    ) -> tuple[Response | None, Receive]:
        """(None, receive to use) if the request carries this session's token, else a 403."""
        origin = headers.get("origin")
        # With Referrer-Policy no-referrer a browser says "null": the token decides then.
        if origin not in (None, "null") and origin.split("://", 1)[-1].lower() not in self.hosts:
            return _forbidden(scope), receive
        if browser is None:
            return _forbidden(scope), receive
        token = headers.get(CSRF_HEADER)
        if token is None:
            body = await _read_body(receive)
            if body is None:
                return PlainTextResponse(_("The request is too large."), 413), receive
            receive = _replay(body)
            form = await Request(scope, _replay(body)).form()
            value = form.get(CSRF_FIELD)
            await form.close()
            token = value if isinstance(value, str) else None
        if token is None or not hmac.compare_digest(token.encode(), browser.csrf.encode()):
            return _forbidden(scope), receive
        return None, receive


def _forbidden(scope: Scope) -> Response:
    message = _("This form has expired or did not come from this page; reload and try again.")
    if str(scope["path"]).startswith("/api"):
        return JSONResponse({"error": "csrf", "message": message}, 403)
    return PlainTextResponse(message, 403)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
