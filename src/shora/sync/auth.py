"""Proving membership before envelopes move: NIP-42 AUTH, both ways (docs/sync.md §2.5).

A Shora relay (a node's embedded relay, on the LAN or at a URL) opens every connection
with ``["AUTH", challenge]``. The challenge is ``<nonce>:<proof>,<proof>,...``: a fresh
random nonce and, for each recent epoch of every council the relay's node holds, a proof
``BLAKE2b-128(key = write secret, "shora/relay-proof/v1" || nonce || relay URL)``,
padded with random proofs to a multiple of 8 and sorted. The proofs name no key: only
someone holding the same write secret can recompute one, and the nonce makes each
connection's proofs unlinkable to the last.

A client answers with one kind-22242 event per write key it uses (NIP-42: tags
``["relay", url]`` and ``["challenge", challenge]``, signed by that write key). The
relay then serves envelopes of a council, and takes them in, only once a recent write
key of that council is proven on the connection; welcomes by their ``#k`` hint are
served to anyone (a newcomer has no write key yet, and a hint is a hash of a join
request only its author and the admitters know).

On the LAN the client goes further (``mutual``): it sends nothing at all until the
relay's challenge carries a proof it can recompute for the URL it dialled, and then it
proves, and syncs, only the councils so proven. A stranger announcing a relay over mDNS
therefore receives no request, no key and no envelope. A relay at a URL a council chose
(a public Nostr relay) is not asked for proofs: the client answers its AUTH, if it asks,
with the keys the council's filters name anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Annotated, Protocol, runtime_checkable

import msgspec

from shora.errors import RemoteError
from shora.kernel import DECODE_ERRORS, crypto, keys, nip01
from shora.sync import messages, nip77
from shora.sync.outcome import SyncProgress, SyncResult
from shora.sync.session import EnvelopeView, SyncFailed, SyncSession

AUTH_KIND = 22242
PROOF_CONTEXT = b"shora/relay-proof/v1"
PROOF_BYTES = 16
PROOF_PAD = 8
MAX_PROOFS = 256
MAX_ANSWERS = 4
"""AUTH challenges a client answers on one connection."""
MAX_AUTH_EVENT = 32 * 1024
_REFUSAL = re.compile(rb'^\s*\[\s*"(AUTH|OK|CLOSED|NEG-ERR)"')


@runtime_checkable
class Keyring(Protocol):
    """The keys a node proves and checks membership with (``NodeEnvelopes``)."""

    def recent_epochs(self) -> list[keys.Epoch]: ...
    def authors_of(self, councils: Iterable[bytes]) -> list[str]: ...
    def scoped(self, councils: Iterable[bytes]) -> SyncView: ...
    def joining(self) -> list[bytes]: ...


class SyncView(EnvelopeView, Keyring, Protocol):
    """A view a session syncs and a keyring proves membership with."""


# --- the relay's side ---------------------------------------------------------------------


def proof(epoch: keys.Epoch, nonce: bytes, url: str) -> bytes:
    return crypto.keyed_hash(epoch.write_sk, PROOF_CONTEXT + nonce + url.encode(), PROOF_BYTES)


def challenge(epochs: list[keys.Epoch], nonce: bytes, url: str) -> str:
    """The relay's challenge: the nonce and a padded, sorted set of proofs."""
    proofs = [proof(e, nonce, url) for e in epochs[:MAX_PROOFS]]
    while len(proofs) % PROOF_PAD or not proofs:
        proofs.append(crypto.random_bytes(PROOF_BYTES))
    return nonce.hex() + ":" + ",".join(sorted(p.hex() for p in proofs))


_Tag = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=MAX_AUTH_EVENT)]],
    msgspec.Meta(min_length=1, max_length=nip01.MAX_TAG_ITEMS),
]


class AuthEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: nip01.Hex64
    pubkey: nip01.Hex64
    created_at: Annotated[int, msgspec.Meta(ge=0, lt=2**40)]
    kind: Annotated[int, msgspec.Meta(ge=AUTH_KIND, le=AUTH_KIND)]
    tags: Annotated[list[_Tag], msgspec.Meta(max_length=nip01.MAX_TAGS)]
    content: Annotated[str, msgspec.Meta(max_length=1024)]
    sig: nip01.Hex128

    def tag(self, name: str) -> str | None:
        return next((t[1] for t in self.tags if len(t) > 1 and t[0] == name), None)


_auth_decoder = msgspec.json.Decoder(AuthEvent)
_AUTH_ERRORS: tuple[type[Exception], ...] = (*DECODE_ERRORS, msgspec.ValidationError)


def check_answer(raw: bytes, expected: str) -> tuple[str, bytes]:
    """The event id and write key of a client's AUTH event for our challenge; raises
    RemoteError if it is malformed, answers another challenge or is signed wrongly."""
    if len(raw) > MAX_AUTH_EVENT:
        raise messages.ProtocolError("AUTH event too large")
    try:
        event = _auth_decoder.decode(raw)
    except _AUTH_ERRORS as exc:
        raise messages.ProtocolError(f"not a kind-22242 AUTH event: {exc}") from exc
    if event.tag("challenge") != expected or event.tag("relay") is None:
        raise messages.ProtocolError("the AUTH event answers another challenge")
    tags = [list(t) for t in event.tags]
    if nip01.event_id(event.pubkey, event.created_at, event.kind, tags, event.content) != event.id:
        raise messages.ProtocolError("the AUTH event's id does not match it")
    pubkey = bytes.fromhex(event.pubkey)
    crypto.WriteVerifier(pubkey).verify(bytes.fromhex(event.id), bytes.fromhex(event.sig))
    return event.id, pubkey


AUTH_REQUIRED = "auth-required: prove a write key of the council first (NIP-42 AUTH)"


class Gate:
    """What one connection to our relay has proven, and what that lets it ask for."""

    def __init__(self, keyring: Keyring, challenge_text: str) -> None:
        self.keyring = keyring
        self.challenge = challenge_text
        self.proven: set[bytes] = set()
        """Councils a recent write key of which the client has proven."""
        self.answers = 0
        self._recent: dict[bytes, bytes] | None = None  # our recent write keys -> council
        self._allowed: frozenset[str] | None = None
        self._hints: set[str] = set()  # welcome hints this client asked for

    def check(self, raw: bytes) -> str:
        """The OK for one AUTH event; raises RemoteError if it is malformed or forged."""
        self.answers += 1
        eid, write_pk = check_answer(raw, self.challenge)
        if self._recent is None:  # read once per connection: answers may come in dozens
            self._recent = {e.write_pk: e.council for e in self.keyring.recent_epochs()}
        council = self._recent.get(write_pk)
        if council is None:
            return messages.ok(eid, False, "restricted: not a recent key of a council here")
        self.proven.add(council)
        self._allowed = None
        return messages.ok(eid, True, "")

    def authors(self) -> frozenset[str]:
        """Every write key of the proven councils (hex)."""
        if self._allowed is None:
            found = self.keyring.authors_of(self.proven) if self.proven else []
            self._allowed = frozenset(found)
        return self._allowed

    def forget_authors(self) -> None:
        self._allowed = None

    def scope(self, flt: messages.Filter) -> messages.Filter | str:
        """The filter as this connection may have it answered, or why it may not.

        Welcomes by hint are anyone's to fetch (a newcomer holds no write key yet);
        everything else only under write keys of councils proven here."""
        if flt.authors is None and flt.ids is None and flt.k is None:
            return "restricted: a filter must name write keys (authors) or welcome hints (#k)"
        if flt.k is not None and flt.authors is None:
            room = messages.MAX_FILTER_HINTS - len(self._hints)
            self._hints.update(flt.k[: max(room, 0)])
            return flt
        if not self.proven:
            if flt.ids is not None and flt.authors is None and self._hints:
                # Fetching by id what a welcome hint's reconciliation found: welcomes only.
                return msgspec.structs.replace(flt, k=sorted(self._hints))
            return AUTH_REQUIRED
        allowed = self.authors()
        authors = (
            sorted(allowed) if flt.authors is None else [a for a in flt.authors if a in allowed]
        )
        return msgspec.structs.replace(flt, authors=authors)

    def refuse_upload(self, envelope: nip01.Envelope) -> str | None:
        """Why an EVENT may not be taken in on this connection, or None."""
        if envelope.pubkey in self.authors():
            return None
        return (
            "restricted: not a council proven on this connection" if self.proven else AUTH_REQUIRED
        )


# --- the client's side --------------------------------------------------------------------


def answer(epoch: keys.Epoch, url: str, challenge_text: str, now: int) -> str:
    """``["AUTH", <kind-22242 event>]`` signed by the epoch's write key."""
    tags = [["relay", url], ["challenge", challenge_text]]
    envelope = nip01.sign_envelope(crypto.WriteSigner(epoch.write_sk), now, AUTH_KIND, tags, "")
    return messages.client_auth(nip01.encode(envelope))


def proven_by(epochs: Iterable[keys.Epoch], challenge_text: str, url: str) -> list[keys.Epoch]:
    """Those of our epochs whose proof the relay's challenge carries for this URL."""
    nonce_hex, _, listed = challenge_text.partition(":")
    try:
        nonce = bytes.fromhex(nonce_hex)
        proofs = {bytes.fromhex(p) for p in listed.split(",")[:MAX_PROOFS] if p}
    except ValueError:
        return []
    return [e for e in epochs if proof(e, nonce, url) in proofs]


class Authenticated:
    """A sync session that answers a relay's AUTH, and on the LAN requires the relay's
    proof first. It swallows the relay's ``auth-required:`` refusals of requests sent
    before it had proven the keys they need (at the start, or keys a welcome brought in
    mid-session), proves them, and sends those requests again, once each."""

    def __init__(
        self,
        url: str,
        keyring: Keyring,
        make_session: Callable[[set[bytes] | None], SyncSession],
        *,
        mutual: bool,
        now: Callable[[], float],
    ) -> None:
        self.url = url
        self.keyring = keyring
        self.make_session = make_session
        self.mutual = mutual
        self.now = now
        self.session: SyncSession | None = None
        self._finished = False
        self._result = SyncResult()
        self._challenge: str | None = None
        self._challenges = 0
        self._answered: set[bytes] = set()  # write keys proven for the current challenge
        self._auth_ids: set[str] = set()
        self._requests: dict[str, str] = {}  # sub -> the last few REQ / NEG-OPEN sent
        self._retried: set[str] = set()
        self._held: list[str] = []  # refused before any challenge came: sent after it

    @property
    def done(self) -> bool:
        return self._finished or (self.session is not None and self.session.done)

    @property
    def probing(self) -> bool:
        return self.session is None or self.session.probing

    @property
    def result(self) -> SyncResult:
        return self.session.result if self.session is not None else self._result

    @property
    def progress(self) -> SyncProgress:
        return self.session.progress if self.session is not None else SyncProgress()

    def start(self) -> list[str]:
        if self.mutual:
            return []  # nothing until the peer proves it holds a council of ours
        self.session = self.make_session(None)
        return self._watch(self.session.start())

    def receive(self, text: str | bytes) -> list[str]:
        head = text[:40].encode() if isinstance(text, str) else bytes(text[:40])
        if _REFUSAL.match(head):
            handled = self._intercept(text)
            if handled is not None:
                return handled
        if self.session is None:
            raise SyncFailed("the peer sent messages before proving it holds our council")
        return self._watch(self.session.receive(text))

    def timeout(self) -> list[str]:
        if self.session is None:
            raise SyncFailed("the peer did not prove it holds a key of any of our councils")
        return self._watch(self.session.timeout())

    # --- internals ---

    def _watch(self, out: list[str]) -> list[str]:
        for text in out:
            if text.startswith(('["REQ"', '["NEG-OPEN"')):
                self._requests[msgspec.json.decode(text)[1]] = text
                while len(self._requests) > 32:
                    del self._requests[next(iter(self._requests))]
        return out

    def _intercept(self, text: str | bytes) -> list[str] | None:
        try:
            message = messages.decode_relay(text, max_bytes=MAX_AUTH_EVENT)
        except RemoteError:
            return None  # the session counts it
        if isinstance(message, messages.Auth):
            return self._answer(message.challenge)
        if isinstance(message, messages.Ok) and message.event_id in self._auth_ids:
            self._auth_ids.discard(message.event_id)
            if not message.accepted:
                self.result.notes.append(f"AUTH refused: {message.message}"[:200])
            return []
        if isinstance(message, messages.Closed):
            reason = message.message
        elif isinstance(message, nip77.NegErr):
            reason = message.reason
        else:
            return None
        sub = message.subscription_id
        if not reason.startswith("auth-required") or sub in self._retried:
            return None
        request = self._requests.pop(sub, None)
        if request is None:
            return None
        self._retried.add(sub)
        if self._challenge is None:
            self._held.append(request)
            return []
        proofs, _ = self._prove()
        return [*proofs, request]

    def _prove(self) -> tuple[list[str], list[keys.Epoch]]:
        """AUTH events for the recent keys not proven yet on this challenge (on the LAN,
        only those the peer's challenge shows it holds too)."""
        assert self._challenge is not None
        epochs = [e for e in self.keyring.recent_epochs() if e.write_pk not in self._answered]
        if self.mutual:
            epochs = proven_by(epochs, self._challenge, self.url)
        out = []
        for epoch in epochs:
            text = answer(epoch, self.url, self._challenge, int(self.now()))
            self._auth_ids.add(msgspec.json.decode(text)[1]["id"])
            self._answered.add(epoch.write_pk)
            out.append(text)
        return out, epochs

    def _answer(self, challenge_text: str) -> list[str]:
        if self._challenges >= MAX_ANSWERS:
            return []
        self._challenges += 1
        self._challenge, self._answered = challenge_text, set()
        out, epochs = self._prove()
        if self.session is None:
            # A node waiting for its welcome asks for it by hint, which names no key.
            councils = {e.council for e in epochs} | set(self.keyring.joining())
            if not councils:
                self._finished = True
                self._result.notes.append("the peer holds none of our councils")
                return []
            self.session = self.make_session(councils)
            return [*out, *self._watch(self.session.start())]
        held, self._held = self._held, []
        return [*out, *held]
