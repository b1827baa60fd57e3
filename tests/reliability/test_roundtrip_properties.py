"""Property-based tests: rankings to pairs, and what the store gives back is what it was given."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from langchain_premium import EmbedSelector, FeedbackError, SQLiteMemory, TagLibrary
from langchain_premium.feedback import best_to_pairs, feedback_to_pairs, ranking_to_pairs
from langchain_premium.memory import StoredState
from langchain_premium.records import Interaction, TagSet
from langchain_premium.selectors.embed import EmbedState

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# --- rankings to pairs ----------------------------------------------------------------------------

rankings = st.integers(1, 7).flatmap(lambda m: st.permutations(list(range(m))))


@SETTINGS
@given(rankings)
def test_a_full_ranking_gives_every_pair_once_winner_first(ranking):
    m = len(ranking)
    pairs = ranking_to_pairs(ranking, m)
    assert len(pairs) == m * (m - 1) // 2 == len(set(pairs))
    position = {c: i for i, c in enumerate(ranking)}
    assert all(position[w] < position[l] for w, l in pairs)
    assert {frozenset(p) for p in pairs} == {frozenset(p) for p in itertools.combinations(range(m), 2)}


@SETTINGS
@given(st.integers(1, 6).flatmap(
    lambda m: st.tuples(st.just(m), st.lists(st.integers(-2, m + 1), min_size=0, max_size=m + 2))))
def test_anything_but_a_permutation_is_refused(case):
    m, ranking = case
    assume(sorted(ranking) != list(range(m)))
    with pytest.raises(FeedbackError):
        ranking_to_pairs(ranking, m)


@SETTINGS
@given(st.integers(2, 7).flatmap(lambda m: st.tuples(
    st.just(m), st.sets(st.integers(0, m - 1), min_size=2), st.data())))
def test_feedback_on_the_answers_that_exist_only_pairs_those(case):
    m, available, data = case
    usable = sorted(available)
    ranking = data.draw(st.permutations(usable))
    stored, pairs = feedback_to_pairs(m, ranking, available=usable)
    assert stored == list(ranking) and len(pairs) == len(usable) * (len(usable) - 1) // 2
    assert {i for p in pairs for i in p} <= set(usable)
    best = data.draw(st.sampled_from(usable))
    assert feedback_to_pairs(m, best=best, available=usable)[1] == [(best, o) for o in usable if o != best]
    assert best_to_pairs(best, m) == [(best, o) for o in range(m) if o != best]


# --- store round trips ----------------------------------------------------------------------------

texts = st.text(min_size=1, max_size=20)
tag_sets = st.builds(
    TagSet,
    tags=st.lists(texts, min_size=1, max_size=4, unique=True).map(tuple),
    styles=st.lists(texts, max_size=2).map(tuple),
    source=st.sampled_from(["selector", "exploration"]),
    score=st.floats(allow_nan=False, allow_infinity=False),
)
embeddings = st.lists(st.floats(width=32), min_size=1, max_size=16)


@SETTINGS
@given(
    run_id=texts, user_id=texts, method=texts,
    candidates=st.lists(tag_sets, min_size=1, max_size=5), embedding=embeddings | st.none(),
    query=st.text(max_size=200), store_text=st.booleans(), data=st.data(),
)
def test_an_interaction_comes_back_as_it_was_stored(run_id, user_id, method, candidates, embedding,
                                                    query, store_text, data):
    answers = data.draw(st.lists(st.text(max_size=100), min_size=len(candidates),
                                 max_size=len(candidates)))
    with SQLiteMemory(store_text=store_text) as memory:
        memory.add_interaction(Interaction(run_id, user_id, method, candidates,
                                           query_embedding=embedding, query=query, answers=answers))
        got = memory.get_interaction(run_id)
        assert memory.users() == [user_id]
    assert (got.run_id, got.user_id, got.method, got.candidates) == (run_id, user_id, method, candidates)
    if embedding is None:
        assert got.query_embedding is None
    else:
        np.testing.assert_array_equal(got.query_embedding, np.asarray(embedding, np.float32))
    assert (got.query, got.answers) == ((query, answers) if store_text else (None, None))
    assert got.ranking is None


@SETTINGS
@given(st.lists(tag_sets, min_size=1, max_size=6).flatmap(
    lambda cs: st.tuples(st.just(cs), st.permutations(list(range(len(cs)))))))
def test_the_pairs_of_a_ranking_come_back_in_order(case):
    candidates, ranking = case
    with SQLiteMemory() as memory:
        memory.add_interaction(Interaction("run", "ada", "embed", candidates, query_embedding=[1.0]))
        expected = ranking_to_pairs(ranking, len(candidates))
        assert memory.record_ranking("run", user_id="ada", ranking=ranking, pairs=expected) == len(expected)
        pairs = memory.pairs("ada")
        assert [(p.winner, p.loser) for p in pairs] == [(candidates[w], candidates[l]) for w, l in expected]
        assert memory.count_pairs("ada") == len(expected)
        assert memory.get_interaction("run").ranking == list(ranking)


@SETTINGS
@given(st.lists(st.tuples(st.binary(max_size=300), st.integers(0, 10**6)), min_size=1, max_size=6))
def test_saved_states_come_back_and_versions_count_the_saves(saves):
    with SQLiteMemory() as memory:
        version = None
        for blob, pairs_seen in saves:
            version = memory.save_state("ada", "embed", blob, expected_version=version,
                                        pairs_seen=pairs_seen)
        stored = memory.load_state("ada", "embed")
    assert stored == StoredState(saves[-1][0], len(saves), saves[-1][1], stored.updated_at)


def _accepted(tag: str) -> bool:
    try:
        return TagLibrary([tag]).tags == (tag,)
    except ValueError:
        return False


library_tags = st.text(min_size=1, max_size=20).filter(_accepted)


@SETTINGS
@given(st.text(max_size=20), st.characters(categories=["Cc"]), st.text(max_size=20))
def test_tags_with_control_characters_are_refused(before, control, after):
    with pytest.raises(ValueError, match="control characters"):
        TagLibrary([f"a{before}{control}{after}a"])  # inside the tag, where strip() cannot reach


@SETTINGS
@given(st.lists(library_tags, min_size=1, max_size=8, unique=True).flatmap(
    lambda tags: st.tuples(
        st.just(tags),
        st.lists(st.floats(-50, 50, width=32), min_size=len(tags), max_size=len(tags)),
        st.lists(st.floats(0.5, 1e4, width=32), min_size=len(tags), max_size=len(tags)),
        st.lists(st.floats(-5, 5, width=32), max_size=8),
        st.floats(-3, 5), st.integers(0, 1000), st.integers(0, 10**6),
    )))
def test_an_embed_state_survives_dumps_and_loads(case):
    tags, bias, precision, vector, log_scale, n_updates, n_pairs = case
    state = EmbedState(tags=list(tags), bias=np.array(bias, np.float32),
                       precision=np.array(precision, np.float32),
                       user_vector=np.array(vector, np.float32), log_scale=log_scale,
                       n_updates=n_updates, n_pairs=n_pairs)
    selector = EmbedSelector()
    got = selector.loads(selector.dumps(state), TagLibrary(["Anything"]))
    assert got.tags == state.tags
    for name in ("bias", "precision", "user_vector"):
        np.testing.assert_array_equal(getattr(got, name), getattr(state, name))
    assert (got.log_scale, got.n_updates, got.n_pairs) == (log_scale, n_updates, n_pairs)
