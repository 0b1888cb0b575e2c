"""Summaries (counts with small groups hidden, JSON for a federation, CSV with HXL
hashtags) and the newer aid commands (cancel, duplicate, note, visibility, summary,
forget, Persian labels) through the real command line on two profiles. Hypothesis for
the summary decoder and the area and edge parsers."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_aid import AREAS, need, offer
from test_cli import COUNCIL, Profile, base_env, bring_in, sync

from conftest import T0, Clock, council_of_three, everyone
from shora.cli.aid_areas import edge_line
from shora.domain.aid import kinds as ak
from shora.domain.aid import summary as aid_summary
from shora.errors import InvalidInput
from shora.node import Node
from shora.services.aid import name_areas, name_edge


@pytest.fixture
def council3(tmp_path: Path) -> Iterator[tuple[list[Node], bytes, Clock]]:
    with council_of_three(tmp_path, AREAS) as made:
        yield made


def test_summary_counts_hides_small_groups_and_names_nobody(
    council3: tuple[list[Node], bytes, Clock],
) -> None:
    (a, b, c), council, _clock = council3
    for node, qty in ((a, 2), (b, 5), (c, 1)):
        node.aid.post_need(council, need(quantity=qty, what="Azadeh's family"))
    b.aid.post_need(council, need("food", 4, urgency="immediate", area="market"))
    c.aid.post_offer(council, offer(quantity=9))
    gone = a.aid.post_need(council, need(quantity=50))
    a.aid.cancel(council, gone)
    everyone([a, b, c])
    made = aid_summary.summarise(a.aid.state(council, T0), T0)
    assert [(r.kind, r.category, r.urgency, r.area, r.count, r.quantity) for r in made.rows] == [
        ("need", "food", "immediate", "market", None, None),
        ("need", "water", "urgent", "block-4", 3, 8),
        ("offer", "water", None, "block-9", None, None),
    ]
    wire = aid_summary.encode(made)
    assert aid_summary.decode(wire) == made
    for secret in (b"Azadeh", b"Bahram", b"Cyrus", council.hex().encode()):
        assert secret not in wire
    rows = list(csv.reader(io.StringIO(aid_summary.to_csv(made))))
    assert rows[0] == list(aid_summary.HEADERS)
    assert rows[1] == [
        "#date +reported",
        "#loc +code",
        "#loc +name",
        "#sector",
        "#item +type",
        "#severity",
        "#meta +type",
        "#meta +count",
        "#indicator +num +quantity",
    ]
    assert rows[2:] == [
        ["2027-01-15", "market", "Market", "Food Security", "food", "immediate", "need", "<3", ""],
        ["2027-01-15", "block-4", "Block 4", "WASH", "water", "urgent", "need", "3", "8"],
        ["2027-01-15", "block-9", "Block 9", "WASH", "water", "", "offer", "<3", ""],
    ]


def test_a_spreadsheet_formula_in_an_area_name_is_defused() -> None:
    made = aid_summary.AidSummary(
        1,
        T0,
        3,
        [aid_summary.SummaryRow("need", "water", "soon", "b", 3, 3)],
        {"b": "=HYPERLINK(1)"},
    )
    assert "'=HYPERLINK(1)" in aid_summary.to_csv(made)


rows = st.builds(
    aid_summary.SummaryRow,
    kind=st.just("need"),
    category=st.sampled_from(ak.CATEGORIES),
    urgency=st.sampled_from(ak.URGENCIES),
    area=st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,10}\Z"),
    count=st.just(None),
    quantity=st.just(None),
) | st.builds(
    aid_summary.SummaryRow,
    kind=st.just("offer"),
    category=st.sampled_from(ak.CATEGORIES),
    urgency=st.none(),
    area=st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,10}\Z"),
    count=st.integers(3, 10**6),
    quantity=st.integers(0, 10**9),
)
summaries = st.builds(
    aid_summary.AidSummary,
    version=st.just(1),
    at=st.integers(0, 253_402_300_799),
    suppress_below=st.integers(3, 10),
    rows=st.lists(rows, max_size=8),
    areas=st.just({}),
    restricted=st.none() | st.integers(3, 100),
)


@settings(max_examples=200, deadline=None)
@given(summaries)
def test_summary_round_trips(made: aid_summary.AidSummary) -> None:
    assert aid_summary.decode(aid_summary.encode(made)) == made
    assert len(aid_summary.to_csv(made).splitlines()) == 2 + len(made.rows)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=300) | summaries.map(aid_summary.encode).map(lambda b: b.replace(b"3", b"1"))
)
def test_summary_decoder_refuses_junk_with_one_error(data: bytes) -> None:
    try:
        made = aid_summary.decode(data)
    except InvalidInput:
        return
    assert all(r.count is None or r.count >= 3 for r in made.rows)


def test_summary_decoder_limits() -> None:
    with pytest.raises(InvalidInput, match="larger"):
        aid_summary.decode(b" " * (aid_summary.MAX_SUMMARY_BYTES + 1))
    bad = {
        "version": 1,
        "at": 0,
        "suppress_below": 3,
        "areas": {},
        "rows": [
            {
                "kind": "need",
                "category": "water",
                "urgency": None,
                "area": "a",
                "count": 3,
                "quantity": 1,
            }
        ],
    }
    with pytest.raises(InvalidInput, match="triage"):
        aid_summary.decode(json.dumps(bad).encode())
    bad["rows"][0].update(urgency="soon", count=None)  # type: ignore[index]
    with pytest.raises(InvalidInput, match="hides"):
        aid_summary.decode(json.dumps(bad).encode())


MAP = [ak.Area("block-4", "Block 4"), ak.Area("a-x", "بلوک ۹")]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_edge_and_area_parsers_give_valid_structs_or_one_error(text: str) -> None:
    parsers = (
        (lambda t: name_edge(edge_line(t), MAP), ak.Edge),
        (lambda t: name_edge(t, MAP), ak.Edge),
        (lambda t: name_areas([t])[0], ak.Area),
    )
    for parse, kind in parsers:
        try:
            value = parse(text)
        except InvalidInput:
            continue
        assert msgspec.msgpack.decode(msgspec.msgpack.encode(value), type=kind) == value


def test_edge_parser_examples() -> None:
    assert name_edge(edge_line("block-4:بلوك ۹:۳"), MAP) == ak.Edge("block-4", "a-x", 3)
    assert name_edge(edge_line(" Block 4 : a-x "), MAP) == ak.Edge("block-4", "a-x", 1)
    assert name_edge("بلوک ۹، Block 4، ۲", MAP) == ak.Edge("a-x", "block-4", 2)
    assert name_edge("block-4 a-x 5", MAP) == ak.Edge("block-4", "a-x", 5)  # the old form
    bad = ("a", "block-4:a-x:0", "block-4:a-x:x", "block-4:a-x:1:2", ":a-x", "block-4:nowhere")
    for text in (*bad, "block-4:a-x:100001", "block-4:a-x:²", "block-4:a-x:1²"):
        with pytest.raises(InvalidInput):  # '²'.isdigit() is true, but it is no length
            name_edge(edge_line(text), MAP)


# --- command line -----------------------------------------------------------------------


def test_cli_visibility_notes_cancel_summary_forget(tmp_path: Path) -> None:
    a, b = Profile(tmp_path, "nasrin"), Profile(tmp_path, "bahram")
    for p in (a, b):
        assert p.run("init").returncode == 0
    a.ok("council", "create", COUNCIL, "--as", "Nasrin")
    bring_in(a, b, "Bahram")
    a.ok("areas", COUNCIL, "--area", "block-4=Block 4", "--area", "block-9=Block 9")
    sync(a, b, COUNCIL)
    assert "coordinator" in b.fails("areas", COUNCIL, "--area", "x=X")

    private = b.json(
        "need", COUNCIL, "psychological", "1", "--area", "block-4", "--visibility", "role:medical"
    )
    assert private["visibility"] == "role:medical"
    sealed = b.json("need", COUNCIL, "water", "2", "--area", "block-4", "--coordinators-only")
    sync(b, a, COUNCIL)
    listed = a.json("need", COUNCIL, "--list")
    assert {
        "id": private["id"],
        "kind": "need",
        "visibility": "role:medical",
        "expires": None,
    } in listed
    assert any(n["id"] == sealed["id"] and n["category"] == "water" for n in listed)
    shown = a.ok("need", COUNCIL, "--list")
    assert "not for you" in shown and "holders of the role medical" in shown
    assert "coordinators" in shown  # the sealed need a coordinator can read, marked so
    assert "visibility" in b.fails(
        "need", COUNCIL, "water", "1", "--area", "block-4", "--visibility", "friends"
    )

    offered = a.json("offer", COUNCIL, "water", "2", "--area", "block-9")
    a.ok("commit", COUNCIL, sealed["id"][:8], offered["id"][:8], "2")
    out = b.ok("note", COUNCIL, sealed["id"][:8], "Second door, ring twice")
    assert "note" in out.lower()
    sync(b, a, COUNCIL)
    assert (
        a.json("note", COUNCIL, sealed["id"][:8], "--show")[0]["text"] == "Second door, ring twice"
    )
    assert b.fails("note", COUNCIL, sealed["id"][:8], code=2)

    first = b.json("offer", COUNCIL, "food", "3", "--area", "block-9")
    again = b.json("offer", COUNCIL, "food", "3", "--area", "block-9")
    sync(b, a, COUNCIL)
    assert "author" in a.fails("cancel", COUNCIL, first["id"][:8])
    done = b.json("cancel", COUNCIL, again["id"][:8], "--duplicate-of", first["id"][:8])
    assert done["duplicate_of"] == first["id"]
    assert "withdrawn" in b.ok("cancel", COUNCIL, first["id"][:8], "--reason", "eaten")
    assert "already" in b.fails("cancel", COUNCIL, first["id"][:8])

    for _ in range(3):
        a.ok("need", COUNCIL, "water", "4", "--area", "block-9", "--urgency", "urgent")
    table = a.ok("summary", COUNCIL, "--csv", "-")
    assert table.splitlines()[1].startswith("#date +reported,#loc +code,#loc +name,#sector")
    assert "block-9,Block 9,WASH,water,urgent,need,3,12" in table
    assert "Bahram" not in table and "Nasrin" not in table
    target = tmp_path / "summary.csv"
    made = a.json("summary", COUNCIL, "--csv", str(target))
    assert target.read_text(encoding="utf-8") == table
    assert {
        "kind": "need",
        "category": "water",
        "urgency": "urgent",
        "area": "block-9",
        "count": 3,
        "quantity": 12,
    } in made["rows"]

    human = a.ok("need", COUNCIL, "--list")  # words, not machine values
    assert "drinking water" in human and "urgent" in human
    persian = a.ok("--lang", "fa", "need", COUNCIL, "--list")
    assert "باز" in persian and "open" not in persian  # statuses, in the person's language
    assert a.json("forget") == {"forgotten": 0, "kinds": {}}


@pytest.mark.slow
def test_serve_forgets_what_expires_while_it_runs(tmp_path: Path) -> None:
    a = Profile(tmp_path, "nasrin")
    assert a.run("init").returncode == 0
    a.ok("council", "create", COUNCIL, "--as", "Nasrin")
    a.ok("areas", COUNCIL, "--area", "block-4=Block 4")
    soon = int(time.time()) + 4  # time enough for the command, run in this process
    a.ok("need", COUNCIL, "water", "1", "--area", "block-4", "--expires", str(soon))
    env = base_env()
    env.update(SHORA_HOME=str(a.home), SHORA_PASSPHRASE=a.passphrase)
    server = subprocess.Popen(
        [sys.executable, "-m", "shora.cli.main", "serve", "--no-web", "--interval", "0.5"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(max(0.0, soon - time.time()) + 3)
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert a.json("forget") == {"forgotten": 0, "kinds": {}}  # serve did it already
