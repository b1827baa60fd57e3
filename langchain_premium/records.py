"""Plain records that cross the boundary between the runnable, the memory and the learners."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import numpy as np

Source = Literal["selector", "exploration"]


@dataclass(frozen=True)
class TagSet:
    """One tag set candidate: k ordinary tags, plus one style per binary pair when used."""

    tags: tuple[str, ...]
    styles: tuple[str, ...] = ()
    source: Source = "selector"
    score: float = 0.0

    @property
    def all_tags(self) -> tuple[str, ...]:
        """Ordinary tags then styles: what the learner credits or blames."""
        return self.tags + self.styles

    def to_dict(self) -> dict:
        return {
            "tags": list(self.tags),
            "styles": list(self.styles),
            "source": self.source,
            "score": float(self.score),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "TagSet":
        return cls(
            tags=tuple(data["tags"]),
            styles=tuple(data.get("styles", ())),
            source=data.get("source", "selector"),
            score=float(data.get("score", 0.0)),
        )


@dataclass
class Interaction:
    """One invocation: the candidates shown to a user, and later their ranking.

    ``query`` and ``answers`` are only kept when the memory was opened with ``store_text=True``.
    ``answer_vectors`` (per answer, its sentences' unit vectors, :mod:`~.answer_vectors`) are
    kept whenever given, here or with the ranking: the learner that reads what the answers said
    needs them, not the text.
    """

    run_id: str
    user_id: str
    method: str
    candidates: list[TagSet]
    query_embedding: Optional[np.ndarray] = None
    query: Optional[str] = None
    answers: Optional[list[str]] = None
    ranking: Optional[list[int]] = None
    created_at: Optional[str] = None
    ranked_at: Optional[str] = None
    answer_vectors: Optional[list[np.ndarray]] = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class PreferencePair:
    """The user preferred the answer from ``winner`` over the answer from ``loser``.

    ``query`` is the query text, present only when the memory stores text (``store_text=True``);
    learners that retrain text encoders need it. ``winner_vectors`` and ``loser_vectors`` are the
    two answers' sentence vectors, when the run stored them.
    """

    run_id: str
    user_id: str
    winner: TagSet
    loser: TagSet
    query_embedding: Optional[np.ndarray] = field(default=None, compare=False)
    id: Optional[int] = None
    query: Optional[str] = field(default=None, compare=False, repr=False)  # private text: not in logs
    winner_vectors: Optional[np.ndarray] = field(default=None, compare=False, repr=False)
    loser_vectors: Optional[np.ndarray] = field(default=None, compare=False, repr=False)
