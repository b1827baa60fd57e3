import math

import numpy as np
import pytest

from langchain_premium.selectors.design import candidate_sets, informative_sets, pair_information, search_sets


def _plain_bald(deltas):
    """The definition, one draw at a time: H(mean p) - mean H(p)."""
    def h(p):
        return 0.0 if p in (0.0, 1.0) else -(p * math.log(p) + (1 - p) * math.log(1 - p))

    ps = [1 / (1 + math.exp(-d)) for d in deltas]
    return h(sum(ps) / len(ps)) - sum(h(p) for p in ps) / len(ps)


@pytest.mark.parametrize("seed", range(4))
def test_pair_information_matches_the_definition(seed):
    deltas = np.random.default_rng(seed).normal(scale=3.0, size=(5, 16))
    got = pair_information(deltas)
    assert got == pytest.approx([_plain_bald(row) for row in deltas], abs=1e-9)
    assert (got >= -1e-12).all()


def test_pairs_everyone_agrees_on_teach_nothing():
    assert pair_information(np.full(8, 6.0)) == pytest.approx(0.0, abs=1e-6)  # a sure winner
    assert pair_information(np.zeros(8)) == pytest.approx(0.0, abs=1e-9)  # a sure coin flip
    assert pair_information(np.array([-3.0, 3.0] * 4)) > 0.3  # the draws disagree


def test_informative_sets_prefer_tags_the_model_is_unsure_about():
    rng = np.random.default_rng(0)
    n_draws = 64
    # Tags 0-2 are the confident best; 3-5 are known to be poor; 6-8 are untried (wide).
    draws = np.concatenate([
        np.full((n_draws, 3), 2.0),
        np.full((n_draws, 3), -2.0),
        rng.normal(0.0, 2.0, size=(n_draws, 3)),
    ], axis=1)
    greedy = (0, 1, 2)
    candidates = [(3, 4, 5), (6, 7, 8), (0, 1, 3)]
    assert informative_sets(draws, [greedy], candidates, 1) == [(6, 7, 8)]
    # Two sets: never one already shown, never the same twice.
    chosen = informative_sets(draws, [greedy], [*candidates, greedy], 2)
    assert len(set(chosen)) == 2 and greedy not in chosen


def test_a_model_sure_of_everything_asks_nothing_above_the_threshold():
    draws = np.tile(np.array([2.0, 1.0, -1.0, -2.0]), (32, 1))  # every draw agrees
    candidates = [(0, 2), (1, 3), (2, 3)]
    assert len(informative_sets(draws, [(0, 1)], candidates, 2)) == 2  # no threshold: still two
    assert informative_sets(draws, [(0, 1)], candidates, 2, min_information=0.01) == []


def test_candidate_sets_hold_screens_and_duels_but_not_the_greedy_set():
    draws = np.random.default_rng(1).normal(size=(16, 12))
    upper = np.arange(12, dtype=float)[::-1]  # tag 0 most promising
    greedy = (0, 1, 2)
    sets = candidate_sets(draws, greedy, upper, k=3, n_challengers=6)
    assert greedy not in sets
    assert all(len(s) == 3 and len(set(s)) == 3 for s in sets)
    assert (3, 4, 5) in sets  # a screen of the most promising untried tags
    assert (0, 1, 3) in sets  # a duel: one greedy tag swapped for a challenger


def test_search_sets_deal_the_likeliest_tags_round_robin_into_disjoint_sets():
    likelihood = np.array([0.95, 0.1, 0.6, 0.3, 0.5, 0.05, 0.4, 0.2, 0.0])
    sets = search_sets(likelihood, exclude=np.array([0]), m=3, k=2)
    # The six likeliest apart from tag 0, best first: 2, 4, 6, 3, 7, 1; the best three in different sets.
    assert sets == [(2, 3), (4, 7), (1, 6)]
    assert search_sets(likelihood, exclude=np.array([0, 1, 2, 3]), m=3, k=2) == []  # five tags left, six needed


def test_search_sets_screen_the_tags_shown_longest_ago_in_place_of_the_least_likely():
    likelihood = np.array([0.95, 0.1, 0.6, 0.3, 0.5, 0.05, 0.4, 0.2, 0.0])
    last_shown = np.array([9, 9, 9, 9, 9, 9, 9, 9, 2])  # tag 8 (the least likely) shown longest ago
    # The five likeliest apart from tag 0, then 8, dealt last.
    assert search_sets(likelihood, np.array([0]), m=3, k=2, last_shown=last_shown, stale=1) == [(2, 3), (4, 7), (6, 8)]
    # Among the equally stale beyond the five likeliest (1, 5, 8 shown at 9), the likeliest: tag 1.
    assert search_sets(likelihood, np.array([0]), m=3, k=2, last_shown=np.full(9, 9), stale=1) == [(2, 3), (4, 7), (1, 6)]
    # The likeliest tags are never swapped out, however long ago they were shown.
    assert search_sets(likelihood, np.array([0]), m=3, k=2, last_shown=np.arange(9)[::-1], stale=1) == [(2, 3), (4, 7), (6, 8)]
