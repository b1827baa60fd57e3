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
    pair_gain,
    ranking_log_likelihood,
    subsets_with_one_more,
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


def test_an_exempt_pair_says_nothing_about_its_candidate():
    """Where ``exempt`` is true the pair's gain for that candidate counts as zero: a tag the
    older rankings favoured (or shunned) is judged only on the rankings that may speak for it."""
    tags = ["a", "b", "c", "d"]
    older = ranking_pairs("r1", [("a",), ("b",)]) + ranking_pairs("r2", [("a",), ("c",)])
    newer = ranking_pairs("r3", [("d",), ("b",)])
    pairs = older + newer
    index = {t: i for i, t in enumerate(tags)}

    def marginals(exempt):
        belief = fit_subset_belief(pairs, tags, np.eye(4), index, 1, scales=(4.0,), exempt=exempt,
                                   rng=np.random.default_rng(0))
        return dict(zip(tags, belief.marginals))

    plain = marginals(None)
    assert plain["a"] > plain["d"]  # two wins against one
    # The two older rankings say nothing about a: only the newer one speaks, which never showed
    # a, so a sits between d (who won there) and b (who lost).
    exempt = np.zeros((len(pairs), len(tags)), dtype=bool)
    exempt[:len(older), index["a"]] = True
    only_newer = marginals(exempt)
    assert only_newer["d"] > only_newer["a"] > only_newer["b"]
    # Exempting every candidate of the older pairs gives the posterior of the newer ranking alone.
    exempt[:len(older)] = True
    alone = fit_subset_belief(newer, tags, np.eye(4), index, 1, scales=(4.0,), rng=np.random.default_rng(0))
    np.testing.assert_allclose(list(marginals(exempt).values()), alone.marginals, rtol=1e-5)
    with pytest.raises(ValueError, match="exempt must have one row per pair"):
        marginals(np.zeros((len(pairs), 3), dtype=bool))


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match="k must be between 1 and the 2 candidates"):
        fit_subset_belief(ranking_pairs("r", [("a",), ("b",)]), ["a", "b"], np.eye(2),
                          {"a": 0, "b": 1}, 3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="keep_weight must be a positive prior weight, got 0"):
        fit_subset_belief(ranking_pairs("r", [("a",), ("b",)]), ["a", "b"], np.eye(2),
                          {"a": 0, "b": 1}, 1, keep_weight=0, rng=np.random.default_rng(0))


def test_given_hypotheses_the_posterior_is_over_those_alone():
    """A hypothesis list that holds the sure tag with each other tag is the same posterior as the
    full one restricted to them: the same likelihoods, renormalised."""
    tags = [f"t{i}" for i in range(7)]
    index = {t: i for i, t in enumerate(tags)}
    pairs = noiseless_rankings({"t0", "t6"}, tags, 6, seed=3, prefix="r")
    cover = np.eye(len(tags))
    hypotheses = subsets_with_one_more(4, 7, 2, [0])  # C(4, 2) pairs of t0..t3, then t0 with t4..t6
    assert len(hypotheses) == 6 + 3 and [0, 6] in hypotheses.tolist()
    full = fit_subset_belief(pairs, tags, cover, index, 2, scales=(4.0,), change_rate=0.0, rng=np.random.default_rng(0))
    given = fit_subset_belief(pairs, tags, cover, index, 2, scales=(4.0,), change_rate=0.0, hypotheses=hypotheses,
                              rng=np.random.default_rng(0))
    every = [tuple(h) for h in combinations(range(7), 2)]
    gain = np.stack([cover[[index[t] for t in p.winner.tags]].max(0) - cover[[index[t] for t in p.loser.tags]].max(0)
                     for p in pairs])
    groups = choice_groups(pairs)
    ll = ranking_log_likelihood(gain, groups, np.ones(len(groups)), np.array(every), [4.0])[0]
    post = {h: np.exp(v - ll.max()) for h, v in zip(every, ll)}
    kept = {tuple(h) for h in hypotheses.tolist()}
    total = sum(post[h] for h in kept)
    expected = [sum(post[h] for h in kept if i in h) / total for i in range(7)]
    np.testing.assert_allclose(given.marginals, expected, rtol=1e-4, atol=1e-6)
    assert not np.allclose(given.marginals, full.marginals)  # t1..t3 with t4..t6 are gone
    assert given.marginals[5] < 0.05 and given.marginals[6] > 0.9  # the user's second tag, outside the pool
    assert {tuple(s) for s in given.samples.tolist()} <= kept
    with pytest.raises(ValueError, match="hypotheses must be rows of k = 2"):
        fit_subset_belief(pairs, tags, cover, index, 2, hypotheses=np.array([[0, 9]]), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="sure must be k - 1 = 2 of the first 4"):
        subsets_with_one_more(4, 7, 3, [0, 5])


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


def test_a_change_older_than_the_window_is_still_placed_where_it_happened():
    """The user liked t1 and t2, then t1 and t6: ten rankings show t6 beating t2, then thirty
    show only that t1 is liked. With the window alone (the latest 30 rankings) the change has no
    place to go; within the horizon a block starts where it happened, and the set after it is
    read from all forty rankings since."""
    tags = [f"t{i}" for i in range(10)]
    index = {t: i for i, t in enumerate(tags)}
    rng = np.random.default_rng(5)
    others = ["t3", "t4", "t5", "t8", "t9"]
    old = noiseless_rankings({"t1", "t2"}, tags, 20, 0, "a")
    swap = [p for r in range(10) for p in ranking_pairs(f"b{r}", [("t6", str(rng.choice(others))),
                                                                   ("t2", str(rng.choice(others)))])]
    since = []
    for r in range(30):
        a, b, c = (str(t) for t in rng.choice(others, 3, replace=False))
        since += ranking_pairs(f"c{r}", [("t1", a), (b, c)])

    def fit(horizon):
        return fit_subset_belief(old + swap + since, tags, np.eye(10), index, 2, scales=(4.0,), keep_weight=10.0,
                                 change_horizon=horizon, rng=np.random.default_rng(0))

    placed, window_only = fit(100), fit(30)
    assert placed.change_probability > 0.99 > 0.5 > window_only.change_probability
    assert placed.marginals[index["t1"]] > 0.99 and placed.marginals[index["t6"]] > 0.99
    with pytest.raises(ValueError, match="change_window <= change_horizon"):
        fit(20)
    with pytest.raises(ValueError, match="change_rate \\* change_horizon"):
        fit_subset_belief(old, tags, np.eye(10), index, 2, change_rate=0.02, change_horizon=50,
                          rng=np.random.default_rng(0))


def test_after_a_change_the_tags_liked_before_stay_likely_unless_the_rankings_drop_them():
    """The user liked t1 and t2, then t1 and t6: the new rankings show t6 beating t2 and never
    show t1. With a keep weight the new set keeps t1; drawn afresh, t1 is one tag among many."""
    tags = [f"t{i}" for i in range(10)]
    index = {t: i for i, t in enumerate(tags)}
    old = noiseless_rankings({"t1", "t2"}, tags, 20, 0, "a")
    fillers = [("t3", "t4"), ("t4", "t5"), ("t7", "t8"), ("t8", "t9")]
    new = [p for r, (a, b) in enumerate(fillers) for p in ranking_pairs(f"b{r}", [("t6", a), ("t2", b)])]

    def fit(keep_weight):
        return fit_subset_belief(old + new, tags, np.eye(10), index, 2, scales=(4.0,), keep_weight=keep_weight,
                                 rng=np.random.default_rng(0))

    kept, afresh = fit(10.0), fit(1.0)
    assert kept.change_probability > 0.95 and afresh.change_probability > 0.95
    assert {kept.tags[i] for i in np.argsort(-kept.marginals)[:2]} == {"t1", "t6"}
    assert kept.marginals[index["t1"]] > 0.7 > 0.4 > afresh.marginals[index["t1"]]
    assert kept.marginals[index["t2"]] < 0.05  # it lost every ranking since


@pytest.mark.parametrize("keep_weight, horizon, starts", [
    (1.0, 3, [5, 6, 7]),  # the last three rankings, one by one
    (6.0, 3, [5, 6, 7]),
    (6.0, 7, [1, 3, 5, 6, 7]),  # and blocks of two before them: 1-2 and 3-4
    (6.0, 6, [3, 5, 6, 7]),  # ranking 1 is beyond the horizon: no block starts there
])
def test_the_change_point_posterior_matches_a_plain_enumeration(keep_weight, horizon, starts):
    # Eight noisy rankings of 2-tag sets; the user's set may change before any of the last three,
    # or before a block of two older ones within the horizon; the set after a change keeps the
    # tags liked before it with ``keep_weight``.
    tags = [f"t{i}" for i in range(5)]
    index = {t: i for i, t in enumerate(tags)}
    rng = np.random.default_rng(3)
    rankings = [[tuple(rng.choice(tags, 2, replace=False)) for _ in range(3)] for _ in range(8)]
    pairs = [p for r, ranked in enumerate(rankings) for p in ranking_pairs(f"r{r}", ranked)]
    scales, rate, window = (1.0, 4.0), 0.05, 3
    belief = fit_subset_belief(pairs, tags, np.eye(5), index, 2, scales=scales, change_rate=rate,
                               change_window=window, change_horizon=horizon, change_step=2,
                               keep_weight=keep_weight, rng=np.random.default_rng(0))

    def log_lik(ranked, user, scale):  # Plackett-Luce: the best of the rest, choice by choice
        utility = [scale * len(user & set(s)) for s in ranked]
        return sum(-np.log(sum(np.exp(u - utility[i]) for u in utility[i:])) for i in range(len(ranked) - 1))

    hypotheses = [set(h) for h in combinations(tags, 2)]

    def likelihoods(segment):  # (scale, hypothesis) -> likelihood of these rankings
        return {(s, i): np.exp(sum(log_lik(r, h, s) for r in segment))
                for s in scales for i, h in enumerate(hypotheses)}

    # No change (start 0), or one before each start; a start stands for the rankings up to the next.
    spans = np.diff(starts + [8])
    prior = [1 - rate * spans.sum()] + [rate * n for n in spans]
    starts = [0] + starts
    weights, posteriors = [], []
    for start, p in zip(starts, prior):
        after = likelihoods(rankings[start:])
        before = likelihoods(rankings[:start])
        # The prior of the set after the change: each tag liked before counts keep_weight times.
        liked = {t: sum(v for (s, i), v in before.items() if t in hypotheses[i]) / sum(before.values())
                 for t in tags}
        # ... and a change leaves the set before it (a hypothesis that set with its probability).
        was = [sum(v for (s, j), v in before.items() if j == i) / sum(before.values()) for i in range(len(hypotheses))]
        h_prior = [np.prod([1 + (keep_weight - 1) * liked[t] for t in h]) * (1 - was[i]) if start else 1.0
                   for i, h in enumerate(hypotheses)]
        h_prior = np.array(h_prior) / sum(h_prior)
        joint = {(s, i): v * h_prior[i] / len(scales) for (s, i), v in after.items()}
        evidence_before = np.mean(list(before.values())) if start else 1.0
        weights.append(p * sum(joint.values()) * evidence_before)
        posteriors.append({key: value / sum(joint.values()) for key, value in joint.items()})
    weights = np.array(weights) / sum(weights)
    marginal = {t: sum(w * post[(s, i)] for w, post in zip(weights, posteriors)
                       for (s, i) in post if t in hypotheses[i]) for t in tags}
    assert belief.change_probability == pytest.approx(1 - weights[0], rel=1e-6)
    np.testing.assert_allclose(belief.marginals, [marginal[t] for t in tags], rtol=1e-5)
    mean_scale = sum(w * post[(s, i)] * s for w, post in zip(weights, posteriors) for (s, i) in post)
    assert belief.scale == pytest.approx(mean_scale, rel=1e-5)


def said_pair(run_id: str, asked: tuple[str, str], said: tuple[str, str]) -> PreferencePair:
    """A pair whose answers were asked for one tag each and each said the tag in ``said``: the
    vectors are one-hot rows over the candidates a, b, c, read by ``read`` below."""
    rows = {"a": [1.0, 0.0, 0.0], "b": [0.0, 1.0, 0.0], "c": [0.0, 0.0, 1.0]}
    return PreferencePair(run_id=run_id, user_id="u", winner=TagSet((asked[0],)), loser=TagSet((asked[1],)),
                          winner_vectors=np.array([rows[said[0]]]), loser_vectors=np.array([rows[said[1]]]))


def read(vectors: np.ndarray) -> np.ndarray:
    return vectors.max(axis=0)


def test_a_pair_is_read_by_what_its_answers_said_when_they_were_stored():
    index = {"a": 0, "b": 1, "c": 2}
    pair = said_pair("r", asked=("a", "c"), said=("b", "c"))  # asked for a, but it wrote about b
    assert pair_gain([pair], np.eye(3), index).tolist() == [[1.0, 0.0, -1.0]]
    assert pair_gain([pair], np.eye(3), index, read).tolist() == [[0.0, 1.0, -1.0]]
    plain = ranking_pairs("r", [("a",), ("c",)])[0]  # no vectors stored: read by its tags
    assert pair_gain([plain], np.eye(3), index, read).tolist() == [[1.0, 0.0, -1.0]]


def test_the_belief_follows_the_reading_that_explains_the_rankings():
    # The user likes b, which no answer was asked for, but the winners wrote about it: six times
    # the answer asked for a, once the one asked for c. By the tags, a beat c six times and lost
    # once; by the text, b won all seven, which explains the rankings better.
    tags, index = ["a", "b", "c"], {"a": 0, "b": 1, "c": 2}
    pairs = [said_pair(f"r{r}", asked=("a", "c"), said=("b", "c")) for r in range(6)]
    pairs.append(said_pair("s", asked=("c", "a"), said=("b", "a")))

    def marginals(**options):
        belief = fit_subset_belief(pairs, tags, np.eye(3), index, 1, scales=(2.0, 4.0),
                                   rng=np.random.default_rng(0), **options)
        return dict(zip(tags, belief.marginals))

    by_tags, by_text = marginals(), marginals(said=read)
    assert max(by_tags, key=by_tags.get) == "a"
    assert by_text["b"] > 0.9 and by_text["a"] < by_tags["a"]
    # With no vectors stored, reading the text adds nothing: the belief is the tags' alone.
    plain = [PreferencePair(p.run_id, p.user_id, p.winner, p.loser) for p in pairs]
    kwargs = dict(scales=(2.0, 4.0), rng=np.random.default_rng(0))
    np.testing.assert_array_equal(fit_subset_belief(plain, tags, np.eye(3), index, 1, said=read, **kwargs).marginals,
                                  fit_subset_belief(plain, tags, np.eye(3), index, 1,
                                                    scales=(2.0, 4.0), rng=np.random.default_rng(0)).marginals)
