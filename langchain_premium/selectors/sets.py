"""Building m distinct tag sets of k tags from per-tag scores (shared by every selector)."""

from __future__ import annotations

from itertools import combinations
from typing import Iterable, Optional, Sequence

import numpy as np

from langchain_premium.records import Source, TagSet
from langchain_premium.tags import TagLibrary


def best_sets(scores: np.ndarray, k: int, m: int) -> list[tuple[int, ...]]:
    """The ``m`` distinct k-subsets of tag indices with the highest summed score, best first.

    Only the top ``k + m - 1`` tags can appear in them: a subset holding a lower tag misses at
    least m of those top tags, and swapping it for each gives m better subsets.

    Example:
        >>> best_sets(np.array([0.1, 0.9, 0.5, 0.7]), k=2, m=2)
        [(1, 3), (1, 2)]
    """
    n = len(scores)
    pool = np.argsort(-scores, kind="stable")[: min(n, k + m - 1)]
    subsets = [tuple(sorted(int(i) for i in c)) for c in combinations(pool, k)]
    subsets.sort(key=lambda s: (-float(scores[list(s)].sum()), s))
    return subsets[:m]


def top_k(scores: np.ndarray, k: int) -> tuple[int, ...]:
    """Indices of the k highest scores (ties broken by index)."""
    return tuple(sorted(int(i) for i in np.argsort(-scores, kind="stable")[:k]))


def sample_by_probability(probs: np.ndarray, k: int, rng: np.random.Generator) -> tuple[int, ...]:
    """k distinct indices drawn without replacement, each draw proportional to ``probs``."""
    return tuple(sorted(int(i) for i in rng.choice(len(probs), size=k, replace=False, p=probs)))


def random_subset(n: int, k: int, rng: np.random.Generator) -> tuple[int, ...]:
    """k distinct indices drawn uniformly from ``range(n)``."""
    return tuple(sorted(int(i) for i in rng.choice(n, size=k, replace=False)))


def swap_one(subset: Sequence[int], n: int, rng: np.random.Generator) -> tuple[int, ...]:
    """``subset`` with one of its indices, drawn uniformly, replaced by an index of ``range(n)``
    outside it, drawn uniformly.

    Example:
        >>> swapped = swap_one((0, 1, 2), 10, np.random.default_rng(0))
        >>> len(set(swapped) & {0, 1, 2}), len(swapped)
        (2, 3)
    """
    if not 0 < len(subset) < n:
        raise ValueError(f"cannot swap a tag of a set of {len(subset)} out of {n} tags")
    kept = list(subset)
    outside = np.setdiff1d(np.arange(n), kept)
    kept[int(rng.integers(len(kept)))] = int(rng.choice(outside))
    return tuple(sorted(kept))


def swap_in(subset: Sequence[int], newcomer: int, rng: np.random.Generator) -> tuple[int, ...]:
    """``subset`` with one of its indices, drawn uniformly, replaced by ``newcomer``.

    Example:
        >>> swapped = swap_in((0, 1, 2), 7, np.random.default_rng(0))
        >>> 7 in swapped, len(set(swapped) & {0, 1, 2})
        (True, 2)
    """
    if newcomer in subset:
        raise ValueError(f"cannot swap in {newcomer}: it is already in the set {tuple(subset)}")
    kept = list(subset)
    kept[int(rng.integers(len(kept)))] = int(newcomer)
    return tuple(sorted(kept))


def stalest_first(last_shown: np.ndarray, exclude: Iterable[int], rng: np.random.Generator) -> list[int]:
    """Indices of ``last_shown`` (when each was last shown; -1: never) outside ``exclude``, the
    one shown longest ago first, ties in random order.

    Example:
        >>> stalest_first(np.array([5, -1, 3, 9]), exclude=[3], rng=np.random.default_rng(0))
        [1, 2, 0]
    """
    excluded = set(int(i) for i in exclude)
    order = rng.permutation(len(last_shown))  # random among equals: a stable sort keeps it
    order = order[np.argsort(np.asarray(last_shown)[order], kind="stable")]
    return [int(i) for i in order if int(i) not in excluded]


def softmax(scores: np.ndarray) -> np.ndarray:
    """Numerically stable softmax of a 1-d array."""
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()


def choose_styles(
    library: TagLibrary,
    style_scores: Optional[dict[str, float]] = None,
    rng: Optional[np.random.Generator] = None,
) -> tuple[str, ...]:
    """One style per binary pair: the higher-scoring one, or a coin flip when ``rng`` is given
    without scores."""
    chosen = []
    for a, b in library.binary_pairs:
        if style_scores is None:
            if rng is None:
                raise ValueError("choose_styles needs style scores or a random generator")
            chosen.append(a if rng.random() < 0.5 else b)
        else:
            chosen.append(a if style_scores.get(a, 0.0) >= style_scores.get(b, 0.0) else b)
    return tuple(chosen)


def to_tag_set(
    library_tags: Sequence[str],
    subset: Iterable[int],
    scores: Optional[np.ndarray],
    source: Source,
    styles: tuple[str, ...] = (),
) -> TagSet:
    """A :class:`TagSet` from indices into ``library_tags`` (score = the summed score)."""
    indices = list(subset)
    score = float(scores[indices].sum()) if scores is not None else 0.0
    return TagSet(
        tags=tuple(library_tags[i] for i in indices), styles=styles, source=source, score=score
    )


def fill_distinct(
    chosen: list[tuple[int, ...]],
    propose,
    count: int,
    fallback: Sequence[tuple[int, ...]],
    attempts: int = 30,
) -> list[tuple[int, ...]]:
    """Append ``count`` subsets from ``propose()`` that are not yet in ``chosen``; when proposals
    keep repeating, take the next unused subset from ``fallback``."""
    result = []
    taken = set(chosen)
    for _ in range(count):
        for _ in range(attempts):
            candidate = propose()
            if candidate not in taken:
                break
        else:
            candidate = next((s for s in fallback if s not in taken), None)
            if candidate is None:
                raise ValueError("the tag library is too small for that many distinct tag sets")
        taken.add(candidate)
        result.append(candidate)
    return result
