"""A strike fund seen from a federation: only the aggregate a seated delegate shares for
their own council counts, money from a supporter council shows as an aggregate, and
nobody else can speak for a council's fund."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_federation_flow import key_of, one_person_council, pass_vote

from attacks.adversary import Adversary
from conftest import T0, Clock, make_node, send
from shora.domain.decisions import kinds as dk
from shora.domain.fund import kinds as fk
from shora.errors import NotAllowed


def test_federations_see_only_aggregates(tmp_path: Path) -> None:
    clock = Clock(T0)
    host = make_node(tmp_path, "host")
    host.now = clock
    city = host.federation.create("City", "Host")
    p, p_base = one_person_council(tmp_path, "p", clock, host, city)
    q, q_base = one_person_council(tmp_path, "q", clock, host, city)
    for node in (p, q):
        send(node, host)
        send(host, node)
    me = key_of(p, p_base)
    pid = p.governance.elect(p_base, "treasurer", [me], hours=25)
    pass_vote(p, p_base, pid, dk.RankedBallot([me.hex()]), clock)
    # Money from q's council, a supporter, and from a worker; one family helped.
    p.fund.receive(p_base, "eur", 50_000, source=q_base, name="Block q solidarity")
    p.fund.receive(p_base, "toman", 3_000_000, name="Maryam")
    pid = p.fund.put_to_vote(p_base, p.fund.request(p_base, "toman", 1_000_000, name="Karimi"))
    pass_vote(p, p_base, pid, dk.YesNoBallot("yes"), clock)
    p.fund.disburse(p_base, "toman", 1_000_000, request=p.fund.requests(p_base)[0].id)
    overview = p.fund.overview(p_base)
    assert next(t for t in overview.totals if t.currency == "eur").from_federation == 50_000
    p.housekeeping.run(p_base)  # the delegate's node shares the changed aggregate
    send(p, host)
    totals = host.fund_federation.federation_totals(city)
    assert (totals.councils, totals.helped) == (1, 1)
    rows = {r.currency: r for r in totals.rows}
    assert (rows["eur"].received, rows["eur"].from_federation) == (50_000, 50_000)
    assert (rows["toman"].balance, rows["toman"].disbursed) == (2_000_000, 1_000_000)
    # The summary carries no name: nothing of who gave or received reaches the city.
    stored = [r[5] for r in host.store.events.valid_where("kind=?", ("fund.summary",))]
    assert stored and not any(b"Maryam" in body or b"Karimi" in body for body in stored)
    # The host holds no seat for p's council: it cannot share, and a forged summary in
    # p's name counts for nothing.
    with pytest.raises(NotAllowed):
        host.fund_federation.share(city)
    forged = Adversary(host, city).forge(
        "fund.summary", fk.Summary(p_base, [fk.SummaryRow("eur", 10**9, 0, 0, 10**9, 0)], 999)
    )
    host.bundles.import_envelopes([forged.raw])
    assert host.fund_federation.federation_totals(city) == totals
    # Nothing changed: housekeeping shares nothing new; a forced share writes again.
    before = len(p.store.rows("SELECT id FROM events WHERE kind='fund.summary'"))
    p.housekeeping.run(p_base)
    assert len(p.store.rows("SELECT id FROM events WHERE kind='fund.summary'")) == before
    assert p.fund_federation.share(city) is not None
