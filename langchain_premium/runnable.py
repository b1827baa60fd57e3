"""PremiumRunnable: select tag sets, fan out to the chat model, collect rankings, learn."""

from __future__ import annotations

import asyncio
import threading
from math import comb
from typing import Any, Literal, Optional, Sequence, Union

import numpy as np
from langchain_core.callbacks import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun
from langchain_core.embeddings import Embeddings
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import BasePromptTemplate
from langchain_core.runnables import Runnable, RunnableConfig, RunnableSerializable
from langchain_core.runnables.config import patch_config
from langchain_core.runnables.utils import ConfigurableFieldSpec, get_unique_config_specs
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from langchain_premium.answer_vectors import embed_answers
from langchain_premium.encoding import TagEmbeddingCache, aembed_query, embed_query
from langchain_premium.errors import (
    CandidateGenerationError,
    CorruptStateError,
    FeedbackError,
    SchemaVersionError,
    StaleStateError,
)
from langchain_premium.feedback import feedback_to_pairs
from langchain_premium.memory import SQLiteMemory
from langchain_premium.prompts import DEFAULT_GENERATION_PROMPT, format_declared, generation_variables, output_text
from langchain_premium.records import Interaction, TagSet
from langchain_premium.result import Candidate, FeedbackReceipt, PremiumResult
from langchain_premium.selectors.base import BaseSelector, SelectionContext, UserProfile
from langchain_premium.selectors.embed import EmbedSelector
from langchain_premium.state_cache import StateCache
from langchain_premium.tags import TagLibrary
from langchain_premium.unranked_answers import UnrankedAnswers
from langchain_premium.utils import check_random_state, child_seed, stable_hash

PremiumInput = Union[str, dict, PromptValue, Sequence[BaseMessage]]

#: Queries longer than this many characters are refused (a documented limit, not a crash).
MAX_QUERY_CHARS = 100_000

_LOCK_STRIPES = 64

#: Decoded user states a runnable keeps by default (a selector may ask for fewer: its
#: ``state_cache_size``); the others are read from the memory when their user comes back.
DEFAULT_STATE_CACHE_SIZE = 1024


class _Request:
    """One parsed input: the query, any chat history, and the per-call settings."""

    def __init__(self, query: str, history: list[BaseMessage], user_id: str, explore: bool):
        self.query, self.history, self.user_id, self.explore = query, history, user_id, explore


class PremiumRunnable(RunnableSerializable[PremiumInput, PremiumResult]):
    """A wrapper Runnable that personalises any chat model from users' rankings (PREMIUM).

    For each query it picks ``m`` tag sets of ``k`` tags from the tag library, turns each into a
    prompt, sends the ``m`` prompts to the chat model concurrently and returns a
    :class:`PremiumResult` with the ``m`` candidate answers. The user's ranking of them becomes
    pairwise preferences in the memory, from which the user's selector learns.

    The user comes from ``config["configurable"]["user_id"]``; ``"explore": False`` in the same
    place turns exploration off (evaluation): the candidates are then the selector's best sets,
    best first.

    Example:
        >>> from langchain_premium import PremiumRunnable, SQLiteMemory, TagLibrary
        >>> from langchain_premium.hash_embeddings import HashEmbeddings
        >>> from langchain_premium.offline import OfflineChatModel
        >>> premium = PremiumRunnable(
        ...     llm=OfflineChatModel(),  # any chat model
        ...     tag_library=TagLibrary(["Baking", "Nutrition", "Jazz", "Hiking", "Tax law", "Poetry"]),
        ...     memory=SQLiteMemory(),  # in memory; SQLiteMemory("premium.db") keeps it in a file
        ...     embeddings=HashEmbeddings(),  # a fast stand-in; the default is the packaged MiniLM
        ...     seed=0)
        >>> result = premium.invoke("How do I make handmade desserts?",
        ...                         config={"configurable": {"user_id": "alice"}})
        >>> [c.tags for c in result.candidates]  # the selector's best set, then 2 explorations
        [['Baking', 'Nutrition', 'Jazz'], ['Nutrition', 'Hiking', 'Tax law'], ['Baking', 'Jazz', 'Tax law']]
        >>> result.feedback([2, 0, 1])  # candidate 2 best, then 0, then 1
        FeedbackReceipt(run_id='...', user_id='alice', pairs=3, trained=True)
        >>> premium.user_profile("alice").top(3)
        [('Jazz', 0.23...), ('Baking', 0.23...), ('Tax law', 0.20...)]

    The examples of the methods below continue from this one.

    Args:
        llm: any chat model (or Runnable taking a prompt value and returning a message).
        tag_library: the tags to choose from (default: the paper's library).
        memory: where interactions, preferences and learned states live (default: in memory).
        selector: how tag sets are chosen and learned (default: PREMIUM-Embed, see ``encoder``).
        encoder: the default learner's encoders: ``"adapter"`` (a frozen shared encoder plus a few
            kilobytes per user, :class:`EmbedSelector`) or ``"finetune"`` (the paper's full
            fine-tuning of both encoders per user, :class:`FinetuneSelector`; needs
            ``SQLiteMemory(store_text=True)`` because it retrains on the query text).
        embeddings: the shared frozen encoder (default: the packaged all-MiniLM-L6-v2).
        prompt: template with ``{query}``, ``{tags}``, ``{style_instruction}`` (and optional
            ``history``) variables.
        k: tags per tag set. m: candidates per query.
        n_explore: how many of the m candidates explore (the paper's ``m_r``; default ``m - 1``).
        update_every: learn after every ``d`` feedbacks of a user (``0``: only on :meth:`train`).
        max_concurrency: cap on concurrent model calls (default: all m at once).
        on_llm_error: ``"raise"`` one :class:`CandidateGenerationError`, or ``"drop"`` the failed
            candidates and return the others (feedback then ranks only those).
        method: key for this method's interactions and states (default: the selector's name).
        seed: makes exploration reproducible. Serving without exploration draws from a
            generator of its own, seeded by ``seed``, the user and the query, so it never shifts
            the exploration that follows: measuring a user's selections (``explore=False``)
            between their rankings leaves what they are shown next as it was.
        state_cache_size: how many users' decoded states are kept in memory (least recently
            used first out; default: the selector's ``state_cache_size``, else 1024). The others
            are loaded from the memory on demand, so serving many users holds only these.
    """

    llm: Runnable
    tag_library: TagLibrary = Field(default_factory=TagLibrary.default)
    memory: SQLiteMemory = Field(default_factory=SQLiteMemory)
    selector: Optional[BaseSelector] = None
    encoder_kind: Literal["adapter", "finetune"] = Field(default="adapter", alias="encoder")
    embeddings: Optional[Embeddings] = None
    prompt: BasePromptTemplate = DEFAULT_GENERATION_PROMPT
    k: int = 3
    m: int = 3
    n_explore: Optional[int] = None
    update_every: int = 1
    max_concurrency: Optional[int] = None
    on_llm_error: Literal["raise", "drop"] = "raise"
    method: Optional[str] = None
    seed: Optional[int] = None
    state_cache_size: Optional[int] = None

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    _rng: np.random.Generator = PrivateAttr()
    _rng_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _tag_cache: Optional[TagEmbeddingCache] = PrivateAttr(default=None)
    _user_locks: list[threading.Lock] = PrivateAttr(
        default_factory=lambda: [threading.Lock() for _ in range(_LOCK_STRIPES)]
    )
    _states: StateCache = PrivateAttr(default_factory=StateCache)
    _pending: dict[str, int] = PrivateAttr(default_factory=dict)
    _unranked: UnrankedAnswers = PrivateAttr(default_factory=UnrankedAnswers)

    @model_validator(mode="after")
    def _check_sizes(self) -> "PremiumRunnable":
        n = len(self.tag_library)
        if self.k < 1 or self.m < 1:
            raise ValueError(f"k and m must be at least 1, got k={self.k}, m={self.m}")
        if self.k > n:
            raise ValueError(f"k={self.k} is larger than the tag library ({n} tags)")
        if comb(n, self.k) < self.m:
            raise ValueError(f"a library of {n} tags has fewer than m={self.m} distinct sets of {self.k}")
        if self.n_explore is not None and not 0 <= self.n_explore <= self.m:
            raise ValueError(f"n_explore (m_r) must be between 0 and m={self.m}, got {self.n_explore}")
        if self.update_every < 0:
            raise ValueError(f"update_every must be >= 0, got {self.update_every}")
        if self.state_cache_size is not None and self.state_cache_size < 1:
            raise ValueError(f"state_cache_size must be at least 1, got {self.state_cache_size}")
        if self.selector is None:
            self.selector = _default_selector(self.encoder_kind)
        # A fine-tuned state holds two encoders (~180 MB): its selector asks for a small cache.
        self._states = StateCache(
            self.state_cache_size or getattr(self.selector, "state_cache_size", DEFAULT_STATE_CACHE_SIZE)
        )
        self._rng = check_random_state(self.seed)
        return self

    # -- configuration -----------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The name interactions and user states of this method are stored under."""
        return self.method or self.selector.name

    @property
    def config_specs(self) -> list[ConfigurableFieldSpec]:
        own = [
            ConfigurableFieldSpec(
                id="user_id", annotation=str, name="User ID", default="",
                description="Whose preferences to use and update.", is_shared=True,
            ),
            ConfigurableFieldSpec(
                id="explore", annotation=bool, name="Explore", default=True,
                description="Include exploration candidates (turn off for evaluation).",
                is_shared=True,
            ),
        ]
        return get_unique_config_specs([*self.llm.config_specs, *own])

    @property
    def shared_encoder(self) -> Embeddings:
        """The shared frozen encoder (loaded on first use)."""
        if self.embeddings is None:
            from langchain_premium.offline import default_embeddings

            self.embeddings = default_embeddings()
        return self.embeddings

    @property
    def tag_cache(self) -> TagEmbeddingCache:
        if self._tag_cache is None:
            self._tag_cache = TagEmbeddingCache(self.shared_encoder)
        return self._tag_cache

    # -- invocation --------------------------------------------------------------------------

    def invoke(self, input: PremiumInput, config: Optional[RunnableConfig] = None, **kwargs: Any) -> PremiumResult:
        return self._call_with_config(self._invoke, input, config, **kwargs)

    async def ainvoke(
        self, input: PremiumInput, config: Optional[RunnableConfig] = None, **kwargs: Any
    ) -> PremiumResult:
        return await self._acall_with_config(self._ainvoke, input, config, **kwargs)

    def _invoke(self, input: PremiumInput, run_manager: CallbackManagerForChainRun, config: RunnableConfig) -> PremiumResult:
        request = self._parse(input, config)
        query_embedding = embed_query(self.shared_encoder, request.query)
        tag_sets = self._select(request, query_embedding)
        prompts = self._prompts(request, tag_sets)
        outputs = self.llm.batch(prompts, self._child_config(config, run_manager), return_exceptions=True)
        return self._finish(request, str(run_manager.run_id), query_embedding, tag_sets, outputs)

    async def _ainvoke(
        self, input: PremiumInput, run_manager: AsyncCallbackManagerForChainRun, config: RunnableConfig
    ) -> PremiumResult:
        request = self._parse(input, config)
        query_embedding = await aembed_query(self.shared_encoder, request.query)
        tag_sets = await asyncio.to_thread(self._select, request, query_embedding)
        prompts = self._prompts(request, tag_sets)
        outputs = await self.llm.abatch(prompts, self._child_config(config, run_manager), return_exceptions=True)
        return await asyncio.to_thread(
            self._finish, request, str(run_manager.run_id), query_embedding, tag_sets, outputs
        )

    def select_tag_sets(self, query: str, *, user_id: str, explore: bool = False) -> list[TagSet]:
        """The tag sets this runnable would use for ``query``, without calling the model or
        storing anything (for evaluation, previews and debugging).

        Example:
            >>> [s.tags for s in premium.select_tag_sets("Plan a trip", user_id="alice")]
            [('Baking', 'Jazz', 'Tax law'), ('Baking', 'Jazz', 'Poetry'), ('Jazz', 'Tax law', 'Poetry')]
        """
        request = self._parse(query, {"configurable": {"user_id": user_id, "explore": explore}})
        return self._select(request, embed_query(self.shared_encoder, request.query))

    def _child_config(self, config: RunnableConfig, run_manager: Any) -> RunnableConfig:
        # The m model calls nest under this run and run concurrently (all m unless capped).
        return patch_config(
            config, callbacks=run_manager.get_child(), max_concurrency=self.max_concurrency or self.m
        )

    def _parse(self, input: PremiumInput, config: RunnableConfig) -> _Request:
        configurable = (config or {}).get("configurable", {}) or {}
        user_id = configurable.get("user_id")
        if not isinstance(user_id, str) or not user_id.strip():
            raise ValueError(
                "PremiumRunnable needs a user: pass config={'configurable': {'user_id': '...'}}"
            )
        explore = configurable.get("explore", True)
        if not isinstance(explore, bool):
            raise TypeError(f"configurable 'explore' must be True or False, got {explore!r}")
        history: list[BaseMessage] = []
        if isinstance(input, dict):
            if "query" not in input:
                raise ValueError(f"a dict input needs a 'query' key, got keys {sorted(input)}")
            query, history = input["query"], list(input.get("history") or [])
        elif isinstance(input, PromptValue):
            query, history = _split_messages(input.to_messages())
        elif isinstance(input, (list, tuple)) and all(isinstance(x, BaseMessage) for x in input):
            query, history = _split_messages(list(input))
        else:
            query = input
        if not isinstance(query, str):
            raise TypeError(f"the query must be a string, got {type(query).__name__}")
        if not query.strip():
            raise ValueError("the query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise ValueError(f"the query has {len(query)} characters; the limit is {MAX_QUERY_CHARS}")
        return _Request(query, history, user_id, explore)

    def _next_rng(self) -> np.random.Generator:
        with self._rng_lock:
            return np.random.default_rng(self._rng.integers(2**63))

    def _select(self, request: _Request, query_embedding: np.ndarray) -> list[TagSet]:
        state = self._load_state(request.user_id)
        context = SelectionContext(
            library=self.tag_library, tag_cache=self.tag_cache, query_embedding=query_embedding,
            query=request.query, user_id=request.user_id, history=request.history,
        )
        n_explore = self.m - 1 if self.n_explore is None else self.n_explore
        # Exploration takes the next generator of the runnable's stream; serving without it takes
        # one of its own, so a look at the best sets never shifts what is explored next.
        rng = (self._next_rng() if request.explore
               else check_random_state(child_seed(self.seed, "serve", request.user_id, request.query)))
        return self.selector.select(
            state, context, k=self.k, m=self.m, n_explore=n_explore, explore=request.explore, rng=rng,
        )

    def _prompts(self, request: _Request, tag_sets: list[TagSet]) -> list[PromptValue]:
        return [format_declared(self.prompt, generation_variables(request.query, s.tags, s.styles, request.history))
                for s in tag_sets]

    def _finish(
        self, request: _Request, run_id: str, query_embedding: np.ndarray,
        tag_sets: list[TagSet], outputs: list[Any],
    ) -> PremiumResult:
        failures = [(i, out) for i, out in enumerate(outputs) if isinstance(out, BaseException)]
        if failures and (self.on_llm_error == "raise" or len(failures) == len(outputs)):
            index, error = failures[0]
            raise CandidateGenerationError(
                f"{len(failures)} of {len(outputs)} model calls failed; candidate {index} "
                f"(tags {list(tag_sets[index].tags)}): {type(error).__name__}: {error}"
            ) from error
        kept = [(t, out) for t, out in zip(tag_sets, outputs) if not isinstance(out, BaseException)]
        texts = [output_text(out) for _, out in kept]
        self.memory.add_interaction(
            Interaction(
                run_id=run_id, user_id=request.user_id, method=self.key,
                candidates=[t for t, _ in kept], query_embedding=query_embedding,
                query=request.query, answers=texts,
            )
        )
        if self.selector.reads_answers:  # embedded if ranked (record_feedback)
            self._unranked.put(run_id, request.user_id, texts)
        candidates = [
            Candidate(index=i, tags=list(t.tags), text=text, source=t.source,
                      styles=list(t.styles), score=t.score)
            for i, ((t, _), text) in enumerate(zip(kept, texts))
        ]
        return PremiumResult(
            run_id=run_id, user_id=request.user_id, query=request.query, candidates=candidates,
            method=self.key,
            failures=[{"tags": list(tag_sets[i].tags), "error": f"{type(e).__name__}: {e}"} for i, e in failures],
            _record=self.record_feedback, _arecord=self.arecord_feedback,
        )

    # -- feedback and learning ---------------------------------------------------------------

    def record_feedback(
        self, run_id: str, ranking: Optional[Sequence[int]] = None, *,
        best: Optional[int] = None, user_id: Optional[str] = None,
    ) -> FeedbackReceipt:
        """Store a user's ranking (best first) or best choice for a run, then learn from it.

        Raises :class:`FeedbackError` and stores nothing for an unknown run id, another user's
        run, a second ranking of the same run, or a ranking that is not a permutation of the
        candidates.

        Example:
            >>> run_id = premium.invoke("Plan a trip", config={"configurable": {"user_id": "alice"}}).run_id
            >>> premium.record_feedback(run_id, [2, 0, 1])  # e.g. later, from a chat UI
            FeedbackReceipt(run_id='...', user_id='alice', pairs=3, trained=True)
        """
        interaction = self.memory.get_interaction(run_id)
        if interaction is None:
            raise FeedbackError(f"unknown run id {run_id!r}: no candidates were recorded for it")
        if user_id is not None and interaction.user_id != user_id:
            raise FeedbackError(f"run {run_id!r} belongs to another user")
        stored, pairs = feedback_to_pairs(len(interaction.candidates), ranking, best=best)
        count = self.memory.record_ranking(run_id, user_id=interaction.user_id, ranking=stored, pairs=pairs,
                                           answer_vectors=self._ranked_answer_vectors(interaction))
        trained = False
        if self.update_every and self.selector.learns:
            with self._rng_lock:
                pending = self._pending.get(interaction.user_id, 0) + 1
                due = pending >= self.update_every
                self._pending[interaction.user_id] = 0 if due else pending
            if due:
                trained = self.train(interaction.user_id)
        return FeedbackReceipt(run_id=run_id, user_id=interaction.user_id, pairs=count, trained=trained)

    def _ranked_answer_vectors(self, interaction: Interaction) -> Optional[list[np.ndarray]]:
        """The sentence vectors of a run's answers, for a selector that reads them: from the
        answers this runnable still holds, else from the stored text (``store_text=True``);
        ``None`` when neither has them (the ranking is then read by its tags)."""
        if not self.selector.reads_answers or interaction.answer_vectors is not None:
            return None
        answers = self._unranked.take(interaction.run_id, interaction.user_id) or interaction.answers
        if not answers or len(answers) != len(interaction.candidates):
            return None
        return embed_answers(self.shared_encoder, answers)

    async def arecord_feedback(
        self, run_id: str, ranking: Optional[Sequence[int]] = None, *,
        best: Optional[int] = None, user_id: Optional[str] = None,
    ) -> FeedbackReceipt:
        """Async :meth:`record_feedback` (the database and the update run in a worker thread)."""
        return await asyncio.to_thread(self.record_feedback, run_id, ranking, best=best, user_id=user_id)

    def train(self, user_id: str) -> bool:
        """Update ``user_id``'s selector from all their stored pairs; ``True`` if it changed.

        Updates of one user are serialised (in this process by a lock, across processes by a
        compare-and-swap on the stored state), so none is lost or applied twice; different users
        train in parallel.
        """
        if not self.selector.learns:
            return False
        with self._user_locks[stable_hash(user_id) % _LOCK_STRIPES]:
            for _ in range(10):
                stored = self.memory.load_state(user_id, self.key)
                pairs = self.memory.pairs(user_id, method=self.key)
                if not pairs or (stored is not None and stored.pairs_seen == len(pairs)):
                    return False
                state = self._decode(user_id, stored)
                new_state = self.selector.learn(state, pairs, self.tag_library, self.tag_cache, self._next_rng())
                try:
                    self.memory.save_state(
                        user_id, self.key, self.selector.dumps(new_state),
                        expected_version=None if stored is None else stored.version,
                        pairs_seen=len(pairs),
                    )
                except StaleStateError:
                    continue  # another process trained first: learn again on top of its state
                return True  # not cached here: the cache key needs the saved row's updated_at
        raise StaleStateError(f"could not save the state of user {user_id!r}: too many concurrent updates")

    def _load_state(self, user_id: str) -> Any:
        # The stamp alone tells whether the cached state is current, without reading the stored
        # one (a fine-tuned state is ~180 MB); only a miss reads and decodes it.
        stamp = self.memory.state_stamp(user_id, self.key)
        if stamp is None:
            return self.selector.initial_state(self.tag_library)
        cached = self._states.get(user_id, stamp)
        if cached is not None:
            return cached
        return self._decode(user_id, self.memory.load_state(user_id, self.key))

    def _decode(self, user_id: str, stored: Any) -> Any:
        if stored is None:
            return self.selector.initial_state(self.tag_library)
        # Versions restart at 1 after forget_user (possibly by another process), so the version
        # alone could bring a forgotten state back; with the save time it names one save.
        stamp = (stored.version, stored.updated_at)
        cached = self._states.get(user_id, stamp)
        if cached is not None:
            return cached
        state = self.selector.loads(stored.blob, self.tag_library)
        self._states.put(user_id, stamp, state)
        return state

    # -- what the system holds about a user --------------------------------------------------

    def user_profile(self, user_id: str, query: Optional[str] = None) -> UserProfile:
        """The tags ``user_id``'s model favours, with probabilities summing to 1 (highest first).

        For PREMIUM-Embed with a belief, a tag's probability of being one of the user's k tags,
        divided by k; for other selectors, their selection probability. Without a query this is
        the user's general preference; with one it is what the selector would use for that query.

        Example:
            >>> premium.user_profile("alice").top(3)
            [('Jazz', 0.23...), ('Baking', 0.23...), ('Tax law', 0.20...)]
        """
        state = self._load_state(user_id)
        dim = self.tag_cache.matrix(self.tag_library.tags[:1]).shape[1]
        query_embedding = embed_query(self.shared_encoder, query) if query else None
        context = SelectionContext(
            library=self.tag_library, tag_cache=self.tag_cache,
            query_embedding=query_embedding if query_embedding is not None else np.zeros(dim, np.float32),
            query=query, user_id=user_id,
        )
        if query_embedding is None and isinstance(self.selector, EmbedSelector):
            context.query_embedding = None  # the general profile leaves the query term out
        scores = np.asarray(self.selector.scores(state, context), dtype=np.float64)
        ordinary = len(self.tag_library.tags)
        probs = np.asarray(self.selector.profile_probabilities(state, context, scores), dtype=np.float64)
        order = np.lexsort((-scores[:ordinary], -probs))  # equal probabilities by score
        tags = {self.tag_library.tags[i]: float(probs[i]) for i in order}
        position = {t: i for i, t in enumerate(self.tag_library.all_tags)}
        styles = {}
        for a, b in self.tag_library.binary_pairs:
            p_a = float(1.0 / (1.0 + np.exp(scores[position[b]] - scores[position[a]])))
            styles[a], styles[b] = p_a, 1.0 - p_a
        return UserProfile(user_id=user_id, tags=tags, styles=styles)

    def forget_user(self, user_id: str) -> None:
        """Remove every interaction, preference and learned state of ``user_id``."""
        self.memory.forget_user(user_id)
        self._states.pop(user_id)
        self._pending.pop(user_id, None)
        self._unranked.forget_user(user_id)

    def export_user(self, user_id: str) -> dict:
        """Everything held about ``user_id`` as JSON-serialisable data, with their profile.

        If the user's learned state cannot be read, ``profile`` is ``None`` and ``profile_error``
        says why: the stored rows are exported all the same.
        """
        data = self.memory.export_user(user_id)
        try:
            data["profile"] = self.user_profile(user_id).to_dict()
        except (CorruptStateError, SchemaVersionError) as exc:
            data["profile"], data["profile_error"] = None, f"{type(exc).__name__}: {exc}"
        return data


def _default_selector(encoder: str) -> BaseSelector:
    if encoder == "finetune":
        from langchain_premium.selectors.finetune import FinetuneSelector

        return FinetuneSelector()
    return EmbedSelector()


def _split_messages(messages: list[BaseMessage]) -> tuple[Any, list[BaseMessage]]:
    """The last human message is the query; what came before it is the history."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return messages[i].content, messages[:i]
    raise ValueError("the prompt has no human message to answer")

