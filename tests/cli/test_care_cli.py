"""``shora stock | skill | deadman | missing`` on the command line, on two profiles with
bundles between them, and the one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

from test_cli import COUNCIL, Profile, bring_in, sync


def _two(tmp_path: Path) -> tuple[Profile, Profile]:
    a, b = Profile(tmp_path, "nasrin"), Profile(tmp_path, "bahram")
    for p in (a, b):
        assert p.run("init").returncode == 0
    a.ok("council", "create", COUNCIL, "--as", "Nasrin")
    bring_in(a, b, "Bahram")
    a.ok("areas", COUNCIL, "--area", "block-4=Block 4", "--area", "block-9=Block 9")
    sync(a, b, COUNCIL)
    return a, b


def test_stock_and_skill_commands(tmp_path: Path) -> None:
    a, b = _two(tmp_path)
    rice = a.json(
        "stock", "add", COUNCIL, "rice", "۱۰", "--category", "food", "--area", "block-4",
        "--unit", "kg", "--expires", "2099-01-31",
    )  # fmt: skip
    assert (rice["item"], rice["available"], rice["unit"]) == ("rice", 10, "kg")
    assert rice["lots"][0]["expires"] == 4073500800
    again = a.json("stock", "add", COUNCIL, "RICE", "5")  # a second lot, by name
    assert again["id"] == rice["id"] and again["available"] == 15
    sync(a, b, COUNCIL)
    need = b.json("need", COUNCIL, "food", "4", "--area", "block-9")
    sync(b, a, COUNCIL)
    drawn = a.json("stock", "draw", COUNCIL, rice["id"][:8], "4", "--need", need["id"][:8])
    assert drawn["stock"]["available"] == 11
    assert drawn["stock"]["draws"][0]["need"] == need["id"]
    sync(a, b, COUNCIL)
    [listed] = b.json("stock", "list", COUNCIL)
    assert (listed["available"], listed["expired"]) == (11, 0)
    assert "rice" in b.ok("stock", "list", COUNCIL, "--category", "food", "--area", "BLOCK-4")
    assert "No stocks" in b.ok("stock", "list", COUNCIL, "--area", "block-9")

    assert "unknown category" in a.fails(
        "stock", "add", COUNCIL, "bread", "1", "--category", "bread", "--area", "block-4"
    )
    assert "unknown area" in a.fails(
        "stock", "add", COUNCIL, "bread", "1", "--category", "food", "--area", "mars"
    )
    assert "out of range" in a.fails("stock", "draw", COUNCIL, "rice", "0", code=2)
    negative = ("stock", "draw", "--", COUNCIL, "rice", "-3")
    assert "out of range" in a.fails(*negative, code=2)
    assert "only 11" in a.fails("stock", "draw", COUNCIL, "rice", "12")
    assert "stock item" in a.fails("stock", "draw", COUNCIL, "petrol", "1")

    b.ok("skill", "set", COUNCIL, "nurse", "driver", "--note", "nights")
    mine = a.json("skill", "set", COUNCIL, "doctor", "--coordinators-only")
    assert (mine["skills"], mine["visibility"]) == (["doctor"], "coordinators")
    sync(b, a, COUNCIL)
    sync(a, b, COUNCIL)
    # Nasrin founded the council and holds the coordinator role; Bahram does not.
    seen_by_a = {e["name"]: e["skills"] for e in a.json("skill", "list", COUNCIL)}
    assert seen_by_a == {"Nasrin": ["doctor"], "Bahram": ["nurse", "driver"]}
    seen_by_b = {e["name"]: e["skills"] for e in b.json("skill", "list", COUNCIL)}
    assert seen_by_b == {"Bahram": ["nurse", "driver"]}
    lines = {line.split()[0]: line for line in a.ok("skill", "list", COUNCIL).splitlines()}
    assert lines["Nasrin"].endswith("(coordinators only)") and lines["Bahram"].endswith("nights")
    assert "unknown skill" in b.fails("skill", "set", COUNCIL, "astronaut")
    assert b.json("skill", "withdraw", COUNCIL)["withdrawn"] is True
    assert b.json("skill", "list", COUNCIL) == []


def test_deadman_and_missing_commands(tmp_path: Path) -> None:
    a, b = _two(tmp_path)
    assert "Bahram" not in a.ok("deadman", "status", COUNCIL)
    timer = a.json("deadman", "set", COUNCIL, "۶", "--alert", "Bahram")
    assert (timer["name"], timer["hours"], timer["contacts"]) == ("Nasrin", 6, ["Bahram"])
    sync(a, b, COUNCIL)
    status = b.json("deadman", "status", COUNCIL)
    [naming] = status["naming_me"]
    assert (naming["name"], naming["hours"], naming["contacts"]) == ("Nasrin", 6, ["Bahram"])
    assert status["overdue"] == [] and status["alerts_written"] == 0
    mine = a.json("deadman", "status", COUNCIL)["mine"]
    assert mine["overdue"] is False and mine["contacts"] == ["Bahram"]
    assert "member" in a.fails("deadman", "set", COUNCIL, "2", "--alert", "Nobody")
    assert "yourself" in a.fails("deadman", "set", COUNCIL, "2", "--alert", "Nasrin")
    assert "out of range" in a.fails("deadman", "set", COUNCIL, "0", "--alert", "Bahram", code=2)
    assert a.json("deadman", "clear", COUNCIL)["cleared"] is True
    assert a.json("deadman", "status", COUNCIL)["mine"] is None

    person = a.json(
        "missing", "add", COUNCIL, "Reza Karimi", "--alias", "رضا", "--age", "۳۰-۴۰",
        "--sex", "male", "--area", "block-4",
    )  # fmt: skip
    assert (person["age"], person["status"], person["last_known_area"]) == (
        "30-40",
        None,
        "block-4",
    )
    other = a.json("missing", "add", COUNCIL, "R. Karimi")
    sync(a, b, COUNCIL)
    b.ok("missing", "note", COUNCIL, "رضا", "--status", "believed_alive", "--area", "block-9")
    b.ok("missing", "link", COUNCIL, person["id"][:8], other["id"][:8], "--text", "same man")
    sync(b, a, COUNCIL)
    shown = {p["id"]: p for p in a.json("missing", "list", COUNCIL)}
    assert shown[person["id"]]["status"] == "believed_alive"
    assert shown[person["id"]]["last_known_area"] == "block-9"
    assert shown[person["id"]]["linked"] == [other["id"]]
    assert shown[other["id"]]["linked"] == [person["id"]]
    text = a.ok("missing", "show", COUNCIL, "Reza Karimi")
    assert "believed alive" in text and "Bahram" in text
    assert "age" in a.fails("missing", "add", COUNCIL, "X", "--age", "forty")
    assert "unknown area" in a.fails("missing", "add", COUNCIL, "X", "--area", "mars")
    assert "person record" in a.fails("missing", "note", COUNCIL, "Nobody", "--text", "?")
