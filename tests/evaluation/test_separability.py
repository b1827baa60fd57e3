"""swap_separability: the single-tag swaps of the bench's user and the judge's win probabilities."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from method_fakes import RecordingChatModel

from langchain_premium.evaluation.experiment import make_library, run_user
from langchain_premium.evaluation.separability import Separability, swap_separability
from langchain_premium.hash_embeddings import HashEmbeddings

SETUP, SEED = "2/6", 0  # k = 2 of n = 6: 2 * 4 = 8 swaps


def tags_of(answer: str) -> list[str]:
    """The domains RecordingChatModel wrote its answer about."""
    return re.search(r"An answer about (.*) for: ", answer).group(1).split(", ")


class StubAnnotator:
    """Relevance = sum of per-tag weights of the answer's domains, scaled per query; records calls."""

    def __init__(self, weights: dict[str, float], temperature: float) -> None:
        self.weights, self.temperature, self.calls = weights, temperature, []

    @staticmethod
    def scale(query: str) -> float:
        return 1.0 + len(query) % 3

    def score(self, query: str, tags) -> float:
        return self.scale(query) * sum(self.weights[t] for t in tags)

    def relevance(self, query, answers, user):
        self.calls.append((query, list(answers), user))
        return np.array([self.score(query, tags_of(a)) for a in answers])


def library_tags() -> list[str]:
    return list(make_library(SETUP, seed=SEED).tags)


def run(annotator, n_queries=3) -> Separability:
    return swap_separability(SETUP, seed=SEED, n_queries=n_queries, annotator=annotator,
                             llm=RecordingChatModel(), progress=False)


def test_the_user_is_the_bench_user_and_the_swaps_are_exactly_the_single_tag_swaps():
    tags = library_tags()
    result = run(StubAnnotator(dict.fromkeys(tags, 0.0), 0.0), n_queries=1)
    bench = run_user("vanilla", SETUP, n_interactions=0, seed=SEED, embeddings=HashEmbeddings(),
                     eval_queries=["Plan a trip?"], answers=False)
    assert list(result.user_tags) == bench.user_tags
    user = set(result.user_tags)
    expected = {frozenset(user - {old} | {new}) for old in user for new in set(tags) - user}
    assert len(result.swaps) == 2 * 4 == len(expected)
    assert {frozenset(s) for s in result.swaps} == expected
    for swap in result.swaps:
        assert len(set(swap)) == 2 and len(set(swap) & user) == 1 and set(swap) <= set(tags)
    assert result.win_probability.shape == (len(result.swaps),)


def test_after_an_expansion_the_user_is_the_bench_users_grown_set_among_the_grown_library():
    grown = list(make_library("3/8", seed=SEED).tags)
    result = swap_separability(SETUP, seed=SEED, n_queries=1, annotator=StubAnnotator(dict.fromkeys(grown, 0.0), 0.0),
                               llm=RecordingChatModel(), expand_to="3/8", progress=False)
    bench = run_user("vanilla", SETUP, n_interactions=1, seed=SEED, embeddings=HashEmbeddings(),
                     eval_queries=["Plan a trip?"], expand_at=0, expand_to="3/8", answers=False)
    assert list(result.user_tags) == bench.final_tags and result.setup == "3/8"
    assert len(result.swaps) == 3 * 5 and all(set(s) <= set(grown) and len(set(s)) == 3 for s in result.swaps)
    assert set(result.user_tags) - set(library_tags())  # one of the user's tags came with the growth


def test_one_relevance_call_per_query_judges_the_exact_answer_first_then_every_swap():
    annotator = StubAnnotator(dict.fromkeys(library_tags(), 0.0), 0.0)
    result = run(annotator, n_queries=3)
    assert len(annotator.calls) == 3 and len({q for q, _, _ in annotator.calls}) == 3
    for _, answers, user in annotator.calls:
        assert tuple(user.tags) == result.user_tags
        assert [tuple(tags_of(a)) for a in answers] == [result.user_tags, *result.swaps]


def test_win_probability_is_the_mean_over_queries_of_the_sigmoid_of_the_relevance_gap():
    tags = library_tags()
    annotator = StubAnnotator({t: 0.1 * i for i, t in enumerate(tags)}, temperature=0.5)
    result = run(annotator, n_queries=3)
    queries = [q for q, _, _ in annotator.calls]
    for swap, p in zip(result.swaps, result.win_probability):
        gaps = [annotator.score(q, result.user_tags) - annotator.score(q, swap) for q in queries]
        expected = sum(1 / (1 + math.exp(-gap / 0.5)) for gap in gaps) / len(gaps)
        assert p == pytest.approx(expected)


def test_temperature_zero_gives_one_half_or_zero_and_hardest_and_separable_follow():
    tags = library_tags()
    user = run(StubAnnotator(dict.fromkeys(tags, 0.0), 0.0), n_queries=1).user_tags
    outside = [t for t in tags if t not in user]
    # Against user tags of weight 1: a better tag, an equal one and two worse ones.
    weights = {**dict.fromkeys(user, 1.0), **dict(zip(outside, [2.0, 1.0, 0.0, 0.0]))}
    result = run(StubAnnotator(weights, 0.0), n_queries=2)
    for swap, p in zip(result.swaps, result.win_probability):
        (new,) = set(swap) - set(user)
        assert p == {2.0: 0.0, 1.0: 0.5, 0.0: 1.0}[weights[new]]
    swap, p = result.hardest
    assert p == 0.0 == result.win_probability.min() and outside[0] in swap
    assert not result.separable

    easy = run(StubAnnotator({**dict.fromkeys(user, 1.0), **dict.fromkeys(outside, 0.0)}, 0.0), n_queries=1)
    assert easy.separable and easy.hardest[1] == 1.0

    tied = run(StubAnnotator(dict.fromkeys(tags, 1.0), 0.0), n_queries=1)
    assert not tied.separable and tied.hardest[1] == 0.5  # a tie is not a win


def test_the_default_judge_runs_on_any_encoder():
    result = swap_separability(SETUP, seed=SEED, n_queries=1, embeddings=HashEmbeddings(), progress=False)
    assert len(result.swaps) == 8 and ((0 <= result.win_probability) & (result.win_probability <= 1)).all()
    assert result.setup == SETUP and result.seed == SEED


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="relevance"):
        swap_separability(SETUP, seed=SEED, annotator=object(), llm=RecordingChatModel(), progress=False)
    with pytest.raises(ValueError, match="cannot expand 2/6 to 2/4"):
        swap_separability(SETUP, seed=SEED, expand_to="2/4", annotator=StubAnnotator({}, 0.0), progress=False)
    with pytest.raises(ValueError, match="n_queries"):
        swap_separability(SETUP, seed=SEED, n_queries=0, annotator=StubAnnotator({}, 0.0), progress=False)
