"""Turn what a user says about m answers into pairwise preferences (pure functions)."""

from __future__ import annotations

import numbers
from typing import Optional, Sequence

from langchain_premium.errors import FeedbackError

Pair = tuple[int, int]


def _as_index(value: object, m: int, what: str) -> int:
    # bool is an int subclass; a True/False "index" is a bug in the caller, not a choice.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise FeedbackError(f"{what} must be an integer candidate index, got {value!r}")
    index = int(value)
    if not 0 <= index < m:
        raise FeedbackError(f"{what} {index} is out of range for {m} candidates (0..{m - 1})")
    return index


def ranking_to_pairs(ranking: Sequence[int], m: int) -> list[Pair]:
    """Every (winner, loser) pair implied by a full ranking, best first.

    A full ranking of m answers gives m * (m - 1) / 2 pairs.

    Example:
        >>> ranking_to_pairs([2, 0, 1], 3)
        [(2, 0), (2, 1), (0, 1)]
    """
    if isinstance(ranking, (str, bytes)) or not isinstance(ranking, Sequence):
        raise FeedbackError(f"a ranking must be a list of candidate indices, got {ranking!r}")
    if len(ranking) != m:
        raise FeedbackError(
            f"a ranking must order all {m} candidates, got {len(ranking)}: {list(ranking)!r}"
        )
    order = [_as_index(value, m, "ranking index") for value in ranking]
    if len(set(order)) != m:
        repeated = sorted({i for i in order if order.count(i) > 1})
        raise FeedbackError(f"a ranking must not repeat candidates; repeated: {repeated}")
    return [(order[i], order[j]) for i in range(m) for j in range(i + 1, m)]


def best_to_pairs(best: int, m: int) -> list[Pair]:
    """The best answer beats each other answer; nothing is said about the rest.

    Example:
        >>> best_to_pairs(1, 3)
        [(1, 0), (1, 2)]
    """
    winner = _as_index(best, m, "best")
    return [(winner, loser) for loser in range(m) if loser != winner]


def feedback_to_pairs(
    m: int,
    ranking: Optional[Sequence[int]] = None,
    *,
    best: Optional[int] = None,
    available: Optional[Sequence[int]] = None,
) -> tuple[list[int], list[Pair]]:
    """Validate one piece of feedback and return ``(ranking_as_stored, pairs)``.

    Exactly one of ``ranking`` (a full ranking, best first; with m = 2 this is a pair) or
    ``best`` (a single best choice) must be given. ``available`` restricts feedback to the
    candidates that produced an answer (the others failed and cannot be ranked).

    Example:
        >>> feedback_to_pairs(3, [2, 0, 1])
        ([2, 0, 1], [(2, 0), (2, 1), (0, 1)])
        >>> feedback_to_pairs(3, best=0)
        ([0], [(0, 1), (0, 2)])
    """
    if (ranking is None) == (best is None):
        raise FeedbackError("give exactly one of a ranking (best first) or best=<index>")
    usable = list(range(m)) if available is None else sorted(available)
    if len(usable) < 2:
        raise FeedbackError("feedback needs at least two answers to compare")
    # Rank positions within the usable candidates, then map back to candidate indices.
    if ranking is not None:
        if isinstance(ranking, (str, bytes)) or not isinstance(ranking, Sequence):
            raise FeedbackError(f"a ranking must be a list of candidate indices, got {ranking!r}")
        for value in ranking:
            _as_index(value, m, "ranking index")
        unusable = [int(i) for i in ranking if int(i) not in usable]
        if unusable:
            raise FeedbackError(f"candidates {unusable} have no answer and cannot be ranked")
        local = [usable.index(int(i)) for i in ranking]
        pairs = [(usable[w], usable[l]) for w, l in ranking_to_pairs(local, len(usable))]
        return [int(i) for i in ranking], pairs
    winner = _as_index(best, m, "best")
    if winner not in usable:
        raise FeedbackError(f"candidate {winner} has no answer and cannot be chosen")
    return [winner], [(winner, loser) for loser in usable if loser != winner]
