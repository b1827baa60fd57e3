"""The exact posterior over the user's k-subset: likelihood, pool size, recovery."""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
import pytest

from langchain_premium.records import PreferencePair, TagSet
from langchain_premium.selectors.hypotheses import (
    candidate_count,
    choice_groups,
    fit_subset_belief,
    ranking_log_likelihood,
)


def ranking_pairs(run_id: str, ranked: list[tuple[str, ...]]) -> list[PreferencePair]:
    """The pairs of one ranking, best first, as the memory stores them."""
    return [PreferencePair(run_id=run_id, user_id="u", winner=TagSet(tags=ranked[i]), loser=TagSet(tags=ranked[j]))
            for i in range(len(ranked)) for j in range(i + 1, len(ranked))]


def test_a_ranking_is_split_into_its_choices():
    pairs = ranking_pairs("r1", [("a",), ("b",), ("c",)]) + ranking_pairs("r2", [("d",), ("a",)])
    assert choice_groups(pairs).tolist() == [[0, 1], [2, -1], [3, -1]]


def test_log_likelihood_matches_a_plain_loop():
    rng = np.random.default_rng(0)
    gain = rng.normal(size=(5, 6))
    groups = np.array([[0, 1], [2, -1], [3, 4]])
    weights = np.array([1.0, 0.5, 0.25])
    hypotheses = np.array(list(combinations(range(6), 2)))
    scales = [1.0, 3.0]
    got = ranking_log_likelihood(gain, groups, weights, hypotheses, scales)
    for s, scale in enumerate(scales):
        for h, hypothesis in enumerate(hypotheses):
            expected = 0.0
            for group, weight in zip(groups, weights):
                z = [scale * sum(gain[p, t] for t in hypothesis) for p in group if p >= 0]
                expected += weight * -np.log(1.0 + sum(np.exp(-zi) for zi in z))
            assert got[s, h] == pytest.approx(expected, rel=1e-5)
    # One column per segment: the sums of each segment's choices, which add up to the total.
    segments = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    by_segment = ranking_log_likelihood(gain, groups, segments, hypotheses, scales)
    assert by_segment.shape == (2, len(hypotheses), 2)
    np.testing.assert_allclose(by_segment.sum(axis=-1), ranking_log_likelihood(gain, groups, np.ones(3), hypotheses, scales), rtol=1e-6)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_candidate_count_is_the_most_the_budget_allows(k):
    n = candidate_count(k, 64, 50_000)
    assert comb(n, k) <= 50_000
    assert n == 64 or comb(n + 1, k) > 50_000


def test_noiseless_rankings_reveal_the_users_set():
    tags = [f"t{i}" for i in range(10)]
    user = {"t2", "t5"}
    rng = np.random.default_rng(1)
    pairs = []
    for r in range(12):
        sets = [tuple(rng.choice(tags, 2, replace=False)) for _ in range(3)]
        ranked = sorted(sets, key=lambda s: -len(user & set(s)))
        pairs += [p for p in ranking_pairs(f"r{r}", ranked) if len(user & set(p.winner.tags)) > len(user & set(p.loser.tags))]
    cover = np.eye(len(tags))  # every tag covers only itself
    belief = fit_subset_belief(pairs, tags, cover, {t: i for i, t in enumerate(tags)}, 2,
                               scales=(8.0,), n_samples=16, rng=np.random.default_rng(0))
    top = {belief.tags[i] for i in np.argsort(-belief.marginals)[:2]}
    assert top == user
    assert belief.marginals.sum() == pytest.approx(2.0, abs=1e-4)
    assert belief.samples.shape == (16, 2) and belief.k == 2
    assert belief.sample_indicator().sum(axis=1).tolist() == [2.0] * 16


def test_rankings_that_never_touch_a_tag_leave_it_at_the_prior():
    tags = ["a", "b", "c", "d"]
    pairs = ranking_pairs("r", [("a",), ("b",)])  # c and d never shown
    belief = fit_subset_belief(pairs, tags, np.eye(4), {t: i for i, t in enumerate(tags)}, 1,
                               scales=(2.0,), rng=np.random.default_rng(0))
    marginals = dict(zip(tags, belief.marginals))
    assert marginals["c"] == pytest.approx(marginals["d"])
    assert marginals["a"] > marginals["c"] > marginals["b"]


def test_k_larger_than_the_candidates_is_refused():
    with pytest.raises(ValueError, match="k must be between 1 and the 2 candidates"):
        fit_subset_belief(ranking_pairs("r", [("a",), ("b",)]), ["a", "b"], np.eye(2),
                          {"a": 0, "b": 1}, 3, rng=np.random.default_rng(0))


def noiseless_rankings(user: set[str], tags: list[str], n: int, seed: int, prefix: str) -> list[PreferencePair]:
    rng = np.random.default_rng(seed)
    pairs = []
    for r in range(n):
        sets = [tuple(rng.choice(tags, 2, replace=False)) for _ in range(3)]
        ranked = sorted(sets, key=lambda s: -len(user & set(s)))
        pairs += [p for p in ranking_pairs(f"{prefix}{r}", ranked)
                  if len(user & set(p.winner.tags)) > len(user & set(p.loser.tags))]
    return pairs


def test_a_change_of_taste_is_followed_and_a_steady_one_keeps_every_ranking():
    tags = [f"t{i}" for i in range(10)]
    index = {t: i for i, t in enumerate(tags)}
    old, new = noiseless_rankings({"t1", "t2"}, tags, 20, 0, "a"), noiseless_rankings({"t6", "t7"}, tags, 10, 1, "b")

    def fit(pairs):
        return fit_subset_belief(pairs, tags, np.eye(10), index, 2, scales=(4.0,), rng=np.random.default_rng(0))

    steady = fit(old + noiseless_rankings({"t1", "t2"}, tags, 10, 1, "b"))
    assert steady.change_probability < 0.05
    changed = fit(old + new)
    assert changed.change_probability > 0.95
    assert {changed.tags[i] for i in np.argsort(-changed.marginals)[:2]} == {"t6", "t7"}
    # Without a window for changes, the twenty old rankings outvote the ten new ones.
    stubborn = fit_subset_belief(old + new, tags, np.eye(10), index, 2, scales=(4.0,), change_rate=0.0,
                                 rng=np.random.default_rng(0))
    assert {stubborn.tags[i] for i in np.argsort(-stubborn.marginals)[:2]} != {"t6", "t7"}
