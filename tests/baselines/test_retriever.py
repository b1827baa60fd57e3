"""The BM25 user-history retriever: LangChain's retriever test suite, relevance, isolation."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from langchain_premium import SQLiteMemory
from langchain_premium.baselines import UserHistoryRetriever, add_history

ITEMS = [
    ("A cargo pilot finds signals in asteroid ore.", "sci-fi"),
    ("Two chefs fall in love during a cooking contest.", "romance"),
    ("A heist crew robs a casino on New Year's Eve.", "action"),
    ("An android questions its memories.", "sci-fi"),
    ("A village rations water under a cruel ministry.", "dystopia"),
]


def _memory() -> SQLiteMemory:
    memory = SQLiteMemory(store_text=True)
    add_history(memory, "alice", "oppu", ITEMS)
    add_history(memory, "bob", "oppu", [("A bob-only secret about asteroid ore.", "comedy")])
    return memory


class TestUserHistoryRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[UserHistoryRetriever]:
        return UserHistoryRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"memory": _memory(), "user_id": "alice", "method": "oppu"}

    @property
    def retriever_query_example(self) -> str:
        return "a robot in space"


def test_bm25_ranks_the_matching_item_first_and_stays_within_the_user():
    retriever = UserHistoryRetriever(memory=_memory(), user_id="alice", method="oppu", k=2)
    docs = retriever.invoke("signals from asteroid ore")
    assert docs[0].metadata == {"query": ITEMS[0][0], "answer": "sci-fi", "run_id": docs[0].metadata["run_id"]}
    assert all("bob-only" not in d.page_content for d in docs)
    assert len(retriever.invoke("anything", k=10)) == len(ITEMS)


def test_empty_history_and_text_free_memory():
    assert UserHistoryRetriever(memory=_memory(), user_id="carol", method="oppu").invoke("ore") == []
    with pytest.raises(ValueError, match="store_text=True"):
        UserHistoryRetriever(memory=SQLiteMemory(), user_id="alice", method="oppu")
