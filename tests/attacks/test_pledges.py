"""Threshold pledges against a member whose client signs anything (docs/pledges.md,
docs/threat-model.md): a pledge from outside the campaign's electorate, a second
pledge under a forged key image, a pledge counted twice, a pledge after the deadline,
a withdrawal after the threshold was met, a pledge replayed from another campaign, a
pledge by a member removed after the campaign started, and a council's count reported
to a federation by someone not seated for it. Every honest replica refuses each with
its reason and keeps the same count."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec
from test_federation_flow import one_person_council

from attacks.adversary import Adversary, Forged
from attacks.test_secret_ballots import council_of, forge_lsag
from conftest import T0, Clock, everyone, make_node, send
from shora.domain.pledges import kinds as pk
from shora.domain.pledges.state import context, message
from shora.kernel import crypto, curve, ring
from shora.node import Node

DAY = 86_400


def anonymous(adv: Adversary, kind: str, body: msgspec.Struct, **kw: int) -> Forged:
    return adv.forge(kind, body, author=crypto.sign_keypair(), **kw)


def deliver(nodes: Sequence[Node], *forged: Forged) -> None:
    for node in nodes:
        node.bundles.import_envelopes([f.raw for f in forged])


def secret_of(node: Node, council: bytes) -> int:
    return curve.ed25519_scalar(node.identity(council).sign_sk)


def take_body(
    node: Node,
    council: bytes,
    cid: bytes,
    keys: list[bytes],
    step: int = 1,
    without: list[bytes] | None = None,
) -> pk.Take:
    sig = ring.sign(message(cid, "pledge.take", step), keys, secret_of(node, council), context(cid))
    return pk.Take(cid, step, sig.encode(), without or [])


def refused(nodes: Sequence[Node], council: bytes, cid: bytes) -> list[dict[str, int]]:
    return [dict(n.pledges.campaign(council, cid).refused) for n in nodes]


def counts(nodes: Sequence[Node], council: bytes, cid: bytes) -> list[int]:
    return [n.pledges.campaign(council, cid).count for n in nodes]


def test_a_pledge_from_outside_the_electorate_is_refused(tmp_path: Path) -> None:
    nodes, council, _clock = council_of(tmp_path, 4)
    a, b, c, d = nodes
    informer = Adversary(d, council)  # keeps every key it held
    d_key = d.me(council)
    assert d_key is not None
    a.membership.remove(council, d_key, "informer")
    send(a, b)
    assert b.membership.remove(council, d_key, "informer").admitted
    everyone([a, b, c])
    cid = a.pledges.start(council, "Stop work on Monday", T0 + DAY, people=2)
    everyone([a, b, c])
    electorate = sorted(a.pledges.campaign(council, cid).electorate)
    assert d_key not in electorate
    # her own key slipped into the ring in place of a member's
    forged = anonymous(
        informer, "pledge.take", take_body(d, council, cid, sorted([*electorate[1:], d_key]))
    )
    deliver([a, b, c], forged)
    assert refused([a, b, c], council, cid) == [{"not_in_electorate": 1}] * 3
    assert counts([a, b, c], council, cid) == [0, 0, 0]


def test_a_second_pledge_under_a_forged_key_image_is_refused(tmp_path: Path) -> None:
    nodes, council, _clock = council_of(tmp_path, 3)
    a, _b, c = nodes
    cid = a.pledges.start(council, "Stop work on Monday", T0 + DAY, people=2)
    everyone(nodes)
    c.pledges.take(council, cid, delay=0)  # the honest first pledge
    everyone(nodes)
    keys = sorted(a.pledges.campaign(council, cid).electorate)
    x = secret_of(c, council)
    other = curve.add(ring.key_image(x, context(cid)), curve.base(7))
    sig = forge_lsag(message(cid, "pledge.take", 1), keys, x, context(cid), other)
    deliver(nodes, anonymous(Adversary(c, council), "pledge.take", pk.Take(cid, 1, sig.encode())))
    assert refused(nodes, council, cid) == [{"not_in_electorate": 1}] * 3
    assert counts(nodes, council, cid) == [1, 1, 1]
    assert not any(n.pledges.campaign(council, cid).met for n in nodes)


def test_a_pledge_counted_twice_counts_once(tmp_path: Path) -> None:
    nodes, council, _clock = council_of(tmp_path, 3)
    a, _b, c = nodes
    cid = a.pledges.start(council, "Stop work on Monday", T0 + DAY, people=2)
    everyone(nodes)
    keys = sorted(a.pledges.campaign(council, cid).electorate)
    adv = Adversary(c, council)
    body = take_body(c, council, cid, keys)
    # the same pledge sent twice, and a second pledge (a later step) under the same image
    twice = [anonymous(adv, "pledge.take", body) for _ in range(2)]
    again = anonymous(adv, "pledge.take", take_body(c, council, cid, keys, step=3))
    deliver(nodes, *twice, again)
    for node in nodes:
        state = node.pledges.campaign(council, cid)
        assert (state.count, state.met, dict(state.refused)) == (1, False, {"copy": 1})


def test_a_pledge_after_the_deadline_is_refused(tmp_path: Path) -> None:
    nodes, council, clock = council_of(tmp_path, 3)
    a, _b, c = nodes
    cid = a.pledges.start(council, "Stop work on Monday", T0 + DAY, people=1)
    everyone(nodes)
    keys = sorted(a.pledges.campaign(council, cid).electorate)
    clock.t = T0 + DAY + 5
    late = anonymous(Adversary(c, council), "pledge.take", take_body(c, council, cid, keys))
    deliver(nodes, late)
    for node in nodes:
        state = node.pledges.campaign(council, cid)
        assert (state.count, state.met, dict(state.refused)) == (0, False, {"late": 1})


def test_a_withdrawal_after_the_threshold_was_met_is_refused(tmp_path: Path) -> None:
    nodes, council, _clock = council_of(tmp_path, 3)
    a, b, c = nodes
    cid = a.pledges.start(council, "Stop work on Monday", T0 + DAY, people=2)
    everyone(nodes)
    c.pledges.take(council, cid, delay=0)
    everyone(nodes)
    b.pledges.take(council, cid, delay=0)
    everyone(nodes)
    met = a.pledges.campaign(council, cid)
    assert met.met and met.count == 2
    keys = sorted(met.electorate)
    sig = ring.sign(message(cid, "pledge.withdraw", 2), keys, secret_of(c, council), context(cid))
    # c's modified client withdraws anyway, its causal past holding the met moment
    adv = Adversary(c, council)
    withdraw = anonymous(adv, "pledge.withdraw", pk.Withdraw(cid, 2, sig.encode()))
    deliver(nodes, withdraw)
    for node in nodes:
        state = node.pledges.campaign(council, cid)
        assert (state.count, state.met_by) == (2, met.met_by)
        assert dict(state.refused) == {"after_met": 1}


def test_a_pledge_replayed_from_another_campaign_is_refused(tmp_path: Path) -> None:
    nodes, council, _clock = council_of(tmp_path, 3)
    a, b, _c = nodes
    first = a.pledges.start(council, "Stop work on Monday", T0 + DAY, people=2)
    second = a.pledges.start(council, "Stop work on Tuesday", T0 + DAY, people=2)
    everyone(nodes)
    a.pledges.take(council, first, delay=0)
    everyone(nodes)
    row = b.store.events.valid_of_kind(council, "pledge.take")[0]
    taken = msgspec.msgpack.decode(row[5], type=pk.Take)
    replay = anonymous(Adversary(b, council), "pledge.take", pk.Take(second, 1, taken.signature))
    deliver(nodes, replay)
    assert refused(nodes, council, second) == [{"not_in_electorate": 1}] * 3
    assert counts(nodes, council, second) == [0, 0, 0]
    assert counts(nodes, council, first) == [1, 1, 1]


def test_a_count_reported_by_someone_not_seated_for_that_council_counts_for_nothing(
    tmp_path: Path,
) -> None:
    clock = Clock(T0)
    host = make_node(tmp_path, "host")
    host.now = clock
    city = host.federation.create("City", "Host")
    people = {n: one_person_council(tmp_path, n, clock, host, city) for n in ("p", "q", "r")}
    for node, _base in people.values():
        send(node, host)
    cid = host.pledges.start(city, "Stop work on Monday", T0 + DAY, share="1/2", across=True)
    p, _p_base = people["p"]
    q, q_base = people["q"]
    send(host, p)
    send(host, q)
    # the host (a federation member with no seat) and p's delegate (seated for p's
    # council, not q's) report councils as having met the threshold
    host.append(city, "pledge.report", pk.Report(cid, q_base, 900, 1, 900, True))
    p.append(city, "pledge.report", pk.Report(cid, q_base, 900, 1, 900, True))
    send(p, host)
    for node in (host, p):
        across = node.pledges.across(city, cid)
        assert (across.councils, across.met, across.rows) == (3, False, ())


def test_a_member_removed_after_the_campaign_started_cannot_make_a_pledge_that_counts(
    tmp_path: Path,
) -> None:
    """The informer is in the campaign's ring (a member when it started), then removed.
    Her modified client signs over the old ring, picks parents from before the removal
    and claims a time before it (under the old epoch, whose keys it kept), adds a mark
    over it, and a friend still in the council re-wraps the same pledge under the new
    epoch. Nobody can tell the pledge is hers, but its ring holds a member removed
    before the deadline and the removal's authors had not seen it: every replica
    refuses it ("removed") whatever order the events came in, and the threshold it
    would have met is not met. Leaving out someone else does not help: the signer
    must be in the ring."""
    nodes, council, clock = council_of(tmp_path, 5)
    a, b, c, d, e = nodes
    cid = a.pledges.start(council, "Stop work on Monday", T0 + DAY, people=4)
    everyone(nodes)
    a.pledges.take(council, cid, delay=0)
    everyone(nodes)
    informer, friend = Adversary(d, council), Adversary(e, council)
    d_key, a_key = d.me(council), a.me(council)
    assert d_key is not None and a_key is not None
    electorate = sorted(a.pledges.campaign(council, cid).electorate)
    before, time_before = informer.heads(), int(d.now() * 1000)
    clock.t += 60
    a.membership.remove(council, d_key, "informer")
    send(a, b)
    assert b.membership.remove(council, d_key, "informer").admitted
    everyone([a, b, c, e])
    honest = [a, b, c]
    b.pledges.take(council, cid, delay=0)
    c.pledges.take(council, cid, delay=0)
    everyone([*honest, e])
    old_ring = take_body(d, council, cid, electorate)
    smaller = [k for k in electorate if k != a_key]
    other = take_body(d, council, cid, smaller, step=3, without=[a_key])
    mine = anonymous(informer, "pledge.take", old_ring, parents=before, time_ms=time_before)
    forged = [
        mine,
        anonymous(informer, "pledge.take", other, parents=before, time_ms=time_before + 1),
        anonymous(informer, "pledge.mark", pk.Mark(cid), parents=[*before, mine.id]),
        anonymous(friend, "pledge.take", old_ring),  # re-wrapped on today's heads
    ]
    for i, node in enumerate(honest):
        node.bundles.import_envelopes([f.raw for f in (forged if i % 2 else forged[::-1])])
    everyone([*honest, e])
    d_image = ring.key_image(secret_of(d, council), context(cid))
    found = [node.pledges.campaign(council, cid) for node in honest]
    assert found[0] == found[1] == found[2]
    for state in found:
        assert state.removed == {d_key}
        assert (state.count, state.met, state.met_by) == (3, False, None)
        assert dict(state.refused) == {"removed": 2, "copy": 1}
        assert not state.counts(d_image)
    # an honest mark written now changes nothing: no causal past holds four pledges
    assert c.pledges.settle(council, cid) is None


def test_a_removed_members_pledge_on_her_last_view_is_one_she_could_have_made_before(
    tmp_path: Path,
) -> None:
    """The limit docs/pledges.md states: judged on causal pasts alone, a pledge whose
    parents are from before her removal does not see it. If that old view fell short of
    the threshold by one, her pledge meets it there, on every replica alike, as had she
    pledged just before she was removed; any event that sees the removal refuses it."""
    nodes, council, clock = council_of(tmp_path, 4)
    a, b, c, d = nodes
    cid = a.pledges.start(council, "Stop work on Monday", T0 + DAY, people=2)
    everyone(nodes)
    a.pledges.take(council, cid, delay=0)
    everyone(nodes)
    informer = Adversary(d, council)
    d_key = d.me(council)
    assert d_key is not None
    electorate = sorted(a.pledges.campaign(council, cid).electorate)
    before, time_before = informer.heads(), int(d.now() * 1000)
    clock.t += 60
    a.membership.remove(council, d_key, "informer")
    send(a, b)
    assert b.membership.remove(council, d_key, "informer").admitted
    everyone([a, b, c])
    mine = anonymous(
        informer,
        "pledge.take",
        take_body(d, council, cid, electorate),
        parents=before,
        time_ms=time_before,
    )
    deliver([a, b, c], mine)
    found = [n.pledges.campaign(council, cid) for n in (a, b, c)]
    assert found[0] == found[1] == found[2]
    assert found[0].met_by == mine.id and found[0].count == 2
