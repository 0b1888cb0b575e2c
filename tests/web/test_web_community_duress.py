"""A duress passphrase on a community node: typed at its unlock page, even while the
real profile is open in another browser, it opens the decoy, never the open profile;
a person sets their own from their phone's Duress page, which reaches their own
profile and no other (docs/threat-model.md)."""

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
    # The decoy's pages offer Panic and Duress as any open profile's do.
    assert 'href="/panic"' in seen.text and 'href="/settings/duress"' in seen.text


def test_a_phone_sets_its_own_duress_passphrase_and_no_one_elses(node: Node) -> None:
    nasrin, bahram = node.phone(), node.phone()
    nasrin.create("Nasrin", node.code)
    nasrin.found("Block 4 committee", "Nasrin")
    bahram.create("Bahram", node.code)
    bahram.found("Street 9 kitchen", "Bahram")
    assert "Duress" in bahram.get("/settings/duress").text
    fields = {"duress": DURESS, "again": DURESS, "wipe": "yes"}
    # His session with her token, or her passphrase on his page: nothing is sealed.
    forged = {"passphrase": PASSPHRASES["Nasrin"], **fields}
    assert bahram.post("/settings/duress", forged, csrf=nasrin.csrf).status_code == 403
    assert bahram.post("/settings/duress", forged).status_code == 400
    assert node.phone().get("/settings/duress").status_code == 303  # bound to nobody
    # Her own, with her passphrase: set; it opens her decoy, and his profile is untouched.
    nasrin.get("/settings/duress")
    done = nasrin.post("/settings/duress", {"passphrase": PASSPHRASES["Nasrin"], **fields})
    assert done.status_code == 200 and "The duress passphrase is set." in done.text
    officer = node.phone()
    assert officer.unlock("Nasrin", DURESS).status_code == 303
    assert "Block 4 committee" not in officer.get("/councils").text
    assert node.phone().unlock("Bahram", DURESS).status_code == 400
    later = node.phone()
    assert later.unlock("Bahram", PASSPHRASES["Bahram"]).status_code == 303
    assert "Street 9 kitchen" in later.get("/councils").text
