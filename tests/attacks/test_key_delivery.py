"""An informer attacks key delivery of version 2 (docs/protocol.md §6.1, §6.3).

Grants now seal an epoch's keys once and give each member 24 bytes; welcomes carry the
current epoch and a ring envelope carries the older ones. The informer runs a modified
client with every key it ever held (tests/attacks/adversary.py) against honest real
profiles: removed, it reads the grants of the new epoch and unwraps nothing; still a
member, it forges ring envelopes, and what it slips in is capped and inert.
"""

from __future__ import annotations

import base64
from pathlib import Path

from attacks.adversary import Adversary
from conftest import admit, admit_stranger, everyone, make_node, send
from shora.kernel import crypto, keys, kinds
from shora.kernel.events import WELCOME_KIND
from shora.node import Node


def _texts(node: Node, council: bytes) -> set[str]:
    return {p["text"] for p in node.posts.posts(council, limit=1000)}


def test_a_removed_informer_unwraps_no_box_of_the_new_epochs_grants(tmp_path: Path) -> None:
    """m holds her X25519 secret and every epoch she was given. After her removal she
    reads each version-2 grant of the new epoch (it travels under an epoch she holds),
    sees 8 bytes of each recipient's key, and tries to open every box with her secret,
    as herself and as each recipient: nothing opens, and she reads nothing new."""
    a, b, m = (make_node(tmp_path, n) for n in ("a", "b", "m"))
    council = a.councils.create("Refinery", "", "Azar", kinds.Rules(removal="member"))
    admit(a, b, council, "Bijan")
    admit(a, m, council, "Mina")
    for i in range(20):
        admit_stranger(a, council, f"worker {i}")
    everyone([a, b, m])
    informer = Adversary(m, council)
    me = m.identity(council)
    kx_sk = m.ingestor.keyring.unseal_secret(m.store.councils.kx_identity(council)[2])  # type: ignore[index]
    a.membership.remove(council, informer.key, "informer")
    a.posts.post(council, "the new meeting place")
    everyone([a, b])
    send(a, m)
    new_epoch = a.ingestor.projection.final_state(council).current_epoch
    assert new_epoch is not None
    resolver = m.ingestor.projection.resolver(council)
    grants = [
        e.body
        for e in resolver.events.values()
        if isinstance(e.body, kinds.EpochGrant) and e.body.epoch == new_epoch
    ]
    assert grants and all(g.v2 for g in grants)
    tags = [t for g in grants for t in keys.box_tags(g.boxes)]
    assert me.sign_pk[: keys.MEMBER_TAG_LEN] not in tags
    assert len(tags) == 22  # a, b and the twenty workers
    for g in grants:
        found = keys.Grants(g.eph, g.sealed, g.boxes)
        for tag in keys.box_tags(g.boxes):
            as_them = tag + me.sign_pk[keys.MEMBER_TAG_LEN :]
            assert keys.open_grants(as_them, me.kx_pk, kx_sk, council, new_epoch, found) is None
    assert m.ingestor.keyring.epoch(new_epoch) is None
    assert "the new meeting place" in _texts(b, council)
    assert "the new meeting place" not in _texts(m, council)


def _ring_envelopes(node: Node, hint: str) -> int:
    return int(
        node.store.one(
            "SELECT count(*) FROM envelopes WHERE kind=? AND hint=?", (WELCOME_KIND, hint)
        )
    )


def test_an_informers_ring_envelopes_are_capped_and_their_epochs_inert(tmp_path: Path) -> None:
    """i is still a member and holds the current epoch. She forges ring envelopes under
    it: one that does not open is refused; one carrying an epoch she made up is taken
    (whoever holds an epoch may write one, as they may write a welcome), but at most 4
    are stored per epoch, and nothing written under the made-up epoch is accepted by
    the honest founder or by a newcomer, who still reads the whole history."""
    a, i = make_node(tmp_path, "a"), make_node(tmp_path, "i")
    council = a.councils.create("Depot", "", "Azar", kinds.Rules(removal="member"))
    admit(a, i, council, "Iraj")
    for n in range(5):
        a.posts.post(council, f"rota {n}")
        gone = admit_stranger(a, council, f"m{n}")
        assert a.membership.remove(council, gone).admitted
    send(a, i)
    informer = Adversary(i, council)
    current = informer.epochs()[-1]
    assert current.write_pk == a.ingestor.projection.final_state(council).current_epoch
    hint = keys.ring_hint(current.write_pk)
    made_up = keys.Epoch.generate(council)

    def ring(content: str) -> bytes:
        return informer.envelope(WELCOME_KIND, content, [["k", hint]], epoch=current)

    garbage = ring(base64.b64encode(crypto.random_bytes(80)).decode("ascii"))
    forged = [
        ring(base64.b64encode(keys.seal_ring(current, [made_up, *informer.epochs()[:k]])).decode())
        for k in range(1, 6)
    ]
    report = a.bundles.import_envelopes([garbage, *forged])
    assert report.refused.get("WrongEpoch") == 1
    assert report.refused.get("TooManyWaiting", 0) >= 1
    assert _ring_envelopes(a, hint) == 4
    assert a.ingestor.keyring.epoch(made_up.write_pk) is not None  # learned, and inert:
    digest = a.councils.state_digest(council)
    under_made_up = informer.forge(
        "post.message", kinds.Message("meet at the gate at dawn"), epoch=made_up
    )
    report = a.bundles.import_envelopes([under_made_up.raw])
    assert report.refused == {"WrongEpoch": 1}
    assert a.councils.state_digest(council) == digest
    # a newcomer admitted now gets the honest epochs, and the made-up one is inert too
    newcomer = make_node(tmp_path, "newcomer")
    admit(a, newcomer, council, "Bahar")
    assert {f"rota {n}" for n in range(5)} <= _texts(newcomer, council)
    assert newcomer.councils.state_digest(council) == a.councils.state_digest(council)
    report = newcomer.bundles.import_envelopes([under_made_up.raw])
    assert not report.accepted
    assert "meet at the gate at dawn" not in _texts(newcomer, council)
