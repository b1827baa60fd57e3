"""Coverage: a tag set is worth, for each topic the user cares about, what its closest tag gives."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Optional, Sequence

import numpy as np

__all__ = ["CoverageUtility", "coverage_kernel", "set_coverage"]


def coverage_kernel(
    tag_vectors: np.ndarray, topic_vectors: np.ndarray, tags: Sequence[str], topics: Sequence[str],
    floor: Optional[float],
) -> np.ndarray:
    """``(tags, topics)``: how much each tag covers each topic, in [0, 1].

    A tag covers itself fully. With ``floor``, a similar tag covers a topic in part,
    ``(cos - floor) / (1 - floor)`` of the unit embeddings, and not at all below ``floor``;
    without it (``None``) a tag covers only itself, and a set's worth is the sum of its tags'.

    Example:
        >>> v = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
        >>> coverage_kernel(v, v[:1], ["Ecology", "Conservation", "Tax"], ["Ecology"], floor=0.5).astype(float).round(2).tolist()
        [[1.0], [0.6], [0.0]]
    """
    if floor is None:
        kernel = np.zeros((len(tags), len(topics)), dtype=np.float32)
    else:
        kernel = np.clip((tag_vectors @ topic_vectors.T - floor) / (1.0 - floor), 0.0, 1.0).astype(np.float32)
    position = {tag: i for i, tag in enumerate(tags)}
    for j, topic in enumerate(topics):
        if topic in position:
            kernel[position[topic], j] = 1.0  # exactly, whatever the float rounding of cos(t, t)
    return kernel


def set_coverage(kernel: np.ndarray, subsets: Sequence[Sequence[int]]) -> np.ndarray:
    """``(len(subsets), topics)``: each topic's coverage by the set's best tag for it."""
    if not len(subsets):
        return np.zeros((0, kernel.shape[1]), dtype=kernel.dtype)
    return np.stack([kernel[list(s)].max(axis=0) for s in subsets])


@dataclass
class CoverageUtility:
    """A set's score for one query: ``sum_t additive_t + coverage(set) . weights``.

    ``additive`` holds what each tag brings on its own (query similarity, the user vector, the
    bias of a tag that is no topic); ``kernel`` is :func:`coverage_kernel` of the library
    against the topics; ``weights`` how much the user cares about each topic. A tag and its
    near-synonym in one set cover the same topic once, so the best sets are not padded with
    synonyms, and a neighbour's win is credited partly to the topic it stands near.
    """

    additive: np.ndarray
    kernel: np.ndarray
    weights: np.ndarray

    def __call__(self, subsets: Sequence[Sequence[int]], offsets: Optional[np.ndarray] = None) -> np.ndarray:
        """Scores of ``subsets``: ``(len(subsets),)``, or with ``offsets`` (draws of the topic
        weights minus their mean, ``(n_draws, topics)``) one column per draw."""
        cover = set_coverage(self.kernel, subsets)
        base = np.array([self.additive[list(s)].sum() for s in subsets]) + cover @ self.weights
        if offsets is None:
            return base
        return base[:, None] + cover @ offsets.T

    def best_sets(self, candidates: Sequence[int], k: int, m: int) -> list[tuple[int, ...]]:
        """The ``m`` best k-subsets of ``candidates``, best first (every subset is scored)."""
        subsets = [tuple(sorted(int(i) for i in c)) for c in combinations(candidates, k)]
        order = np.argsort(-self(subsets), kind="stable")
        return [subsets[i] for i in order[:m]]
