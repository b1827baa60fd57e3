"""The user's tag set as an unknown k-subset: its exact posterior over a pool of candidate tags."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, combinations
from math import comb
from typing import Callable, Optional, Sequence

import numpy as np

from langchain_premium.records import PreferencePair

__all__ = ["DEFAULT_SCALES", "SubsetBelief", "candidate_count", "change_starts", "choice_groups",
           "fit_subset_belief", "kept_log_prior", "pair_gain", "ranking_log_likelihood", "subsets_with_one_more"]

#: How strongly a user prefers an answer that covers one more of their tags, in logits of the
#: ranking model. The belief averages over these, each weighted by how well it explains the
#: rankings, so a consistent judge and a noisy one are both followed.
DEFAULT_SCALES = (2.0, 4.0, 8.0)

_CHUNK = 8192  # hypotheses scored at once: bounds the (chunk, pairs) temporaries


def candidate_count(k: int, limit: int, max_hypotheses: int) -> int:
    """The most candidates, at most ``limit``, whose k-subsets number at most ``max_hypotheses``.

    Example:
        >>> candidate_count(3, 64, 50_000), candidate_count(4, 64, 50_000)  # C(64, 3) = 41,664
        (64, 34)
    """
    n = limit
    while n > k and comb(n, k) > max_hypotheses:
        n -= 1
    return n


@lru_cache(maxsize=8)
def _subsets(n: int, k: int) -> np.ndarray:
    subsets = np.fromiter(chain.from_iterable(combinations(range(n), k)), dtype=np.int32, count=comb(n, k) * k)
    subsets = subsets.reshape(-1, k)
    subsets.flags.writeable = False  # shared by every caller through the cache
    return subsets


def subsets_with_one_more(n_pool: int, n: int, k: int, sure: Sequence[int]) -> np.ndarray:
    """Every k-subset of the first ``n_pool`` candidates, then, for each later candidate, the
    k - 1 candidates ``sure`` with it: the user's set is one of the usual hypotheses, or the tags
    the belief is sure of plus any other tag of a library too large to weigh in every subset.

    Example:
        >>> subsets_with_one_more(3, 5, 2, [0]).tolist()
        [[0, 1], [0, 2], [1, 2], [0, 3], [0, 4]]
    """
    if len(sure) != k - 1 or not all(0 <= i < n_pool for i in sure):
        raise ValueError(f"sure must be k - 1 = {k - 1} of the first {n_pool} candidates, got {list(sure)}")
    extra = np.array([[*sure, j] for j in range(n_pool, n)], dtype=np.int32).reshape(-1, k)
    return np.concatenate([_subsets(n_pool, k), extra])


def choice_groups(pairs: Sequence[PreferencePair]) -> np.ndarray:
    """``(choices, width)`` indices into ``pairs``, padded with -1: the pairs of one choice.

    A ranking of m answers is m - 1 choices (the best of all, then the best of the rest, ...):
    the pairs of one ranking that share a winner are the sets that winner was chosen over.
    """
    groups: dict[tuple, list[int]] = {}
    for i, pair in enumerate(pairs):
        groups.setdefault((pair.run_id, pair.winner.all_tags), []).append(i)
    width = max(len(g) for g in groups.values())
    out = np.full((len(groups), width), -1, dtype=np.int64)
    for row, members in enumerate(groups.values()):
        out[row, :len(members)] = members
    return out


def pair_gain(
    pairs: Sequence[PreferencePair], cover: np.ndarray, index: dict[str, int],
    said: Optional[Callable[[np.ndarray], np.ndarray]] = None,
) -> np.ndarray:
    """``(pairs, candidates)``: how much more each pair's winner covers each candidate than its
    loser.

    By the tags that asked for the two answers (each candidate covered by the set's closest tag,
    ``cover``), or, with ``said`` and both answers' sentence vectors stored, by what the answers
    said: ``said(vectors)`` is an answer's relevance to each candidate
    (:func:`~langchain_premium.answer_vectors.answer_relevance`). An answer may miss a tag it was
    asked for, or read like one it was not: the user ranked what was written.

    Example:
        >>> from langchain_premium.records import TagSet
        >>> cover = np.eye(2)  # two candidates, each covering only itself
        >>> pair = PreferencePair("r", "u", TagSet(("A",)), TagSet(("B",)))
        >>> pair_gain([pair], cover, {"A": 0, "B": 1}).tolist()
        [[1.0, -1.0]]
    """
    def covered(tags: Sequence[str]) -> np.ndarray:
        rows = [index[t] for t in tags]
        return cover[rows].max(axis=0) if rows else np.zeros(cover.shape[1], dtype=cover.dtype)

    def gain(pair: PreferencePair) -> np.ndarray:
        if said is not None and pair.winner_vectors is not None and pair.loser_vectors is not None:
            return said(pair.winner_vectors) - said(pair.loser_vectors)
        return covered(pair.winner.tags) - covered(pair.loser.tags)

    return np.stack([gain(p) for p in pairs]).astype(np.float32)


def ranking_log_likelihood(
    gain: np.ndarray, groups: np.ndarray, weights: np.ndarray, hypotheses: np.ndarray,
    scales: Sequence[float],
) -> np.ndarray:
    """``(len(scales), len(hypotheses))``: the log-likelihood of the rankings under each
    hypothesis (a row of candidate indices: the user's tags) and scale; with 2-D ``weights``,
    ``(len(scales), len(hypotheses), weights.shape[1])``, one weighted sum per column.

    Under hypothesis ``H`` a set's utility is ``scale * sum_{h in H} cover(set, h)``, and each
    choice is Plackett-Luce: the winner beats the sets of its group with probability
    ``1 / (1 + sum_l exp(-z_l))``, ``z_l = scale * sum_{h in H} gain[l, h]``; a choice's
    log-probability counts ``weights[choice]`` times (a one-hot column per segment of the
    rankings gives each segment's log-likelihood).

    Args:
        gain: ``(pairs, candidates)``: how much more each candidate is covered by the pair's
            winner than by its loser.
        groups: :func:`choice_groups` of the pairs.
        weights: ``(choices,)`` or ``(choices, n)``.
        hypotheses: ``(n, k)`` candidate indices.
        scales: the utility scales to score.

    Example:
        >>> gain = np.array([[1.0, 0.0, -1.0]])  # the winner had tag 0, the loser tag 2
        >>> ll = ranking_log_likelihood(gain, np.array([[0]]), np.ones(1), np.array([[0], [1], [2]]), [1.0])
        >>> np.round(np.exp(ll), 3).tolist()  # P(this ranking) if the user's tag is 0, 1 or 2
        [[0.731, 0.5, 0.269]]
    """
    weights = np.asarray(weights, dtype=np.float32)
    # Choices with more members first, and the pairs that are each choice's w-th member as one
    # block of columns, so a choice's terms add up from slices instead of gathers.
    width = (groups >= 0).sum(axis=1)
    order = np.argsort(-width, kind="stable")
    counts = [int((width > w).sum()) for w in range(groups.shape[1])]  # choices with a w-th member
    bounds = np.cumsum([0, *counts])
    members = np.concatenate([groups[order[:counts[w]], w] for w in range(groups.shape[1])])
    unsort = np.argsort(order)  # back to the order of ``weights``
    gain_t = np.ascontiguousarray(gain[members].T, dtype=np.float32)  # (candidates, members)
    out = np.empty((len(scales), len(hypotheses), *weights.shape[1:]), dtype=np.float64)
    for start in range(0, len(hypotheses), _CHUNK):
        block = hypotheses[start:start + _CHUNK]
        delta = gain_t[block[:, 0]]  # (chunk, members): the winner's utility minus the loser's
        for column in block.T[1:]:
            delta = delta + gain_t[column]
        for s, scale in enumerate(scales):
            losing = np.exp(np.minimum(-scale * delta, 60.0))
            total = losing[:, :counts[0]].copy()  # (chunk, choices)
            for w in range(1, len(counts)):
                total[:, :counts[w]] += losing[:, bounds[w]:bounds[w + 1]]
            out[s, start:start + _CHUNK] = -np.log1p(total[:, unsort]) @ weights
    return out


def _tag_marginals(posterior: np.ndarray, hypotheses: np.ndarray, n_candidates: int) -> np.ndarray:
    """``(rows, n_candidates)``: each candidate's probability of being one of the user's tags,
    from each row of ``posterior`` over ``hypotheses``."""
    rows = np.arange(len(posterior))[:, None] * n_candidates
    marginals = np.zeros(len(posterior) * n_candidates)
    for column in hypotheses.T:
        marginals += np.bincount((rows + column).ravel(), weights=posterior.ravel(), minlength=len(marginals))
    return marginals.reshape(len(posterior), n_candidates)


def kept_log_prior(before: np.ndarray, hypotheses: np.ndarray, n_candidates: int, keep_weight: float) -> np.ndarray:
    """``(segments, hypotheses)``: the log prior of each hypothesis as the user's set after a
    change, plus log(hypotheses) (so a uniform prior is all zeros), one row per posterior before
    the change.

    ``before`` holds each row's likelihoods over ``(scales x hypotheses)``, unnormalised. A
    hypothesis's prior is the product, over its tags, of ``1 + (keep_weight - 1) * p``, ``p`` the
    tag's posterior probability before the change (a set that keeps tags the user liked is
    likelier than one drawn afresh), times the probability that it is not the set before the
    change (a change leaves that set).

    Example:
        >>> hypotheses = np.array([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
        >>> before = np.array([[1.0, 0, 0, 0, 0, 0]])  # sure it was tags 0 and 1 before
        >>> np.round(np.exp(kept_log_prior(before, hypotheses, 4, 4.0)) / 6, 3).tolist()
        [[0.0, 0.235, 0.235, 0.235, 0.235, 0.059]]
    """
    posterior = before.reshape(len(before), -1, len(hypotheses)).sum(axis=1)
    posterior /= posterior.sum(axis=1, keepdims=True)
    log_weight = np.log1p((keep_weight - 1.0) * _tag_marginals(posterior, hypotheses, n_candidates))
    log_prior = sum(log_weight[:, column] for column in hypotheses.T) + np.log(np.maximum(1.0 - posterior, 1e-12))
    top = log_prior.max(axis=1, keepdims=True)
    return log_prior - top - np.log(np.exp(log_prior - top).mean(axis=1, keepdims=True))


def change_starts(n_rankings: int, window: int, horizon: int, step: int) -> np.ndarray:
    """The rankings (0-based, ascending) before which the belief lets the user's taste change:
    each of the latest ``window`` one by one, and every ``step``-th one before those, counted back
    from the window, as far as ``horizon`` rankings back. A coarse start stands for the rankings up
    to the next start: a change among them is read as one before the first.

    Example:
        >>> starts = change_starts(100, 30, 60, 10)  # 40, 50, 60, then 70 to 99 one by one
        >>> starts[:5].tolist(), len(starts)
        ([40, 50, 60, 70, 71], 33)
        >>> change_starts(5, 30, 100, 10).tolist()  # fewer rankings than the window: before each but the first
        [1, 2, 3, 4]
    """
    fine = max(1, n_rankings - window)
    coarse = range(fine - step, max(1, n_rankings - horizon) - 1, -step)
    return np.array(sorted(coarse) + list(range(fine, n_rankings)), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class SubsetBelief:
    """What the rankings say about which k of ``tags`` the user likes.

    ``marginals[i]`` is the posterior probability that ``tags[i]`` is one of the user's tags
    (they sum to k); ``samples`` are hypotheses drawn from the posterior, ``(n_samples, k)``
    indices into ``tags``, with the utility scale each was drawn with in ``sample_scales``;
    ``scale`` is the posterior mean scale; ``change_probability`` how likely it is that the
    user's taste changed within the latest rankings. ``library_key`` names the library the candidates
    were picked from: a belief about another library (one that has grown since) is stale.
    ``grown``: some of the rankings show fewer tags than k (the library grew, and the user's set
    with it), so the user may like a tag that no ranking has shown yet.
    """

    tags: list[str]
    marginals: np.ndarray
    samples: np.ndarray
    sample_scales: np.ndarray
    scale: float
    library_key: int = 0
    change_probability: float = 0.0
    grown: bool = False

    @property
    def k(self) -> int:
        return int(self.samples.shape[1])

    def sample_indicator(self) -> np.ndarray:
        """``(n_samples, len(tags))``: 1 where a sampled hypothesis holds the tag."""
        indicator = np.zeros((len(self.samples), len(self.tags)))
        np.put_along_axis(indicator, self.samples.astype(np.int64), 1.0, axis=1)
        return indicator


def fit_subset_belief(
    pairs: Sequence[PreferencePair],
    candidates: Sequence[str],
    cover: np.ndarray,
    index: dict[str, int],
    k: int,
    *,
    scales: Sequence[float] = DEFAULT_SCALES,
    change_window: int = 30,
    change_horizon: int = 100,
    change_step: int = 10,
    change_rate: float = 0.005,
    keep_weight: float = 1.0,
    n_samples: int = 64,
    exempt: Optional[np.ndarray] = None,
    hypotheses: Optional[np.ndarray] = None,
    said: Optional[Callable[[np.ndarray], np.ndarray]] = None,
    rng: np.random.Generator,
) -> SubsetBelief:
    """The exact posterior over the k-subsets of ``candidates`` (uniform prior, every scale
    equally likely a priori), given the rankings behind ``pairs``, allowing for one change of
    taste.

    The user's set may have changed once within the last ``change_horizon`` rankings, with prior
    probability ``change_rate`` before each of them: the latest ``change_window`` one by one, older
    ones in blocks of ``change_step`` (:func:`change_starts`), so a change long past is still placed
    near where it happened rather than read as a recent one. The rankings before a change are
    then explained by a set of their own, and the set after it is likelier the more it keeps of
    what they say the user liked (``keep_weight``, :func:`kept_log_prior`). Each possible change
    is weighed by its evidence (both segments' marginal likelihoods), so a user whose taste never
    changed keeps every ranking at full weight, and one whose taste changed is followed within a
    few rankings once the old set stops explaining them.

    Args:
        pairs: the stored preferences, oldest first (pairs of one ranking share a ``run_id``).
        candidates: the tags the user's set is drawn from (keep C(n, k) small:
            :func:`candidate_count`).
        cover: ``(tags, candidates)``: how much each tag covers each candidate, 1 for itself
            (:func:`~.coverage.coverage_kernel`); rows follow ``index``.
        index: tag -> row of ``cover``, for every ordinary tag in ``pairs``.
        k: the size of the user's set.
        scales: candidate utility scales, averaged over by their posterior weight.
        change_window: how many of the latest rankings a change may precede, one by one.
        change_horizon: how many of the latest rankings a change may precede at all (at least
            ``change_window``; equal to it, no coarse blocks).
        change_step: the size of the blocks before the window.
        change_rate: prior probability of a change before each ranking within the horizon.
        keep_weight: after a change, how many times likelier a priori each tag the user liked
            before it is than any other to still be one of theirs (1: the new set is drawn afresh
            from the sets other than the one before it).
        n_samples: hypotheses to draw for exploration.
        exempt: ``(len(pairs), len(candidates))`` booleans: where true, the pair says nothing
            about the candidate (its gain is taken as zero), e.g. a ranking made before the
            candidate was in the library.
        hypotheses: ``(n, k)`` indices into ``candidates``: the sets the user's set may be, each
            equally likely a priori (default: every k-subset; :func:`subsets_with_one_more`).
        said: an answer's sentence vectors -> its relevance to each candidate. Where given (and
            some pair's answers' vectors are stored), the rankings are also read by what the
            answers said (:func:`pair_gain`), and the belief averages over the two readings as
            over the scales, by how well each explains the rankings.
        rng: for the draws.
    """
    if not 1 <= k <= len(candidates):
        raise ValueError(f"k must be between 1 and the {len(candidates)} candidates, got {k}")
    if not keep_weight > 0:
        raise ValueError(f"keep_weight must be a positive prior weight, got {keep_weight!r}")
    if not 1 <= change_window <= change_horizon or change_step < 1:
        raise ValueError(f"need 1 <= change_window <= change_horizon and change_step >= 1, got "
                         f"{change_window}, {change_horizon} and {change_step}")
    if not 0.0 <= change_rate * change_horizon < 1.0:
        raise ValueError(f"change_rate * change_horizon must be in [0, 1), got {change_rate} * {change_horizon}")

    # Two readings of a ranking, each equally likely a priori and weighed like the scales: by
    # the tags that asked for the answers, or by what the answers said (where stored). Reading
    # the text is exact for a user who ranks what was written; the tags are the safer reading
    # when the answers barely differ or the encoder reads them poorly.
    gains = [pair_gain(pairs, cover, index)]
    if said is not None and any(p.winner_vectors is not None and p.loser_vectors is not None for p in pairs):
        gains.append(pair_gain(pairs, cover, index, said))
    if exempt is not None:
        if np.shape(exempt) != gains[0].shape:
            raise ValueError(f"exempt must have one row per pair and one column per candidate, "
                             f"{gains[0].shape}, got {np.shape(exempt)}")
        gains = [np.where(exempt, 0.0, g) for g in gains]
    groups = choice_groups(pairs)
    # Segments: the rankings before the first possible change, then those from each start on.
    runs = {run: r for r, run in enumerate(dict.fromkeys(p.run_id for p in pairs))}
    starts = change_starts(len(runs), change_window, change_horizon, change_step)
    n_segments = len(starts) + 1
    segment = np.searchsorted(starts, [runs[pairs[g[0]].run_id] for g in groups], side="right")
    if hypotheses is None:
        hypotheses = _subsets(len(candidates), k)
    elif hypotheses.ndim != 2 or hypotheses.shape[1] != k or hypotheses.min() < 0 \
            or hypotheses.max() >= len(candidates):
        raise ValueError(f"hypotheses must be rows of k = {k} indices into the {len(candidates)} candidates")
    weights = np.eye(n_segments)[segment]
    by_segment = np.concatenate([ranking_log_likelihood(g, groups, weights, hypotheses, scales) for g in gains])
    scales = np.tile(np.asarray(scales, dtype=np.float64), len(gains))  # one per (reading, scale)
    # One row per segment, (scales x hypotheses) along it, so every sum below runs along a row.
    by_segment = np.ascontiguousarray(np.moveaxis(by_segment, -1, 0)).reshape(n_segments, -1)
    # after[j]: the log-likelihood of the rankings from segment j on (j = 0: all of them, no change).
    after = np.cumsum(by_segment[::-1], axis=0)[::-1]
    log_before = np.zeros(n_segments)  # j = 0 has no rankings before it
    if n_segments > 1:
        before = np.subtract(after[0], after[1:])  # the rankings before segment j
        top_before = before.max(axis=1, keepdims=True)
        before -= top_before
        np.exp(before, out=before)
        log_before[1:] = top_before[:, 0] + np.log(before.mean(axis=1))
        # The set after a change at j is weighed by what the rankings before j say the user liked.
        kept = kept_log_prior(before, hypotheses, len(candidates), keep_weight)
        after[1:].reshape(n_segments - 1, len(scales), -1)[...] += kept[:, None, :]  # the same for every scale
    # Each segment start's likelihoods relative to their best; reused for its evidence (their
    # mean) and its posterior (their share), so each costs one exp per hypothesis.
    top = after.max(axis=1, keepdims=True)
    relative = np.exp(after - top)
    mass = relative.sum(axis=1)
    log_after = top[:, 0] + np.log(mass / after.shape[1])

    # A start's prior counts the rankings it stands for (one within the window, a block before).
    spans = np.diff(starts, append=len(runs))
    log_prior = np.full(n_segments, -np.inf)
    if change_rate:
        log_prior[1:] = np.log(change_rate * spans)
    log_prior[0] = np.log1p(-change_rate * spans.sum())
    log_weight = log_prior + log_after + log_before
    weight = np.exp(log_weight - log_weight.max())
    weight /= weight.sum()
    # The posterior: each segment start's, weighed by how likely the change is there (starts
    # below 1e-6 are left out: they would only add rounding).
    share = np.where(weight > 1e-6, weight / mass, 0.0)
    post = (share @ relative).reshape(len(scales), len(hypotheses))
    post /= post.sum()
    by_hypothesis = post.sum(axis=0)
    marginals = _tag_marginals(by_hypothesis[None, :], hypotheses, len(candidates))[0]
    drawn = rng.choice(post.size, size=n_samples, p=post.ravel())
    scale_of, hypothesis_of = np.divmod(drawn, len(hypotheses))
    return SubsetBelief(
        tags=list(candidates),
        marginals=marginals.astype(np.float32),
        samples=hypotheses[hypothesis_of].astype(np.int16),
        sample_scales=np.asarray(scales, dtype=np.float32)[scale_of],
        scale=float(post.sum(axis=1) @ np.asarray(scales, dtype=np.float64)),
        change_probability=float(1.0 - weight[0]),
    )
