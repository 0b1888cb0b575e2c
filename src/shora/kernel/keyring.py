"""The keys one profile holds: each epoch's (docs/protocol.md §6), learnt from the
council's own events and from welcomes and ring envelopes, and the identity key that
seals members' secret keys inside the store.

The ingest pipeline (kernel/ingest.py) decides whether an envelope that carries keys
counts and stores it; this module opens what is addressed to us and remembers what it
held. Learnt epochs are written to the store at once (inside the caller's transaction).
"""

from __future__ import annotations

from shora.kernel import crypto, keys, kinds, nip01
from shora.kernel.events import decode_base64
from shora.kernel.storage import Store

IDENTITY_CONTEXT = b"shora/identity/v1"


class Keyring:
    """Each epoch held, by write key (`held`) and by council in the order learnt."""

    def __init__(self, store: Store, identity_key: bytes) -> None:
        self.store = store
        self._identity_key = identity_key
        self.held: dict[bytes, keys.Epoch] = {}
        # The same epochs by council, in the order learnt: a council's ring is read on
        # every write and admission, and filtering every epoch held made that cost grow
        # with the rotations of every council.
        self._by_council: dict[bytes, dict[bytes, keys.Epoch]] = {}
        self.reload()

    def reload(self) -> None:
        """Read every epoch from the store again (another process may have learnt some)."""
        self.held, self._by_council = {}, {}
        for write_pk, council, content_key, write_sk in self.store.epochs.all():
            epoch = keys.Epoch(council, write_pk, content_key, write_sk)
            self.held[write_pk] = epoch
            self._by_council.setdefault(council, {})[write_pk] = epoch

    def epoch(self, write_pk: bytes) -> keys.Epoch | None:
        return self.held.get(write_pk)

    def all_epochs(self) -> list[keys.Epoch]:
        return list(self.held.values())

    def epochs_of(self, council: bytes) -> list[keys.Epoch]:
        return list(self._by_council.get(council, {}).values())

    def learn(self, epoch: keys.Epoch) -> bool:
        """Hold `epoch` from now on (stored); False if it was held already."""
        if epoch.write_pk in self.held:
            return False
        self.store.epochs.add(epoch.write_pk, epoch.council, epoch.content_key, epoch.write_sk)
        self.held[epoch.write_pk] = epoch
        self._by_council.setdefault(epoch.council, {})[epoch.write_pk] = epoch
        return True

    # --- members' secrets in the store ----------------------------------------------

    def unseal_secret(self, sealed: bytes) -> bytes:
        plain = crypto.aead_decrypt(self._identity_key, sealed, IDENTITY_CONTEXT)
        if plain is None:
            raise RuntimeError("identity key cannot open a stored secret")
        return plain

    def seal_secret(self, secret: bytes) -> bytes:
        return crypto.aead_encrypt(self._identity_key, secret, IDENTITY_CONTEXT)

    # --- what is addressed to us ----------------------------------------------------

    def open_grant(self, council: bytes, body: kinds.EpochGrant) -> keys.Epoch | None:
        """The epoch a grant hands us, if we lack it and a box is ours and opens."""
        me = self.store.councils.kx_identity(council)
        if me is None:
            return None
        sign_pk, kx_pk, sealed_kx = me
        if body.epoch in self.held or not body.names(sign_pk):
            return None
        return body.open(sign_pk, kx_pk, self.unseal_secret(sealed_kx), council)

    def open_welcome(self, env: nip01.Envelope, write_pk: bytes) -> list[keys.Epoch] | None:
        """The epochs of a welcome (kind 4041) to a join request of ours or to one of our
        keys (a welcome back), if it opens and holds the key it is written under."""
        hint = env.tag("k")
        for (
            council,
            status,
            request_id,
            sign_pk,
            kx_pk,
            sealed_kx,
        ) in self.store.councils.welcome_identities():
            # A newcomer's welcome names their join request; a welcome back, their key.
            if status != "joining":
                request_id = keys.return_id(sign_pk)
            if request_id is None or keys.welcome_hint(request_id) != hint:
                continue
            sealed = decode_base64(env.content)
            ring = keys.open_welcome(
                kx_pk, self.unseal_secret(sealed_kx), council, request_id, sealed
            )
            if ring and any(e.write_pk == write_pk for e in ring):
                return ring
        return None

    def open_ring(self, env: nip01.Envelope, epoch: keys.Epoch) -> list[keys.Epoch] | None:
        """The epochs we lack of a ring envelope written under `epoch` (§6.3); None if it
        does not open under it."""
        return keys.open_ring(epoch, decode_base64(env.content), self.held)
