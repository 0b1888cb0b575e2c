"""Federation benchmark: what an alert, a summary and a recall cost across five levels.

Simulates N base councils under districts, cities, provinces and one nation (about
ten councils per federation) in one process, with no network and no profiles: a
council is its keys in memory. Every message that crosses a level is a real envelope
made with the kernel's own functions, and every node that acts on it opens it: NIP-01
decode, id and BIP-340 check, decryption, Ed25519 check, typed body. For each N:

  (a) an alert from the nation copied down, level by level, to every base council;
  (b) every base council's aid summary, re-summarised at each level up to the nation;
  (c) a recall: a base council's revocation ends its delegate's seat in the district
      (mandate.end and the grants of the new epoch);
and, as the reference, the same without levels: the top writes the alert into every
base council, every base council sends its summary straight to the top.

Run:  python benchmarks/federation.py [--quick] [--sizes 100,1000,10000] [--seed S]
The last line printed is a machine-readable RESULT line.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import msgspec

from ingest import Author, compose, human_bytes  # same directory
from shora.domain.aid import kinds as ak
from shora.domain.aid import summary as asum
from shora.domain.federation import kinds as fk
from shora.domain.federation import mandates as md
from shora.errors import WrongEpoch
from shora.kernel import crypto, events, keys, kinds, nip01
from shora.services.federation import revocation_payload
from shora.services.membership import GRANTS_PER_EVENT

LEVELS = ("neighbourhood", "district", "city", "province", "nation")
PLURALS = ("neighbourhoods", "districts", "cities", "provinces", "nations")
BRANCHING = 10
SIZES = (100, 1_000, 10_000)
QUICK_SIZES = (100, 1_000)
ROSTER = 31  # members of the base council that recalls its delegate
TARGET_SLOPE = 1.1
TARGET_RECALL_SLOPE = 0.1
TARGET_INBOUND_SHARE = 50  # busiest node with levels ≤ 1/50 of naive, at N = 10,000
CATEGORIES = {"food": 20, "water": 15, "medicine": 15, "baby_food": 5, "blood": 2}
CATEGORIES |= {"shelter": 8, "transport": 6, "power_fuel": 8, "communications": 4}
CATEGORIES |= {"medical_care": 6, "childcare": 3, "legal": 2, "psychological": 3, "other": 3}
URGENCIES = {"immediate": 10, "urgent": 25, "soon": 35, "routine": 30}
AREA_NAMES = ["North alley", "Mosque square", "کوچه‌ی بهار", "خیابان اصلی", "Bakery row"]
AREA_NAMES += ["بلوک ۴", "School street", "محله‌ی پایین", "Block 7", "کوچه‌ی شهید"]
ALERT_NOTE = "The water from the mains is contaminated; boil it or use the tanker at the mosque."
Key = tuple[str, str, str | None]  # kind, category, urgency


@dataclass(frozen=True, slots=True)
class Member:
    """One identity in one council: Ed25519 for signing, X25519 for receiving grants."""

    sign_pk: bytes
    sign_sk: bytes
    kx_pk: bytes
    kx_sk: bytes

    @classmethod
    def new(cls) -> Member:
        return cls(*crypto.sign_keypair(), *crypto.kx_keypair())

    @property
    def author(self) -> Author:
        return Author(self.sign_pk, self.sign_sk)


@dataclass(eq=False, slots=True)
class Council:
    level: int
    index: int
    id: bytes
    epoch: keys.Epoch
    signer: crypto.WriteSigner
    verifier: crypto.WriteVerifier
    head: bytes  # the inner id of its latest event: the next one's parent
    clock: int = 1
    parent: Council | None = None
    children: list[Council] = field(default_factory=list)
    up: Member | None = None  # its delegate's identity in the parent federation
    home: Member | None = None  # that delegate's identity in this council
    person: str = ""  # who the delegate is (a federation's delegate sits in every level below)
    members: dict[bytes, Member] = field(default_factory=dict)
    seats: dict[bytes, bytes] = field(default_factory=dict)  # delegate key → council it speaks for
    rosters: dict[bytes, md.Roster] = field(default_factory=dict)
    mandates: dict[bytes, bytes] = field(default_factory=dict)  # delegate key → mandate id

    @classmethod
    def new(cls, level: int, index: int) -> Council:
        cid = crypto.random_bytes(32)
        epoch = keys.Epoch.generate(cid)
        return cls(level, index, cid, epoch, *_parsed(epoch), crypto.random_bytes(32))

    def set_epoch(self, epoch: keys.Epoch) -> None:
        self.epoch = epoch
        self.signer, self.verifier = _parsed(epoch)

    @property
    def name(self) -> str:
        return f"{LEVELS[self.level]} {self.index + 1}"

    @property
    def area(self) -> str:
        return f"{LEVELS[self.level][:4]}-{self.index + 1}"

    def persons(self) -> set[str]:
        """Everyone whose node receives what is written here."""
        if self.children:
            return {c.person for c in self.children}
        return {self.person, f"m{self.index}"}  # the delegate, the other members


class Progress:
    """Prints every 10% of a loop, once the loop has taken more than a second."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.mark = label, max(total, 1), 0, 1
        self.start = time.perf_counter()

    def __call__(self) -> None:
        self.done += 1
        tenths = self.done * 10 // self.total
        if tenths >= self.mark:
            self.mark = tenths + 1
            elapsed = time.perf_counter() - self.start
            if elapsed > 1:
                print(
                    f"    {self.label}: {100 * self.done / self.total:3.0f}%  "
                    f"({self.done:,}/{self.total:,}, {elapsed:.1f} s)",
                    flush=True,
                )


def _parsed(epoch: keys.Epoch) -> tuple[crypto.WriteSigner, crypto.WriteVerifier]:
    return crypto.WriteSigner(epoch.write_sk), crypto.WriteVerifier(epoch.write_pk)


def shape(n: int) -> list[int]:
    counts = [n]
    for _ in range(len(LEVELS) - 2):
        counts.append(-(-counts[-1] // BRANCHING))
    return [*counts, 1]


class Sim:
    """The councils of every level, with their delegates' identities."""

    def __init__(self, n: int, rng: random.Random) -> None:
        self.rng = rng
        self.now_ms = int(time.time() * 1000)
        counts = shape(n)
        self.levels: list[list[Council]] = []
        progress = Progress("councils", sum(counts))
        for level, count in enumerate(counts):
            row = []
            for i in range(count):
                c = Council.new(level, i)
                if level == 0:
                    c.home, c.person = Member.new(), f"d{i}"
                    c.members[c.home.sign_pk] = c.home
                else:
                    kids = self.levels[-1][i * BRANCHING : (i + 1) * BRANCHING]
                    if level == len(counts) - 1:
                        kids = self.levels[-1]
                    for kid in kids:
                        kid.parent, kid.up = c, Member.new()
                        c.children.append(kid)
                        c.members[kid.up.sign_pk] = kid.up
                        c.seats[kid.up.sign_pk] = kid.id
                    # The federation's delegate is one of its members: its first child's.
                    c.home, c.person = kids[0].up, kids[0].person
                row.append(c)
                progress()
            self.levels.append(row)
        self.top = self.levels[-1][0]
        self.summaries = {b.id: base_summary(rng, self.now_ms // 1000) for b in self.levels[0]}

    def write(
        self, x: Council, author: Member, kind: str, body: msgspec.Struct, epoch: keys.Epoch | None
    ) -> tuple[bytes, bytes]:
        """An envelope in council x, exactly as Node.append would write it."""
        old = epoch is not None and epoch is not x.epoch
        sign_with = epoch or x.epoch
        signer = crypto.WriteSigner(sign_with.write_sk) if old else x.signer
        self.now_ms += 1
        args = (x.id, author.author, [x.head], x.clock + 1, self.now_ms, kind, body)
        raw, inner = compose(sign_with, signer, *args)
        x.head, x.clock = inner, x.clock + 1
        return raw, inner


def open_event(raw: bytes, x: Council, epoch: keys.Epoch | None = None) -> events.Opened:
    """What a member's node does with an envelope of council x before it believes it."""
    epoch = epoch or x.epoch
    env = nip01.decode(raw)
    if env.kind != events.SHORA_KIND or env.pubkey != epoch.write_pk.hex():
        raise WrongEpoch("not an event of this council's epoch")
    events.check_tags(env)
    verifier = x.verifier if epoch is x.epoch else crypto.WriteVerifier(epoch.write_pk)
    nip01.verify(env, verifier)
    plain = events.decrypt_content(env, epoch.content_key, epoch.write_pk)
    opened = events.open_inner(env, plain, epoch.write_pk, x.id)
    assert opened.payload.author in x.members, "written by someone who is not a member"
    return opened


def base_summary(rng: random.Random, now: int) -> asum.AidSummary:
    """A neighbourhood council's de-identified summary of plausible open needs and offers,
    counted as aid_summary.summarise counts them."""
    areas = {f"a{j}": name for j, name in enumerate(rng.sample(AREA_NAMES, rng.randint(2, 4)))}
    counts: Counter[tuple[str, str, str | None, str]] = Counter()
    amounts: Counter[tuple[str, str, str | None, str]] = Counter()
    for kind, n in (("need", rng.randint(10, 80)), ("offer", rng.randint(5, 40))):
        for _ in range(n):
            category = rng.choices(list(CATEGORIES), list(CATEGORIES.values()))[0]
            urgency = rng.choices(list(URGENCIES), list(URGENCIES.values()))[0]
            key = (kind, category, urgency if kind == "need" else None, rng.choice(list(areas)))
            counts[key] += 1
            amounts[key] += rng.randint(1, 30)
    shown = {k for k, n in counts.items() if n >= asum.SUPPRESS_BELOW}  # else hidden
    rows = [
        asum.SummaryRow(*k, counts[k] if k in shown else None, amounts[k] if k in shown else None)  # type: ignore[arg-type]
        for k in sorted(counts, key=lambda k: (k[0], k[1], k[2] or "", k[3]))
    ]
    used = {r.area for r in rows}
    names = {a: n for a, n in areas.items() if a in used}
    return asum.AidSummary(asum.SUMMARY_VERSION, now, asum.SUPPRESS_BELOW, rows, names)


def resummarise(x: Council, children: Iterable[asum.AidSummary], now: int) -> asum.AidSummary:
    """A federation's summary for its parent: its children's rows by kind, category and
    urgency (as federation_flow.totals adds them), over one area, the federation."""
    counts: Counter[Key] = Counter()
    amounts: Counter[Key] = Counter()
    for summary in children:
        for row in summary.rows:
            key = (row.kind, row.category, row.urgency)
            counts[key] += row.count or 0  # a hidden count adds nothing
            amounts[key] += row.quantity or 0
    rows = [
        asum.SummaryRow(*k, x.area, counts[k] or None, amounts[k] if counts[k] else None)  # type: ignore[arg-type]
        for k in sorted(counts, key=lambda k: (k[0], k[1], k[2] or ""))
    ]
    return asum.AidSummary(asum.SUMMARY_VERSION, now, asum.SUPPRESS_BELOW, rows, {x.area: x.name})


def totals(summaries: Iterable[asum.AidSummary]) -> Counter[Key]:
    found: Counter[Key] = Counter()
    for s in summaries:
        for row in s.rows:
            found[(row.kind, row.category, row.urgency)] += row.count or 0
    return found


@dataclass(slots=True)
class Flow:
    """Events written, their bytes, and what each person's node received and sent."""

    name: str
    events: int = 0
    size: int = 0  # bytes of those envelopes
    seconds: float = 0.0  # wall-clock time of the whole flow, every node's work in turn
    cpu: float = 0.0  # this process's CPU time for it (steadier on a busy machine)
    started: tuple[float, float] = field(
        default_factory=lambda: (time.perf_counter(), time.process_time())
    )
    inbound: Counter[str] = field(default_factory=Counter)
    outbound: Counter[str] = field(default_factory=Counter)
    work: defaultdict[str, float] = field(
        default_factory=lambda: defaultdict(float)
    )  # CPU seconds of each person's node

    def finish(self) -> None:
        self.seconds = time.perf_counter() - self.started[0]
        self.cpu = time.process_time() - self.started[1]

    def sent(self, writer: str, raw: bytes, receivers: Iterable[str]) -> None:
        self.events += 1
        self.size += len(raw)
        self.outbound[writer] += 1
        for r in receivers:
            if r != writer:
                self.inbound[r] += 1

    @staticmethod
    def busiest(counter: Mapping[str, float]) -> float:
        return max(counter.values(), default=0)


def timed_by(flow: Flow, person: str, start: float) -> None:
    flow.work[person] += time.process_time() - start


def alert_down(sim: Sim) -> Flow:
    """(a) The nation's alert, copied into each council below by its delegate."""
    flow = Flow("alert")
    top = sim.top
    assert top.home is not None
    t = time.process_time()
    alert = ak.Alert("contaminated_water", top.area, None, ALERT_NOTE[:200])
    raw, inner = sim.write(top, top.home, "safety.alert", alert, None)
    timed_by(flow, top.person, t)
    flow.sent(top.person, raw, top.persons())
    sent: dict[int, tuple[bytes, bytes, str]] = {id(top): (raw, inner, top.person)}
    text = f"{top.area}: {ALERT_NOTE}"
    for level in range(len(sim.levels) - 2, -1, -1):
        progress = Progress(f"alert into {PLURALS[level]}", len(sim.levels[level]))
        for c in sim.levels[level]:
            assert c.parent is not None and c.home is not None and c.up is not None
            raw_p, inner_p, writer = sent[id(c.parent)]
            t = time.process_time()
            if c.person != writer:  # its delegate's node opens it in the federation
                body = open_event(raw_p, c.parent).body
                assert isinstance(body, ak.Alert | fk.Notice)
            notice = fk.Notice(c.parent.id, c.parent.name, "alert", alert.kind, text, inner_p)
            raw, inner = sim.write(c, c.home, "federation.notice", notice, None)
            timed_by(flow, c.person, t)
            flow.sent(c.person, raw, c.persons())
            sent[id(c)] = (raw, inner, c.person)
            progress()
    received = 0
    for b in sim.levels[0]:  # a member of each base council reads it
        t = time.process_time()
        body = open_event(sent[id(b)][0], b).body
        timed_by(flow, f"m{b.index}", t)
        received += body.text == text and body.federation == b.parent.id  # type: ignore[union-attr]
    assert received == len(sim.levels[0])
    flow.finish()
    return flow


def alert_naive(sim: Sim) -> Flow:
    """(a, reference) The top writes the alert into every base council itself."""
    top, text = sim.top, f"{sim.top.area}: {ALERT_NOTE}"
    seats = {b.id: Member.new() for b in sim.levels[0]}  # the top is a member of every one
    for b in sim.levels[0]:
        b.members[seats[b.id].sign_pk] = seats[b.id]
    flow = Flow("alert, naive")
    source = crypto.random_bytes(32)
    progress = Progress("alert into every base council", len(sim.levels[0]))
    for b in sim.levels[0]:
        t = time.process_time()
        notice = fk.Notice(top.id, top.name, "alert", "contaminated_water", text, source)
        raw, _inner = sim.write(b, seats[b.id], "federation.notice", notice, None)
        timed_by(flow, "top", t)
        flow.sent("top", raw, b.persons())
        t = time.process_time()
        assert open_event(raw, b).body.text == text
        timed_by(flow, f"m{b.index}", t)
        progress()
    flow.finish()
    return flow


def summaries_up(sim: Sim) -> tuple[Flow, Counter[Key]]:
    """(b) Each base council's summary to its district; each federation re-summarises its
    children's for its parent; the nation shows the totals."""
    flow = Flow("summaries")
    now = sim.now_ms // 1000
    inbox: dict[int, list[bytes]] = {}
    mine: dict[bytes, asum.AidSummary] = dict(sim.summaries)
    for level, councils in enumerate(sim.levels):
        if level:  # each federation's delegate opens its children's summaries
            progress = Progress(f"{PLURALS[level]} open and re-summarise", len(councils))
            for x in councils:
                t = time.process_time()
                got = []
                for raw in inbox.pop(id(x)):
                    opened = open_event(raw, x)
                    body = opened.body
                    assert (
                        isinstance(body, fk.Summary) and x.seats[opened.payload.author] == body.base
                    )
                    got.append(asum.decode(body.summary))
                mine[x.id] = resummarise(x, got, now)
                timed_by(flow, x.person, t)
                progress()
        if level == len(sim.levels) - 1:
            break
        progress = Progress(f"{PLURALS[level]} send their summaries up", len(councils))
        for c in councils:
            assert c.parent is not None and c.up is not None
            t = time.process_time()
            body = fk.Summary(c.id, asum.encode(mine[c.id]))
            raw, _inner = sim.write(c.parent, c.up, "federation.summary", body, None)
            timed_by(flow, c.person, t)
            flow.sent(c.person, raw, c.parent.persons())
            inbox.setdefault(id(c.parent), []).append(raw)
            progress()
    flow.finish()
    return flow, totals([mine[sim.top.id]])


def summaries_naive(sim: Sim) -> tuple[Flow, Counter[Key]]:
    """(b, reference) Every base council writes its summary into one council at the top,
    whose node opens all of them (by area, as federation_flow.totals shows them)."""
    top = Council.new(len(LEVELS) - 1, 0)
    seats = {b.id: Member.new() for b in sim.levels[0]}  # every base council sits at the top
    top.members = {m.sign_pk: m for m in seats.values()}
    flow = Flow("summaries, naive")
    by_area: Counter[tuple[str, str, str | None, str]] = Counter()
    got = []
    progress = Progress("base councils send, the top opens", len(sim.levels[0]))
    for b in sim.levels[0]:
        t = time.process_time()
        body = fk.Summary(b.id, asum.encode(sim.summaries[b.id]))
        raw, _inner = sim.write(top, seats[b.id], "federation.summary", body, None)
        timed_by(flow, b.person, t)
        flow.sent(b.person, raw, ["top"])  # and every other base's delegate sitting there
        t = time.process_time()
        opened = open_event(raw, top)
        assert opened.payload.author == seats[opened.body.base].sign_pk
        summary = asum.decode(opened.body.summary)
        for row in summary.rows:
            area = summary.areas.get(row.area, row.area)
            by_area[(row.kind, row.category, row.urgency, area)] += row.count or 0
        got.append(summary)
        timed_by(flow, "top", t)
        progress()
    flow.finish()
    return flow, totals(got)


@dataclass(slots=True)
class Recall:
    flow: Flow  # in the federation: mandate.end and the grants
    base_events: int  # in the base council: the members' signatures on the revocation
    base_bytes: int
    text_chars: int  # the revocation as text, carried to the federation


def recall(sim: Sim) -> Recall:
    """(c) A base council recalls its delegate; the revocation reaches the district."""
    base = sim.levels[0][len(sim.levels[0]) // 2]
    district, delegate = base.parent, base.up
    assert district is not None and delegate is not None and base.home is not None
    # Set-up, not measured: the base council's roster, its mandate, the admission.
    people = [base.home] + [Member.new() for _ in range(ROSTER - 1)]
    base.members.update({m.sign_pk: m for m in people})
    roster = md.make_roster([m.sign_pk for m in people])
    start_s = sim.now_ms // 1000
    instructions = md.Instructions("Ask for a water tanker rota.", [md.Item("Water rota", "yes")])
    mandate = md.Mandate(
        1,
        district.id,
        base.id,
        delegate.sign_pk,
        start_s,
        start_s + 90 * 86_400,
        instructions,
        roster,
        crypto.random_bytes(16),
    )
    payload = md.encode(mandate)
    shares = {
        m.sign_pk: md.sign_share(m.sign_sk, payload, True) for m in people[: roster.threshold]
    }
    credential = md.decode_credential(md.assemble(payload, shares))
    md.check_signatures(credential, roster, is_mandate=True)  # the district admits
    mandate_id = md.payload_id(payload)
    district.rosters[base.id], district.mandates[delegate.sign_pk] = roster, mandate_id

    flow = Flow("recall")
    # In the base council, a majority's nodes sign the revocation (not the delegate).
    revocation = revocation_payload(mandate_id, mandate)
    signers, base_bytes, raws = people[1 : 1 + roster.threshold], 0, []
    for m in signers:
        body = fk.RevokeSign(mandate_id, revocation, md.sign_share(m.sign_sk, revocation, False))
        raw, _inner = sim.write(base, m, "mandate.revoke_sign", body, None)
        raws.append(raw)
        base_bytes += len(raw)
    collected = {}
    for raw in raws:  # any member's node collects the shares
        opened = open_event(raw, base)
        one = md.Credential(revocation, [md.Signature(opened.payload.author, opened.body.sig)])
        md.check_signatures(one, md.Roster([opened.payload.author], 1), is_mandate=False)
        collected[opened.payload.author] = opened.body.sig
    text = md.to_text(md.assemble(revocation, collected), is_mandate=False)
    # A member of the district receives the text by any carrier; its node ends the seat.
    t = time.process_time()
    applier = next(k.up for k in district.children if k is not base)
    assert applier is not None
    raw_credential = md.from_text(text, is_mandate=False)
    credential = md.decode_credential(raw_credential)
    rev = md.decode_revocation(credential.payload)
    assert district.mandates[delegate.sign_pk] == rev.mandate and rev.federation == district.id
    md.check_signatures(credential, district.rosters[rev.base], is_mandate=False)
    old, new = district.epoch, keys.Epoch.generate(district.id)
    end = fk.MandateEnd(delegate.sign_pk, new.write_pk, raw_credential)
    written = [sim.write(district, applier, "mandate.end", end, old)[0]]
    remaining = sorted(k for k in district.members if k != delegate.sign_pk)
    for i in range(0, len(remaining), GRANTS_PER_EVENT):
        to = [(k, district.members[k].kx_pk) for k in remaining[i : i + GRANTS_PER_EVENT]]
        g = keys.seal_grants(new, to)
        chunk = kinds.EpochGrant(new.write_pk, eph=g.eph, sealed=g.sealed, boxes=g.boxes)
        written.append(sim.write(district, applier, "epoch.grant", chunk, old)[0])
    timed_by(flow, "applier", t)
    for raw in written:
        flow.sent("applier", raw, district.persons())
    # Every member's node checks the revocation against its stored roster, takes its grant.
    for key in [*remaining, delegate.sign_pk]:
        t, who = time.process_time(), district.members[key]
        ended = open_event(written[0], district, old).body
        cred = md.decode_credential(ended.revocation)
        md.check_signatures(cred, district.rosters[md.decode_revocation(cred.payload).base], False)
        bodies = [open_event(raw, district, old).body for raw in written[1:]]
        opened = [b.open(key, who.kx_pk, who.kx_sk, district.id) for b in bodies if b.names(key)]
        epoch = next((e for e in opened if e is not None), None)
        if key == delegate.sign_pk:
            assert epoch is None, "the recalled delegate must not receive the new epoch"
        else:
            assert epoch is not None and epoch.write_pk == ended.new_epoch
        timed_by(flow, key.hex(), t)
    del district.members[delegate.sign_pk]
    district.set_epoch(new)
    flow.finish()
    return Recall(flow, len(signers), base_bytes, len(text))


def slope(small: float, large: float, n_small: int, n_large: int) -> float:
    return math.log(large / small) / math.log(n_large / n_small)


def run(sizes: list[int], seed: int) -> int:
    rng = random.Random(seed)
    rows = []
    for n in sizes:
        counts = shape(n)
        print(
            f"\n[N = {n:,}] councils per level: "
            + " / ".join(f"{c:,} {lv}" for c, lv in zip(counts, LEVELS, strict=True)),
            flush=True,
        )
        t = time.perf_counter()
        sim = Sim(n, rng)
        print(
            f"  keys of {sum(counts):,} councils and their delegates, and {n:,} base "
            f"summaries: {time.perf_counter() - t:.1f} s",
            flush=True,
        )
        a = alert_down(sim)
        b, top_totals = summaries_up(sim)
        c = recall(sim)
        a0 = alert_naive(sim)
        b0, naive_totals = summaries_naive(sim)
        assert top_totals == naive_totals, "the nation's totals differ from the naive top's"
        for f in (a, a0, b, b0, c.flow):
            n_in, n_out, work = f.busiest(f.inbound), f.busiest(f.outbound), f.busiest(f.work)
            print(
                f"  {f.name:<17} {f.events:>7,} events {human_bytes(f.size):>10}  "
                f"{f.seconds:6.2f} s ({f.cpu:.2f} s CPU)   busiest node: in {n_in:,}, "
                f"out {n_out:,}, work {work:.3f} s",
                flush=True,
            )
        print(
            f"  recall, in the base council: {c.base_events} signatures, "
            f"{human_bytes(c.base_bytes)}; the revocation as text: {c.text_chars:,} chars"
        )
        print(
            f"  the nation's totals equal the naive top's: yes ({sum(top_totals.values()):,} "
            "open needs and offers counted)"
        )
        rows.append((n, a, a0, b, b0, c))

    print("\nsummary")
    print(
        "| N | (a) alert: events, bytes, s | naive | (b) summaries: events, bytes, s | naive |"
        " (c) recall: events, bytes | busiest node in (b), levels / naive |"
    )
    print("|---|---|---|---|---|---|---|")
    for n, a, a0, b, b0, c in rows:
        print(
            f"| {n:,} | {a.events:,}, {human_bytes(a.size)}, {a.seconds:.2f} | "
            f"{a0.events:,}, {human_bytes(a0.size)} | {b.events:,}, {human_bytes(b.size)}, "
            f"{b.seconds:.2f} | {b0.events:,}, {human_bytes(b0.size)} | "
            f"{c.flow.events}, {human_bytes(c.flow.size)} | "
            f"{b.busiest(b.inbound):,} / {b0.busiest(b0.inbound):,} |"
        )
    (n1, a1, _, b1, _, c1), (n2, a2, _, b2, b02, c2) = rows[0], rows[-1]
    s_a = slope(a1.events, a2.events, n1, n2)
    s_b = slope(b1.events, b2.events, n1, n2)
    s_c = slope(c1.flow.events, c2.flow.events, n1, n2)
    s_cb = slope(c1.flow.size, c2.flow.size, n1, n2)
    print(
        f"  log-log slope, N = {n1:,} → {n2:,}: (a) events {s_a:.3f}, bytes "
        f"{slope(a1.size, a2.size, n1, n2):.3f}; (b) events {s_b:.3f}, bytes "
        f"{slope(b1.size, b2.size, n1, n2):.3f}; (c) events {s_c:.3f}, bytes {s_cb:.3f}"
    )
    busiest, naive = b2.busiest(b2.inbound), b02.busiest(b02.inbound)
    checked = n2 >= 10_000
    inbound_ok = busiest * TARGET_INBOUND_SHARE <= naive
    print(
        f"  busiest node's inbound in (b) at N = {n2:,}: {busiest:,} with levels, {naive:,} "
        f"without (1/{naive / busiest:,.0f})"
        + ("" if checked else "; the target is for N = 10,000, not checked here")
    )
    met = s_a <= TARGET_SLOPE and s_b <= TARGET_SLOPE and s_c <= TARGET_RECALL_SLOPE
    met = met and (inbound_ok or not checked)
    print(
        f"RESULT alert_events={a2.events} alert_bytes={a2.size} alert_slope={s_a:.3f} "
        f"summary_events={b2.events} summary_bytes={b2.size} summary_slope={s_b:.3f} "
        f"recall_events={c2.flow.events} recall_bytes={c2.flow.size} recall_slope={s_c:.3f} "
        f"busiest_inbound={busiest} naive_busiest_inbound={naive} n={n2} "
        f"target=slope(a,b)<={TARGET_SLOPE},slope(c)<={TARGET_RECALL_SLOPE},"
        f"inbound<=naive/{TARGET_INBOUND_SHARE}@10000 met={'yes' if met else 'no'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 100 and 1,000 only")
    parser.add_argument("--sizes", help="comma-separated numbers of base councils")
    parser.add_argument("--seed", type=int, default=1, help="seed of the summaries' contents")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    sizes = sizes or list(QUICK_SIZES if args.quick else SIZES)
    if len(sizes) < 2 or min(sizes) < 2 or sizes != sorted(set(sizes)):
        parser.error("give at least two increasing sizes of 2 or more")
    return run(sizes, args.seed)


if __name__ == "__main__":
    sys.exit(main())
