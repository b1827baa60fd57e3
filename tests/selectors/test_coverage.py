"""Coverage: kernel, set coverage and set scores, and what PREMIUM-Embed does with them."""

from __future__ import annotations

import numpy as np
import pytest

from langchain_premium.encoding import TagEmbeddingCache
from langchain_premium.records import PreferencePair, TagSet
from langchain_premium.selectors import EmbedSelector, SelectionContext
from langchain_premium.selectors.coverage import CoverageUtility, coverage_kernel, set_coverage
from langchain_premium.tags import TagLibrary


def unit(rows):
    rows = np.asarray(rows, dtype=np.float64)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_kernel_covers_a_tag_fully_a_neighbour_in_part_and_a_stranger_not_at_all():
    vectors = unit([[1, 0], [0.8, 0.6], [0, 1]])
    kernel = coverage_kernel(vectors, vectors, ["a", "near a", "far"], ["a", "near a", "far"], floor=0.5)
    assert np.allclose(np.diag(kernel), 1.0)
    assert kernel[1, 0] == pytest.approx((0.8 - 0.5) / 0.5)
    assert kernel[2, 0] == 0.0  # cos 0 is below the floor
    # Without a floor a tag covers only itself: the paper's sum of per-tag scores.
    assert np.array_equal(coverage_kernel(vectors, vectors, list("abc"), list("abc"), None), np.eye(3))


def test_set_coverage_is_the_best_tag_per_topic():
    rng = np.random.default_rng(0)
    kernel = rng.random((6, 4))
    subsets = [(0, 2), (1, 3, 5), (4,)]
    expected = [[max(kernel[t, j] for t in s) for j in range(4)] for s in subsets]
    assert np.allclose(set_coverage(kernel, subsets), expected)


def test_a_synonym_adds_nothing_to_a_topic_the_set_already_covers():
    # tags: 0 Ecology, 1 its synonym, 2 Jazz; topics: Ecology, Jazz.
    kernel = np.array([[1.0, 0.0], [0.9, 0.0], [0.0, 1.0]])
    utility = CoverageUtility(additive=np.zeros(3), kernel=kernel, weights=np.array([2.0, 1.0]))
    assert utility([(0, 1), (0, 2)]).tolist() == pytest.approx([2.0, 3.0])
    # A sum of per-tag scores would rank the pair of synonyms first (2 + 1.8 > 2 + 1).
    assert utility.best_sets([0, 1, 2], k=2, m=1) == [(0, 2)]
    # Under draws of the weights each column is that draw's score.
    offsets = np.array([[0.0, 0.0], [-2.0, 1.0]])
    assert utility([(0, 2)], offsets)[0].tolist() == pytest.approx([3.0, 2.0])


def test_best_sets_agree_with_brute_force():
    rng = np.random.default_rng(1)
    kernel = rng.random((7, 5)) * (rng.random((7, 5)) > 0.5)
    utility = CoverageUtility(rng.normal(size=7), kernel, rng.normal(size=5))
    from itertools import combinations

    brute = sorted(combinations(range(7), 3), key=lambda s: -utility([s])[0])[:4]
    assert utility.best_sets(range(7), k=3, m=4) == brute


@pytest.fixture(scope="module")
def cache(embeddings):
    return TagEmbeddingCache(embeddings)


TAGS = ["Ecology", "Environmental science", "Jazz", "Tax law", "Chess", "Sailing", "Baking", "Poetry"]


def ecology_wins(cache, n=12):
    """Pairs in which a set with Ecology beats one without it or its neighbour."""
    rng = np.random.default_rng(0)
    others = ["Jazz", "Tax law", "Chess", "Sailing", "Baking", "Poetry"]
    query = cache.matrix(["a query"])[0]
    pairs = []
    for i in range(n):
        a, b, c = rng.choice(others, 3, replace=False)
        pairs.append(PreferencePair(run_id=f"r{i}", user_id="u", winner=TagSet(tags=("Ecology", a)),
                                    loser=TagSet(tags=(b, c)), query_embedding=query))
    return pairs


@pytest.mark.parametrize("coverage", [0.4, None])
def test_a_liked_topic_lifts_its_neighbour_only_with_coverage(cache, coverage):
    library = TagLibrary(TAGS)
    selector = EmbedSelector(coverage=coverage, use_user_vector=False, max_hypotheses=None)  # the encoder alone
    state = selector.learn(selector.initial_state(library), ecology_wins(cache), library, cache,
                           np.random.default_rng(0))
    scores = dict(zip(library.all_tags, selector.scores(state, SelectionContext(library=library, tag_cache=cache, query_embedding=None))))
    lift = scores["Environmental science"] - scores["Sailing"]  # both never ranked (Sailing lost)
    if coverage is None:
        assert lift < 0.5
    else:
        assert lift > 0.5
        assert scores["Ecology"] > scores["Environmental science"]  # the topic itself covers it best


def test_the_best_set_does_not_pair_a_topic_with_its_neighbour(cache):
    library = TagLibrary(TAGS)
    # The encoder alone (no belief over the set); the user vector would lift the neighbour too.
    # A floor of 0.4 keeps Jazz clear of the losing topics (at 0.2 it covers them a little).
    selector = EmbedSelector(use_user_vector=False, max_hypotheses=None, coverage=0.4)
    query = cache.matrix(["a query"])[0]
    jazz = [PreferencePair(run_id=f"j{i}", user_id="u", winner=TagSet(tags=("Jazz", "Chess")),
                           loser=TagSet(tags=("Tax law", "Baking")), query_embedding=query) for i in range(4)]
    state = selector.learn(selector.initial_state(library), ecology_wins(cache) + jazz, library, cache,
                           np.random.default_rng(0))
    context = SelectionContext(library=library, tag_cache=cache, query_embedding=None)
    scores = dict(zip(library.all_tags, selector.scores(state, context)))
    # Tag by tag the neighbour outscores Jazz (it covers part of Ecology) ...
    assert scores["Environmental science"] > scores["Jazz"] > 0
    # ... but next to Ecology it adds nothing, so the best set takes Jazz.
    best = selector.select(state, context, k=2, m=3, n_explore=0, explore=False, rng=np.random.default_rng(0))
    assert set(best[0].tags) == {"Ecology", "Jazz"}


def test_states_without_topics_still_load_and_score(cache):
    library = TagLibrary(TAGS)
    selector = EmbedSelector()
    state = selector.learn(selector.initial_state(library), ecology_wins(cache), library, cache,
                           np.random.default_rng(0))
    assert "Ecology" in state.topics
    restored = selector.loads(selector.dumps(state), library)
    assert restored.topics == state.topics
    old = selector.loads(selector.dumps(state.__class__(**{**state.__dict__, "topics": []})), library)
    assert old.topics == [] and np.isfinite(selector.scores(old, SelectionContext(library=library, tag_cache=cache, query_embedding=None))).all()


def test_bad_coverage_floor_is_refused():
    with pytest.raises(ValueError, match="coverage"):
        EmbedSelector(coverage=1.0)
