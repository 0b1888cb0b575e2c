"""The panic wipe on a community node: the operator's `shora community remove` and
`shora community panic --all` crypto-erase (as `shora panic` does) and a running node
ends the sessions of what is gone; on a phone, the person's own Panic button and Esc
three times destroy their own profile and nobody else's (docs/threat-model.md)."""

from __future__ import annotations

from pathlib import Path

from cli.test_duress_cli import scan
from cli_run import base_env, in_process
from kernel.test_profile import SECRETS
from shora.kernel import profile
from shora.services.community import Person
from shora.web.security import session_cookie
from web.test_web_community import PASSPHRASES, PORT, Node, Phone, node

__all__ = ["node"]


def with_council(node: Node, name: str, council: str) -> tuple[Phone, Person]:
    """A phone that made `name`'s profile and founded `council` in it."""
    phone = node.phone()
    phone.create(name, node.code)
    phone.found(council, SECRETS[4])
    person = node.hall.community.find(name)
    assert person is not None
    return phone, person


def keys_of(person: Person, passphrase: str) -> list[bytes]:
    unlocked = profile.unlock(person.home, passphrase, allow_weak_kdf=True)
    secrets = unlocked.secrets
    unlocked.close()
    return [secrets.database_key, secrets.identity_key]


def community(root: Path, *args: str) -> str:
    env = {**base_env(), "SHORA_HOME": str(root.parent / "home")}
    done = in_process(["community", *args, "--dir", str(root)], env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_panic_all_wipes_every_profile_and_a_running_node_ends_the_sessions(
    node: Node,
) -> None:
    root = node.hall.community.root
    nasrin, hers = with_council(node, "Nasrin", SECRETS[0])
    bahram, his = with_council(node, "Bahram", SECRETS[2])
    keys = keys_of(hers, PASSPHRASES["Nasrin"]) + keys_of(his, PASSPHRASES["Bahram"])
    code = node.code
    assert "Destroyed 2 profiles." in community(root, "panic", "--all", "--yes")
    # At once: neither phone reaches a page of the profile that is gone.
    for phone in (nasrin, bahram):
        assert phone.get("/councils").headers["location"].startswith("/unlock")
    node.portal.call(node.hall.lock_idle)
    assert node.hall.unlocked() == [] and node.hall.keepers == {}
    # Nothing of the keys or the councils' names is left anywhere under the directory;
    # the sign-up code stays.
    assert scan(root, keys) == []
    assert node.code == code
    assert node.hall.community.people() == []
    assert "No one has a profile" in community(root, "list")
    # Unlocking says plainly that it opens nothing.
    again = node.phone()
    refused = again.unlock("Nasrin", PASSPHRASES["Nasrin"])
    assert refused.status_code == 400 and "Wrong name or passphrase." in refused.text


def test_panic_needs_all_and_asks_first(node: Node) -> None:
    root = node.hall.community.root
    with_council(node, "Nasrin", SECRETS[0])
    env = {**base_env(), "SHORA_HOME": str(root.parent / "home")}
    bare = in_process(["community", "panic", "--dir", str(root), "--yes"], env)
    assert bare.returncode != 0
    asked = in_process(["community", "panic", "--all", "--dir", str(root)], env)
    assert asked.returncode != 0
    assert [p.label for p in node.hall.community.people()] == ["Nasrin"]


def test_remove_crypto_erases_one_profile_and_ends_only_its_sessions(node: Node) -> None:
    root = node.hall.community.root
    nasrin, hers = with_council(node, "Nasrin", SECRETS[0])
    bahram, _his = with_council(node, "Bahram", SECRETS[2])
    keys = keys_of(hers, PASSPHRASES["Nasrin"])
    community(root, "remove", "nasrin", "--yes")
    assert nasrin.get("/councils").headers["location"].startswith("/unlock")
    assert SECRETS[2] in bahram.get("/councils").text
    node.portal.call(node.hall.lock_idle)
    assert len(node.hall.unlocked()) == 1
    assert scan(root, keys) == []
    assert not hers.home.exists()


def test_a_phone_destroys_its_own_profile_and_never_anyone_elses(node: Node) -> None:
    nasrin, hers = with_council(node, "Nasrin", SECRETS[0])
    bahram, his = with_council(node, "Bahram", SECRETS[2])
    her_laptop = node.phone()
    her_laptop.unlock("Nasrin", PASSPHRASES["Nasrin"])
    stranger = node.phone()
    keys = keys_of(his, PASSPHRASES["Bahram"])
    # The Panic link is on the pages of an unlocked profile (Esc three times needs it).
    page = bahram.get("/councils").text
    assert 'href="/panic" class="panic"' in page
    assert 'class="panic"' not in stranger.get("/unlock").text
    # The page asks once; a post without confirm=yes destroys nothing.
    assert "Destroy it now" in bahram.get("/panic").text
    assert bahram.post("/panic", {}).status_code == 200 and his.home.exists()
    # Someone else's token (CSRF replay) is refused; a browser bound to nobody, or one
    # holding a made-up cookie, destroys nothing.
    assert bahram.post("/panic", {"confirm": "yes"}, csrf=nasrin.csrf).status_code == 403
    r = stranger.post("/panic", {"confirm": "yes"})
    assert "Destroy it now" not in r.text
    assert r.status_code in (200, 303)
    assert nasrin.cookie is not None
    stranger.inner.cookies.set(session_cookie(PORT), "made-up-" + nasrin.cookie[8:])
    assert stranger.post("/panic", {"confirm": "yes"}, csrf=nasrin.csrf).status_code == 403
    assert hers.home.exists() and his.home.exists()
    # His own panic: his profile alone is gone, his session ends, hers go on.
    done = bahram.post("/panic", {"confirm": "yes"})
    assert done.status_code == 200 and "The profile is destroyed." in done.text
    assert not his.home.exists()
    assert scan(node.hall.community.root, keys) == []
    assert bahram.get("/councils").headers["location"].startswith("/unlock")
    for phone in (nasrin, her_laptop):
        assert SECRETS[0] in phone.get("/councils").text
    assert [p.label for p in node.hall.community.people()] == ["Nasrin"]
    refused = node.phone().unlock("Bahram", PASSPHRASES["Bahram"])
    assert refused.status_code == 400 and "Wrong name or passphrase." in refused.text
