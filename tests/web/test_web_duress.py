"""The pages when the device is taken: lock now, the panic button, the duress
passphrase, and locking when the host sleeps or the keystore is gone."""

from __future__ import annotations

from pathlib import Path

from test_duress_cli import scan
from test_profile import SECRETS

from shora.kernel import profile
from shora.services.locking import SleepWatch
from web.client import PASSPHRASE, Browser, browser
from web.fixtures import person  # noqa: F401 (a fixture)

DURESS = "my cat is called Pishi"


def keys_of(b: Browser) -> list[bytes]:
    node = b.keeper.node
    assert node is not None
    secrets = node._unlocked.secrets
    return [secrets.database_key, secrets.identity_key]


def test_every_page_header_has_lock_now_and_panic(person: Browser) -> None:
    page = person.get("/councils").text
    assert 'action="/lock"' in page and "Lock now" in page
    assert 'href="/panic"' in page
    assert person.post("/lock").headers["location"] == "/unlock"
    assert person.keeper.node is None
    assert person.get("/councils").headers["location"] == "/unlock?next=/councils"
    assert 'href="/panic"' in person.get("/unlock").text  # locked, it can still be wiped


def test_the_panic_button_asks_then_destroys_the_profile(person: Browser) -> None:
    person.found_council(SECRETS[0], SECRETS[4])
    keys = keys_of(person)
    home = person.keeper.home
    asked = person.get("/panic")
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.text
    assert person.post("/panic").status_code == 200  # no confirmation: nothing happens
    assert person.keeper.node is not None and (home / profile.KEYSTORE_FILE).exists()
    done = person.post("/panic", {"confirm": "yes"})
    assert done.status_code == 200 and "destroyed" in done.text
    assert person.keeper.node is None and not person.keeper.exists
    assert scan(home.parent, keys) == []
    # Every browser session ended with it; unlocking is no longer possible.
    assert person.client.get("/councils").status_code == 401
    assert not home.exists()


def test_the_duress_passphrase_set_in_the_pages_opens_the_decoy(tmp_path: Path) -> None:
    with browser(tmp_path / "home") as b:
        b.create_profile()
        b.found_council(SECRETS[0], SECRETS[4])
        page = b.get("/settings/duress")
        assert page.status_code == 200 and 'name="wipe"' in page.text
        differ = b.post(
            "/settings/duress",
            {"passphrase": PASSPHRASE, "duress": DURESS, "again": "something else", "wipe": "yes"},
        )
        assert differ.status_code == 400
        wrong = b.post(
            "/settings/duress",
            {"passphrase": "not it at all", "duress": DURESS, "again": DURESS, "wipe": "yes"},
        )
        assert wrong.status_code == 400 and "wrong passphrase" in wrong.text
        done = b.post(
            "/settings/duress",
            {"passphrase": PASSPHRASE, "duress": DURESS, "again": DURESS, "wipe": "yes"},
        )
        assert done.status_code == 200 and "is set" in done.text
        b.post("/lock")
        assert b.post("/unlock", {"passphrase": DURESS}).status_code == 303
        councils = b.get("/councils").text
        assert SECRETS[0] not in councils
        b.post("/lock")
        refused = b.post("/unlock", {"passphrase": PASSPHRASE})
        assert refused.status_code == 400 and "Wrong passphrase" in refused.text


def test_the_profile_locks_when_the_host_sleeps(person: Browser) -> None:
    awake, running = [100.0], [100.0]
    person.keeper.sleep_watch = SleepWatch(lambda: awake[0], lambda: running[0])
    awake[0] += 1
    running[0] += 1  # a second passes, awake
    assert not person.keeper.must_lock()
    running[0] += 600  # ten minutes pass in suspend: the awake clock stood still
    assert person.keeper.must_lock()
    assert not person.keeper.must_lock()  # seen once


def test_the_profile_locks_when_its_keystore_is_gone(person: Browser) -> None:
    assert not person.keeper.must_lock()
    (person.keeper.home / profile.KEYSTORE_FILE).unlink()  # `shora panic` elsewhere
    assert person.keeper.must_lock()


def test_the_sleep_watch_of_this_platform_sees_no_sleep_in_a_running_test() -> None:
    watch = SleepWatch()
    assert not watch.slept()


def test_a_new_duress_passphrase_set_from_inside_the_decoy_locks_it(tmp_path: Path) -> None:
    """The person, in the decoy she is preparing, sets another duress passphrase with
    her real one: the decoy's file is replaced by the new empty decoy, so the pages lock
    rather than write to a file that is gone."""
    with browser(tmp_path / "home") as b:
        b.create_profile()
        form = {"passphrase": PASSPHRASE, "duress": DURESS, "again": DURESS}
        assert b.post("/settings/duress", form).status_code == 200  # keeping
        b.post("/lock")
        assert b.post("/unlock", {"passphrase": DURESS}).status_code == 303
        other = "another harmless one"
        form = {"passphrase": PASSPHRASE, "duress": other, "again": other}
        assert b.post("/settings/duress", form).status_code == 200
        assert b.keeper.node is None
        assert b.post("/unlock", {"passphrase": other}).status_code == 303
