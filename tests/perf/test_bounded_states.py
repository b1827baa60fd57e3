"""Serving many users holds a bounded number of decoded states; the rest stay in the database."""

from __future__ import annotations

import numpy as np
import pytest

from langchain_premium import EmbedSelector, PremiumRunnable, SQLiteMemory, TagLibrary
from langchain_premium.hash_embeddings import HashEmbeddings
from langchain_premium.perf import scale
from langchain_premium.perf.workload import InstantChatModel
from langchain_premium.runnable import DEFAULT_STATE_CACHE_SIZE
from langchain_premium.selectors.finetune import FinetuneSelector
from langchain_premium.state_cache import StateCache

TAGS = ["Baking", "Jazz", "Astronomy", "Tax law", "Cycling", "Poetry", "Chess", "Sailing"]


def test_state_cache_evicts_the_least_recently_used_user():
    cache = StateCache(maxsize=2)
    cache.put("a", 1, "A")
    cache.put("b", 1, "B")
    assert cache.get("a", 1) == "A"  # a is now the most recent
    cache.put("c", 1, "C")
    assert len(cache) == 2 and cache.get("b", 1) is None
    assert cache.get("a", 1) == "A" and cache.get("c", 1) == "C"


def test_state_cache_ignores_a_state_of_another_version():
    cache = StateCache(maxsize=4)
    cache.put("a", (1, "t1"), "old")
    assert cache.get("a", (2, "t2")) is None
    cache.put("a", (2, "t2"), "new")
    assert cache.get("a", (2, "t2")) == "new" and len(cache) == 1
    cache.pop("a")
    assert cache.get("a", (2, "t2")) is None
    with pytest.raises(ValueError):
        StateCache(maxsize=0)


def runnable(memory, **options):
    options.setdefault("selector", EmbedSelector(steps=2))  # learning is not what is tested here
    return PremiumRunnable(llm=InstantChatModel(), tag_library=TagLibrary(TAGS), memory=memory,
                           embeddings=HashEmbeddings(), k=2, m=3, seed=0, **options)


def test_the_cache_bound_comes_from_the_runnable_then_the_selector():
    memory = SQLiteMemory()
    assert runnable(memory)._states.maxsize == DEFAULT_STATE_CACHE_SIZE
    assert runnable(memory, state_cache_size=3)._states.maxsize == 3
    # A fine-tuned state holds two encoders: its selector asks for few (no model is loaded here).
    tuned = runnable(memory, selector=FinetuneSelector())
    assert tuned._states.maxsize == FinetuneSelector.state_cache_size
    with pytest.raises(ValueError):
        runnable(memory, state_cache_size=0)


def test_many_users_are_served_from_a_bounded_cache_with_their_own_states():
    memory = SQLiteMemory()
    premium = runnable(memory, state_cache_size=3)
    users = [f"user-{u}" for u in range(8)]
    for u, user in enumerate(users):
        result = premium.invoke("Plan my weekend", config={"configurable": {"user_id": user}})
        result.feedback([u % 3, (u + 1) % 3, (u + 2) % 3])
        premium.select_tag_sets("Plan my weekend", user_id=user)
        assert len(premium._states) <= 3
    # Evicted users come back from the database, each with their own learned state.
    for user in users:
        assert premium._load_state(user).n_updates == 1
        assert len(premium._states) <= 3
    stored = premium.memory.load_state(users[0], premium.key)
    reloaded = premium.selector.loads(stored.blob, premium.tag_library)
    assert np.array_equal(premium._load_state(users[0]).bias, reloaded.bias)


def test_a_cached_state_is_replaced_when_the_stored_one_changes():
    memory = SQLiteMemory()
    premium = runnable(memory)
    config = {"configurable": {"user_id": "ada"}}
    premium.invoke("Plan my weekend", config=config).feedback([0, 1, 2])
    first = premium._load_state("ada")
    assert premium._load_state("ada") is first  # cached: not decoded again
    other = runnable(memory)  # another server sharing the database updates ada
    other.invoke("Plan my weekend", config=config).feedback([2, 1, 0])
    assert premium._load_state("ada").n_updates == first.n_updates + 1


def test_state_stamp_names_the_stored_state_without_reading_it():
    memory = SQLiteMemory()
    assert memory.state_stamp("ada", "k") is None
    memory.save_state("ada", "k", b"one", expected_version=None, pairs_seen=1)
    stored = memory.load_state("ada", "k")
    assert memory.state_stamp("ada", "k") == (stored.version, stored.updated_at) == (1, stored.updated_at)
    memory.save_state("ada", "k", b"two", expected_version=1, pairs_seen=2)
    assert memory.state_stamp("ada", "k")[0] == 2
    memory.forget_user("ada")
    assert memory.state_stamp("ada", "k") is None


def test_the_serving_benchmark_loads_states_on_demand(tmp_path, monkeypatch):
    monkeypatch.setattr(scale, "_TEMPLATE_USERS", 2)  # users trained for real; the rest copy them
    path = str(tmp_path / "users.db")
    built = scale.build_users(path, 12, embeddings=HashEmbeddings())
    assert built["n_users"] == 12 and built["db_bytes"] > 0 and built["interactions_per_user"] == 2
    served = scale.serve_users(path, 12, cache_size=4, train_every=6, embeddings=HashEmbeddings())
    assert served["users_with_state"] == 12
    assert served["cache_size"] == 4 and 0 < served["cached_states"] <= 4
    assert served["peak_rss_mb"] > 0
