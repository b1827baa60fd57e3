"""The encoder's training data: pairs as tensors, topic coverage and recency weights."""

from __future__ import annotations

import numpy as np
import torch

from langchain_premium.records import PreferencePair, TagSet
from langchain_premium.selectors.pair_problem import PairProblem, recency_weights

# Three tags in two dimensions; "Ecology" and "Conservation" are neighbours, "Tax" is apart.
TAGS = ["Ecology", "Conservation", "Tax"]
INDEX = {t: i for i, t in enumerate(TAGS)}
MATRIX = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)
# Coverage of the two topics (Ecology, Tax) by each tag: Conservation covers Ecology in part.
KERNEL = np.array([[1.0, 0.0], [0.6, 0.0], [0.0, 1.0]], dtype=np.float32)
TOPICS = [0, 2]


def pair(run: str, winner: tuple[str, ...], loser: tuple[str, ...], query=None) -> PreferencePair:
    return PreferencePair(run_id=run, user_id="u", winner=TagSet(winner), loser=TagSet(loser), query_embedding=query)


def params(bias, log_scale=0.0):
    return {"bias": torch.tensor(bias, dtype=torch.float32), "log_scale": torch.tensor(log_scale)}


def test_recency_weights_halve_every_half_life_rankings():
    pairs = [pair("r1", ("a",), ("b",)), pair("r1", ("a",), ("b",)), pair("r2", ("a",), ("b",)),
             pair("r3", ("a",), ("b",)), pair("r3", ("a",), ("b",))]
    assert recency_weights(pairs, 1.0).tolist() == [0.25, 0.25, 0.5, 1.0, 1.0]
    assert recency_weights(pairs, None).tolist() == [1.0] * 5


def test_the_design_is_each_topics_coverage_by_the_winner_minus_the_loser():
    problem = PairProblem.build([pair("r1", ("Conservation",), ("Tax",)), pair("r2", ("Ecology", "Tax"), ("Tax",))],
                                INDEX, MATRIX, KERNEL, TOPICS)
    # Columns follow the tags; only topics have a column of coverage, shared tags cancel.
    assert np.allclose(problem.design, [[0.6, 0.0, -1.0], [1.0, 0.0, 0.0]])
    assert problem.own.tolist() == [0.0, 1.0, 0.0]  # Conservation is no topic: its bias is its own


def test_a_tag_that_is_no_topic_adds_its_own_bias_to_what_it_covers():
    problem = PairProblem.build([pair("r1", ("Conservation",), ("Tax",))], INDEX, MATRIX, KERNEL, TOPICS)
    effective = problem.effective_bias(params([2.0, 0.5, -1.0]))
    # Ecology: its topic weight; Conservation: own 0.5 + 0.6 of Ecology's 2.0; Tax: its weight.
    assert np.allclose(effective.numpy(), [2.0, 0.5 + 0.6 * 2.0, -1.0])


def test_logits_scale_the_query_similarity_and_a_missing_query_scores_zero():
    query = np.array([1.0, 0.0], dtype=np.float32)
    problem = PairProblem.build([pair("r1", ("Ecology",), ("Tax",), query), pair("r2", ("Ecology",), ("Tax",))],
                                INDEX, MATRIX, KERNEL, TOPICS)
    logits = problem.logits(params([0.0, 0.0, 0.0], log_scale=float(np.log(2.0))), torch.from_numpy(MATRIX))
    assert np.allclose(logits.numpy(), [[2.0, 1.6, 0.0], [0.0, 0.0, 0.0]])


def test_set_scores_pad_short_sets_with_zeros_and_end_with_the_sets_coverage():
    problem = PairProblem.build([pair("r1", ("Ecology", "Tax"), ("Conservation",))], INDEX, MATRIX, KERNEL, TOPICS)
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    bias = params([2.0, 0.0, -1.0])
    winner = problem.set_scores(logits, bias, problem.winners, problem.winner_cover)
    loser = problem.set_scores(logits, bias, problem.losers, problem.loser_cover)
    # Winner: Ecology 1, Tax 3, coverage 2.0 - 1.0; loser: Conservation 2, padding 0, coverage 0.6 * 2.0.
    assert np.allclose(winner.numpy(), [[1.0, 3.0, 1.0]])
    assert np.allclose(loser.numpy(), [[2.0, 0.0, 1.2]])
