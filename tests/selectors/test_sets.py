from itertools import combinations

import numpy as np
import pytest

from langchain_premium.selectors.sets import (
    best_sets,
    fill_distinct,
    random_subset,
    stalest_first,
    swap_in,
    swap_one,
)


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


def test_swap_one_replaces_exactly_one_tag_with_one_outside_the_set():
    rng = np.random.default_rng(0)
    seen_out, seen_in = set(), set()
    for _ in range(200):
        swapped = swap_one((1, 4, 6), 8, rng)
        assert swapped == tuple(sorted(swapped)) and len(set(swapped)) == 3
        (out,) = {1, 4, 6} - set(swapped)
        (new,) = set(swapped) - {1, 4, 6}
        seen_out.add(out)
        seen_in.add(new)
    assert seen_out == {1, 4, 6} and seen_in == {0, 2, 3, 5, 7}  # every tag may go, any other may come


@pytest.mark.parametrize("subset, n", [((), 5), ((0, 1, 2), 3)])
def test_swap_one_refuses_a_set_with_nothing_to_swap(subset, n):
    with pytest.raises(ValueError, match="cannot swap"):
        swap_one(subset, n, np.random.default_rng(0))


def test_stalest_first_orders_by_when_last_shown_and_shuffles_only_ties():
    last_shown = np.array([4, -1, 2, -1, 7, 2])
    firsts = set()
    for seed in range(20):
        order = stalest_first(last_shown, exclude=[4], rng=np.random.default_rng(seed))
        assert sorted(order) == [0, 1, 2, 3, 5]  # every index but the excluded one, once
        assert [last_shown[i] for i in order] == [-1, -1, 2, 2, 4]
        firsts.add(order[0])
    assert firsts == {1, 3}  # the two never shown come first in either order


def test_swap_in_puts_the_newcomer_in_place_of_one_tag():
    outs = set()
    for seed in range(20):
        swapped = swap_in((0, 1, 2), 5, np.random.default_rng(seed))
        assert 5 in swapped and len(set(swapped) & {0, 1, 2}) == 2
        outs |= {0, 1, 2} - set(swapped)
    assert outs == {0, 1, 2}
    with pytest.raises(ValueError, match="already in the set"):
        swap_in((0, 1, 2), 1, np.random.default_rng(0))
