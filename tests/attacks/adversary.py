"""A modified client: a real profile whose node signs whatever it likes.

It keeps every key it ever held (its member key, every epoch it was given) and writes
events with any parents, logical clock, claimed time and epoch it chooses, without
asking its own node whether the council's rules allow them. The honest profiles the
attack tests run it against are unmodified nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from shora.kernel import crypto, keys, nip01
from shora.kernel.events import (
    SHORA_KIND,
    InnerPayload,
    encode_body,
    encode_payload,
    seal_content,
    sign_payload,
)
from shora.node import Node


@dataclass
class Forged:
    raw: bytes  # the envelope, ready for any node's import
    id: bytes  # the inner event id, for use as a parent


class Adversary:
    """Wraps a (formerly honest) member's node; forges events under its identity."""

    def __init__(self, node: Node, council: bytes) -> None:
        self.node = node
        self.council = council
        me = node.identity(council)
        self.key, self._sk = me.sign_pk, me.sign_sk

    def epochs(self) -> list[keys.Epoch]:
        """Every epoch of the council this profile ever held, oldest first."""
        return self.node.ingestor.projection.epochs_by_creation(
            self.council, self.node.ingestor.keyring.epochs_of(self.council)
        )

    def heads(self) -> list[bytes]:
        rows = self.node.store.rows("SELECT id FROM heads WHERE council=?", (self.council,))
        return sorted(bytes(r[0]) for r in rows)

    def clock_of(self, parents: list[bytes]) -> int:
        clocks = [
            self.node.store.one("SELECT clock FROM events WHERE id=?", (p,)) or 0 for p in parents
        ]
        return 1 + max(clocks, default=0)

    def time_of(self, parents: list[bytes]) -> int:
        """The latest claimed time among the parents (ms), as an honest writer's floor."""
        times = [
            self.node.store.one("SELECT time FROM events WHERE id=?", (p,)) or 0 for p in parents
        ]
        return max(times, default=0)

    def forge(
        self,
        kind: str,
        body: msgspec.Struct | bytes,
        *,
        parents: list[bytes] | None = None,
        clock: int | None = None,
        time_ms: int | None = None,
        epoch: keys.Epoch | None = None,
        created_at: int | None = None,
        author: tuple[bytes, bytes] | None = None,
    ) -> Forged:
        """Sign and seal one event exactly as told (defaults: the current heads, the
        matching clock, the node's clock, the newest epoch held)."""
        parents = self.heads() if parents is None else sorted(parents)
        clock = self.clock_of(parents) if clock is None else clock
        time_ms = int(self.node.now() * 1000) if time_ms is None else time_ms
        epoch = epoch or self.epochs()[-1]
        sign_pk, sign_sk = author or (self.key, self._sk)
        raw_body = body if isinstance(body, bytes) else encode_body(body)
        payload = InnerPayload(
            1, self.council, epoch.write_pk, sign_pk, parents, clock, time_ms, kind, raw_body
        )
        raw_payload = encode_payload(payload)
        content = seal_content(
            epoch.content_key, epoch.write_pk, sign_payload(sign_sk, raw_payload)
        )
        created = int(self.node.now()) // 3600 * 3600 if created_at is None else created_at
        env = nip01.sign_envelope(
            crypto.WriteSigner(epoch.write_sk), created, SHORA_KIND, [], content
        )
        return Forged(nip01.encode(env), crypto.sha256(raw_payload))

    def envelope(
        self,
        kind: int,
        content: str,
        tags: list[list[str]],
        epoch: keys.Epoch | None = None,
        created_at: int | None = None,
    ) -> bytes:
        """A raw envelope of any kind under a write key held (or once held)."""
        epoch = epoch or self.epochs()[-1]
        created = int(self.node.now()) // 3600 * 3600 if created_at is None else created_at
        env = nip01.sign_envelope(crypto.WriteSigner(epoch.write_sk), created, kind, tags, content)
        return nip01.encode(env)
