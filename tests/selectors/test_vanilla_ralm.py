"""Vanilla (random tag sets) and RALM (untrained retriever) behind the PremiumRunnable interface."""

from __future__ import annotations

import numpy as np
import pytest
from method_fakes import KeywordEmbeddings, RecordingChatModel, cfg

from langchain_premium import PremiumRunnable, RandomSelector, RetrieverSelector, SQLiteMemory, TagLibrary
from langchain_premium.result import PremiumResult

TAGS = ["Baking", "Yoga", "Chess", "Jazz", "Hiking", "Sailing", "Poetry", "Gardening"]


@pytest.fixture
def library() -> TagLibrary:
    return TagLibrary(TAGS)


@pytest.fixture
def embeddings() -> KeywordEmbeddings:
    return KeywordEmbeddings([t.lower() for t in TAGS] + ["bread"])


def build(selector, library, embeddings, memory, seed=0, **kwargs) -> PremiumRunnable:
    return PremiumRunnable(llm=RecordingChatModel(), selector=selector, tag_library=library,
                           memory=memory, embeddings=embeddings, k=2, m=3, seed=seed, **kwargs)


def test_vanilla_gives_m_distinct_library_sets_and_never_learns(library, embeddings, memory):
    premium = build(RandomSelector(), library, embeddings, memory)
    assert premium.key == "vanilla"
    seen = set()
    for i in range(5):
        result = premium.invoke({"query": f"question {i}"}, config=cfg("alice"))
        assert isinstance(result, PremiumResult) and result.method == "vanilla"
        sets = [frozenset(c.tags) for c in result.candidates]
        assert len(sets) == 3 and len(set(sets)) == 3
        assert all(len(c.tags) == 2 and set(c.tags) <= set(TAGS) for c in result.candidates)
        seen |= set(sets)
        receipt = result.feedback([2, 0, 1])
        assert receipt.pairs == 3 and receipt.trained is False
    assert len(seen) > 3  # random, not a fixed list
    assert memory.count_pairs("alice") == 15
    assert memory.load_state("alice", "vanilla") is None  # nothing learned, nothing saved
    profile = premium.user_profile("alice").tags
    assert np.allclose(list(profile.values()), 1 / len(TAGS))


def test_vanilla_is_reproducible_with_a_seed(library, embeddings):
    draws = []
    for _ in range(2):
        premium = build(RandomSelector(), library, embeddings, SQLiteMemory(), seed=7)
        draws.append([c.tags for c in premium.invoke("q", config=cfg("a")).candidates])
    assert draws[0] == draws[1]


def test_ralm_picks_the_tags_most_similar_to_the_query_and_ignores_feedback(library, embeddings, memory):
    premium = build(RetrieverSelector(), library, embeddings, memory)
    assert premium.key == "ralm"
    query = {"query": "baking bread while hiking"}
    result = premium.invoke(query, config=cfg("alice", explore=False))
    assert set(result.candidates[0].tags) == {"Baking", "Hiking"}
    assert all({"Baking", "Hiking"} & set(c.tags) for c in result.candidates)
    # The user prefers the last candidate, repeatedly: RALM does not move.
    for _ in range(3):
        again = premium.invoke(query, config=cfg("alice"))
        assert again.feedback([2, 1, 0]).trained is False
    assert [c.tags for c in premium.invoke(query, config=cfg("alice")).candidates] == [
        c.tags for c in result.candidates
    ]


def test_forget_user_removes_vanilla_and_ralm_rows(library, embeddings, memory):
    for selector in (RandomSelector(), RetrieverSelector()):
        premium = build(selector, library, embeddings, memory)
        premium.invoke("yoga at home", config=cfg("alice")).feedback([0, 1, 2])
        premium.invoke("yoga at home", config=cfg("bob")).feedback([0, 1, 2])
    premium.forget_user("alice")
    assert memory.interactions("alice") == [] and memory.count_pairs("alice") == 0
    assert "alice" not in memory.users() and memory.count_pairs("bob") == 6
