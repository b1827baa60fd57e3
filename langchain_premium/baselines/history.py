"""A user's text history for the text baselines: (query, the answer the user ranked first) items."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Iterable, Optional

from langchain_premium.memory import SQLiteMemory
from langchain_premium.records import Interaction, TagSet

__all__ = ["HistoryItem", "add_history", "require_text", "user_history"]


@dataclass(frozen=True)
class HistoryItem:
    """One past item: what the user asked and the answer they preferred (ranked first).

    Example:
        >>> HistoryItem("A dog runs a cafe.", "comedy", "history-1").answer
        'comedy'
    """

    query: str
    answer: str
    run_id: str


def require_text(memory: SQLiteMemory, who: str) -> None:
    """Raise a clear error unless ``memory`` keeps query and answer text.

    Example:
        >>> require_text(SQLiteMemory(), "TidyBotRunnable")
        Traceback (most recent call last):
        ValueError: TidyBotRunnable learns from the text of past queries and answers, ...
    """
    if not isinstance(memory, SQLiteMemory):
        raise TypeError(f"{who} needs a SQLiteMemory, got {type(memory).__name__}")
    if not memory.store_text:
        raise ValueError(
            f"{who} learns from the text of past queries and answers, but this memory does not "
            "keep text: open it with SQLiteMemory(path, store_text=True) (PREMIUM itself needs "
            "no text)"
        )


def user_history(
    memory: SQLiteMemory, user_id: str, method: str, *, limit: Optional[int] = None
) -> list[HistoryItem]:
    """The user's ranked interactions under ``method`` as history items, oldest first.

    ``limit`` keeps the most recent items. Interactions stored without text are skipped.

    Example:
        >>> memory = SQLiteMemory(store_text=True)
        >>> add_history(memory, "alice", "tidybot", [("A dog runs a cafe.", "comedy")])
        1
        >>> user_history(memory, "alice", "tidybot", limit=10)
        [HistoryItem(query='A dog runs a cafe.', answer='comedy', run_id='history-...')]
    """
    items = []
    for interaction in memory.interactions(user_id, method=method, ranked_only=True, limit=limit):
        if interaction.query is None or not interaction.answers or not interaction.ranking:
            continue
        items.append(HistoryItem(interaction.query, interaction.answers[interaction.ranking[0]],
                                 interaction.run_id))
    return items


def add_history(
    memory: SQLiteMemory, user_id: str, method: str, items: Iterable[tuple[str, str]]
) -> int:
    """Store ``(query, preferred answer)`` items as already-ranked one-answer interactions of
    ``method`` (e.g. LaMP-2 profile items); return how many. They produce no preference pairs,
    are part of the user's history like any ranked interaction, and ``forget_user`` removes them.

    Example:
        >>> memory = SQLiteMemory(store_text=True)
        >>> add_history(memory, "alice", "oppu", [("A dog runs a cafe.", "comedy")])
        1
    """
    require_text(memory, "add_history")
    count = 0
    for item in items:
        query, answer = item
        for what, value in (("query", query), ("answer", answer)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"history item {count}: the {what} must be a non-empty string, got {value!r}")
        run_id = f"history-{uuid.uuid4().hex}"
        memory.add_interaction(Interaction(
            run_id=run_id, user_id=user_id, method=method, candidates=[TagSet(tags=())],
            query=query, answers=[answer],
        ))
        memory.record_ranking(run_id, user_id=user_id, ranking=[0], pairs=[])
        count += 1
    return count
