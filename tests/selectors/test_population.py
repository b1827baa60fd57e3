"""Population-based alignment: one selector trained on everybody's pooled pairs."""

from __future__ import annotations

import numpy as np
import pytest
from method_fakes import KeywordEmbeddings, RecordingChatModel, cfg, one_torch_thread

from langchain_premium import PremiumRunnable, SQLiteMemory, TagLibrary
from langchain_premium.methods import build_method
from langchain_premium.selectors.population import POPULATION_USER_ID, PopulationSelector

TAGS = ["Baking", "Yoga", "Chess", "Jazz", "Hiking", "Sailing", "Poetry", "Gardening"]


@pytest.fixture(autouse=True)
def _fast_torch():
    with one_torch_thread():
        yield


@pytest.fixture
def setup():
    memory = SQLiteMemory()
    library = TagLibrary(TAGS)
    premium = PremiumRunnable(
        llm=RecordingChatModel(), selector=PopulationSelector(memory), tag_library=library,
        memory=memory, embeddings=KeywordEmbeddings([t.lower() for t in TAGS]), k=2, m=3, seed=0,
    )
    yield premium, memory
    memory.close()


def prefer(premium, user, tag, rounds=4):
    """The user ranks the candidates holding ``tag`` first."""
    for i in range(rounds):
        result = premium.invoke({"query": f"weekend plan {i}"}, config=cfg(user))
        order = sorted(range(len(result.candidates)), key=lambda j: tag not in result.candidates[j].tags)
        result.feedback(order)


def pool_bias(premium, tag):
    state = premium.selector.pool_state(premium.tag_library)
    return float(state.bias[state.tags.index(tag)])


def test_pooled_state_lives_under_the_reserved_user_and_applies_to_everyone(setup):
    premium, memory = setup
    prefer(premium, "alice", "Baking")
    prefer(premium, "bob", "Baking")
    stored = memory.load_state(POPULATION_USER_ID, "population")
    assert stored is not None
    assert stored.pairs_seen == memory.count_pairs("alice") + memory.count_pairs("bob") == 24
    # Pairs stay per user; only the shared state is pooled.
    assert {p.user_id for p in memory.pairs("alice")} == {"alice"}
    assert pool_bias(premium, "Baking") > 0
    # carol never gave feedback, yet gets the population's preference.
    top = premium.invoke("weekend plan", config=cfg("carol", explore=False)).candidates[0]
    assert "Baking" in top.tags
    assert premium.user_profile("carol").top(1)[0][0] == "Baking"


def test_each_users_feedback_goes_into_the_pool(setup):
    premium, memory = setup
    prefer(premium, "alice", "Baking")
    before = pool_bias(premium, "Chess")
    prefer(premium, "bob", "Chess", rounds=6)
    assert pool_bias(premium, "Chess") > before
    assert memory.load_state(POPULATION_USER_ID, "population").pairs_seen == 30


def test_forget_user_removes_their_pairs_from_the_pool_on_the_next_training(setup):
    premium, memory = setup
    prefer(premium, "alice", "Chess", rounds=6)
    prefer(premium, "bob", "Baking", rounds=3)
    assert pool_bias(premium, "Chess") > 0
    premium.forget_user("alice")
    prefer(premium, "bob", "Baking", rounds=1)  # bob's next feedback retrains the pool
    stored = memory.load_state(POPULATION_USER_ID, "population")
    assert stored.pairs_seen == memory.count_pairs("bob") == 12
    # Trained from scratch: identical to a pool that never saw alice.
    state = premium.selector.pool_state(premium.tag_library)
    fresh = premium.selector.base.learn(
        premium.selector.base.initial_state(premium.tag_library), memory.pairs("bob", method="population"),
        premium.tag_library, premium.tag_cache, np.random.default_rng(0),
    )
    aligned, _ = fresh.aligned(state.tags, 1.0)
    assert np.allclose(state.bias, aligned, atol=1e-5)


def test_retrain_purges_at_once_and_an_empty_pool_is_removed(setup):
    premium, memory = setup
    prefer(premium, "alice", "Chess")
    premium.forget_user("alice")
    assert premium.selector.retrain(premium.tag_library, premium.tag_cache) == 0
    assert memory.load_state(POPULATION_USER_ID, "population") is None
    assert pool_bias(premium, "Chess") == 0.0


def test_contributors_limit_the_pool(setup):
    premium, memory = setup
    premium.selector.contributors = ["bob"]
    prefer(premium, "alice", "Chess")
    prefer(premium, "bob", "Baking")
    assert memory.load_state(POPULATION_USER_ID, "population").pairs_seen == memory.count_pairs("bob")


def test_reserved_id_and_bad_arguments_are_refused(setup):
    premium, memory = setup
    with pytest.raises(ValueError, match="reserved"):
        premium.invoke("q", config=cfg(POPULATION_USER_ID))
    with pytest.raises(ValueError, match="reserved"):
        PopulationSelector(memory, contributors=[POPULATION_USER_ID])
    with pytest.raises(TypeError, match="SQLiteMemory"):
        PopulationSelector("premium.db")


def test_registered_as_population(memory):
    premium = build_method("population", RecordingChatModel(), tag_library=TagLibrary(TAGS),
                           memory=memory, embeddings=KeywordEmbeddings(TAGS), k=2, m=3, seed=0)
    assert premium.key == "population" and premium.selector.memory is memory
