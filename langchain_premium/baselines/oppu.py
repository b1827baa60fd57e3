"""OPPU-style baseline (without PEFT): a written profile plus BM25-retrieved history in the prompt."""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

from pydantic import Field

from langchain_premium.baselines.history import HistoryItem
from langchain_premium.baselines.profile import ProfileRunnable
from langchain_premium.baselines.retriever import UserHistoryRetriever
from langchain_premium.prompts import OPPU_PROFILE_PROMPT, format_user_history, retrieved_section

__all__ = ["OPPURunnable"]


class OPPURunnable(ProfileRunnable):
    """OPPU (Tan et al., 2024) as a baseline, without the per-user LoRA (as in the paper).

    For each query the prompt holds, in this order: the user's **profile** (written by
    ``profile_llm`` from the user's last ``history_size`` ≈ 10 history items, refreshed as
    feedback arrives), the user's ``top_k`` history items most relevant to the query by **BM25**
    (:class:`UserHistoryRetriever`; the paper uses k = 1, 2, 4), then the task. History items
    are queries with the answer the user ranked first. The m candidates combine that prompt
    with m tag sets from ``selector`` (default random, see :class:`ProfileRunnable`).

    Keeps the text of queries and answers, so it needs ``SQLiteMemory(store_text=True)``; the
    point of the paper is that PREMIUM needs none.

    Example:
        >>> from langchain_premium import SQLiteMemory, TagLibrary
        >>> from langchain_premium.offline import OfflineChatModel
        >>> oppu = OPPURunnable(llm=OfflineChatModel(), tag_library=TagLibrary.default(),
        ...                     memory=SQLiteMemory(store_text=True), top_k=2)
        >>> oppu.key
        'oppu'

    Args (besides :class:`PremiumRunnable`'s):
        top_k: history items retrieved per query.
        profile_llm: the profile writer (default: ``llm``).
        history_size: how many recent history items the profile is written from (default 10).
        max_item_chars: each query and answer is cut to this many characters in the prompt.
    """

    top_k: int = Field(default=2, ge=0)
    history_size: int = 10

    default_key: ClassVar[str] = "oppu"

    def retriever(self, user_id: str) -> UserHistoryRetriever:
        """The BM25 retriever over ``user_id``'s history with this method."""
        return UserHistoryRetriever(memory=self.memory, user_id=user_id, method=self.key, k=self.top_k)

    def write_profile(self, items: Sequence[HistoryItem]) -> str:
        recent = list(items)[-self.history_size:]
        history = format_user_history([(i.query, i.answer) for i in recent], self.max_item_chars)
        reply = self._profile_model().invoke(OPPU_PROFILE_PROMPT.format_messages(history=history))
        return self._reply_text(reply)

    def prompt_variables(self, user_id: str, query: str) -> dict[str, Any]:
        variables = super().prompt_variables(user_id, query)
        documents = self.retriever(user_id).invoke(query) if self.top_k else []
        items = [(d.metadata["query"], d.metadata["answer"]) for d in documents]
        variables["retrieved"] = items
        variables["retrieved_section"] = retrieved_section(items, self.max_item_chars)
        return variables
