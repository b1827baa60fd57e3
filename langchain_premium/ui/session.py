"""FeedbackSession: what a chat UI says about the candidates it shows, as one ranking per run."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Hashable, Literal, Optional, Sequence

from langchain_premium.errors import FeedbackError
from langchain_premium.result import FeedbackReceipt, PremiumResult
from langchain_premium.ui.langsmith import LangSmithMirror
from langchain_premium.ui.ratings import Decision, check_score, decide

__all__ = ["FeedbackSession"]

logger = logging.getLogger(__name__)

Status = Literal["open", "submitting", "done"]


@dataclass
class _Run:
    result: PremiumResult
    keys: tuple[Hashable, ...]
    ratings: dict[int, float] = field(default_factory=dict)
    status: Status = "open"
    receipt: Optional[FeedbackReceipt] = None


class FeedbackSession:
    """Collects what a chat UI reports about shown candidates and records one ranking per run.

    Chat UIs report feedback per message (a thumb, a star rating, a click on the best answer),
    while PREMIUM learns from a ranking of a run's m candidates. Register each result you show
    with :meth:`track` under the ids the UI uses for its messages; then pass the UI's events on
    (see :mod:`langchain_premium.ui.gradio`, ``.streamlit`` and ``.chainlit`` for the adapters):

    * :meth:`rank` and :meth:`choose` record a full ranking or a best-of-m click at once;
    * :meth:`rate` stores a 0..1 rating of one candidate and records the run as soon as every
      candidate is rated (a full ranking, or the best when the others tie below it);
    * :meth:`submit` records what partial ratings say when the user moves on: a liked answer
      beats the unrated ones.

    Each run is recorded at most once. Repeating a rating, or rating a run that is already
    recorded, does nothing (Streamlit re-sends widget values on every rerun). With a
    ``langsmith_client`` every recorded ranking is mirrored to LangSmith
    (:class:`LangSmithMirror`); a failure there is logged, never raised: the ranking is stored.

    Thread-safe: one session may serve every user of a UI server.

    Args:
        premium: the :class:`PremiumRunnable` (anything with its ``record_feedback``).
        langsmith_client: optional ``langsmith.Client`` to mirror rankings to.
        langsmith_key: the feedback key used in LangSmith.
        max_runs: how many runs to remember; the oldest are forgotten first.

    Example:
        .. code-block:: python

            session = FeedbackSession(premium)
            keys = session.track(result)      # ["<run_id>:0", "<run_id>:1", "<run_id>:2"]
            session.rate(keys[0], 0.0)
            session.rate(keys[1], 1.0)
            session.rate(keys[2], 0.5)        # all rated: records the ranking [1, 2, 0]
    """

    def __init__(
        self,
        premium: Any,
        *,
        langsmith_client: Any = None,
        langsmith_key: str = "premium_rank",
        max_runs: int = 1000,
    ) -> None:
        if not callable(getattr(premium, "record_feedback", None)):
            raise TypeError(f"premium must be a PremiumRunnable (with record_feedback), got {premium!r}")
        if max_runs < 1:
            raise ValueError(f"max_runs must be at least 1, got {max_runs}")
        self.premium = premium
        self.mirror = (
            LangSmithMirror(langsmith_client, key=langsmith_key) if langsmith_client is not None else None
        )
        self.max_runs = max_runs
        self._runs: OrderedDict[str, _Run] = OrderedDict()
        self._keys: dict[Hashable, tuple[str, int]] = {}
        self._lock = threading.Lock()

    # -- what is on screen -----------------------------------------------------------------------

    def track(self, result: PremiumResult, keys: Optional[Sequence[Hashable]] = None) -> list[Hashable]:
        """Remember ``result`` and the keys the UI uses for its candidates; returns the keys.

        ``keys`` are one per candidate, in candidate order: message ids (Chainlit), chatbot
        message indices (Gradio), widget keys (Streamlit). By default ``"<run_id>:<index>"``.

        Example:
            .. code-block:: python

                session.track(result, keys=[message.id for message in sent])  # Chainlit
        """
        if not isinstance(result, PremiumResult):
            raise TypeError(f"track() expects a PremiumResult, got {type(result).__name__}")
        m = len(result.candidates)
        keys = [f"{result.run_id}:{i}" for i in range(m)] if keys is None else [_key(k) for k in keys]
        if len(keys) != m:
            raise ValueError(f"run {result.run_id!r} has {m} candidates but {len(keys)} keys were given")
        if len(set(keys)) != m:
            raise ValueError(f"the keys of run {result.run_id!r} must be different, got {keys}")
        with self._lock:
            if result.run_id in self._runs:
                raise ValueError(f"run {result.run_id!r} is already tracked")
            taken = [k for k in keys if k in self._keys]
            if taken:
                raise ValueError(f"keys {taken} already name candidates of another run")
            self._runs[result.run_id] = _Run(result, tuple(keys))
            for i, key in enumerate(keys):
                self._keys[key] = (result.run_id, i)
            while len(self._runs) > self.max_runs:
                _, old = self._runs.popitem(last=False)
                for key in old.keys:
                    self._keys.pop(key, None)
        return keys

    def locate(self, key: Hashable) -> tuple[str, int]:
        """The ``(run_id, candidate index)`` a UI key names."""
        try:
            return self._keys[_key(key)]
        except KeyError:
            raise FeedbackError(
                f"unknown candidate key {key!r}: track() the result before passing its feedback"
            ) from None

    def result(self, run_id: str) -> PremiumResult:
        """The tracked result of ``run_id``."""
        return self._run(run_id).result

    def ratings(self, run_id: str) -> dict[int, float]:
        """The ratings given so far to ``run_id``'s candidates (candidate index -> 0..1)."""
        with self._lock:
            return dict(self._run(run_id).ratings)

    def receipt(self, run_id: str) -> Optional[FeedbackReceipt]:
        """What was recorded for ``run_id``, or ``None`` if nothing yet."""
        with self._lock:
            return self._run(run_id).receipt

    # -- feedback ------------------------------------------------------------------------------

    def rank(self, run_id: str, ranking: Sequence[int]) -> FeedbackReceipt:
        """Record a full ranking of ``run_id``'s candidates (indices, best first)."""
        return self._record(run_id, Decision(ranking=list(ranking)))

    def choose(self, key: Hashable) -> FeedbackReceipt:
        """Record a best-of-m click: the candidate ``key`` names beats the others."""
        run_id, index = self.locate(key)
        return self._record(run_id, Decision(best=index))

    def rate(self, key: Hashable, score: Optional[float]) -> Optional[FeedbackReceipt]:
        """Rate one candidate from 0 (worst) to 1 (best); ``None`` withdraws its rating.

        Returns the receipt when this rating completed the run and it was recorded, else
        ``None`` (more ratings needed, a tie at the top, or the run was already recorded).
        """
        run_id, index = self.locate(key)
        value = None if score is None else check_score(score)
        with self._lock:
            run = self._run(run_id)
            if run.status != "open":
                return None
            if value is None:
                run.ratings.pop(index, None)
                return None
            run.ratings[index] = value
            decision = decide(run.ratings, len(run.result.candidates))
            if decision is None:
                return None
            run.status = "submitting"
        return self._submit(run, decision)

    def submit(self, run_id: str) -> Optional[FeedbackReceipt]:
        """Record what the ratings of ``run_id`` say so far, when the user moves on.

        The candidate rated strictly highest, with a positive rating, beats every other one.
        Returns ``None`` (and records nothing) when the ratings decide nothing, or the run was
        already recorded.
        """
        with self._lock:
            run = self._run(run_id)
            if run.status != "open":
                return None
            decision = decide(run.ratings, len(run.result.candidates), final=True)
            if decision is None:
                return None
            run.status = "submitting"
        return self._submit(run, decision)

    def submit_pending(self, user_id: Optional[str] = None) -> list[FeedbackReceipt]:
        """:meth:`submit` every open run (of ``user_id`` only, if given); returns the receipts."""
        with self._lock:
            run_ids = [
                run_id for run_id, run in self._runs.items()
                if run.status == "open" and run.ratings
                and (user_id is None or run.result.user_id == user_id)
            ]
        receipts = [self.submit(run_id) for run_id in run_ids]
        return [r for r in receipts if r is not None]

    # -- internals -----------------------------------------------------------------------------

    def _run(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            raise FeedbackError(f"unknown run id {run_id!r}: track() the result first")
        return run

    def _record(self, run_id: str, decision: Decision) -> FeedbackReceipt:
        with self._lock:
            run = self._run(run_id)
            if run.status != "open":
                raise FeedbackError(f"run {run_id!r} was already ranked: one ranking per run")
            run.status = "submitting"
        return self._submit(run, decision)

    def _submit(self, run: _Run, decision: Decision) -> FeedbackReceipt:
        result = run.result
        try:
            receipt = self.premium.record_feedback(
                result.run_id, **decision.kwargs(), user_id=result.user_id
            )
        except BaseException:
            with self._lock:
                run.status = "open"
            raise
        with self._lock:
            run.status, run.receipt = "done", receipt
        if self.mirror is not None:
            try:
                self.mirror(result, decision.ranking, best=decision.best)
            except Exception as exc:  # the ranking is stored; LangSmith is a copy
                logger.warning("could not mirror the ranking of run %s to LangSmith: %s", result.run_id, exc)
        return receipt


def _key(key: Hashable) -> Hashable:
    # Gradio sends two-dimensional indices as JSON lists; lists cannot be dict keys.
    return tuple(key) if isinstance(key, list) else key
