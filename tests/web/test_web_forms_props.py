"""Property tests of the parsers behind the deciding, mutual-aid and safety forms:
whatever a browser sends, the answer is a body within its bounds or InvalidInput
(a translated message), never another exception."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import FormData

from shora.domain.aid import kinds as ak
from shora.domain.care import kinds as ck
from shora.domain.decisions import kinds as dk
from shora.errors import InvalidInput
from shora.kernel import kinds
from shora.web.areas.aid import need_body, offer_body
from shora.web.areas.areas_stocks_skills import areas_body
from shora.web.areas.decisions_forms import ballot_of, proposal_body, share
from shora.web.areas.governance import rule_changes
from shora.web.areas.safety import person_body

NOW = 1_800_000_000
DIGITS = "0123456789۰۱۲۳۴۵۶۷۸۹"
value = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=DIGITS + "-/ ", max_size=8),
    st.sampled_from(["", "0", "1", "-1", "1/2", "3/2", "۲/۳", "x", "99999999999"]),
)
PROPOSAL_FIELDS = [
    "title", "text", "method", "options", "deadline", "deadline_unit", "seats", "threshold",
    "blocks_to_stop", "min_choices", "max_choices", "min_score", "max_score", "budget",
    "quorum", "grace_hours",
]  # fmt: skip
ITEM_FIELDS = [
    "category", "what", "quantity", "unit", "area", "expires", "expires_unit", "urgency",
    "needed_by", "needed_by_unit", "visibility", "medicine", "dose", "cold", "blood",
    "recurring", "inexhaustible", "kept_cold",
]  # fmt: skip


def forms(
    names: list[str], extra: dict[str, st.SearchStrategy[str]] | None = None
) -> st.SearchStrategy[FormData]:
    fields = {name: value for name in names} | (extra or {})
    return st.fixed_dictionaries({}, optional=fields).map(lambda d: FormData(list(d.items())))


def refused_or_valid(parse, form: FormData, kind: type) -> None:  # type: ignore[no-untyped-def]
    try:
        made = parse(form)
    except InvalidInput as exc:
        assert str(exc)
        return
    msgspec.convert(msgspec.to_builtins(made), kind)  # within every bound of its kind


@settings(max_examples=300, deadline=None)
@given(
    forms(
        PROPOSAL_FIELDS,
        {
            "method": st.sampled_from([*dk.METHODS, "x"]),
            "options": st.lists(st.text(max_size=30), max_size=60).map("\n".join),
            "deadline_unit": st.sampled_from(["minutes", "hours", "days", "weeks"]),
        },
    )
)
def test_the_proposal_form_gives_a_bounded_proposal_or_a_clear_refusal(form: FormData) -> None:
    refused_or_valid(lambda f: proposal_body(f, NOW), form, dk.Propose)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(dk.METHODS),
    st.lists(st.text(min_size=1, max_size=20), min_size=2, max_size=5, unique=True),
    st.lists(
        st.tuples(
            st.sampled_from(["vote", "response", "reason", "choice", "score:0", "score:1",
                             "dots:0", "dots:4", "rank:0", "rank:1", "rank:2", "slot:0",
                             "slot:1", "choice"]),
            value,
        ),
        max_size=10,
    ),
)  # fmt: skip
def test_every_ballot_form_gives_a_ballot_or_a_clear_refusal(
    method: str, options: list[str], pairs: list[tuple[str, str]]
) -> None:
    form = FormData(pairs)
    try:
        ballot = ballot_of(form, method, options)
    except InvalidInput as exc:
        assert str(exc)
        return
    assert isinstance(ballot, dk.BALLOT_FOR_METHOD[method])
    msgspec.convert(msgspec.to_builtins(ballot), dk.Ballot)


@settings(max_examples=300, deadline=None)
@given(
    forms(
        ITEM_FIELDS,
        {
            "category": st.sampled_from([*ak.CATEGORIES, "x"]),
            "urgency": st.sampled_from([*ak.URGENCIES, "x"]),
            "blood": st.sampled_from([*ak.BLOOD_GROUPS, "Z"]),
            "visibility": st.sampled_from(["council", "coordinators", "role:medic", "role:", "x"]),
        },
    )
)
def test_need_and_offer_forms_give_bounded_bodies_or_a_clear_refusal(form: FormData) -> None:
    refused_or_valid(lambda f: need_body(f, NOW), form, ak.Need)
    refused_or_valid(lambda f: offer_body(f, NOW), form, ak.Offer)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=100))
def test_the_areas_form_gives_a_bounded_map_or_a_clear_refusal(areas: str, edges: str) -> None:
    refused_or_valid(areas_body, FormData([("areas", areas), ("edges", edges)]), ak.Areas)


@settings(max_examples=200, deadline=None)
@given(forms(["full_name", "alternate_names", "age", "sex", "description", "last_seen_area",
              "seen_hours_ago"], {"sex": st.sampled_from([*ck.SEXES, "x", ""])}))  # fmt: skip
def test_the_missing_person_form_gives_a_bounded_record_or_a_clear_refusal(form: FormData) -> None:
    refused_or_valid(lambda f: person_body(f, NOW), form, ck.MissingPerson)


@settings(max_examples=200, deadline=None)
@given(forms(["quorum", "threshold", "term_days", "grace_hours", "admission", "term_limit"]))
def test_rule_changes_are_valid_rules_or_a_clear_refusal(form: FormData) -> None:
    current = kinds.Rules()
    try:
        changes = rule_changes(form, current)
    except InvalidInput as exc:
        assert str(exc)
        return
    merged = {**msgspec.structs.asdict(current), **changes}
    msgspec.convert(merged, kinds.Rules)


@given(st.text(max_size=12))
def test_a_share_is_a_fraction_between_nothing_and_everything(text: str) -> None:
    try:
        found = share(FormData([("s", text)]), "s", "1/2")
    except InvalidInput:
        return
    num, den = (int(n) for n in found.split("/"))
    assert 0 <= num <= den and den > 0
