"""Areas named in any script: people type names, one per line or one per argument, and
ids are made for them (stable across saves; an area already on the map keeps its id;
the old ``id = name`` still read). Replicas keep checking the id's pattern and the
name's limits. Pure functions, a real node, the command line and the pages in Persian
and English."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import COUNCIL, Profile, bring_in, sync

from conftest import council_of_three, everyone
from shora.domain.aid import kinds as ak
from shora.errors import InvalidInput
from shora.i18n import using_language
from shora.services.aid import AREA_ID, name_areas, name_edge
from web.client import browser

NAMES = ["بلوک ۴", "شارع الجامعة", "کۆڵانی ٥", "Block 9", "Улица 3"]


def test_names_in_any_script_get_ascii_ids_that_stay() -> None:
    made = name_areas(NAMES)
    assert [a.name for a in made] == NAMES
    assert all(AREA_ID.fullmatch(a.id) and a.id.isascii() for a in made)
    assert made[3].id == "block-9"  # a Latin name gives its slug
    assert len({a.id for a in made}) == len(NAMES)
    assert name_areas(NAMES) == made  # the same list again: the same ids
    assert name_areas(reversed(NAMES)) == list(reversed(made))


def test_an_edited_list_keeps_the_ids_it_had() -> None:
    known = [("north", "بلوک ۴"), ("b9", "Block 9")]
    edited = name_areas(["Block 9", "بلوك ۴", "New street"], known)  # Arabic kaf typed
    assert [(a.id, a.name) for a in edited[:2]] == [("b9", "Block 9"), ("north", "بلوک ۴")]
    assert edited[2].id == "new-street"
    renamed = name_areas(["north = بلوک چهار", "Block 9"], known)  # the old form renames
    assert [(a.id, a.name) for a in renamed] == [("north", "بلوک چهار"), ("b9", "Block 9")]
    # A Latin name whose slug another area already holds gets a hashed id instead.
    clash = name_areas(["Block 9", "block-9 street"], [("block-9", "Something else")])
    assert clash[0].id != "block-9" and clash[1].id == "block-9-street"


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ([], "at least one area"),
        (["Block 4", "block  4"], "listed twice"),
        (["Block\u202e 4"], "direction-override"),
        (["Block\u2067 4"], "direction-override"),
        (["x" * 201], "at most 200"),
    ],
)
def test_bad_lists_are_refused_in_words(lines: list[str], words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        name_areas(lines)


def test_refusals_read_in_persian() -> None:
    with using_language("fa"), pytest.raises(InvalidInput) as refused:
        name_areas(["Block\u202e 4"])
    assert re.search("[\u0600-\u06ff]", str(refused.value))
    assert not re.search("[A-Za-z]{3,}", str(refused.value))


def test_replicas_refuse_a_forged_name_or_id() -> None:
    """What a modified client could write is checked by the schema every node decodes."""
    for area in (
        {"id": "a", "name": "Block\u202e 4"},
        {"id": "a", "name": "Bl\x07ock"},
        {"id": "a", "name": " leading space"},
        {"id": "a", "name": "x" * 201},
        {"id": "بلوک", "name": "بلوک"},
        {"id": "A", "name": "x"},
        {"id": "a" * 65, "name": "x"},
    ):
        raw = msgspec.msgpack.encode({"areas": [area]})
        with pytest.raises(msgspec.ValidationError):
            msgspec.msgpack.decode(raw, type=ak.Areas)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=6))
def test_any_typed_list_gives_a_valid_map_or_one_refusal(lines: list[str]) -> None:
    try:
        made = name_areas(lines)
    except InvalidInput:
        return
    raw = msgspec.msgpack.encode(ak.Areas(made))
    assert msgspec.msgpack.decode(raw, type=ak.Areas).areas == made
    assert name_areas(lines) == made


def test_a_node_names_areas_and_files_needs_under_a_name(tmp_path: Path) -> None:
    with council_of_three(tmp_path) as (nodes, council, _clock):
        a, b, _c = nodes
        a.aid.name_areas(council, ["بلوک ۴", "Block 9"], ["بلوک ۴، Block 9، ۳"])
        everyone(nodes)
        known = b.aid.areas(council)
        assert known is not None
        ids = dict((n, i) for i, n in known.areas)
        assert known.edges == ((ids["بلوک ۴"], "block-9", 3),)
        assert b.aid.check_area(council, "بلوك ۴") == ids["بلوک ۴"]  # Arabic kaf
        assert b.aid.check_area(council, "block 9") == "block-9"
        a.aid.name_areas(council, ["Block 9", "بلوک ۴", "کۆڵانی ٥"])  # edited: ids stay
        everyone(nodes)
        again = dict((n, i) for i, n in b.aid.areas(council).areas)  # type: ignore[union-attr]
        assert again["بلوک ۴"] == ids["بلوک ۴"] and again["Block 9"] == "block-9"
        with pytest.raises(InvalidInput, match="unknown area"):
            b.aid.check_area(council, "Mars")
        edge = name_edge("Block 9, کۆڵانی ٥", name_areas(["Block 9", "کۆڵانی ٥"]))
        assert edge.a == "block-9" and edge.b == again["کۆڵانی ٥"]


def test_the_command_line_takes_names_as_arguments(tmp_path: Path) -> None:
    a, b = Profile(tmp_path, "nasrin"), Profile(tmp_path, "bahram")
    for p in (a, b):
        assert p.run("init").returncode == 0
    a.ok("council", "create", COUNCIL, "--as", "Nasrin")
    bring_in(a, b, "Bahram")
    made = a.json("areas", COUNCIL, "بلوک ۴", "Block 9", "--edge", "بلوک ۴:Block 9:۲")
    names = {x["name"]: x["id"] for x in made["areas"]}
    assert set(names) == {"بلوک ۴", "Block 9"} and names["Block 9"] == "block-9"
    assert made["edges"] == [[names["بلوک ۴"], "block-9", 2]]
    shown = a.ok("areas", COUNCIL)
    assert "بلوک ۴" in shown and names["بلوک ۴"] not in shown  # names, never ids
    old = a.json("areas", COUNCIL, "--area", f"{names['بلوک ۴']}=بلوک چهار", "Block 9")
    assert {x["name"]: x["id"] for x in old["areas"]}["بلوک چهار"] == names["بلوک ۴"]
    sync(a, b, COUNCIL)
    need = b.json("need", COUNCIL, "water", "2", "--area", "بلوک چهار")
    assert need["area"] == names["بلوک ۴"]
    assert "بلوک چهار" in b.ok("need", COUNCIL, "--list")
    assert "unknown area" in b.fails("need", COUNCIL, "water", "2", "--area", "Mars")
    fa = a.run("--lang", "fa", "areas", COUNCIL, "Bad\u202e name")
    assert fa.returncode == 1 and "کنترلی" in fa.stderr and "Traceback" not in fa.stderr


@pytest.mark.parametrize(
    ("headers", "refusal"),
    [({"Accept-Language": "en"}, "direction-override"), ({"Accept-Language": "fa"}, "کنترلی")],
)
def test_the_areas_page_takes_names_in_both_languages(
    tmp_path: Path, headers: dict[str, str], refusal: str
) -> None:
    with browser(tmp_path, **headers) as person:
        person.create_profile()
        home = person.found_council("شورا", "نسرین")
        typed = "بلوک ۴\nBlock\u202e 9"
        bad = person.post(home + "/areas", {"areas": typed, "edges": "بلوک ۴، Block 9"})
        assert bad.status_code == 400 and refusal in bad.text
        assert f">{typed}</textarea>" in bad.text and "بلوک ۴، Block 9</textarea>" in bad.text
        good = {"areas": "بلوک ۴\nBlock 9\nکۆڵانی ٥", "edges": "بلوک ۴، Block 9، ۲"}
        assert person.post(home + "/areas", good).status_code == 303
        page = person.get(home + "/areas").text
        assert ">بلوک ۴\nBlock 9\nکۆڵانی ٥</textarea>" in page
        assert "بلوک ۴, Block 9, 2" in page or "بلوک ۴, Block 9, ۲" in page
        form = person.get(home + "/needs/new").text
        assert re.search(r'<option value="a-[a-z2-7]{8}">بلوک ۴</option>', form)
        assert '<option value="block-9">Block 9</option>' in form
