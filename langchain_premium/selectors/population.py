"""Population-based alignment: one selector trained on the pooled feedback of many users."""

from __future__ import annotations

import json
import threading
from typing import Any, Optional, Sequence

import numpy as np

from langchain_premium.encoding import TagEmbeddingCache
from langchain_premium.errors import StaleStateError
from langchain_premium.memory import SQLiteMemory
from langchain_premium.records import PreferencePair, TagSet
from langchain_premium.selectors.base import BaseSelector, SelectionContext
from langchain_premium.selectors.embed import EmbedSelector
from langchain_premium.tags import TagLibrary
from langchain_premium.utils import check_random_state

__all__ = ["POPULATION_USER_ID", "PopulationSelector"]

#: The reserved pseudo-user under which the pooled state is stored: ``(POPULATION_USER_ID, key)``
#: in :class:`SQLiteMemory`. No real user may use this id.
POPULATION_USER_ID = "__population__"


class PopulationSelector(BaseSelector):
    """The paper's "Population-Based Alignment" baseline: one shared selector for everybody.

    A base learner (PREMIUM-Embed by default) is trained on the **pooled** preference pairs of
    all contributing users and then applied, unchanged, to each user: it learns what the
    population likes, not what one user likes (the paper pools 10 users with different
    preferences).

    Storage: every user's pairs stay per user in the memory, as for any method. The pooled
    state lives in the same memory under the reserved pseudo-user :data:`POPULATION_USER_ID`
    and the method key, ``(POPULATION_USER_ID, key)``. Each training (after a user's feedback,
    or :meth:`retrain`) reads the pairs of every contributor afresh and trains the shared
    state **from scratch**, so nothing of a forgotten user survives: after
    ``premium.forget_user(u)`` the pool no longer contains ``u``'s pairs from the next training
    on (call :meth:`retrain` to purge at once). The per-user state saved by the runnable is only
    a small marker (which pool version the user's feedback went into).

    Example:
        >>> from langchain_premium import PremiumRunnable
        >>> from langchain_premium.hash_embeddings import HashEmbeddings
        >>> from langchain_premium.offline import OfflineChatModel
        >>> memory = SQLiteMemory()  # or SQLiteMemory("premium.db")
        >>> premium = PremiumRunnable(llm=OfflineChatModel(), memory=memory,
        ...                           embeddings=HashEmbeddings(),  # a fast stand-in for MiniLM
        ...                           selector=PopulationSelector(memory))

    The example of :meth:`retrain` continues from this one.

    Args:
        memory: the runnable's memory (pairs are read from it, the pool is saved in it).
        base: the learner trained on the pool (default ``EmbedSelector(max_hypotheses=None)``).
        method: the runnable's method key (default ``name``: ``"population"``).
        contributors: only these users' pairs enter the pool (default: every user with pairs
            under this method).
        seed: seeds the pool's training.
    """

    name = "population"
    learns = True

    def __init__(
        self,
        memory: SQLiteMemory,
        *,
        base: Optional[BaseSelector] = None,
        method: Optional[str] = None,
        contributors: Optional[Sequence[str]] = None,
        seed: Optional[int] = None,
    ) -> None:
        self.memory = memory
        self.base = base if base is not None else EmbedSelector(max_hypotheses=None)  # no one user's set
        self.method = method
        self.contributors = contributors
        self.seed = seed
        if not isinstance(memory, SQLiteMemory):
            raise TypeError(
                f"PopulationSelector needs the runnable's SQLiteMemory, got {type(memory).__name__}"
            )
        if not self.base.learns:
            raise ValueError(f"the base selector {self.base!r} does not learn: nothing to pool")
        if contributors is not None and POPULATION_USER_ID in contributors:
            raise ValueError(f"{POPULATION_USER_ID!r} is reserved for the pooled state")
        self._cache: tuple[Optional[int], Any] = (None, None)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PopulationSelector(base={self.base!r}, method={self.key!r})"

    @property
    def key(self) -> str:
        """The method key: pairs are read, and the pool is saved, under it."""
        return self.method or self.name

    # -- the pooled state ----------------------------------------------------------------------

    def contributing_users(self) -> list[str]:
        """The users whose pairs enter the pool (never the reserved pseudo-user)."""
        users = [u for u in self.memory.users() if u != POPULATION_USER_ID]
        if self.contributors is not None:
            allowed = set(self.contributors)
            users = [u for u in users if u in allowed]
        return users

    def pooled_pairs(self) -> list[PreferencePair]:
        """Every contributor's pairs under this method, oldest first (by storage order)."""
        pairs = [p for user in self.contributing_users() for p in self.memory.pairs(user, method=self.key)]
        return sorted(pairs, key=lambda p: (p.id is None, p.id or 0))

    def pool_state(self, library: TagLibrary) -> Any:
        """The shared learned state (the base learner's untrained state before any feedback)."""
        stored = self.memory.load_state(POPULATION_USER_ID, self.key)
        if stored is None:
            return self.base.initial_state(library)
        with self._lock:
            version, state = self._cache
            if version == stored.version and state is not None:
                return state
        state = self.base.loads(stored.blob, library)
        with self._lock:
            self._cache = (stored.version, state)
        return state

    def retrain(
        self, library: TagLibrary, tag_cache: TagEmbeddingCache,
        rng: Optional[np.random.Generator] = None,
    ) -> int:
        """Train the shared state from scratch on the current pool and save it; return the
        number of pooled pairs (``0`` removes the pool: everybody is back to the untrained
        state).

        Example:
            >>> for user in ("alice", "bob"):
            ...     run = premium.invoke("Plan a trip", config={"configurable": {"user_id": user}})
            ...     receipt = run.feedback([2, 0, 1])  # 3 pairs each, both in the pool
            >>> premium.forget_user("alice")
            >>> premium.selector.retrain(premium.tag_library, premium.tag_cache)  # bob's pairs only
            3
        """
        for _ in range(10):
            stored = self.memory.load_state(POPULATION_USER_ID, self.key)
            pairs = self.pooled_pairs()
            if not pairs:
                if stored is not None:
                    self.memory.delete_state(POPULATION_USER_ID, self.key)
                return 0
            generator = check_random_state(self.seed) if rng is None else rng
            state = self.base.learn(self.base.initial_state(library), pairs, library, tag_cache,
                                    generator)
            try:
                version = self.memory.save_state(
                    POPULATION_USER_ID, self.key, self.base.dumps(state),
                    expected_version=None if stored is None else stored.version,
                    pairs_seen=len(pairs),
                )
            except StaleStateError:
                continue  # another user's training saved first: pool again, with their pairs
            with self._lock:
                self._cache = (version, state)
            return len(pairs)
        raise StaleStateError("could not save the pooled state: too many concurrent updates")

    # -- BaseSelector --------------------------------------------------------------------------

    def initial_state(self, library: TagLibrary) -> dict:
        return {}

    def dumps(self, state: dict) -> bytes:
        return json.dumps(state or {}).encode("utf-8")

    def loads(self, blob: bytes, library: TagLibrary) -> dict:
        return json.loads(blob.decode("utf-8")) if blob else {}

    def learn(
        self,
        state: Any,
        pairs: Sequence[PreferencePair],
        library: TagLibrary,
        tag_cache: TagEmbeddingCache,
        rng: np.random.Generator,
    ) -> dict:
        # ``pairs`` are this user's; the pool is everybody's, read afresh from the memory.
        pooled = self.retrain(library, tag_cache, rng)
        return {"pooled_pairs": pooled, "own_pairs": len(pairs)}

    def scores(self, state: Any, context: SelectionContext) -> np.ndarray:
        return self.base.scores(self.pool_state(context.library), context)

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
        if context.user_id == POPULATION_USER_ID:
            raise ValueError(f"{POPULATION_USER_ID!r} is reserved for the pooled state, not a user")
        return self.base.select(self.pool_state(context.library), context, k=k, m=m,
                                n_explore=n_explore, explore=explore, rng=rng)
