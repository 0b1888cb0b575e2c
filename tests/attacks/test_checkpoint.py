"""The checkpoint officer: holds the device, makes its owner type a passphrase, and
hunts through its files for a real profile behind the one that passphrase opened.

Nasrin set a duress passphrase (destroying, with a harmless profile she prepared);
Sara, stopped at the same checkpoint, never set one and keeps only the same harmless
council. Both profiles are real, on disk, driven through the command line.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from test_cli import Profile
from test_duress_cli import scan

from cli_run import base_env, in_process
from conftest import FAST_KDF
from shora.errors import ProfileError
from shora.kernel import crypto, profile
from shora.kernel import keystore as layout
from shora.kernel.storage.database import Database

DURESS = "my cat is called Pishi"
REAL = "Tannery workers council"
HARMLESS = "Chess club"


def shora(p: Profile, *args: str, passphrase: str) -> subprocess.CompletedProcess[str]:
    env = base_env()
    env.update(SHORA_HOME=str(p.home), SHORA_PASSPHRASE=passphrase, SHORA_DURESS_PASSPHRASE=DURESS)
    return in_process(args, env, cwd=p.root)


def ok(p: Profile, *args: str, passphrase: str) -> str:
    done = shora(p, *args, passphrase=passphrase)
    assert done.returncode == 0, done.stderr
    return done.stdout


def files(home: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(home.iterdir())}


def prepared(tmp_path: Path) -> tuple[Profile, list[bytes], int]:
    """Nasrin's profile: her real council, a prepared decoy, a destroying duress
    passphrase; her real keys and the spare file's time, for the test to look for."""
    nasrin = Profile(tmp_path, "nasrin")
    nasrin.ok("init")
    nasrin.ok("council", "create", REAL, "--as", "Nasrin")
    nasrin.ok("post", REAL, "the strike fund is at the bakery")
    unlocked = profile.unlock(nasrin.home, nasrin.passphrase, allow_weak_kdf=True)
    keys = [unlocked.secrets.database_key, unlocked.secrets.identity_key]
    spare = nasrin.home / profile.DATABASE_FILES[1 - unlocked.database_index]
    unlocked.close()
    spare_time = spare.stat().st_mtime_ns
    ok(nasrin, "profile", "duress", "--keep", passphrase=nasrin.passphrase)
    ok(nasrin, "council", "create", HARMLESS, "--as", "Nasrin", passphrase=DURESS)
    ok(nasrin, "profile", "duress", "--wipe", passphrase=nasrin.passphrase)
    return nasrin, keys, spare_time


def test_the_officer_with_the_duress_passphrase_finds_no_real_profile(tmp_path: Path) -> None:
    nasrin, real_keys, spare_time = prepared(tmp_path)
    sara = Profile(tmp_path, "sara")
    sara.ok("init")
    sara.ok("council", "create", HARMLESS, "--as", "Nasrin")

    # At the checkpoint: the duress passphrase opens a profile that looks lived in.
    seen = ok(nasrin, "council", "list", passphrase=DURESS)
    assert HARMLESS in seen and REAL not in seen

    # The files: the same names and sizes as Sara's, who never set a duress passphrase.
    assert files(nasrin.home) == files(sara.home)
    # The file the passphrase did not open bears the time it had since the profile was
    # made, as Sara's spare does: no sign that it was written today.
    opened = profile.unlock(nasrin.home, DURESS, allow_weak_kdf=True)
    other = nasrin.home / profile.DATABASE_FILES[1 - opened.database_index]
    decoy_keys = [opened.secrets.database_key, opened.secrets.identity_key]
    opened.close()
    assert other.stat().st_mtime_ns == spare_time

    # The keystore: the same size; the duress key opens one slot, the rest look random.
    raw = (nasrin.home / profile.KEYSTORE_FILE).read_bytes()
    assert len(raw) == len((sara.home / profile.KEYSTORE_FILE).read_bytes()) == layout.SIZE
    header = layout.header_of(raw)
    key = crypto.derive_key(DURESS.encode(), header.salt, header.opslimit, header.memlimit)
    assert layout.open_slots(key, raw) is not None
    slots = [layout.slot_bytes(raw, i) for i in range(layout.SLOTS)]
    assert len(set(slots)) == layout.SLOTS and len({len(s) for s in slots}) == 1

    # The other database opens with no key the officer holds, nor with the real one.
    for candidate in (*decoy_keys, *real_keys):
        with pytest.raises(ProfileError):
            Database(other, candidate).close()

    # Not a name, a text or a key of the real profile is left in any file.
    assert scan(nasrin.home, real_keys) == []
    for path in nasrin.home.iterdir():
        assert REAL.encode() not in path.read_bytes()

    # Made to type "the other passphrase" later: it opens nothing.
    refused = shora(nasrin, "council", "list", passphrase=nasrin.passphrase)
    assert refused.returncode == 1 and "wrong passphrase" in refused.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_decoy_session_never_touches_the_real_database(tmp_path: Path) -> None:
    """Nothing the decoy shows or writes goes near the real file or its log."""
    nasrin = Profile(tmp_path, "nasrin")
    nasrin.ok("init")
    nasrin.ok("council", "create", REAL, "--as", "Nasrin")
    ok(nasrin, "profile", "duress", "--keep", passphrase=nasrin.passphrase)
    real = profile.unlock(nasrin.home, nasrin.passphrase, allow_weak_kdf=True)
    path = real.database
    real.close()
    before = (digest(path), path.stat().st_mtime_ns)
    ok(nasrin, "council", "create", HARMLESS, "--as", "Sara", passphrase=DURESS)
    ok(nasrin, "post", HARMLESS, "Thursday at seven", passphrase=DURESS)
    assert (digest(path), path.stat().st_mtime_ns) == before
    assert not any((nasrin.home / (path.name + s)).exists() for s in profile.SQLITE_SUFFIXES)
    assert REAL in nasrin.ok("council", "list")


def test_keeping_the_real_keys_leaves_a_used_file_in_sight(tmp_path: Path) -> None:
    """The limit the threat model states: a duress passphrase that does not destroy
    leaves the real database as it is, so its size and times show that the spare is
    not a spare. Destroying is the default for this reason."""
    nasrin = Profile(tmp_path, "nasrin")
    nasrin.ok("init")
    nasrin.ok("council", "create", REAL, "--as", "Nasrin")
    for i in range(200):
        nasrin.ok("post", REAL, f"minutes of meeting {i}: " + "words " * 40)
    ok(nasrin, "profile", "duress", "--keep", passphrase=nasrin.passphrase)
    ok(nasrin, "council", "list", passphrase=DURESS)
    sizes = [nasrin.home.joinpath(n).stat().st_size for n in profile.DATABASE_FILES]
    assert max(sizes) > min(sizes)


def test_a_new_profile_cannot_be_told_from_one_with_a_duress_passphrase_by_time_either(
    tmp_path: Path,
) -> None:
    """Setting the duress passphrase leaves the times of every file as they were."""
    home = tmp_path / "p"
    profile.create(home, "correct horse battery", *FAST_KDF, allow_weak_kdf=True).close()
    before = {p.name: p.stat().st_mtime_ns for p in home.iterdir()}
    profile.set_duress(home, "correct horse battery", DURESS, wipe=True, allow_weak_kdf=True)
    assert {p.name: p.stat().st_mtime_ns for p in home.iterdir()} == before
