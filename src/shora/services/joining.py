"""Joining by link or QR code: one scan or one link each way. See docs/web.md, "Joining".

An invitation travels as a link to the join page of the newcomer's own node, and a
join request as a link to the admit page of a member's node:

    http://127.0.0.1:8150/join#shora:invite/BASE32?council=Block%204%20committee
    http://127.0.0.1:8150/admit#shora:join/BASE32

A phone camera hands such a link to the browser, which opens the page of the node on
that device (8150 is `shora serve`'s default port). The token is in the fragment,
which a browser never sends: no server, proxy or log along the way sees it; the page's
script moves it into the form. `council=` is the council's name as the inviter's node
knows it, only to show the newcomer while they wait; the council's own events replace
it once they are admitted. Everything that reads an invitation or a join request also
takes the plain `shora:invite/...` and `shora:join/...` text, and the text in blocks.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote

from shora.errors import InvalidInput
from shora.i18n import _
from shora.kernel import tokens
from shora.kernel.core import NodeCore

# For the interfaces: the text forms of invitations and join requests.
from shora.kernel.tokens import Invitation as Invitation
from shora.kernel.tokens import invitation_text as invitation_text
from shora.kernel.tokens import invitation_uri as invitation_uri
from shora.kernel.tokens import join_request_text as join_request_text
from shora.kernel.tokens import open_join_request as open_join_request
from shora.kernel.tokens import parse_invitation as parse_invitation
from shora.kernel.tokens import parse_join_request_text as parse_join_request_text
from shora.sync.peers import Peer, PeerBook

LINK_PORT = 8150  # shora serve's default port (shora.web.DEFAULT_PORT)
LINK_BASE = f"http://127.0.0.1:{LINK_PORT}"
MAX_NAME_IN_LINK = 60  # characters of the council's name a link carries
MAX_LINK_CHARS = tokens.MAX_TEXT_CHARS + 1024


def invitation_link(invitation: tokens.Invitation, council_name: str = "") -> str:
    """The invitation as a link to the newcomer's own join page (token in the fragment)."""
    link = f"{LINK_BASE}/join#{tokens.invitation_uri(invitation)}"
    name = council_name.strip()[:MAX_NAME_IN_LINK]
    return link + (f"?council={quote(name, safe='')}" if name else "")


def join_request_link(signed: bytes) -> str:
    """The join request as a link to a member's admit page (token in the fragment)."""
    return f"{LINK_BASE}/admit#{tokens.join_request_text(signed)}"


def _token_of(text: str) -> tuple[str, str]:
    """The token and the rest ("council=..."), from a link, a fragment or plain text."""
    if len(text) > MAX_LINK_CHARS:
        raise InvalidInput(_("That text is too long to be an invitation or a join request."))
    text = text.strip()
    if "#" in text:
        text = text.split("#", 1)[1]
    token, _sep, rest = text.partition("?")
    return token, rest


def read_invitation(text: str) -> tuple[tokens.Invitation, str]:
    """An invitation as a link, a fragment or text, and the council's name it carries
    ("" if none); InvalidInput if the token is bad."""
    token, rest = _token_of(text)
    name = parse_qs(rest).get("council", [""])[0][:MAX_NAME_IN_LINK]
    return tokens.parse_invitation(token), name.strip()


def read_join_request(text: str) -> bytes:
    """A join request as a link, a fragment or text; InvalidInput if it is bad."""
    token, _rest = _token_of(text)
    return tokens.parse_join_request_text(token)


class Joining:
    """Joining by link or QR code: what a newcomer's node keeps while it waits, and
    where a council can be reached."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core

    def expect_name(self, council: bytes, name: str) -> None:
        """While joining, call the council by the name its invitation gave (the council's
        own events replace it once they arrive)."""
        if name:
            self.core.store.councils.expect_name(council, name)

    def pending_request(self, council: bytes) -> bytes | None:
        """This profile's join request to a council it is still waiting to enter."""
        return self.core.store.councils.pending_request(council)

    def add_reach(self, council: bytes, reach: list[str]) -> list[str]:
        """Sync with the council where its invitation says it can be reached (addresses
        that are no relay are left); the relays added."""
        return PeerBook(self.core.store).add_reach(council, reach)

    def relays(self, council: bytes | None = None) -> list[tuple[bytes, str]]:
        """The relays this profile syncs through: (council, address), of one council or
        of all."""
        return PeerBook(self.core.store).relays(council)

    def peers(self) -> list[Peer]:
        """The peers this node has synced with, and how it went."""
        return PeerBook(self.core.store).peers()

    def proxy(self) -> str | None:
        """The proxy relays are reached through, if one is set."""
        return PeerBook(self.core.store).proxy()
