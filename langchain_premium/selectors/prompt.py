"""PREMIUM-Prompt: an LLM candidate generator reads the user's recent rankings and proposes tag sets."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

import numpy as np
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable

from langchain_premium.memory import SQLiteMemory
from langchain_premium.prompts import (
    CANDIDATE_GENERATOR_PROMPT,
    CANDIDATE_GENERATOR_RETRY,
    NO_HISTORY,
    format_interaction_history,
    output_text,
)
from langchain_premium.records import TagSet
from langchain_premium.selectors.base import BaseSelector, SelectionContext
from langchain_premium.selectors.candidate_output import (
    InvalidCandidatesError,
    check_candidates,
    parse_candidate_output,
    repair_candidates,
)
from langchain_premium.selectors.sets import choose_styles

__all__ = ["CandidateRepair", "PromptSelector"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CandidateRepair:
    """One answer of the candidate generator that needed repairing, and what was done.

    ``action`` is ``"retried"`` (the retry gave valid sets), ``"filled"`` (the sets were
    completed from the library) or ``"raised"`` (``on_invalid="raise"``).
    """

    user_id: Optional[str]
    errors: list[str]
    action: Literal["retried", "filled", "raised"]
    retry_errors: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    filled: list[str] = field(default_factory=list)


class PromptSelector(BaseSelector):
    """PREMIUM-Prompt (paper Section 3): an LLM proposes the m tag sets from the user's history.

    For each query the **LLM Candidate Generator** ``llm`` receives the Tag Library, the query
    and the user's last ``history_size`` ranked interactions (each: the earlier query, its tag
    sets, the answers and the user's ranking) and writes ``m`` tag sets of ``k`` tags. It does not
    learn parameters: the Interaction History Buffer *is* the memory, read afresh every time, so
    ``forget_user`` empties it.

    Its answer is checked against the library: unknown tags, wrong counts, repeated tags, equal
    sets or an unreadable answer lead to one retry that explains the errors; if the retry fails
    too, ``on_invalid="repair"`` (default) drops the invalid tags and fills the sets from the
    library, best match to the query first, while ``on_invalid="raise"`` raises
    :class:`InvalidCandidatesError`. Every repair is logged (warning) and kept in
    :attr:`repairs`. A tag that is not in the library never reaches a prompt.

    Needs the query and answer texts, so ``memory`` must be the runnable's memory opened with
    ``SQLiteMemory(store_text=True)``. The generator's answer sets every candidate, so
    ``n_explore`` and ``explore`` do not apply; binary styles, when the library has them, are
    drawn at random.

    Example:
        >>> from langchain_premium import PremiumRunnable
        >>> from langchain_premium.offline import OfflineChatModel
        >>> llm = OfflineChatModel()
        >>> memory = SQLiteMemory(store_text=True)  # or SQLiteMemory("premium.db", store_text=True)
        >>> selector = PromptSelector(llm, history_size=5, memory=memory)
        >>> premium = PremiumRunnable(llm=llm, memory=memory, selector=selector)

    The example of :meth:`messages` continues from this one.

    Args:
        llm: the candidate generator (any chat model or Runnable taking messages).
        history_size: ``s``, how many recent ranked interactions it reads (paper: 5).
        memory: where the user's interactions are (the runnable's memory, ``store_text=True``).
        method: the runnable's method key, whose interactions are read (default ``name``).
        on_invalid: ``"repair"`` or ``"raise"`` once the retry also fails.
        max_retries: retries with the errors explained before repairing or raising.
        max_answer_chars: each past answer is cut to this many characters in the prompt.
        max_repairs_kept: how many :class:`CandidateRepair` records :attr:`repairs` keeps.
    """

    name = "premium-prompt"
    learns = False

    def __init__(
        self,
        llm: Runnable,
        history_size: int = 5,
        *,
        memory: Optional[SQLiteMemory] = None,
        method: Optional[str] = None,
        on_invalid: Literal["repair", "raise"] = "repair",
        max_retries: int = 1,
        max_answer_chars: int = 400,
        max_repairs_kept: int = 1000,
    ) -> None:
        self.llm = llm
        self.history_size = history_size
        self.memory = memory
        self.method = method
        self.on_invalid = on_invalid
        self.max_retries = max_retries
        self.max_answer_chars = max_answer_chars
        if history_size < 0:
            raise ValueError(f"history_size must be >= 0, got {history_size}")
        if on_invalid not in ("repair", "raise"):
            raise ValueError(f"on_invalid must be 'repair' or 'raise', got {on_invalid!r}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if memory is not None and not memory.store_text:
            raise ValueError(
                "PromptSelector reads past queries and answers, but this memory does not keep "
                "text: open it with SQLiteMemory(path, store_text=True)"
            )
        self.repairs: deque[CandidateRepair] = deque(maxlen=max_repairs_kept)
        self._repairs_lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"PromptSelector(history_size={self.history_size}, "
                f"on_invalid={self.on_invalid!r}, max_retries={self.max_retries})")

    @property
    def key(self) -> str:
        """The method key whose interactions form the history."""
        return self.method or self.name

    # -- the prompt ----------------------------------------------------------------------------

    def history_text(self, user_id: str) -> str:
        """The user's last ``history_size`` ranked interactions, formatted for the generator."""
        if self.memory is None:
            raise ValueError(
                "PromptSelector needs the runnable's memory to read the user's history: "
                "PromptSelector(llm, memory=memory) with the memory given to PremiumRunnable"
            )
        if self.history_size == 0:
            return NO_HISTORY
        past = self.memory.interactions(user_id, method=self.key, ranked_only=True,
                                        limit=self.history_size)
        blocks = []
        for interaction in past:
            if interaction.query is None or interaction.answers is None:
                # Stored before the memory kept text: nothing to show the generator.
                logger.warning("interaction %r has no stored text; PromptSelector skips it",
                               interaction.run_id)
                continue
            blocks.append(format_interaction_history(
                len(blocks) + 1, interaction.query, [c.tags for c in interaction.candidates],
                interaction.answers, interaction.ranking or [], self.max_answer_chars,
            ))
        return "\n".join(blocks) if blocks else NO_HISTORY

    def messages(self, context: SelectionContext, *, k: int, m: int) -> list[BaseMessage]:
        """The candidate generator's prompt for this query and user.

        Example:
            >>> context = SelectionContext(library=premium.tag_library, tag_cache=premium.tag_cache,
            ...                            query_embedding=None, query="Plan a trip", user_id="alice")
            >>> selector.messages(context, k=3, m=3)[1].content.splitlines()[0]
            '(Task) Propose 3 tag sets of 3 tags each.'
        """
        if not context.user_id:
            raise ValueError("PromptSelector needs the user id in the selection context")
        return CANDIDATE_GENERATOR_PROMPT.format_messages(
            k=k, m=m, tag_library=", ".join(context.library.tags),
            query=context.query or "", histories=self.history_text(context.user_id),
        )

    # -- selection -----------------------------------------------------------------------------

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
        library = context.library
        tags = list(library.tags)
        messages = self.messages(context, k=k, m=m)
        answer = output_text(self.llm.invoke(messages))
        raw = parse_candidate_output(answer, tags)
        check = check_candidates(raw, tags, k=k, m=m)
        first_errors = list(check.errors)
        retry_errors: list[str] = []
        for _ in range(self.max_retries if not check.ok else 0):
            retry = CANDIDATE_GENERATOR_RETRY.format(errors="; ".join(check.errors), k=k, m=m)
            messages = [*messages, AIMessage(answer), HumanMessage(retry)]
            answer = output_text(self.llm.invoke(messages))
            raw = parse_candidate_output(answer, tags)
            check = check_candidates(raw, tags, k=k, m=m)
            retry_errors = list(check.errors)
            if check.ok:
                break
        if check.ok:
            sets = list(check.sets)
            if first_errors:
                self._record(CandidateRepair(context.user_id, first_errors, "retried"))
        elif self.on_invalid == "raise":
            self._record(CandidateRepair(context.user_id, first_errors, "raised", retry_errors))
            raise InvalidCandidatesError(
                "the candidate generator's answer is not valid after "
                f"{self.max_retries} retr{'y' if self.max_retries == 1 else 'ies'}: "
                + "; ".join(check.errors)
            )
        else:
            sets, dropped, filled = repair_candidates(
                raw, tags, k=k, m=m, fill_order=self._fill_order(context)
            )
            self._record(CandidateRepair(context.user_id, first_errors, "filled", retry_errors,
                                         dropped, filled))
        styles_rng = rng if library.binary_pairs else None
        return [
            TagSet(tags=tuple(s), source="selector",
                   styles=choose_styles(library, rng=styles_rng) if styles_rng else ())
            for s in sets
        ]

    def _fill_order(self, context: SelectionContext) -> list[str]:
        """Library tags best first by similarity to the query (library order without one)."""
        tags = list(context.library.tags)
        if context.query_embedding is None:
            return tags
        scores = context.tag_cache.matrix(tags) @ np.asarray(context.query_embedding)
        return [tags[i] for i in np.argsort(-scores, kind="stable")]

    def _record(self, repair: CandidateRepair) -> None:
        with self._repairs_lock:
            self.repairs.append(repair)
        logger.warning(
            "candidate generator answer repaired (%s) for user %r: %s%s", repair.action,
            repair.user_id, "; ".join(repair.errors),
            f" | dropped {repair.dropped}, filled {repair.filled}" if repair.action == "filled" else "",
        )
