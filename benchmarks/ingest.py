"""Ingest benchmark: how fast a profile takes in a large council's bundle.

Builds a council of M members (real invite → join → admit flow) and N posts written by
those members as several concurrent writers would (each post's parents are the heads
its author had seen, a few events behind), exports the envelopes as a bundle, then
measures in one run:

  (a) the raw rate of the two signature checks one event needs (BIP-340 over the
      envelope id, Ed25519 over the inner payload), inputs precomputed, on one core;
  (b) the full ingest rate of the bundle into a member's profile (Node.import_bundle),
      in several rounds, each into a fresh copy of the profile and between two
      measurements of (a);
  the ratio b/a (the median of the rounds'), the bytes on disk per event, the time to
  open that profile, and the write path through the services.

Run:  python benchmarks/ingest.py [--events N] [--members M] [--quick] [--seed S]
      [--rounds R]
The last line printed is a machine-readable RESULT line.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import apsw
import msgspec

from shora.kernel import bundle, crypto, keys, keystore, kinds, nip01, profile, tokens
from shora.kernel.core import CREATED_AT_GRANULARITY, MAX_PARENTS_WRITTEN
from shora.kernel.events import (
    SHORA_KIND,
    SIGN_CONTEXT,
    InnerPayload,
    SignedInner,
    decode_payload,
    decrypt_content,
    encode_body,
    encode_payload,
    seal_content,
    sign_payload,
)
from shora.node import Node

FAST_KDF = profile.INSECURE_TEST_KDF  # Argon2id limits for the throwaway profiles only
PASSPHRASE = "benchmark passphrase"
TARGET_RATIO = 0.75
TARGET_DISK_RATIO = 1.1
WRITE_BATCH = 50  # posts per post_many call in the batched write line
TARGET_OPEN_SECONDS = 1.0
OPEN_REPEATS = 3
READ_REPEATS = 20
ROUNDS = 3  # imports, each between two measurements of the verify rate; medians reported

# --- realistic text ------------------------------------------------------------------

SENTENCES_FA = [
    "جلسه‌ی بعدی شورا پنجشنبه ساعت شش عصر در مسجد محل برگزار می‌شود.",
    "امروز آب از ساعت ده تا دو قطع است؛ لطفاً از قبل ذخیره کنید.",
    "چه کسی می‌تواند فردا صبح برای پخش نان کمک کند؟",
    "داروهای رسیده را می‌توانید از خانه‌ی خانم رضایی تحویل بگیرید.",
    "برق کوچه‌ی سوم از دیشب قطع شده و هنوز وصل نشده است.",
    "لطفاً فهرست خانواده‌هایی که به پتو نیاز دارند را تا شنبه بفرستید.",
    "من دو کیسه برنج و یک کارتن روغن برای صندوق مشترک آورده‌ام.",
    "ماشین آقای کریمی برای بردن سالمندان به درمانگاه آماده است.",
    "از همه ممنونیم که دیروز در تمیز کردن پارک کمک کردند.",
    "اینترنت محله دوباره قطع شده؛ پیام‌ها را با فلش دست‌به‌دست کنید.",
    "کسی خبر دارد داروخانه‌ی سر خیابان امروز باز است؟",
    "پیشنهاد می‌کنم درباره‌ی خرج کردن صندوق رأی‌گیری کنیم.",
    "نوبت نگهبانی شب برای این هفته را در پیام بعدی می‌فرستم.",
    "بچه‌ها می‌توانند عصرها در حیاط مدرسه با هم درس بخوانند.",
    "قیمت نان دوباره بالا رفته؛ خرید جمعی را از هفته‌ی بعد شروع کنیم؟",
    "همسایه‌ی طبقه‌ی دوم به کمک برای جابه‌جایی وسایل نیاز دارد.",
    "موافقم، ولی اول باید با خانواده‌های کوچه‌ی پایین هم صحبت کنیم.",
    "ژنراتور مسجد تا ساعت نه شب روشن است و می‌شود گوشی‌ها را شارژ کرد.",
]
SENTENCES_EN = [
    "The next council meeting is on Thursday at six in the evening, at the mosque.",
    "Water will be cut from ten until two today; please fill what you can beforehand.",
    "Who can help hand out bread tomorrow morning?",
    "The medicine that arrived can be collected from Mrs Rezaei's house.",
    "Power on the third alley has been out since last night.",
    "Please send the list of families who still need blankets by Saturday.",
    "I brought two sacks of rice and a box of cooking oil for the common fund.",
    "Mr Karimi's car is ready to take the elderly to the clinic.",
    "Thank you all for helping to clean up the park yesterday.",
    "The internet is down again; pass messages around on a USB stick.",
    "Does anyone know whether the pharmacy on the corner is open today?",
    "I propose we vote on how to spend the fund.",
    "I will send this week's night watch rota in the next message.",
    "Children can study together in the school yard in the afternoons.",
    "Agreed, but we should talk to the families down the street first.",
    "The mosque generator runs until nine tonight, phones can be charged there.",
]
TITLES = [
    "Water schedule",
    "Night watch rota",
    "Medicine distribution",
    "برنامه‌ی توزیع نان",
    "جلسه‌ی عمومی شورا",
    "Common fund report",
    "گزارش صندوق مشترک",
    "Clinic transport",
]
FIRST_NAMES = [
    "Nasrin",
    "Bahram",
    "Cyrus",
    "Leila",
    "Omid",
    "Parisa",
    "Reza",
    "Shirin",
    "Kaveh",
    "Mina",
    "نسرین",
    "بهرام",
    "لیلا",
    "امید",
    "پریسا",
    "رضا",
    "شیرین",
    "کاوه",
    "مینا",
    "آرش",
]


def sentences(rng: random.Random, count: int) -> str:
    bank = SENTENCES_FA if rng.random() < 0.5 else SENTENCES_EN
    return " ".join(rng.choice(bank) for _ in range(count))


def post_body(rng: random.Random, threads: list[bytes]) -> tuple[str, msgspec.Struct]:
    """A post as people write them: mostly a sentence or two, some announcements."""
    roll = rng.random()
    if roll < 0.08:
        title = rng.choice(TITLES)
        return "post.announcement", kinds.Announcement(title, sentences(rng, rng.randint(3, 8)))
    text = sentences(rng, rng.choices((1, 2, 3), weights=(55, 35, 10))[0])
    thread = rng.choice(threads) if threads and roll < 0.30 else None
    return "post.message", kinds.Message(text, thread)


# --- progress and formatting -----------------------------------------------------------


class Progress:
    """Prints every 10% of a known total."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self.mark = 1
        self.start = time.perf_counter()

    def __call__(self, n: int = 1) -> None:
        self.done += n
        tenths = self.done * 10 // self.total
        if tenths >= self.mark:
            elapsed = time.perf_counter() - self.start
            print(
                f"    {self.label}: {100 * self.done / self.total:3.0f}%  "
                f"({self.done:,}/{self.total:,}, {elapsed:.1f} s)",
                flush=True,
            )
            self.mark = tenths + 1


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError("unreachable")


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def timed(label: str) -> Callable[..., float]:
    """Start a clock; the returned function prints and returns the seconds since."""
    start = time.perf_counter()

    def done(count: float = 0) -> float:
        elapsed = time.perf_counter() - start
        rate = f", {count / elapsed:,.0f}/s" if count and elapsed > 0 else ""
        print(f"  {label}: {elapsed:.2f} s{rate}", flush=True)
        return elapsed

    return done


# --- building the council ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Author:
    sign_pk: bytes
    sign_sk: bytes


class Dag:
    """The heads each writer sees: concurrent writers lag a few events behind each other."""

    MAX_LAG = 5
    LAG_WEIGHTS = (40, 25, 15, 10, 6, 4)

    def __init__(self, heads: list[tuple[bytes, int]]) -> None:
        self.ids = [h for h, _ in heads]
        self.clocks = [c for _, c in heads]
        self.first_ref: list[float] = [float("inf")] * len(heads)
        self.base = len(heads)
        self.live = set(range(len(heads)))  # events that are a head in some writer's view

    def parents(self, rng: random.Random) -> tuple[list[int], int]:
        lag = rng.choices(range(self.MAX_LAG + 1), weights=self.LAG_WEIGHTS)[0]
        now = len(self.ids)
        view = max(self.base, now - lag)
        heads = [i for i in self.live if i < view and self.first_ref[i] >= view]
        heads.sort(key=lambda i: (-self.clocks[i], self.ids[i]))
        chosen = heads[:MAX_PARENTS_WRITTEN]
        return chosen, 1 + max(self.clocks[i] for i in chosen)

    def add(self, eid: bytes, clock: int, parents: list[int]) -> None:
        now = len(self.ids)
        self.ids.append(eid)
        self.clocks.append(clock)
        self.first_ref.append(float("inf"))
        self.live.add(now)
        for p in parents:
            if self.first_ref[p] > now:
                self.first_ref[p] = now
        self.live = {i for i in self.live if self.first_ref[i] >= now - self.MAX_LAG}


def compose(
    epoch: keys.Epoch,
    signer: crypto.WriteSigner,
    council: bytes,
    author: Author,
    parents: list[bytes],
    clock: int,
    time_ms: int,
    kind: str,
    body: msgspec.Struct,
) -> tuple[bytes, bytes]:
    """One envelope exactly as Node.append writes it; returns (envelope, inner id)."""
    payload = InnerPayload(
        1,
        council,
        epoch.write_pk,
        author.sign_pk,
        sorted(parents),
        clock,
        time_ms,
        kind,
        encode_body(body),
    )
    raw_payload = encode_payload(payload)
    content = seal_content(
        epoch.content_key, epoch.write_pk, sign_payload(author.sign_sk, raw_payload)
    )
    created = time_ms // 1000 // CREATED_AT_GRANULARITY * CREATED_AT_GRANULARITY
    env = nip01.sign_envelope(signer, created, SHORA_KIND, [], content)
    return nip01.encode(env), crypto.sha256(raw_payload)


def generate_posts(
    founder: Node,
    council: bytes,
    authors: list[Author],
    count: int,
    rng: random.Random,
    progress: Progress,
) -> tuple[list[bytes], dict[str, float]]:
    """Posts by every member, continuing the founder's DAG, valid and fully signed."""
    epoch = founder.writing_epoch(council)
    signer = crypto.WriteSigner(epoch.write_sk)
    heads = founder.store.rows(
        "SELECT h.id, e.clock FROM heads h JOIN events e ON e.id = h.id WHERE h.council=?",
        (council,),
    )
    dag = Dag([(bytes(h), c) for h, c in heads])
    # Some members write much more than others.
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(authors))]
    rng.shuffle(authors)
    time_ms = int(founder.now() * 1000)
    threads: list[bytes] = []
    out: list[bytes] = []
    n_parents = 0
    merges = 0
    for _ in range(count):
        author = rng.choices(authors, weights=weights)[0]
        parent_idx, clock = dag.parents(rng)
        # Claimed times only grow, and stay within the council's clock skew of the
        # importing node's clock (later ones would wait in `early`).
        time_ms += rng.randint(0, 3)
        kind, body = post_body(rng, threads)
        raw, inner_id = compose(
            epoch,
            signer,
            council,
            author,
            [dag.ids[i] for i in parent_idx],
            clock,
            time_ms,
            kind,
            body,
        )
        dag.add(inner_id, clock, parent_idx)
        if isinstance(body, kinds.Message) and body.thread is None:
            threads.append(inner_id)
            del threads[:-200]
        n_parents += len(parent_idx)
        merges += len(parent_idx) > 1
        out.append(raw)
        progress()
    shape = {
        "mean_parents": n_parents / max(count, 1),
        "merge_fraction": merges / max(count, 1),
        "max_clock": max(dag.clocks),
    }
    return out, shape


def build(
    tmp: Path, n_events: int, n_members: int, rng: random.Random
) -> tuple[Node, bytes, Path, dict[str, float]]:
    """The source profile (founder) with every event; the destination member's profile."""
    print(f"\n[1] building a council of {n_members} members and {n_events:,} posts", flush=True)
    build_done = timed("building, in all")
    done = timed(f"founder + {n_members - 2} members (invite → join → admit)")
    founder = Node.create(tmp / "source", PASSPHRASE, kdf_limits=FAST_KDF, allow_weak_kdf=True)
    council = founder.councils.create(
        "Block 4 neighbourhood council", "Water, bread, medicine and the night watch.", "Nasrin"
    )
    me = founder.identity(council)
    authors = [Author(me.sign_pk, me.sign_sk)]

    def admit(member: Node, name: str) -> None:
        invitation = tokens.parse_invitation(
            tokens.invitation_text(founder.membership.invite(council))
        )
        request = member.membership.join(invitation, name)
        text = tokens.join_request_text(request)
        result = founder.membership.admit(tokens.parse_join_request_text(text))
        assert result.admitted, result
        me = member.identity(council)
        authors.append(Author(me.sign_pk, me.sign_sk))

    progress = Progress("members", n_members - 2)
    for i in range(1, n_members - 1):
        home = tmp / "members" / f"m{i:03d}"
        with Node.create(home, PASSPHRASE, kdf_limits=FAST_KDF, allow_weak_kdf=True) as member:
            admit(member, f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {i}")
        progress()
    done()

    # The destination: a member whose profile uses the default Argon2id limits, who
    # joined (and received the welcome and the history) before any post was written.
    done = timed("destination member (default Argon2id limits) joins and syncs")
    dest_home = tmp / "destination"
    with Node.create(dest_home, PASSPHRASE) as dest:
        admit(dest, "Destination")
        buf = io.BytesIO()
        founder.bundles.export_bundle(buf, council)
        buf.seek(0)
        report, damage = dest.bundles.import_bundle(buf)
        assert damage is None and not (report.refused or report.pending or report.held), report
        assert dest.councils.get(council).status == "member"
    done()

    sample = min(2000, max(n_events // 50, 1))
    done = timed(f"founder writes {sample:,} posts through Node.post (Node.append)")
    start = time.perf_counter()
    threads: list[bytes] = []
    for _ in range(sample):
        _, body = post_body(rng, threads)
        if isinstance(body, kinds.Announcement):
            founder.posts.post(council, body.text, title=body.title)
        else:
            assert isinstance(body, kinds.Message)
            threads.append(founder.posts.post(council, body.text, thread=body.thread))
            del threads[:-200]
    node_rate = sample / (time.perf_counter() - start)
    done(sample)
    print(
        f"    Node.post runs at {node_rate:,.0f} ev/s: {n_events:,} posts that way would take "
        f"~{n_events / node_rate:.0f} s, all by one author on one chain. For the shape of "
        f"{n_members} concurrent writers the rest are composed directly from the members' "
        "identities (events.encode_payload/sign_payload/seal_content, nip01.sign_envelope).",
        flush=True,
    )

    rest = n_events - sample
    done = timed(f"composing {rest:,} posts by {n_members} concurrent writers")
    raws, shape = generate_posts(founder, council, authors, rest, rng, Progress("compose", rest))
    done(rest)
    print(
        f"    DAG: {shape['mean_parents']:.2f} parents per post on average, "
        f"{shape['merge_fraction']:.0%} of posts merge branches, "
        f"clock reaches {shape['max_clock']:,}",
        flush=True,
    )

    done = timed(f"ingesting {rest:,} composed posts into the source profile")
    founder.ingestor.progress = Progress("source ingest", rest)
    try:
        report = founder.bundles.import_envelopes(raws)
    finally:
        founder.ingestor.progress = None
    assert report.accepted == rest, report
    assert not (report.refused or report.pending or report.held or report.healed), report
    done(rest)
    build_seconds = build_done()
    shape["node_post_rate"] = node_rate
    shape["build_seconds"] = build_seconds
    return founder, council, dest_home, shape


# --- measurements -----------------------------------------------------------------------


def export(founder: Node, council: bytes, path: Path) -> int:
    print("\n[2] exporting the bundle", flush=True)
    total = founder.store.one("SELECT count(*) FROM envelopes WHERE council=?", (council,))
    done = timed("export")
    with path.open("wb") as out:
        count = founder.bundles.export_bundle(out, council, progress=Progress("export", total))
    done(count)
    size = path.stat().st_size
    print(
        f"  bundle: {count:,} envelopes, {human_bytes(size)} ({size / count:,.0f} B/envelope)",
        flush=True,
    )
    return count


@dataclass(frozen=True, slots=True)
class VerifyInput:
    verifier: crypto.WriteVerifier
    envelope_id: bytes
    envelope_sig: bytes
    author: bytes
    message: bytes
    signature: bytes


def verify_inputs(founder: Node, path: Path, total: int) -> list[VerifyInput]:
    """Everything the two verifications of each event need, decoded and decrypted."""
    verifiers: dict[str, crypto.WriteVerifier] = {}
    inputs = []
    progress = Progress("prepare", total)
    signed_decoder = msgspec.msgpack.Decoder(SignedInner)
    with path.open("rb") as f:
        for raw in bundle.read_bundle(f):
            progress()
            env = nip01.decode(raw)
            if env.kind != SHORA_KIND:
                continue
            write_pk = bytes.fromhex(env.pubkey)
            verifier = verifiers.get(env.pubkey)
            if verifier is None:
                verifier = verifiers[env.pubkey] = crypto.WriteVerifier(write_pk)
            epoch = founder.ingestor.keyring.epoch(write_pk)
            assert epoch is not None
            signed = signed_decoder.decode(decrypt_content(env, epoch.content_key, write_pk))
            inputs.append(
                VerifyInput(
                    verifier,
                    bytes.fromhex(env.id),
                    bytes.fromhex(env.sig),
                    decode_payload(signed.payload).author,
                    SIGN_CONTEXT + signed.payload,
                    signed.sig,
                )
            )
    return inputs


@dataclass(frozen=True, slots=True)
class Rate:
    """Events per second of wall-clock time, and per second of this process's CPU time
    (steadier when other programs share the machine)."""

    wall: float
    cpu: float


def measure_verify(inputs: list[VerifyInput], label: str = "") -> Rate:
    """(a): BIP-340 verify of the envelope id + Ed25519 verify of the inner payload."""
    print(f"\n[3a] the two signature verifications of {len(inputs):,} events{label}", flush=True)
    verify = crypto.verify
    chunks = [inputs[i * len(inputs) // 10 : (i + 1) * len(inputs) // 10] for i in range(10)]
    progress = Progress("verify", len(inputs)) if len(inputs) >= 20_000 else lambda _: None
    elapsed = cpu = 0.0
    for chunk in chunks:
        start, start_cpu = time.perf_counter(), time.process_time()
        for x in chunk:
            x.verifier.verify(x.envelope_id, x.envelope_sig)
            verify(x.author, x.message, x.signature)
        elapsed += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        progress(len(chunk))
    rate = Rate(len(inputs) / elapsed, len(inputs) / cpu)
    print(
        f"  verify: {elapsed:.2f} s, {rate.wall:,.0f} events/s "
        f"({cpu:.2f} s of CPU, {rate.cpu:,.0f} events per CPU-second)",
        flush=True,
    )
    return rate


def cpu_with_children() -> float:
    """CPU seconds of this process and of its children that ended (the checking
    processes of an import end with it)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measure_ingest(
    dest_home: Path, path: Path, total: int, cprofile: Path | None
) -> tuple[Rate, Node, float, float]:  # rate, node, main-thread and main-process CPU s
    """(b): the whole pipeline, Node.import_bundle into the destination member's profile."""
    print(
        f"\n[3b] importing the bundle ({total:,} envelopes) into a member's profile "
        f"({dest_home.name})",
        flush=True,
    )
    dest = Node.open(dest_home, PASSPHRASE)
    before = dest.store.one("SELECT count(*) FROM envelopes")
    profiler = cProfile.Profile() if cprofile else None
    with path.open("rb") as f:
        start, start_cpu = time.perf_counter(), cpu_with_children()
        start_main, start_process = time.thread_time(), time.process_time()
        if profiler:
            profiler.enable()
        report, damage = dest.bundles.import_bundle(f, progress=Progress("import", total))
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - start
        cpu = cpu_with_children() - start_cpu
        main = time.thread_time() - start_main
        process = time.process_time() - start_process
    assert damage is None, damage
    assert not (report.refused or report.pending or report.held or report.healed), report
    assert report.accepted + report.duplicate == total, report
    rate = Rate(total / elapsed, total / cpu)
    print(
        f"  import: {elapsed:.2f} s, {rate.wall:,.0f} envelopes/s "
        f"({cpu:.2f} s of CPU, {rate.cpu:,.0f} per CPU-second)",
        flush=True,
    )
    print(
        f"  ({report.accepted:,} new, {report.duplicate:,} already held from joining)",
        flush=True,
    )
    print(f"  (the profile held {before:,} envelopes before the import)", flush=True)
    print(
        f"  CPU: {cpu / total * 1e6:,.0f} µs per envelope in all threads and checking "
        f"processes; {process / total * 1e6:,.0f} µs in this process, of which "
        f"{main / total * 1e6:,.0f} µs in the sequential step ({main / cpu:.0%} of all)",
        flush=True,
    )
    if profiler and cprofile:
        profiler.dump_stats(cprofile)
        print(f"  cProfile of the import saved to {cprofile}; rates above are inflated by it")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(25)
    return rate, dest, main, process


def measure_rounds(
    inputs: list[VerifyInput],
    dest_home: Path,
    path: Path,
    total: int,
    args: argparse.Namespace,
) -> tuple[Rate, Rate, float, float, float, list[float], Node, Path]:
    """(a) and (b) interleaved: verify, import, verify, import, ... verify. Each import
    goes into a fresh copy of the destination as it was before any import, and its ratio
    is taken against the two verify measurements around it (the mean of their times), so
    that a change of load on the machine moves both sides of each ratio alike. Returns the
    medians (verify, import, main-thread and main-process CPU seconds, ratio), every
    round's ratio, and the
    last round's node and home, for the measurements that follow."""
    rounds = 1 if args.cprofile else args.rounds
    template = dest_home.with_name(dest_home.name + "-before-import")
    shutil.copytree(dest_home, template)
    verifies = [measure_verify(inputs, f" (before round 1 of {rounds})")]
    imports: list[tuple[Rate, float, float]] = []
    ratios: list[float] = []
    dest: Node | None = None
    home = dest_home
    for n in range(1, rounds + 1):
        if dest is not None:
            dest.close()
            shutil.rmtree(home)
        home = dest_home.with_name(f"{dest_home.name}-round-{n}")
        shutil.copytree(template, home)
        rate, dest, main, process = measure_ingest(
            home, path, total, args.cprofile if n == 1 else None
        )
        imports.append((rate, main, process))
        verifies.append(measure_verify(inputs, f" (after round {n} of {rounds})"))
        before, after = verifies[-2], verifies[-1]
        reference = 2 / (1 / before.wall + 1 / after.wall)
        ratios.append(rate.wall / reference)
        print(f"  round {n}: b/a = {ratios[-1]:.2f} (a: {reference:,.0f} events/s)", flush=True)
    shutil.rmtree(template)
    assert dest is not None
    med = statistics.median
    verify = Rate(med(v.wall for v in verifies), med(v.cpu for v in verifies))
    ingest = Rate(med(r.wall for r, _, _ in imports), med(r.cpu for r, _, _ in imports))
    main_cpu = med(m for _, m, _ in imports)
    process_cpu = med(p for _, _, p in imports)
    return verify, ingest, main_cpu, process_cpu, med(ratios), ratios, dest, home


ENVELOPE_TABLE = """
CREATE TABLE envelopes(
  id BLOB PRIMARY KEY, council BLOB NOT NULL, kind INT NOT NULL, created_at INT NOT NULL,
  raw BLOB NOT NULL, pubkey BLOB NOT NULL, hint TEXT
);
CREATE INDEX envelopes_council ON envelopes(council, created_at);
CREATE INDEX envelopes_author ON envelopes(pubkey, kind, created_at, id);
"""


def envelope_table_size(rows: list[tuple[object, ...]], path: Path) -> int:
    """The reference for disk: the same envelopes alone, as their JSON (as relays and
    bundles carry them, and as profiles kept them up to schema 5), in an SQLite file
    encrypted as a profile's is (SQLite3 Multiple Ciphers, ChaCha20-Poly1305) with the
    envelope table's own two indexes, written in batches as an import writes them."""
    db = apsw.Connection(str(path))
    db.pragma("cipher", "chacha20")
    db.pragma("kdf_iter", 1)
    db.pragma("hexkey", crypto.random_bytes(32).hex())
    db.pragma("journal_mode", "WAL")
    db.execute(ENVELOPE_TABLE)
    for i in range(0, len(rows), 5000):
        with db:
            db.executemany("INSERT INTO envelopes VALUES(?,?,?,?,?,?,?)", rows[i : i + 5000])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return sum(f.stat().st_size for f in path.parent.glob(path.name + "*"))


def measure_disk(dest: Node, dest_home: Path, tmp: Path) -> tuple[int, int, int]:
    """Bytes of the profile, what each table and index takes (SQLite's dbstat), and the
    reference: the encrypted, indexed envelope table alone."""
    print("\n[4] disk and open time", flush=True)
    events = dest.store.one("SELECT count(*) FROM events")
    dest.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    parts = dest.store.rows(
        "SELECT name, sum(pgsize), sum(unused) FROM dbstat GROUP BY name ORDER BY 2 DESC"
    )
    rows = [
        (i, c, k, t, dest.store.events.raw(bytes(i)), pk, hint)
        for i, c, k, t, pk, hint in dest.store.rows(
            "SELECT id, council, kind, created_at, pubkey, hint FROM envelopes ORDER BY rowid"
        )
    ]
    dest.close()
    size = dir_size(dest_home)
    reference = envelope_table_size(rows, tmp / "envelopes-only.db")
    del rows
    print(
        f"  profile: {human_bytes(size)} on disk for {events:,} events "
        f"({size / events:,.0f} B/event, WAL checkpointed)",
        flush=True,
    )
    for name, bytes_, unused in parts:
        if bytes_ / events >= 1:
            print(
                f"    {name:<30} {bytes_ / events:7,.0f} B/event "
                f"({unused / events:,.0f} of it unused space in its pages)"
            )
    print(
        f"  reference, the envelopes alone as JSON (encrypted table + its two indexes): "
        f"{reference / events:,.0f} B/event; the profile is {size / reference:.2f}× that",
        flush=True,
    )
    return size, events, reference


def measure_open(dest_home: Path, council: bytes) -> tuple[float, float, float]:
    """Median seconds of: Node.open + a query, Argon2id alone, and the rest."""
    ks = keystore.header_of((dest_home / profile.KEYSTORE_FILE).read_bytes())
    totals, kdfs, rests = [], [], []
    for _ in range(OPEN_REPEATS):
        start = time.perf_counter()
        with Node.open(dest_home, PASSPHRASE) as node:
            councils = node.councils.all()
        totals.append(time.perf_counter() - start)
        assert [c.id for c in councils] == [council]

        start = time.perf_counter()
        crypto.derive_key(PASSPHRASE.encode(), ks.salt, ks.opslimit, ks.memlimit)
        kdfs.append(time.perf_counter() - start)

        unlocked = profile.unlock(dest_home, PASSPHRASE)
        start = time.perf_counter()
        with Node(unlocked) as node:
            node.councils.all()
        rests.append(time.perf_counter() - start)
    total, kdf, rest = (statistics.median(x) for x in (totals, kdfs, rests))
    info = councils[0]
    print(
        f"  open + list councils: {total:.3f} s "
        f"(Argon2id {ks.opslimit} passes, {human_bytes(ks.memlimit)}: {kdf:.3f} s; "
        f"everything else: {rest:.3f} s); median of {OPEN_REPEATS}",
        flush=True,
    )
    print(
        f"  the council as listed: {info.name!r}, {info.members} members, {info.events:,} events",
        flush=True,
    )
    return total, kdf, rest


def measure_reads(dest_home: Path, council: bytes) -> tuple[float, float]:
    """Milliseconds to read a page of 50 posts (each body decrypted from its envelope:
    the profile keeps no decrypted copy), newest and halfway back; medians."""
    with Node.open(dest_home, PASSPHRASE) as node:
        total = node.store.events.count(council)
        times: dict[int, list[float]] = {0: [], total // 2: []}
        for _ in range(READ_REPEATS):
            for offset, found in times.items():
                start = time.perf_counter()
                page = node.posts.posts(council, 50, offset)
                found.append(time.perf_counter() - start)
                assert len(page) == 50
    newest, deep = (statistics.median(t) * 1000 for t in times.values())
    print(
        f"  a page of 50 posts: {newest:.2f} ms newest, {deep:.2f} ms {total // 2:,} back "
        f"(median of {READ_REPEATS})",
        flush=True,
    )
    return newest, deep


def measure_writes(dest_home: Path, council: bytes, count: int) -> tuple[Rate, Rate]:
    """(c): the write path through the services, in the profile that holds the whole
    history: `node.posts.post` one at a time (a commit each), then `node.posts.post_many`
    in batches of WRITE_BATCH (one commit per batch)."""
    print(f"\n[5] writing {count:,} posts through the services, twice", flush=True)
    texts = [f"write path {i}: water at the school at six" for i in range(count)]
    with Node.open(dest_home, PASSPHRASE) as node:
        start, start_cpu = time.perf_counter(), time.process_time()
        for text in texts:
            node.posts.post(council, text)
        one = Rate(count / (time.perf_counter() - start), count / (time.process_time() - start_cpu))
        start, start_cpu = time.perf_counter(), time.process_time()
        for i in range(0, count, WRITE_BATCH):
            node.posts.post_many(council, texts[i : i + WRITE_BATCH])
        batched = Rate(
            count / (time.perf_counter() - start), count / (time.process_time() - start_cpu)
        )
    for label, rate in (("one at a time", one), (f"{WRITE_BATCH} at a time", batched)):
        print(
            f"  posts.post{'' if label == 'one at a time' else '_many'}, {label}: "
            f"{rate.wall:,.0f} events/s ({rate.cpu:,.0f} per CPU-second)",
            flush=True,
        )
    return one, batched


# --- main ----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    n_events = 5000 if args.quick else args.events
    with tempfile.TemporaryDirectory(prefix="shora-bench-") as tmp_name:
        tmp = Path(tmp_name)
        founder, council, dest_home, shape = build(tmp, n_events, args.members, rng)
        bundle_path = tmp / "council.bundle"
        with founder:
            total = export(founder, council, bundle_path)
            bundle_size = bundle_path.stat().st_size
            print("\n[3] measuring", flush=True)
            print("  preparing the verification inputs (decode + decrypt, not timed)")
            inputs = verify_inputs(founder, bundle_path, total)
            verify, ingest, main_cpu, process_cpu, ratio, ratios, dest, dest_home = measure_rounds(
                inputs, dest_home, bundle_path, total, args
            )
            del inputs
            same = dest.councils.state_digest(council) == founder.councils.state_digest(council)
            print(f"  projected state equals the source's: {'yes' if same else 'NO'}")
            assert same
        size, events, reference = measure_disk(dest, dest_home, tmp)
        open_total, kdf, rest = measure_open(dest_home, council)
        page_ms, deep_page_ms = measure_reads(dest_home, council)
        write_one, write_batched = measure_writes(dest_home, council, 200 if args.quick else 1000)

    # What the import could reach with the machine to itself: no faster than its
    # sequential step, than its CPU time (checking processes' too) spread over every
    # core, nor than the CPU time of the process that runs the sequential step.
    per_event = max(
        main_cpu / total,
        1 / ingest.cpu / (os.cpu_count() or 1),
        process_cpu / total,
    )
    idle_rate = 1 / per_event
    bytes_per_event = size / events
    disk_ratio = size / reference
    met = (
        ratio >= TARGET_RATIO
        and open_total < TARGET_OPEN_SECONDS
        and disk_ratio <= TARGET_DISK_RATIO
    )
    print("\nsummary")
    print(f"  build (members + {n_events:,} posts):   {shape['build_seconds']:.1f} s")
    print(f"  bundle:                        {human_bytes(bundle_size)} for {total:,} envelopes")
    print(
        f"  (a) verify, two signatures:    {verify.wall:,.0f} events/s  "
        f"({verify.cpu:,.0f} per CPU-second)"
    )
    print(
        f"  (b) full ingest:               {ingest.wall:,.0f} events/s  "
        f"({ingest.cpu:,.0f} per CPU-second)"
    )
    print(
        f"  b/a:                           {ratio:.2f}  (target ≥ {TARGET_RATIO}; median of "
        f"{len(ratios)} rounds: {' / '.join(f'{r:.2f}' for r in ratios)}; in CPU time of all "
        f"threads and checking processes {ingest.cpu / verify.cpu:.2f}; signatures checked "
        f"by {max(1, (os.cpu_count() or 1) - 1)} checking process(es) and the sequential "
        f"step while it waits)"
    )
    print(
        f"  idle-machine estimate:         {idle_rate:,.0f} events/s from CPU times, "
        f"{idle_rate / verify.cpu:.2f} of one core's verify rate per CPU-second"
    )
    print(
        f"  disk:                          {bytes_per_event:,.0f} B/event, {disk_ratio:.2f}× "
        f"the envelope table alone (target ≤ {TARGET_DISK_RATIO})"
    )
    print(f"  a page of 50 posts:            {page_ms:.2f} ms ({deep_page_ms:.2f} ms halfway back)")
    print(
        f"  (c) writes through the services: {write_one.wall:,.0f} events/s one at a time, "
        f"{write_batched.wall:,.0f} in batches of {WRITE_BATCH}"
    )
    print(
        f"  open + list councils:          {open_total:.3f} s  "
        f"(Argon2id {kdf:.3f} s + rest {rest:.3f} s; target < {TARGET_OPEN_SECONDS:g} s)"
    )
    print(
        f"RESULT ingest_rate={ingest.wall:.0f} verify_rate={verify.wall:.0f} ratio={ratio:.2f} "
        f"ratio_min={min(ratios):.2f} ratio_max={max(ratios):.2f} rounds={len(ratios)} "
        f"idle_estimate_ratio={idle_rate / verify.cpu:.2f} "
        f"bytes_per_event={bytes_per_event:.0f} "
        f"envelope_table_bytes_per_event={reference / events:.0f} disk_ratio={disk_ratio:.2f} "
        f"open_seconds={open_total:.3f} page_ms={page_ms:.2f} "
        f"write_rate={write_one.wall:.0f} write_batched_rate={write_batched.wall:.0f} "
        f"target=ratio>={TARGET_RATIO},disk_ratio<={TARGET_DISK_RATIO},"
        f"open<{TARGET_OPEN_SECONDS:g}s met={'yes' if met else 'no'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="posts (default 100000)")
    parser.add_argument("--members", type=int, default=100, help="members (default 100)")
    parser.add_argument("--quick", action="store_true", help="5000 posts, for smoke runs")
    parser.add_argument("--seed", type=int, default=1, help="seed of the text and DAG shape")
    parser.add_argument(
        "--rounds",
        type=int,
        default=ROUNDS,
        help=f"imports, interleaved with the verify measurements (default {ROUNDS})",
    )
    parser.add_argument(
        "--cprofile", type=Path, help="profile the import with cProfile, save stats here"
    )
    args = parser.parse_args(argv)
    if args.members < 2 or args.events < 1 or args.rounds < 1:
        parser.error("need at least 2 members and 1 event")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
