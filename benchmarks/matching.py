"""Matching benchmark: a full proposal for a city district's needs and offers.

Generates, from a seed, a district of 200 areas (a grid of blocks with two-way streets
of 1-4 minutes' walk, some streets blocked, a few main roads, two areas cut off) and
10,000 needs and 10,000 offers with a wartime mix of categories, medicines (written the
way people write them: "Insulin glargine", "insulin  glargine", "100 IU/ml", "100iu/ml"),
blood groups, triage levels and quantities; supply is short of demand, as it is. Some
needs and offers are expired or not yet available.

Measures, in one run, the time `propose` takes for a full proposal (best of --repeat),
the time of the `greedy_fcfs` baseline, and the share of immediate + urgent need met
by each.

Run:  python benchmarks/matching.py [--needs N] [--offers M] [--areas A] [--seed S]
The last line printed is a machine-readable RESULT line.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from typing import TypeVar

from shora.domain.aid.matching import AreaMap, Need, Offer, Proposal, greedy_fcfs, propose
from shora.domain.aid.taxonomy import BloodGroup, Category, Medicine, Urgency, compatible

T = TypeVar("T")
NOW = 1_750_000_000
DAY = 86_400

# (category, share of needs, share of offers, need quantity range, offer quantity range)
MIX: tuple[tuple[Category, int, int, tuple[int, int], tuple[int, int]], ...] = (
    (Category.WATER, 14, 12, (5, 60), (5, 50)),
    (Category.FOOD, 18, 15, (1, 14), (2, 16)),
    (Category.BABY_FOOD, 5, 4, (1, 7), (1, 7)),
    (Category.MEDICINE, 14, 10, (1, 3), (1, 3)),
    (Category.BLOOD, 4, 3, (1, 2), (1, 1)),
    (Category.SHELTER, 7, 6, (1, 6), (1, 6)),
    (Category.TRANSPORT, 7, 8, (1, 5), (1, 5)),
    (Category.POWER_FUEL, 6, 5, (5, 40), (5, 40)),
    (Category.COMMUNICATIONS, 5, 6, (1, 2), (1, 2)),
    (Category.MEDICAL_CARE, 6, 6, (1, 2), (1, 3)),
    (Category.CHILDCARE, 4, 5, (1, 4), (1, 3)),
    (Category.LEGAL, 3, 5, (1, 1), (1, 3)),
    (Category.PSYCHOLOGICAL, 4, 7, (1, 2), (1, 3)),
    (Category.OTHER, 3, 8, (1, 5), (1, 4)),
)

# (name spellings, dose spellings, needs cold storage, weight)
MEDICINES: tuple[tuple[tuple[str, ...], tuple[str, ...], bool, int], ...] = (
    (("Insulin glargine", "insulin  glargine"), ("100 IU/ml", "100iu/ml"), True, 12),
    (("Insulin regular", "INSULIN REGULAR"), ("100 IU/ml",), True, 8),
    (("Metformin", "metformin"), ("500 mg", "500mg"), False, 12),
    (("Amlodipine",), ("5 mg", "5mg"), False, 8),
    (("Salbutamol inhaler", "salbutamol inhaler"), ("100 mcg",), False, 8),
    (("Amoxicillin",), ("500 mg",), False, 10),
    (("Paracetamol", "paracetamol"), ("500 mg", "500 MG"), False, 12),
    (("Levothyroxine",), ("50 mcg", "۵۰ mcg"), False, 5),
    (("Epinephrine auto-injector",), ("0.3 mg",), False, 3),
    (("Losartan",), ("50 mg",), False, 6),
    (("Carbamazepine",), ("200 mg",), False, 3),
    (("Oral rehydration salts",), ("20.5 g",), False, 6),
    (("Tetanus vaccine",), ("0.5 ml",), True, 2),
    (("Metformin",), ("850 mg",), False, 5),
)

# Approximate shares of ABO/RhD groups in the population, in per mille.
BLOOD = (
    (BloodGroup.O_POS, 330),
    (BloodGroup.A_POS, 270),
    (BloodGroup.B_POS, 220),
    (BloodGroup.AB_POS, 70),
    (BloodGroup.O_NEG, 40),
    (BloodGroup.A_NEG, 30),
    (BloodGroup.B_NEG, 30),
    (BloodGroup.AB_NEG, 10),
)

URGENCY_SHARES = (
    (Urgency.IMMEDIATE, 10),
    (Urgency.URGENT, 25),
    (Urgency.SOON, 35),
    (Urgency.ROUTINE, 30),
)


def district(rng: random.Random, areas: int) -> AreaMap:
    """A grid of blocks, 10 wide; streets of 1-4 minutes; 8% of streets blocked; a few
    main roads; the last two areas cut off from the rest."""
    width = 10
    names = [f"block-{k:03d}" for k in range(areas)]
    cut_off = set(names[-2:])
    edges: list[tuple[str, str, int]] = []
    for k, a in enumerate(names):
        for other in (k + 1 if (k + 1) % width else -1, k + width):
            if 0 <= other < areas and rng.random() >= 0.08:
                b = names[other]
                if a not in cut_off and b not in cut_off:
                    edges.append((a, b, rng.randint(1, 4)))
    reachable = [a for a in names if a not in cut_off]
    for _ in range(areas // 20):
        a, b = rng.sample(reachable, 2)
        edges.append((a, b, rng.randint(3, 8)))
    edges.append((names[-2], names[-1], 2))
    return AreaMap(names, edges)


def pick(rng: random.Random, weighted: Sequence[tuple[T, int]]) -> T:
    return rng.choices([x for x, _ in weighted], [w for _, w in weighted])[0]


def instance(
    seed: int, n_needs: int, n_offers: int, n_areas: int
) -> tuple[list[Need], list[Offer], AreaMap]:
    rng = random.Random(seed)
    areas = district(rng, n_areas)
    names = list(areas.areas)
    # Needs cluster in the hardest-hit areas, offers come from everywhere.
    need_weight = [rng.paretovariate(1.5) for _ in names]
    offer_weight = [rng.uniform(0.5, 1.5) for _ in names]
    med_weights = [m[3] for m in MEDICINES]

    def medicine(offer: bool) -> Medicine:
        spellings, doses, cold, _ = rng.choices(MEDICINES, med_weights)[0]
        return Medicine(
            rng.choice(spellings),
            rng.choice(doses),
            cold_storage=cold,
            kept_cold=offer and cold and rng.random() < 0.7,
        )

    def blood() -> BloodGroup:
        return pick(rng, BLOOD)

    needs: list[Need] = []
    for k in range(n_needs):
        cat, _, _, (lo, hi), _ = rng.choices(MIX, [m[1] for m in MIX])[0]
        details = (
            medicine(False)
            if cat is Category.MEDICINE
            else blood()
            if cat is Category.BLOOD
            else None
        )
        created = NOW - rng.randrange(7 * DAY)
        r = rng.random()
        needs.append(
            Need(
                id=rng.randbytes(12) + k.to_bytes(4, "big"),
                category=cat,
                quantity=rng.randint(lo, hi),
                urgency=pick(rng, URGENCY_SHARES),
                area=rng.choices(names, need_weight)[0],
                created_at=created,
                details=details,
                needed_by=created + rng.randrange(DAY, 5 * DAY) if r < 0.6 else None,
                expires=NOW - rng.randrange(1, DAY) if r > 0.97 else None,
            )
        )
    offers: list[Offer] = []
    for k in range(n_offers):
        cat, _, _, _, (lo, hi) = rng.choices(MIX, [m[2] for m in MIX])[0]
        details = (
            medicine(True)
            if cat is Category.MEDICINE
            else blood()
            if cat is Category.BLOOD
            else None
        )
        r = rng.random()
        offers.append(
            Offer(
                id=rng.randbytes(12) + k.to_bytes(4, "big"),
                category=cat,
                quantity=rng.randint(lo, hi),
                area=rng.choices(names, offer_weight)[0],
                created_at=NOW - rng.randrange(7 * DAY),
                details=details,
                available_from=NOW + rng.randrange(1, DAY) if r < 0.05 else None,
                expires=NOW - 1 if 0.05 <= r < 0.10 else (NOW + rng.randrange(DAY, 9 * DAY)),
                recurring=rng.random() < 0.1,
                inexhaustible=cat in (Category.WATER, Category.LEGAL) and rng.random() < 0.003,
            )
        )
    return needs, offers, areas


def check(p: Proposal, needs: list[Need], offers: list[Offer], areas: AreaMap) -> None:
    """The proposal is feasible: compatible, open, reachable pairs; nothing over-allocated."""
    by_need = {n.id: n for n in needs}
    by_offer = {o.id: o for o in offers}
    got: dict[bytes, int] = {}
    gave: dict[bytes, int] = {}
    for a in p.assignments:
        n, o = by_need[a.need_id], by_offer[a.offer_id]
        assert compatible(n, o) and n.is_open(NOW) and o.is_open(NOW)
        assert a.quantity > 0 and a.distance == areas(o.area, n.area)
        got[n.id] = got.get(n.id, 0) + a.quantity
        gave[o.id] = gave.get(o.id, 0) + a.quantity
    assert all(q <= by_need[k].quantity for k, q in got.items())
    assert all(q <= by_offer[k].quantity or by_offer[k].inexhaustible for k, q in gave.items())


def urgent_share(p: Proposal) -> float:
    return p.met_share((Urgency.IMMEDIATE, Urgency.URGENT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--needs", type=int, default=10_000)
    ap.add_argument("--offers", type=int, default=10_000)
    ap.add_argument("--areas", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    t0 = time.perf_counter()
    needs, offers, areas = instance(args.seed, args.needs, args.offers, args.areas)
    print(
        f"instance: {len(needs)} needs, {len(offers)} offers, {len(areas.areas)} areas "
        f"(generated in {time.perf_counter() - t0:.2f} s)"
    )
    times = []
    proposal = None
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        proposal = propose(needs, offers, areas, NOW)
        times.append(time.perf_counter() - t0)
    assert proposal is not None
    t0 = time.perf_counter()
    greedy = greedy_fcfs(needs, offers, areas, NOW)
    greedy_s = time.perf_counter() - t0
    best = min(times)
    check(proposal, needs, offers, areas)
    check(greedy, needs, offers, areas)

    print(f"propose: {best:.3f} s best of {len(times)} ({', '.join(f'{x:.3f}' for x in times)})")
    print(f"greedy_fcfs: {greedy_s:.3f} s")
    for name, p in (("propose", proposal), ("greedy_fcfs", greedy)):
        levels = ", ".join(
            f"{u.name.lower()} {p.met_by_urgency[u]}/{p.requested[u]}" for u in Urgency
        )
        print(f"{name}: met {levels}; total distance {p.total_distance}")
    ours, theirs = urgent_share(proposal), urgent_share(greedy)
    ratio = ours / theirs if theirs else float("inf")
    ok = best < 1.0 and ours >= theirs
    print(
        f"RESULT propose_s={best:.3f} urgent_met={ours:.4f} greedy_urgent_met={theirs:.4f} "
        f"ratio={ratio:.3f} target=propose<1s,urgent_met>=greedy met={'yes' if ok else 'no'}"
    )


if __name__ == "__main__":
    main()
