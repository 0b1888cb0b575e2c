"""A duress passphrase on a community node: typed at its unlock page, even while the
real profile is open in another browser, it opens the decoy, never the open profile;
the duress page is not offered there, the Panic one (for the open profile) is
(docs/threat-model.md)."""

from __future__ import annotations

from shora.services import profiles
from web.test_web_community import PASSPHRASES, Node, node

__all__ = ["node"]

DURESS = "my cat is called Pishi"


def test_the_duress_passphrase_opens_the_decoy_even_while_the_real_one_is_open(
    node: Node,
) -> None:
    nasrin, officer = node.phone(), node.phone()
    nasrin.create("Nasrin", node.code)
    nasrin.found("Block 4 committee", "Nasrin")
    person = node.hall.community.find("Nasrin")
    assert person is not None
    profiles.set_duress(person.home, PASSPHRASES["Nasrin"], DURESS, wipe=True, allow_weak_kdf=True)
    assert officer.unlock("Nasrin", DURESS).status_code == 303
    seen = officer.get("/councils")
    assert seen.status_code == 200 and "Block 4 committee" not in seen.text
    # The real passphrase opens nothing any more.
    later = node.phone()
    refused = later.unlock("Nasrin", PASSPHRASES["Nasrin"])
    assert refused.status_code == 400 and "Wrong name or passphrase." in refused.text
    # No Duress link leads to a page this mode does not have; Panic destroys the decoy.
    assert 'href="/panic"' in seen.text and 'href="/settings/duress"' not in seen.text
