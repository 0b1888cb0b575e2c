"""``shora rules | roles | elect | recall | ratify | emergencies`` on the command line."""

from __future__ import annotations

from test_cli import COUNCIL, Profile, sync
from test_decisions_cli import pair  # noqa: F401 (the fixture)


def test_rules_roles_elections_and_recall(pair: tuple[Profile, Profile]) -> None:  # noqa: F811
    a, b = pair
    rules = a.json("rules", COUNCIL)
    assert rules["rule_change_threshold"] == "2/3" and rules["term_limit"] == 0
    assert "not a rule" in a.fails("rules", COUNCIL, "--set", "dictator=me")
    assert "not valid" in a.fails("rules", COUNCIL, "--set", "term_days=0")
    assert "NAME=VALUE" in a.fails("rules", COUNCIL, "--set", "quorum")
    # A rule change stays open at least the rules' 24 hours; the refusal says so.
    refused = a.fails("rules", COUNCIL, "--set", "term_limit=۲", "--hours", "1")
    assert "at least 24 hours" in refused
    out = a.ok("rules", COUNCIL, "--set", "term_limit=۲", "--hours", "24")
    assert "Proposed" in out
    proposals = a.json("result", COUNCIL)
    assert proposals[0]["action"]["type"] == "rule_change"
    assert proposals[0]["parameters"]["threshold"] == "2/3"  # the rules' floor, not 1/2
    roles = a.json("roles", COUNCIL)
    assert [(r["role"], r["name"], r["end"]) for r in roles] == [("coordinator", "Nasrin", None)]
    assert "Nasrin" in a.ok("roles", COUNCIL)
    # An election, ranked by name.
    out = a.ok("elect", COUNCIL, "treasurer", "Nasrin", "Bahram", "--hours", "1")
    assert "Election opened" in out
    pid = out.split("(")[1].split(")")[0]
    assert "ranked twice" in a.fails("vote", COUNCIL, pid, "--rank", "Bahram>Bahram")
    a.ok("vote", COUNCIL, pid, "--rank", "Bahram>Nasrin")
    assert "no member named" in a.fails("elect", COUNCIL, "treasurer", "Nasrin", "Nasrin2")
    assert "named twice" in a.fails("elect", COUNCIL, "treasurer", "Nasrin", "Nasrin")
    assert "direction-override" in a.fails("elect", COUNCIL, "Tr\u202eeasurer", "Nasrin")
    assert "1 to 80 characters" in a.fails("elect", COUNCIL, "x" * 81, "Nasrin", code=2)
    sync(a, b, COUNCIL)
    # Recall: with two members the petition needs one supporter (the other member).
    assert "does not hold that role" in b.fails("recall", COUNCIL, "treasurer", "Nasrin")
    out = b.json("recall", COUNCIL, "coordinator", "Nasrin", "--reason", "absent", "--hours", "30")
    assert out["action"]["type"] == "recall" and out["phase"] == "open"
    listed = b.json("result", COUNCIL)
    assert {p["action"]["type"] for p in listed} == {"recall", "election", "rule_change"}
    assert "No emergency actions" in b.ok("emergencies", COUNCIL)
    assert "no single emergency action" in b.fails("ratify", COUNCIL, "abcdef")


def test_a_rule_typed_with_other_figures_is_refused_clearly(
    pair: tuple[Profile, Profile],  # noqa: F811
) -> None:
    """'²'.isdigit() is true but int('²') raises: a rule set with it is refused with a
    clear message, never a traceback; Persian digits are read."""
    a, _b = pair
    for setting in ("term_days=²", "quorum=²", "rule_change_threshold=²/³"):
        assert "these rules are not valid" in a.fails("rules", COUNCIL, "--set", setting)
    made = a.json("rules", COUNCIL, "--set", "term_days=۳۰")
    assert made["title"] == "Change the rules: Length of a term: 365 days → 30 days"
