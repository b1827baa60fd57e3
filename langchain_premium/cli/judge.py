"""``premium judge``: can the offline judge tell each simulated user's tag set from its single-tag swaps?"""

from __future__ import annotations

import argparse

import numpy as np


def register(subparsers: argparse._SubParsersAction) -> None:
    from langchain_premium.simulation.queries import TASK_STYLES

    parser = subparsers.add_parser(
        "judge", help="how well the offline judge separates each user's tag set from its single-tag swaps",
        description="For the bench's simulated users, print how often the embedding judge prefers the "
                    "answer to the user's exact tag set over the answer to each single-tag swap: the "
                    "ceiling on Accuracy@1 that the judge leaves any learner.",
    )
    parser.add_argument("--setup", default="3/50", help="the setup k/n (default 3/50)")
    parser.add_argument("--seeds", type=int, default=10, help="simulated users, one per seed (default 10)")
    parser.add_argument("--seed", type=int, default=0,
                        help="first seed; the users are those of premium bench --seed S: seeds S, S + 1000, ...")
    parser.add_argument("--queries", type=int, default=6, help="training queries per user (default 6)")
    parser.add_argument("--task", choices=list(TASK_STYLES), default="routine_writing",
                        help="the shipped query set")
    parser.add_argument("--expand-to", default=None, metavar="K/N",
                        help="judge each user after the library grows to this setup, with the new tags "
                             "they come to like, as in --preset figure4 (e.g. --setup 2/100 --expand-to 3/200)")
    parser.add_argument("--temperature", type=float, default=None,
                        help="the judge's Plackett-Luce temperature (default: the annotator's calibrated one)")
    parser.set_defaults(func=run)


def _change(user_tags: tuple[str, ...], swap: tuple[str, ...]) -> str:
    """``"new → old"``: the tag a swap brings in and the user tag it replaces."""
    (new,) = (t for t in swap if t not in user_tags)
    (old,) = (t for t in user_tags if t not in swap)
    return f"{new} → {old}"


def run(args: argparse.Namespace) -> int:
    from langchain_premium.evaluation.embedding_cache import shared_embeddings
    from langchain_premium.evaluation.experiment import expansion
    from langchain_premium.evaluation.report import SEED_STRIDE
    from langchain_premium.evaluation.separability import swap_separability
    from langchain_premium.simulation.annotators import EmbeddingAnnotator

    if args.seeds < 1:
        raise SystemExit(f"--seeds must be at least 1, got {args.seeds}")
    if args.expand_to is not None:
        try:
            expansion(args.setup, args.expand_to, seed=args.seed)
        except ValueError as exc:
            raise SystemExit(f"--expand-to: {exc}") from None
    annotator = EmbeddingAnnotator(shared_embeddings(), temperature=args.temperature)
    grown = f", grown to {args.expand_to}" if args.expand_to else ""
    print(f"Setup {args.setup}{grown}, task {args.task}, {args.queries} training queries per user, "
          f"judge temperature {annotator.temperature}.\n")
    print("| Seed | User tags | Hardest swap | P(exact wins) | Swaps with P < 0.6 | P < 0.7 |")
    print("|---|---|---|---|---|---|")
    results = []
    for seed in (args.seed + SEED_STRIDE * i for i in range(args.seeds)):  # premium bench's users
        result = swap_separability(args.setup, seed=seed, n_queries=args.queries, task=args.task,
                                   annotator=annotator, expand_to=args.expand_to)
        results.append(result)
        swap, p = result.hardest
        n = len(result.swaps)
        below = [int((result.win_probability < cut).sum()) for cut in (0.6, 0.7)]
        print(f"| {seed} | {', '.join(result.user_tags)} | {_change(result.user_tags, swap)} | {p:.3f} "
              f"| {below[0]}/{n} | {below[1]}/{n} |", flush=True)
    separable = np.mean([r.separable for r in results])
    hardest = np.mean([r.hardest[1] for r in results])
    print(f"\nThe exact set beats every swap for {separable:.0%} of the users; the hardest swap's "
          f"P(exact wins) averages {hardest:.3f}. A user whose hardest swap is near 0.5 cannot be told "
          f"from that swap by any learner, however many rankings it sees: the judge prefers either "
          f"answer equally often.")
    return 0
