"""The duress passphrase and the slotted keystore, on real profiles on disk."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from conftest import FAST_KDF
from shora.errors import ProfileError
from shora.i18n import using_language
from shora.kernel import crypto, profile
from shora.kernel import keystore as layout
from shora.node import Node

PASSPHRASE = "correct horse battery"
DURESS = "my cat is called Pishi"
REAL_COUNCIL = "Tannery workers council"
DECOY_COUNCIL = "Chess club"


def new_profile(home: Path) -> None:
    with Node.create(home, PASSPHRASE, kdf_limits=FAST_KDF, allow_weak_kdf=True) as node:
        node.councils.create(REAL_COUNCIL, "", "Nasrin")


def open_node(home: Path, passphrase: str) -> Node:
    return Node.open(home, passphrase, allow_weak_kdf=True)


def set_duress(home: Path, duress: str | None, *, wipe: bool) -> None:
    profile.set_duress(home, PASSPHRASE, duress, wipe=wipe, allow_weak_kdf=True)


def names(node: Node) -> list[str]:
    return [c.name for c in node.councils.all()]


def shape(home: Path) -> dict[str, int]:
    """Every file of a closed profile with its size."""
    return {p.name: p.stat().st_size for p in sorted(home.iterdir())}


def test_a_new_profile_has_a_slotted_keystore_and_two_databases(tmp_path: Path) -> None:
    new_profile(tmp_path / "p")
    raw = (tmp_path / "p" / profile.KEYSTORE_FILE).read_bytes()
    assert layout.is_keystore(raw) and len(raw) == layout.SIZE
    found = shape(tmp_path / "p")
    assert set(found) == {profile.KEYSTORE_FILE, *profile.DATABASE_FILES}
    sizes = {found[name] for name in profile.DATABASE_FILES}
    assert len(sizes) == 1  # the spare is an empty database, as the real one was


def test_which_file_is_real_is_chosen_at_random(tmp_path: Path) -> None:
    chosen = set()
    for i in range(16):
        made = profile.create(tmp_path / str(i), PASSPHRASE, *FAST_KDF, allow_weak_kdf=True)
        chosen.add(made.database_index)
        made.close()
    assert chosen == {0, 1}


def test_with_and_without_a_duress_passphrase_the_files_look_the_same(tmp_path: Path) -> None:
    plain, duress = tmp_path / "plain", tmp_path / "duress"
    new_profile(plain)
    new_profile(duress)
    set_duress(duress, DURESS, wipe=True)
    assert shape(plain) == shape(duress)
    a = (plain / profile.KEYSTORE_FILE).read_bytes()
    b = (duress / profile.KEYSTORE_FILE).read_bytes()
    assert layout.header_of(a).opslimit == layout.header_of(b).opslimit
    assert [len(layout.slot_bytes(a, i)) for i in range(layout.SLOTS)] == [
        len(layout.slot_bytes(b, i)) for i in range(layout.SLOTS)
    ]
    # Neither database file of either profile looks like anything but random bytes.
    for home in (plain, duress):
        for name in profile.DATABASE_FILES:
            assert not (home / name).read_bytes().startswith(b"SQLite format 3")


def test_setting_the_duress_passphrase_keeps_the_keystore_times(tmp_path: Path) -> None:
    home = tmp_path / "p"
    new_profile(home)
    before = {p.name: p.stat().st_mtime_ns for p in home.iterdir()}
    set_duress(home, DURESS, wipe=True)
    assert {p.name: p.stat().st_mtime_ns for p in home.iterdir()} == before


def test_the_duress_passphrase_opens_an_empty_decoy_and_keeps_the_real_one(
    tmp_path: Path,
) -> None:
    home = tmp_path / "p"
    new_profile(home)
    set_duress(home, DURESS, wipe=False)
    with open_node(home, DURESS) as decoy:
        assert names(decoy) == []
        decoy.councils.create(DECOY_COUNCIL, "", "Sara")  # the person prepares the decoy
    with open_node(home, PASSPHRASE) as real:
        assert names(real) == [REAL_COUNCIL]
    # Changing to wiping with the same duress passphrase keeps the prepared decoy.
    set_duress(home, DURESS, wipe=True)
    with open_node(home, DURESS) as decoy:
        assert names(decoy) == [DECOY_COUNCIL]


def test_the_wiping_duress_passphrase_leaves_the_real_profile_unrecoverable(
    tmp_path: Path,
) -> None:
    home = tmp_path / "p"
    new_profile(home)
    set_duress(home, DURESS, wipe=False)
    with open_node(home, DURESS) as decoy:
        decoy.councils.create(DECOY_COUNCIL, "", "Sara")
    set_duress(home, DURESS, wipe=True)
    before = shape(home)
    with open_node(home, PASSPHRASE) as real:
        real_file = real.store.path
    with open_node(home, DURESS) as decoy:
        assert names(decoy) == [DECOY_COUNCIL]
        assert decoy.store.path != real_file
    assert shape(home) == before  # the same files and sizes
    # The real profile's keys are gone: the real passphrase is just a wrong one now, in
    # the person's language too.
    with pytest.raises(ProfileError, match="wrong passphrase"):
        open_node(home, PASSPHRASE)
    with using_language("fa"), pytest.raises(ProfileError) as refused:
        open_node(home, PASSPHRASE)
    assert "wrong passphrase" not in str(refused.value)
    # The decoy is now an ordinary profile: it opens again, and can seal its own duress.
    with open_node(home, DURESS) as decoy:
        assert names(decoy) == [DECOY_COUNCIL]
    profile.set_duress(home, DURESS, "another one to give", wipe=True, allow_weak_kdf=True)


def test_a_duress_passphrase_equal_to_the_passphrase_or_short_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "p"
    new_profile(home)
    with pytest.raises(ProfileError, match="differ"):
        set_duress(home, PASSPHRASE, wipe=True)
    with pytest.raises(ProfileError, match="at least"):
        set_duress(home, "short", wipe=True)
    with pytest.raises(ProfileError, match="wrong passphrase"):
        profile.set_duress(home, "not the passphrase", DURESS, wipe=True, allow_weak_kdf=True)


def test_the_duress_passphrase_cannot_change_the_duress_settings(tmp_path: Path) -> None:
    home = tmp_path / "p"
    new_profile(home)
    set_duress(home, DURESS, wipe=False)
    with pytest.raises(ProfileError, match="wrong passphrase"):
        profile.set_duress(home, DURESS, None, wipe=False, allow_weak_kdf=True)
    with open_node(home, PASSPHRASE) as real:
        assert names(real) == [REAL_COUNCIL]


def test_removing_the_duress_passphrase_puts_a_new_spare_in_place(tmp_path: Path) -> None:
    home = tmp_path / "p"
    new_profile(home)
    set_duress(home, DURESS, wipe=False)
    with open_node(home, DURESS) as decoy:
        decoy.councils.create(DECOY_COUNCIL, "", "Sara")
    set_duress(home, None, wipe=False)
    with pytest.raises(ProfileError, match="wrong passphrase"):
        open_node(home, DURESS)
    with open_node(home, PASSPHRASE) as real:
        assert names(real) == [REAL_COUNCIL]


def first_layout(home: Path) -> None:
    """A profile as the first version wrote it: a msgpack keystore and shora.db only."""
    new_profile(home)
    unlocked = profile.unlock(home, PASSPHRASE, allow_weak_kdf=True)
    secrets, path = unlocked.secrets, unlocked.database
    spare = home / profile.DATABASE_FILES[1 - unlocked.database_index]
    spare.unlink()
    path.rename(home / profile.DATABASE_FILE)
    salt = crypto.random_bytes(16)
    key = crypto.derive_key(PASSPHRASE.encode(), salt, *FAST_KDF)
    sealed = crypto.aead_encrypt(key, msgspec.msgpack.encode(secrets), profile.KEYSTORE_AD)
    ks = profile.SealedKeystore(1, salt, *FAST_KDF, sealed)
    (home / profile.KEYSTORE_FILE).write_bytes(msgspec.msgpack.encode(ks))


def test_a_profile_of_the_first_layout_is_brought_to_the_slotted_one(tmp_path: Path) -> None:
    chosen = set()
    for i in range(16):  # both files chosen, but for a chance of one in 2**15
        home = tmp_path / str(i)
        first_layout(home)
        assert shape(home).keys() == {profile.KEYSTORE_FILE, profile.DATABASE_FILE}
        with pytest.raises(ProfileError, match="wrong passphrase"):
            open_node(home, "not the passphrase")  # a wrong one changes nothing
        assert shape(home).keys() == {profile.KEYSTORE_FILE, profile.DATABASE_FILE}
        with open_node(home, PASSPHRASE) as node:
            assert names(node) == [REAL_COUNCIL]
            chosen.add(node.store.path.name)
        assert shape(home).keys() == {profile.KEYSTORE_FILE, *profile.DATABASE_FILES}
        assert layout.is_keystore((home / profile.KEYSTORE_FILE).read_bytes())
    assert chosen == set(profile.DATABASE_FILES)  # moved at random, as a new one is placed
    set_duress(home, DURESS, wipe=True)
    with open_node(home, DURESS) as decoy:
        assert names(decoy) == []


def test_the_keys_are_zeroed_when_the_profile_closes(tmp_path: Path) -> None:
    home = tmp_path / "p"
    new_profile(home)
    node = open_node(home, PASSPHRASE)
    keys = node._unlocked.keys
    assert any(keys)
    node.close()
    assert keys == bytearray(64)


def test_an_unlock_refreshes_every_file_change_time(tmp_path: Path) -> None:
    """A duress unlock replaces the real database: the change time, which no program can
    set, would show it, were it not refreshed on every file at every unlock."""
    home = tmp_path / "p"
    new_profile(home)
    for path in home.iterdir():
        os.utime(path, ns=(0, 0))
    changed = {p.name: p.stat().st_ctime_ns for p in home.iterdir()}
    open_node(home, PASSPHRASE).close()
    assert all(p.stat().st_ctime_ns >= changed[p.name] for p in home.iterdir())


def test_sqlite_keeps_its_temporary_files_in_memory(tmp_path: Path) -> None:
    """No temporary file with plaintext: sorts and temporary tables stay in RAM."""
    home = tmp_path / "p"
    new_profile(home)
    with open_node(home, PASSPHRASE) as node:
        assert node.store.one("PRAGMA temp_store") == 2  # MEMORY
