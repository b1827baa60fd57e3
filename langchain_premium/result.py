"""What one invocation returns: the m candidate answers and a way to rank them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from langchain_premium.records import Source


@dataclass(frozen=True)
class Candidate:
    """One candidate answer and the tag set that shaped it.

    ``source`` says whether the selector chose the tags (``"selector"``) or they were picked to
    explore (``"exploration"``); ``score`` is the selector's score of the tag set.
    """

    index: int
    tags: list[str]
    text: str
    source: Source = "selector"
    styles: list[str] = field(default_factory=list)
    score: float = 0.0


@dataclass(frozen=True)
class FeedbackReceipt:
    """What :meth:`PremiumResult.feedback` stored: the pairs, and whether the model was updated."""

    run_id: str
    user_id: str
    pairs: int
    trained: bool


@dataclass
class PremiumResult:
    """The m candidates for one query, best first when exploration is off.

    Rank them with :meth:`feedback` (one ranking per run), or keep only :attr:`run_id` and call
    ``PremiumRunnable.record_feedback(run_id, ranking)`` later, e.g. from a chat UI.

    The example continues the :class:`~langchain_premium.runnable.PremiumRunnable` example.

    Example:
        >>> result = premium.invoke("Plan a weekend", config={"configurable": {"user_id": "al"}})
        >>> len(result.candidates), result.best.source
        (3, 'selector')
        >>> result.feedback([2, 0, 1])  # candidate 2 best, then 0, then 1
        FeedbackReceipt(run_id='...', user_id='al', pairs=3, trained=True)
    """

    run_id: str
    user_id: str
    query: str
    candidates: list[Candidate]
    method: str
    #: Candidates whose model call failed (only with ``on_llm_error="drop"``): their tags and error.
    failures: list[dict[str, Any]] = field(default_factory=list)
    _record: Optional[Callable[..., FeedbackReceipt]] = field(default=None, repr=False, compare=False)
    _arecord: Optional[Callable[..., Any]] = field(default=None, repr=False, compare=False)

    @property
    def best(self) -> Candidate:
        """The selector's top candidate (the first one)."""
        return self.candidates[0]

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.candidates]

    def feedback(
        self, ranking: Optional[Sequence[int]] = None, *, best: Optional[int] = None
    ) -> FeedbackReceipt:
        """Send the user's ranking (candidate indices, best first) or their single best choice.

        With two candidates a ranking is a pair: ``feedback([1, 0])``.
        """
        if self._record is None:
            raise RuntimeError("this result is not attached to a PremiumRunnable")
        return self._record(self.run_id, ranking, best=best, user_id=self.user_id)

    async def afeedback(
        self, ranking: Optional[Sequence[int]] = None, *, best: Optional[int] = None
    ) -> FeedbackReceipt:
        """Async :meth:`feedback`."""
        if self._arecord is None:
            raise RuntimeError("this result is not attached to a PremiumRunnable")
        return await self._arecord(self.run_id, ranking, best=best, user_id=self.user_id)

    def __str__(self) -> str:
        return self.best.text if self.candidates else ""
