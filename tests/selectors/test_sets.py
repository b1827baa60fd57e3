from itertools import combinations

import numpy as np
import pytest

from langchain_premium.selectors.sets import best_sets, fill_distinct, random_subset


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k, m", [(1, 3), (2, 4), (3, 3), (3, 5)])
def test_best_sets_equal_brute_force(seed, k, m):
    scores = np.random.default_rng(seed).normal(size=9)
    brute = sorted(combinations(range(9), k), key=lambda s: -scores[list(s)].sum())[:m]
    got = best_sets(scores, k, m)
    assert [round(scores[list(s)].sum(), 9) for s in got] == [round(scores[list(s)].sum(), 9) for s in brute]
    assert len(set(got)) == m


def test_fill_distinct_never_repeats_and_falls_back():
    rng = np.random.default_rng(0)
    chosen = [(0, 1)]
    got = fill_distinct(chosen, lambda: (0, 1), 2, [(0, 1), (0, 2), (1, 2)])
    assert got == [(0, 2), (1, 2)]
    many = fill_distinct([], lambda: random_subset(5, 2, rng), 10, best_sets(np.zeros(5), 2, 10))
    assert len(set(many)) == 10
