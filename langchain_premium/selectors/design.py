"""Exploration sets chosen for what their ranking will teach: mutual information (BALD)."""

from __future__ import annotations

from itertools import combinations
from typing import Callable, Optional, Sequence

import numpy as np

from langchain_premium.selectors.sets import top_k

__all__ = ["pair_information", "candidate_sets", "informative_sets", "search_sets"]


def _entropy(p: np.ndarray) -> np.ndarray:
    """Binary entropy in nats, safe at 0 and 1."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -(p * np.log(p) + (1 - p) * np.log1p(-p))


def pair_information(delta: np.ndarray) -> np.ndarray:
    """What one comparison teaches about the model: the mutual information between its outcome
    and the parameters (BALD, Houlsby et al. 2011), from posterior draws of the utility
    difference ``delta`` (last axis: draws) under the logistic likelihood of Eq. 1.

    It is the uncertainty of the predicted outcome minus the noise the model expects anyway:
    a pair whose winner every draw agrees on teaches nothing, and so does a pair that is a
    coin flip under every draw.

    Example:
        >>> round(float(pair_information(np.array([5.0, 5.0]))), 6)  # every draw agrees: nothing to learn
        0.0
        >>> bool(pair_information(np.array([-4.0, 4.0])) > 0.5)  # the draws disagree
        True
    """
    p = 1.0 / (1.0 + np.exp(-delta))
    return _entropy(p.mean(axis=-1)) - _entropy(p).mean(axis=-1)


def candidate_sets(
    draws: np.ndarray, greedy: tuple[int, ...], upper: np.ndarray, k: int, n_challengers: int = 8,
) -> list[tuple[int, ...]]:
    """Sets worth considering for exploration, none equal to ``greedy``.

    - the top k of each posterior draw (what Thompson sampling would try);
    - groups of the most promising untried tags (highest ``upper`` bound outside ``greedy``),
      which screen many tags at once;
    - ``greedy`` with one or two tags swapped for challengers, which duel tags one to one.
    """
    challengers = [int(i) for i in np.argsort(-upper, kind="stable") if int(i) not in greedy][:n_challengers]
    found: dict[tuple[int, ...], None] = {}
    for row in draws:
        found[top_k(row, k)] = None
    for start in range(0, len(challengers) - k + 1, k):
        found[tuple(sorted(challengers[start:start + k]))] = None
    for size in range(1, min(k, 2) + 1):
        for out in combinations(greedy, size):
            keep = [g for g in greedy if g not in out]
            for inc in combinations(challengers, size):
                found[tuple(sorted([*keep, *inc]))] = None
    found.pop(tuple(sorted(greedy)), None)
    return list(found)


def informative_sets(
    draws: np.ndarray, fixed: Sequence[tuple[int, ...]], candidates: Sequence[tuple[int, ...]], count: int,
    set_utility: Optional[Callable[[Sequence[tuple[int, ...]]], np.ndarray]] = None,
    min_information: float = 0.0,
) -> list[tuple[int, ...]]:
    """``count`` sets from ``candidates``, each chosen in turn to maximise the information of its
    comparisons with every set already shown (``fixed`` and the ones chosen before it).

    ``draws`` are posterior draws of every tag's utility, shape ``(n_draws, n_tags)``; a set's
    utility is the sum over its tags, unless ``set_utility`` maps sets to their utility under
    each draw, ``(n_sets, n_draws)`` (e.g. :class:`~.coverage.CoverageUtility`). A set that
    would teach less than ``min_information`` nats is not chosen, so fewer than ``count`` may
    come back: the caller explores otherwise where the model has nothing left to ask.
    """
    shown_sets = set(fixed)
    pool = [c for c in candidates if c not in shown_sets]
    if not pool:
        return []
    if set_utility is None:
        def set_utility(sets: Sequence[tuple[int, ...]]) -> np.ndarray:
            return np.stack([draws[:, list(s)].sum(axis=1) for s in sets])

    utility = set_utility(pool)  # (candidates, draws)
    shown = list(set_utility(list(fixed))) if fixed else []
    gain = np.zeros(len(pool))
    for u in shown:
        gain += pair_information(utility - u)
    chosen: list[tuple[int, ...]] = []
    for _ in range(min(count, len(pool))):
        best = int(np.argmax(gain))
        if gain[best] < min_information:
            break
        chosen.append(pool[best])
        gain += pair_information(utility - utility[best])
        gain[best] = -np.inf
    return chosen


def search_sets(
    likelihood: np.ndarray, exclude: np.ndarray, m: int, k: int,
    last_shown: Optional[np.ndarray] = None, stale: int = 0,
) -> list[tuple[int, ...]]:
    """``m`` disjoint sets of the ``m * k`` likeliest tags outside ``exclude``, dealt round robin
    (the likeliest m in different sets): one ranking screens m·k tags, and the set holding a
    liked one covers more of the user's set than the others, so it also tells the likeliest
    apart. With ``last_shown`` (when each tag was last shown), the last ``stale`` of the m·k are
    instead the tags shown longest ago of those the likeliest leave out (the likelier first among
    equals), dealt last. Fewer than ``m * k`` tags outside ``exclude``: no sets.

    Example:
        >>> search_sets(np.array([0.9, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]), np.array([0]), m=2, k=2)
        [(1, 3), (2, 4)]
        >>> last_shown = np.array([9, 9, 9, 9, 9, 9, 2])  # tag 6 shown longest ago
        >>> search_sets(np.array([0.9, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]), np.array([0]), m=2, k=2,
        ...             last_shown=last_shown, stale=1)
        [(1, 3), (2, 6)]
    """
    excluded = set(np.asarray(exclude).tolist())
    order = [int(i) for i in np.argsort(-np.asarray(likelihood, dtype=np.float64), kind="stable")
             if int(i) not in excluded]
    if len(order) < m * k:
        return []
    if stale and last_shown is not None:
        keep = m * k - min(stale, m * k)
        order = order[:keep] + sorted(order[keep:], key=lambda i: last_shown[i])  # stable: likelier first
    order = order[:m * k]
    return [tuple(sorted(order[g::m])) for g in range(m)]
