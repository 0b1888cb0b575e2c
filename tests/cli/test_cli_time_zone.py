"""``shora council create --time-zone`` and the council's zone in what the command line
shows and reads: Tehran for a council founded in Persian, UTC in English unless chosen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from test_cli import Profile


def test_a_persian_council_shows_tehran_times_in_its_log(tmp_path: Path) -> None:
    a = Profile(tmp_path, "a")
    a.ok("init")
    made = a.ok("--lang", "fa", "council", "create", "کمیته", "--as", "نسرین")
    assert "Asia/Tehran" in made
    a.ok("post", "کمیته", "آب در مسجد")
    log = a.ok("--lang", "fa", "log", "کمیته")
    assert "(به وقت تهران)" in log and "جهانی" not in log and "UTC" not in log
    assert "2026" not in log  # Solar Hijri years, in Persian digits
    english = a.ok("log", "کمیته")
    assert " Tehran" in english and " UTC" not in english


def test_an_english_council_is_utc_unless_it_chooses(tmp_path: Path) -> None:
    a = Profile(tmp_path, "a")
    a.ok("init")
    a.ok("council", "create", "Block 4", "--as", "Nasrin")
    a.ok("post", "Block 4", "Water at 6")
    assert " UTC" in a.ok("log", "Block 4")
    a.ok("council", "create", "Kabul", "--as", "Nasrin", "--time-zone", "Asia/Kabul")
    a.ok("post", "Kabul", "Water at 6")
    assert " Kabul" in a.ok("log", "Kabul")
    # A date typed without a zone is the council's: 17:30 in Kabul is 13:00 UTC.
    made = a.json("propose", "Kabul", "Water", "A tank.", "--deadline", "2030-01-01T17:30")
    assert made["deadline"] == int(datetime(2030, 1, 1, 13, 0, tzinfo=UTC).timestamp())
    made = a.json("propose", "Block 4", "Water", "A tank.", "--deadline", "2030-01-01T17:30")
    assert made["deadline"] == int(datetime(2030, 1, 1, 17, 30, tzinfo=UTC).timestamp())


def test_a_zone_that_is_not_one_is_a_usage_error(tmp_path: Path) -> None:
    a = Profile(tmp_path, "a")
    a.ok("init")
    line = a.fails("council", "create", "X", "--as", "N", "--time-zone", "Mars/Olympus", code=2)
    assert "is not a time zone" in line
    fa = a.run("--lang", "fa", "council", "create", "X", "--as", "N", "--time-zone", "ساعت")
    assert fa.returncode == 2 and "منطقهٔ زمانی نیست" in fa.stderr
    a.ok("council", "create", "Block 4", "--as", "Nasrin")
    refused = a.fails("rules", "Block 4", "--set", "time_zone=Mars/Olympus")
    assert "is not a time zone" in refused
    out = a.ok("rules", "Block 4", "--set", "time_zone=Asia/Tehran", "--hours", "24")
    assert "Proposed" in out


def test_a_federation_is_founded_in_a_zone(tmp_path: Path) -> None:
    a = Profile(tmp_path, "a")
    a.ok("init")
    a.ok("--lang", "fa", "federation", "create", "تهران", "--as", "نسرین")
    assert "Asia/Tehran" in a.ok("council", "show", "تهران")
    a.ok("federation", "create", "West", "--as", "Nasrin")
    assert "time zone: UTC" in a.ok("council", "show", "West")
    a.ok("federation", "create", "Kabul", "--as", "Nasrin", "--time-zone", "Asia/Kabul")
    assert "Asia/Kabul" in a.ok("council", "show", "Kabul")
    line = a.fails("federation", "create", "X", "--as", "N", "--time-zone", "Mars/Olympus", code=2)
    assert "is not a time zone" in line


def test_the_aid_summary_is_dated_in_the_councils_zone(tmp_path: Path) -> None:
    a = Profile(tmp_path, "a")
    a.ok("init")
    a.ok("--lang", "fa", "council", "create", "کمیته", "--as", "نسرین")
    assert "(به وقت تهران)" in a.ok("--lang", "fa", "summary", "کمیته")
    assert " Tehran." in a.ok("summary", "کمیته")


def test_a_bundle_since_date_is_read_in_the_named_councils_zone(tmp_path: Path) -> None:
    a = Profile(tmp_path, "a")
    a.ok("init")
    a.ok("council", "create", "Block 4", "--as", "Nasrin", "--time-zone", "Asia/Tehran")
    # An hour from now on a UTC clock is two and a half hours ago in Tehran.
    soon = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(hours=1)
    since = soon.isoformat()
    out = tmp_path / "b.bundle"
    named = a.ok("bundle", "export", "--council", "Block 4", "--since", since, "-o", str(out))
    assert not named.startswith("0 events")
    assert a.ok("bundle", "export", "--since", since, "-o", str(out)).startswith("0 events")
    assert "else in UTC" in a.ok("bundle", "export", "--help")
