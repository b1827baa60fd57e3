"""What every tag selector provides: choose m tag sets for a query, and (optionally) learn."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional, Sequence

import numpy as np

from langchain_premium.encoding import TagEmbeddingCache
from langchain_premium.records import PreferencePair, TagSet
from langchain_premium.selectors.sets import softmax
from langchain_premium.tags import TagLibrary


@dataclass
class SelectionContext:
    """Everything a selector may look at for one query of one user."""

    library: TagLibrary
    tag_cache: TagEmbeddingCache
    query_embedding: np.ndarray
    query: Optional[str] = None
    user_id: Optional[str] = None
    history: Sequence[Any] = field(default_factory=tuple)


@dataclass(frozen=True)
class UserProfile:
    """What a selector believes about a user, readable by that user.

    ``tags`` maps each ordinary tag to its selection probability (highest first); ``styles`` maps
    each binary style to its probability against its pair partner.
    """

    user_id: str
    tags: dict[str, float]
    styles: dict[str, float] = field(default_factory=dict)

    def top(self, n: int = 5) -> list[tuple[str, float]]:
        """The ``n`` most likely tags with their probabilities."""
        return list(self.tags.items())[:n]

    def to_dict(self) -> dict:
        return {"user_id": self.user_id, "tags": dict(self.tags), "styles": dict(self.styles)}


class BaseSelector(ABC):
    """Chooses tag sets; selectors that learn turn stored preference pairs into a new state.

    A selector is stateless itself (its constructor only stores parameters); each user's learned
    state is a separate object that the runnable loads from and saves to the memory with
    :meth:`dumps` / :meth:`loads`.
    """

    #: The key under which interactions and user states are stored.
    name: ClassVar[str] = "selector"
    #: Whether :meth:`learn` does anything (vanilla and untrained retrieval do not).
    learns: ClassVar[bool] = False
    #: Whether no feedback can change what it selects (it neither learns nor reads the
    #: user's history): a simulation may then skip the rankings of such a method.
    feedback_free: ClassVar[bool] = False
    #: Whether :meth:`learn` reads what the ranked answers said: the runnable then embeds a run's
    #: answers when it is ranked and stores their sentence vectors with the ranking
    #: (:mod:`~langchain_premium.answer_vectors`).
    reads_answers: bool = False

    def initial_state(self, library: TagLibrary) -> Any:
        """The state of a user who has given no feedback yet."""
        return None

    @abstractmethod
    def select(
        self,
        state: Any,
        context: SelectionContext,
        *,
        k: int,
        m: int,
        n_explore: int,
        explore: bool,
        rng: np.random.Generator,
    ) -> list[TagSet]:
        """``m`` distinct tag sets of ``k`` tags, the selector's own choices first (best first),
        then ``n_explore`` exploration sets when ``explore`` is true."""

    def learn(
        self,
        state: Any,
        pairs: Sequence[PreferencePair],
        library: TagLibrary,
        tag_cache: TagEmbeddingCache,
        rng: np.random.Generator,
    ) -> Any:
        """A new state that has learned from ``pairs`` (all stored pairs of the user, oldest
        first). The default does not learn."""
        return state

    def scores(self, state: Any, context: SelectionContext) -> np.ndarray:
        """One score per tag of ``context.library.all_tags`` (higher = more likely chosen)."""
        return np.zeros(len(context.library.all_tags), dtype=np.float32)

    def profile_probabilities(self, state: Any, context: SelectionContext, scores: np.ndarray) -> np.ndarray:
        """Per ordinary tag of ``context.library`` (``scores`` are :meth:`scores`), the
        probability the user's profile shows for it, summing to 1. The default is a softmax of
        the scores."""
        return softmax(np.asarray(scores, dtype=np.float64)[:len(context.library.tags)])

    def dumps(self, state: Any) -> bytes:
        """Serialise a user state (no pickle: states are data, not code)."""
        return b""

    def loads(self, blob: bytes, library: TagLibrary) -> Any:
        """Inverse of :meth:`dumps`."""
        return self.initial_state(library)
