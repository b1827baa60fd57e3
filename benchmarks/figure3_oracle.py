"""Figure 3 with an oracle: how far could a better change model take PREMIUM-Embed?

After two of the user's three tags change at interaction 50 (3/50, the ``figure3`` preset), the
issue asks Acc@1 to be back above its pre-change level (after 45 rankings) within 30 rankings.
This benchmark tells the belief over the user's set (``selectors/hypotheses.py``) the truth
that the shipped learner has to infer, and prints Acc@1 at 45 and 30 after the change:

- ``default``: the shipped belief, which weighs every change point in the last 30 rankings;
- ``told-when``: from the first ranking after the change, the belief sees only the rankings
  after it (and weighs no change);
- ``told-late``: the same, but told six rankings later (once seven rankings after it are in);
- ``told-when-and-kept``: ``told-when``, and the user's set must hold the tag that stayed.

The oracles wrap ``fit_subset_belief`` in the worker processes only; nothing else changes.
Everything is seeded like ``premium bench`` (``run_user``), so the rows meet the same users.

    python benchmarks/figure3_oracle.py --seed 0 --users 24 --variants default,told-when,told-when-and-kept
    # 24 users x 3 variants, 2 jobs: 572 s here
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per worker: the jobs are the parallelism

from multiprocessing import Pool  # noqa: E402

import numpy as np  # noqa: E402

import langchain_premium.selectors.embed as embed_module  # noqa: E402
import langchain_premium.selectors.hypotheses as hypotheses_module  # noqa: E402
from langchain_premium.evaluation.experiment import Setup, make_library, make_user, run_user  # noqa: E402

SETUP, CHANGE_AT, N_CHANGED, AFTER, BEFORE = Setup.parse("3/50"), 50, 2, 30, 45  # the figure3 preset's
VARIANTS = ("default", "told-when", "told-late", "told-when-and-kept")
_shipped_fit, _shipped_subsets = hypotheses_module.fit_subset_belief, hypotheses_module._subsets


def _holding(j: int):
    """``_subsets`` restricted to the k-subsets that hold candidate ``j``."""
    def subsets(n: int, size: int) -> np.ndarray:
        every = _shipped_subsets(n, size)
        return every[(every == j).any(axis=1)]
    return subsets


def oracle_fit(variant: str, kept: str):
    """``fit_subset_belief`` told when the change happened (and, for ``...-and-kept``, which tag stayed)."""
    told_from = CHANGE_AT + 1 + (6 if variant == "told-late" else 0)  # rankings in when first told

    def fit(pairs, candidates, cover, index, k, **options):
        runs = list(dict.fromkeys(p.run_id for p in pairs))  # one run per ranking, oldest first
        if len(runs) < told_from:
            return _shipped_fit(pairs, candidates, cover, index, k, **options)
        after = set(runs[CHANGE_AT:])
        keep = [p.run_id in after for p in pairs]
        pairs = [p for p, kept_pair in zip(pairs, keep) if kept_pair]
        if options.get("exempt") is not None:  # one row per pair: keep the rows of the kept pairs
            options["exempt"] = options["exempt"][keep]
        options["change_rate"] = 0.0
        if variant == "told-when-and-kept" and kept in candidates:
            hypotheses_module._subsets = _holding(candidates.index(kept))
        try:
            return _shipped_fit(pairs, candidates, cover, index, k, **options)
        finally:
            hypotheses_module._subsets = _shipped_subsets

    return fit


def one_user(job: tuple[str, int]) -> tuple[float, float]:
    """Acc@1 at 45 rankings and 30 after the change, for one variant and seed."""
    variant, seed = job
    user = make_user(make_library(SETUP, seed=seed), SETUP.k, seed=seed, change_at=CHANGE_AT, n_changed=N_CHANGED)
    kept = next(t for t in user.tags_at(0) if t in user.tags_at(CHANGE_AT + AFTER))
    embed_module.fit_subset_belief = _shipped_fit if variant == "default" else oracle_fit(variant, kept)
    run = run_user("premium-embed", SETUP, n_interactions=CHANGE_AT + AFTER, seed=seed, eval_every=5,
                   answers=False, change_at=CHANGE_AT, n_changed=N_CHANGED)
    return run.value("accuracy_at_1", BEFORE), run.value("accuracy_at_1", CHANGE_AT + AFTER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="first user's seed")
    parser.add_argument("--users", type=int, default=48)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    variants = args.variants.split(",")
    if unknown := set(variants) - set(VARIANTS):
        parser.error(f"unknown variants {sorted(unknown)}; choose from {VARIANTS}")
    seeds = range(args.seed, args.seed + args.users)
    jobs = [(v, s) for v in variants for s in seeds]
    with Pool(args.jobs) as pool:
        results = dict(zip(jobs, pool.map(one_user, jobs, chunksize=1)))
    print(f"{SETUP}, {N_CHANGED} of the user's {SETUP.k} tags change at {CHANGE_AT}; Acc@1 in %, "
          f"users {seeds.start}-{seeds.stop - 1}\n")
    print(f"| Belief after the change | Acc@1 at {BEFORE} | {AFTER} after the change | difference ± s.e. |")
    print("| --- | --- | --- | --- |")
    for v in variants:
        before, after = (100 * np.array([results[v, s][i] for s in seeds]) for i in (0, 1))
        diff = after - before
        error = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
        print(f"| {v} | {before.mean():.1f} | {after.mean():.1f} | {diff.mean():+.1f} ± {error:.1f} |")


if __name__ == "__main__":
    main()
