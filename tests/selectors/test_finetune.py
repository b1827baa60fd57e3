"""FinetuneSelector: the paper's per-user fine-tuning of both encoders, on a few fast steps."""

from __future__ import annotations

import numpy as np
import pytest

from langchain_premium import PremiumRunnable, SQLiteMemory, TagLibrary
from langchain_premium.encoding import TagEmbeddingCache, embed_query
from langchain_premium.errors import MissingTextError
from langchain_premium.offline import OfflineChatModel
from langchain_premium.records import PreferencePair, TagSet
from langchain_premium.selectors.base import SelectionContext
from langchain_premium.selectors.finetune import FinetuneSelector, FinetuneState

TAGS = ["Baking", "Jazz", "Astronomy", "Gardening", "Chess", "Cycling", "Poetry", "Finance"]
LIKED, DISLIKED = ("Baking", "Gardening", "Poetry"), ("Jazz", "Chess", "Finance")
QUERIES = ["What should I do this weekend?", "Give me an idea for a relaxing evening."]


@pytest.fixture(scope="module")
def library() -> TagLibrary:
    return TagLibrary(TAGS)


@pytest.fixture(scope="module")
def tag_cache(embeddings) -> TagEmbeddingCache:
    return TagEmbeddingCache(embeddings)


def pairs(with_text: bool = True) -> list[PreferencePair]:
    return [
        PreferencePair(
            run_id=f"run-{i}", user_id="ada", winner=TagSet(LIKED), loser=TagSet(DISLIKED),
            query=query if with_text else None,
        )
        for i, query in enumerate(QUERIES)
    ]


def context(library, tag_cache, embeddings, query=QUERIES[0]) -> SelectionContext:
    return SelectionContext(
        library=library, tag_cache=tag_cache, query_embedding=embed_query(embeddings, query), query=query,
    )


def margin(selector, state, ctx) -> float:
    scores = selector.scores(state, ctx)
    return float(sum(scores[TAGS.index(t)] for t in LIKED) - sum(scores[TAGS.index(t)] for t in DISLIKED))


@pytest.fixture(scope="module")
def trained(library, tag_cache):
    selector = FinetuneSelector(batches=3, batch_size=4, lr=5e-4)
    state = selector.learn(selector.initial_state(library), pairs(), library, tag_cache, np.random.default_rng(0))
    return selector, state


def test_training_moves_scores_towards_the_preferred_tags(trained, library, tag_cache, embeddings):
    selector, state = trained
    ctx = context(library, tag_cache, embeddings)
    before = margin(selector, selector.initial_state(library), ctx)
    assert state.trained and state.n_updates == 1 and state.n_pairs == 2
    assert margin(selector, state, ctx) > before
    # The preferred tags come first in the greedy selection.
    best = selector.select(state, ctx, k=3, m=1, n_explore=0, explore=False, rng=np.random.default_rng(0))
    assert set(best[0].tags) == set(LIKED)


def test_initial_state_is_the_shared_base_model_without_a_copy(library, tag_cache, embeddings):
    selector = FinetuneSelector()
    state = selector.initial_state(library)
    assert state.query_encoder is None and state.tag_encoder is None
    ctx = context(library, tag_cache, embeddings)
    expected = 10.0 * tag_cache.matrix(list(library.all_tags)) @ ctx.query_embedding
    np.testing.assert_allclose(selector.scores(state, ctx), expected, rtol=1e-5)
    assert len(selector.dumps(state)) < 1024


def test_state_round_trip_keeps_the_scores(trained, library, tag_cache, embeddings):
    selector, state = trained
    blob = selector.dumps(state)
    assert blob[:2] != b"PK" and len(blob) > 100_000_000  # safetensors: both encoders' weights
    loaded = selector.loads(blob, library)
    assert isinstance(loaded, FinetuneState) and (loaded.n_updates, loaded.n_pairs) == (1, 2)
    ctx = context(library, tag_cache, embeddings)
    np.testing.assert_allclose(selector.scores(loaded, ctx), selector.scores(state, ctx), rtol=1e-4, atol=1e-4)
    untrained = selector.loads(selector.dumps(selector.initial_state(library)), library)
    assert not untrained.trained


def test_select_returns_distinct_sets_with_exploration(trained, library, tag_cache, embeddings):
    selector, state = trained
    for exploration in ("random", "sample"):
        chosen = FinetuneSelector(exploration=exploration).select(
            state, context(library, tag_cache, embeddings), k=3, m=3, n_explore=2, explore=True,
            rng=np.random.default_rng(1),
        )
        assert [s.source for s in chosen] == ["selector", "exploration", "exploration"]
        assert len({s.tags for s in chosen}) == 3


def test_learning_without_query_text_names_store_text(library, tag_cache):
    selector = FinetuneSelector(batches=1)
    with pytest.raises(MissingTextError, match=r"store_text=True"):
        selector.learn(selector.initial_state(library), pairs(with_text=False), library, tag_cache,
                       np.random.default_rng(0))


def test_runnable_with_finetune_encoder_learns_from_one_feedback(library):
    memory = SQLiteMemory(store_text=True)
    premium = PremiumRunnable(llm=OfflineChatModel(), encoder="finetune", tag_library=library,
                              memory=memory, seed=0)
    assert isinstance(premium.selector, FinetuneSelector)
    config = {"configurable": {"user_id": "ada"}}
    result = premium.invoke(QUERIES[0], config=config)
    receipt = result.feedback([2, 0, 1])
    assert receipt.trained and receipt.pairs == 3
    assert memory.load_state("ada", premium.key).version == 1
    again = premium.invoke(QUERIES[1], config=config)  # served from the fine-tuned encoders
    assert len(again.candidates) == 3
    assert premium.user_profile("ada").top(1)
    memory.close()


def test_runnable_without_stored_text_explains_the_fix(library):
    premium = PremiumRunnable(llm=OfflineChatModel(), encoder="finetune", tag_library=library,
                              memory=SQLiteMemory(), seed=0)
    result = premium.invoke(QUERIES[0], config={"configurable": {"user_id": "ada"}})
    with pytest.raises(MissingTextError, match=r"SQLiteMemory\(path, store_text=True\)"):
        result.feedback([0, 1, 2])
