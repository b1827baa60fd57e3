"""Is PREMIUM-Embed's belief calibrated? Its probability of each tag against the user's real tags.

After each update, the belief gives every library tag a probability of being one of the user's
k tags (its marginal, ``SubsetBelief.marginals``). If those probabilities are calibrated, the
tags it gives 1% are the user's about 1% of the time, and a search that shows the likeliest tags
first is as quick as the judge's noise allows. This benchmark runs the bench's Figure 3 users
(3/50, two of three tags change at interaction 50; seeds ``seed``, ``seed + 1000``, ...) with
``run_user`` and the offline judge at its default noise, reads the belief after every ranking
(``after_ranking``), and prints a reliability table (predicted against observed, per
probability bin) and the Brier score (scikit-learn) for two phases:

- before the change (rankings 20-50), against the user's first set;
- after it, once the belief has seen it (change probability >= 0.5), against the new set.

    python benchmarks/belief_calibration.py --users 16   # about 5 minutes here (2 processes)
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from sklearn.metrics import brier_score_loss

from langchain_premium.evaluation.experiment import make_library, run_user

CHANGE_AT = 50
BINS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.6, 0.9, 0.99, 1.0 + 1e-9)


def beliefs(seed: int, n_interactions: int) -> list[tuple[int, float, np.ndarray, np.ndarray]]:
    """Per ranking of one user: (rankings so far, change probability, the belief's probability
    of each library tag, whether it is one of the user's tags then)."""
    out = []
    tags = list(make_library("3/50", seed=seed).tags)

    def read_belief(n_rankings: int, premium, user_id: str, prefs) -> None:
        library = premium.tag_library
        belief = premium.selector.loads(premium.memory.load_state(user_id, premium.key).blob, library).belief
        if belief is not None:
            probability = dict(zip(belief.tags, belief.marginals.tolist()))
            out.append((n_rankings, belief.change_probability, np.array([probability.get(t, 0.0) for t in tags]),
                        np.array([t in prefs.tags for t in tags])))

    run_user("premium-embed", "3/50", n_interactions=n_interactions, seed=seed, change_at=CHANGE_AT,
             n_changed=2, answers=False, after_ranking=read_belief)
    return out


def table(predicted: np.ndarray, liked: np.ndarray) -> str:
    rows = ["| belief's probability | tags | mean probability | share that are the user's |",
            "| --- | --- | --- | --- |"]
    for low, high in zip(BINS[:-1], BINS[1:]):
        inside = (predicted >= low) & (predicted < high)
        if inside.any():
            rows.append(f"| {low:g}-{min(high, 1.0):g} | {int(inside.sum())} | {predicted[inside].mean():.4f} "
                        f"| {liked[inside].mean():.4f} ({int(liked[inside].sum())}) |")
    rows.append(f"\nBrier score {brier_score_loss(liked, np.clip(predicted, 0, 1)):.5f} over {len(liked)} "
                f"(tag, ranking) pairs; the same probabilities shuffled among the tags: "
                f"{brier_score_loss(liked, np.random.default_rng(0).permutation(predicted)):.5f}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0, help="first user's seed; the others add 1000 each")
    parser.add_argument("--interactions", type=int, default=85)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    seeds = [args.seed + 1000 * u for u in range(args.users)]
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(beliefs, seeds, [args.interactions] * len(seeds)))
    phases = {"before the change (rankings 20-50), against the first set": [],
              "after the change, once the belief has seen it (change probability >= 0.5)": []}
    before, after = phases.values()
    for run in runs:
        for n, change, predicted, liked in run:
            if 20 <= n <= CHANGE_AT:
                before.append((predicted, liked))
            elif n > CHANGE_AT and change >= 0.5:
                after.append((predicted, liked))
    print(f"{args.users} users (seeds {', '.join(map(str, seeds[:2]))}{', ..., ' + str(seeds[-1]) if len(seeds) > 2 else ''}; "
          f"3/50, two tags change at {CHANGE_AT}, {args.interactions} rankings)")
    for name, rows in phases.items():
        if rows:
            print(f"\n### {name}\n")
            print(table(np.concatenate([p for p, _ in rows]), np.concatenate([y for _, y in rows])))


if __name__ == "__main__":
    main()
