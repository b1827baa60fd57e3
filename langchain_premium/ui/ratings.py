"""Per-candidate ratings from a chat UI, decided into one ranking or best choice (pure)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Mapping, Optional

__all__ = ["Decision", "POSITIVE", "check_score", "decide"]

#: A rating above this (on the 0..1 scale) is a positive verdict: "I like this one".
POSITIVE = 0.5


@dataclass(frozen=True)
class Decision:
    """What a set of ratings says: a full ranking (best first) or only the best candidate.

    Example:
        >>> Decision(ranking=[2, 0, 1]).kwargs()
        {'ranking': [2, 0, 1]}
        >>> Decision(best=1).kwargs()
        {'best': 1}
    """

    ranking: Optional[list[int]] = None
    best: Optional[int] = None

    def __post_init__(self) -> None:
        if (self.ranking is None) == (self.best is None):
            raise ValueError("a Decision holds exactly one of a ranking or a best candidate")

    def kwargs(self) -> dict:
        """Keyword arguments for ``PremiumRunnable.record_feedback``."""
        return {"ranking": list(self.ranking)} if self.ranking is not None else {"best": self.best}


def check_score(score: object) -> float:
    """``score`` as a float in ``[0, 1]``, or a ``ValueError``/``TypeError`` naming it.

    Example:
        >>> check_score(1)
        1.0
        >>> check_score(2)
        Traceback (most recent call last):
        ValueError: a rating must be between 0 (worst) and 1 (best), got 2
    """
    if isinstance(score, bool) or not isinstance(score, numbers.Real):
        raise TypeError(f"a rating must be a number between 0 and 1, got {score!r}")
    value = float(score)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"a rating must be between 0 (worst) and 1 (best), got {score!r}")
    return value


def decide(ratings: Mapping[int, float], m: int, *, final: bool = False) -> Optional[Decision]:
    """Turn ratings of some of a run's ``m`` candidates into feedback, or ``None`` if undecided.

    Ratings are on a 0 (worst) .. 1 (best) scale, keyed by candidate index.

    * All ``m`` rated with ``m`` different ratings: the full ranking.
    * All ``m`` rated, one strictly on top (ties below it): that one is the best.
    * Some rated and ``final`` (the user moved on): the one strictly on top is the best if its
      rating is positive (above :data:`POSITIVE`): a liked answer beats the unrated ones.
    * Otherwise (a tie at the top, or too little said yet): ``None``. A tie at the top cannot be
      expressed as a ranking or a best choice without inventing a preference.

    Example:
        >>> decide({0: 0.25, 1: 1.0, 2: 0.0}, 3)
        Decision(ranking=[1, 0, 2], best=None)
        >>> decide({0: 0.0, 1: 1.0, 2: 0.0}, 3)      # thumbs: one up, two down
        Decision(ranking=None, best=1)
        >>> decide({1: 1.0}, 3) is None, decide({1: 1.0}, 3, final=True)
        (True, Decision(ranking=None, best=1))
        >>> decide({0: 1.0, 1: 1.0, 2: 0.0}, 3) is None   # two tied at the top
        True
    """
    if m < 2:
        raise ValueError(f"feedback needs at least two candidates, got m={m}")
    unknown = [i for i in ratings if not 0 <= i < m]
    if unknown:
        raise ValueError(f"ratings name candidates {unknown}, but the run has {m} (0..{m - 1})")
    if not ratings:
        return None
    top_score = max(ratings.values())
    top = [i for i, score in ratings.items() if score == top_score]
    complete = len(ratings) == m
    if complete and len(set(ratings.values())) == m:
        return Decision(ranking=sorted(ratings, key=lambda i: (-ratings[i], i)))
    if len(top) != 1:
        return None
    if complete or (final and top_score > POSITIVE):
        return Decision(best=top[0])
    return None
