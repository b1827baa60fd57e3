"""Mirror each PREMIUM ranking to LangSmith as grouped per-candidate feedback."""

from __future__ import annotations

import uuid
from typing import Any, Optional, Protocol, Sequence

from langchain_premium.result import PremiumResult

__all__ = ["LangSmithMirror", "rank_scores"]


class FeedbackClient(Protocol):
    """What the mirror needs from ``langsmith.Client``."""

    def create_feedback(self, run_id: Any, key: str, **kwargs: Any) -> Any: ...


def rank_scores(
    m: int, ranking: Optional[Sequence[int]] = None, *, best: Optional[int] = None
) -> dict[int, float]:
    """A 0..1 score per candidate: 1 for the best, 0 for the worst, evenly spaced between.

    With only a best choice the best scores 1 and every other candidate 0.

    Example:
        >>> rank_scores(3, [2, 0, 1])
        {2: 1.0, 0: 0.5, 1: 0.0}
        >>> rank_scores(3, best=1)
        {0: 0.0, 1: 1.0, 2: 0.0}
    """
    if (ranking is None) == (best is None):
        raise ValueError("give exactly one of a ranking or best=")
    if ranking is not None:
        order = list(ranking)
        if sorted(order) != list(range(m)):
            raise ValueError(f"a ranking must order all {m} candidates once, got {order}")
        return {i: 1.0 - p / (m - 1) if m > 1 else 1.0 for p, i in enumerate(order)}
    if not 0 <= best < m:
        raise ValueError(f"best={best} is not one of the {m} candidates")
    return {i: float(i == best) for i in range(m)}


class LangSmithMirror:
    """Sends a ranking to LangSmith: one feedback per candidate on the PREMIUM run.

    Every entry has the same ``key`` and ``feedback_group_id`` (one group per ranking, as
    LangSmith intends for ranking feedback), ``score`` from :func:`rank_scores`, ``value`` the
    candidate's source (``"selector"`` or ``"exploration"``), and the candidate's tags in
    ``comment`` and ``extra``.

    Args:
        client: a ``langsmith.Client`` (or anything with its ``create_feedback``).
        key: the feedback key in LangSmith.

    Example:
        .. code-block:: python

            from langsmith import Client
            mirror = LangSmithMirror(Client())
            group_id = mirror(result, ranking=[2, 0, 1])
    """

    def __init__(self, client: FeedbackClient, *, key: str = "premium_rank") -> None:
        if not callable(getattr(client, "create_feedback", None)):
            raise TypeError(
                f"client must have a create_feedback method (a langsmith.Client), got {client!r}"
            )
        if not isinstance(key, str) or not key:
            raise ValueError(f"key must be a non-empty string, got {key!r}")
        self.client = client
        self.key = key

    def __call__(
        self,
        result: PremiumResult,
        ranking: Optional[Sequence[int]] = None,
        *,
        best: Optional[int] = None,
    ) -> str:
        """Send the feedback for ``result``; returns the ``feedback_group_id`` used."""
        scores = rank_scores(len(result.candidates), ranking, best=best)
        position = {i: p for p, i in enumerate(ranking)} if ranking is not None else {best: 0}
        group_id = str(uuid.uuid4())
        for candidate in result.candidates:
            self.client.create_feedback(
                result.run_id,
                self.key,
                score=scores[candidate.index],
                value=candidate.source,
                comment=f"candidate {candidate.index}: {', '.join(candidate.tags)}",
                feedback_group_id=group_id,
                extra={
                    "candidate": candidate.index,
                    "tags": list(candidate.tags),
                    "styles": list(candidate.styles),
                    "position": position.get(candidate.index),
                },
            )
        return group_id
