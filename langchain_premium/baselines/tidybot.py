"""TidyBot-style baseline: a model summarises the user's history into a one-line profile."""

from __future__ import annotations

from typing import ClassVar, Sequence

from langchain_premium.baselines.history import HistoryItem
from langchain_premium.baselines.profile import ProfileRunnable
from langchain_premium.prompts import TIDYBOT_SUMMARY_PROMPT, format_user_history

__all__ = ["TidyBotRunnable"]


class TidyBotRunnable(ProfileRunnable):
    """TidyBot (Wu et al., 2023) as a baseline: summarise what the user chose, then prompt with it.

    A model (``profile_llm``, default ``llm``; use one set to temperature 0, as TidyBot does)
    reads the user's last ``history_size`` history items (each query with the answer the user
    ranked first) after two worked examples (few-shot) and writes a short summary of their
    preferences; the **first line** is kept as the profile. It is refreshed as feedback arrives
    (every ``update_every`` new items) and placed in front of the generation prompt. The m
    candidates combine that prompt with m tag sets from ``selector`` (default random, see
    :class:`ProfileRunnable`).

    Keeps the text of queries and answers, so it needs ``SQLiteMemory(store_text=True)``; the
    point of the paper is that PREMIUM needs none.

    Example:
        >>> from langchain_premium import SQLiteMemory, TagLibrary
        >>> from langchain_premium.hash_embeddings import HashEmbeddings
        >>> from langchain_premium.offline import OfflineChatModel
        >>> tidybot = TidyBotRunnable(llm=OfflineChatModel(), tag_library=TagLibrary.default(),
        ...                           memory=SQLiteMemory(store_text=True),
        ...                           embeddings=HashEmbeddings())  # a fast stand-in for MiniLM
        >>> result = tidybot.invoke("Plan a weekend", config={"configurable": {"user_id": "al"}})
        >>> result.feedback([2, 0, 1])
        FeedbackReceipt(run_id='...', user_id='al', pairs=3, trained=True)
        >>> tidybot.profile("al")
        "The user's preferred answers mostly concern ..."

    Args (besides :class:`PremiumRunnable`'s):
        profile_llm: the summariser (default: ``llm``).
        history_size: how many recent history items are summarised (default 20).
        max_item_chars: each query and answer is cut to this many characters in the prompt.
    """

    default_key: ClassVar[str] = "tidybot"

    def write_profile(self, items: Sequence[HistoryItem]) -> str:
        recent = list(items)[-self.history_size:]
        history = format_user_history([(i.query, i.answer) for i in recent], self.max_item_chars)
        reply = self._profile_model().invoke(TIDYBOT_SUMMARY_PROMPT.format_messages(history=history))
        lines = [line.strip() for line in self._reply_text(reply).splitlines() if line.strip()]
        return lines[0] if lines else ""
