"""What the belief's change horizon costs per update: ``fit_subset_belief`` after n rankings.

The belief lets the user's taste change before each of the latest 30 rankings one by one and,
with a horizon of 100 (``EmbedSelector``'s default), before blocks of 10 older rankings too
(``change_starts``). Each possible change is one more row of the posterior's arrays, so an update
costs more once a user has given more than 40 rankings. This times both horizons on the same
rankings, alternating, in one process, and prints each one's median and their ratio.

The rankings are PREMIUM-Embed's on 3/50: a pool of 64 candidate tags (C(64, 3) = 41,664
hypotheses), three sets of three tags per ranking, three utility scales, one reading (the tags').

    python benchmarks/change_horizon_cost.py --rankings 30 60 100 130 --repeats 5   # about a minute
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from langchain_premium.records import PreferencePair, TagSet
from langchain_premium.selectors.hypotheses import change_starts, fit_subset_belief

N_CANDIDATES, K, M = 64, 3, 3


def rankings(n: int, seed: int) -> list[PreferencePair]:
    """``n`` noiseless rankings of ``M`` random ``K``-tag sets by a user who likes t0, t1, t2."""
    rng = np.random.default_rng(seed)
    tags = [f"t{i}" for i in range(N_CANDIDATES)]
    pairs = []
    for r in range(n):
        sets = [tuple(rng.choice(tags, K, replace=False)) for _ in range(M)]
        ranked = sorted(sets, key=lambda s: -len({"t0", "t1", "t2"} & set(s)))
        pairs += [PreferencePair(run_id=f"r{r}", user_id="u", winner=TagSet(tags=ranked[i]),
                                 loser=TagSet(tags=ranked[j]))
                  for i in range(M) for j in range(i + 1, M)]
    return pairs


def seconds(pairs: list[PreferencePair], horizon: int) -> float:
    tags = [f"t{i}" for i in range(N_CANDIDATES)]
    start = time.process_time()
    fit_subset_belief(pairs, tags, np.eye(N_CANDIDATES), {t: i for i, t in enumerate(tags)}, K,
                      change_horizon=horizon, rng=np.random.default_rng(0))
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rankings", type=int, nargs="+", default=[30, 60, 100, 130])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| rankings | possible changes (30 / 100) | CPU s per update, horizon 30 | horizon 100 | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for n in args.rankings:
        pairs = rankings(n, args.seed)
        times: dict[int, list[float]] = {30: [], 100: []}
        for _ in range(args.repeats):  # alternate, so a busy moment hits both
            for horizon in times:
                times[horizon].append(seconds(pairs, horizon))
        short, long = (float(np.median(times[h])) for h in (30, 100))
        counts = " / ".join(str(len(change_starts(n, 30, h, 10))) for h in (30, 100))
        print(f"| {n} | {counts} | {short:.3f} | {long:.3f} | ×{long / short:.2f} |")


if __name__ == "__main__":
    main()
