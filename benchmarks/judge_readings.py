"""How well two readings of a ranked answer predict the offline judge: its tags, or its sentences.

PREMIUM-Embed's belief reads a ranking two ways (``selectors/hypotheses.py``): by the tag sets
that asked for the answers (a set covers each of the user's tags as well as its closest tag does,
``coverage_kernel``), and by what the answers said (as well as the closest sentence does,
``answer_relevance``). This benchmark builds the bench's 3/50 users (seeds 0, 1000, ...), writes
the offline model's answers for three random tag sets per trial (each holding 0-2 of the user's
tags), and compares each reading, given the user's true tags, with the judge's noiseless
relevance (``EmbeddingAnnotator(temperature=0)``):

- top-pick agreement: how often the reading's best answer is the judge's;
- residual: the spread of the judge's relevance (centred per trial) that a linear fit of the
  reading leaves, against the judge's own Plackett-Luce noise at its default temperature (0.03,
  a Gumbel spread of 0.03 * pi / sqrt(6) = 0.038).

    python benchmarks/judge_readings.py --users 6 --trials 60   # about a minute here
"""

from __future__ import annotations

import argparse

import numpy as np

from langchain_premium.answer_vectors import answer_relevance, embed_answers
from langchain_premium.encoding import embed_texts
from langchain_premium.evaluation.embedding_cache import shared_embeddings
from langchain_premium.evaluation.experiment import make_library, make_user
from langchain_premium.offline import _write_answer
from langchain_premium.selectors.coverage import coverage_kernel
from langchain_premium.simulation.annotators import EmbeddingAnnotator
from langchain_premium.simulation.queries import load_queries

FLOOR = 0.2  # EmbedSelector's default coverage floor


def readings(n_users: int, n_trials: int, seed: int) -> dict[str, np.ndarray]:
    """Per trial, the judge's noiseless relevance of the three answers and each reading's score."""
    embeddings = shared_embeddings()
    judge = EmbeddingAnnotator(embeddings, temperature=0.0)
    queries = load_queries("routine_writing").train
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {"judge": [], "tags": [], "sentences": [], "count": []}
    for u in range(n_users):
        library = make_library("3/50", seed=u * 1000)
        user = list(make_user(library, 3, seed=u * 1000).tags)
        tags = list(library.tags)
        tag_vectors, user_vectors = embed_texts(embeddings, tags), embed_texts(embeddings, user)
        kernel = coverage_kernel(tag_vectors, user_vectors, tags, user, FLOOR)
        for trial in range(n_trials):
            query = queries[rng.integers(len(queries))]
            others = [t for t in tags if t not in user]
            rng.shuffle(others)
            sets = []
            for _ in range(3):
                liked = list(rng.choice(user, rng.choice([0, 0, 1, 1, 2]), replace=False))
                sets.append(liked + [others.pop() for _ in range(3 - len(liked))])
            answers = [_write_answer(query, s, [], f"{u}-{trial}-{j}") for j, s in enumerate(sets)]
            out["judge"].append(judge.relevance(query, answers, user))
            out["tags"].append([kernel[[tags.index(t) for t in s]].max(axis=0).mean() for s in sets])
            out["sentences"].append([answer_relevance(v, user_vectors, FLOOR).mean()
                                     for v in embed_answers(embeddings, answers)])
            out["count"].append([len(set(s) & set(user)) for s in sets])
    return {name: np.asarray(rows, dtype=np.float64) for name, rows in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--trials", type=int, default=60, help="rankings of three answers per user")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = readings(args.users, args.trials, args.seed)
    judge = data["judge"] - data["judge"].mean(axis=1, keepdims=True)
    print(f"{args.users} users x {args.trials} rankings of three answers (3/50); judge noise 0.038")
    print("| reading | top-pick agreement | residual | correlation |")
    print("| --- | --- | --- | --- |")
    for name, label in (("tags", "the tag sets"), ("sentences", "the answers' sentences"),
                        ("count", "the number of user tags asked for")):
        score = data[name] - data[name].mean(axis=1, keepdims=True)
        x, y = score.ravel(), judge.ravel()
        slope = (x @ y) / (x @ x)
        agree = np.mean(data["judge"].argmax(axis=1) == data[name].argmax(axis=1))
        print(f"| {label} | {agree:.1%} | {np.std(y - slope * x):.4f} | {np.corrcoef(x, y)[0, 1]:.3f} |")


if __name__ == "__main__":
    main()
