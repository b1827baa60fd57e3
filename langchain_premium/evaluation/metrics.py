"""Ranking-TAGER metrics: Accuracy, Accuracy@1, Win Rate, and their spread over seeds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from langchain_premium.records import TagSet

__all__ = [
    "Curve",
    "MeanStd",
    "accuracy",
    "accuracy_at_1",
    "mean_std",
    "random_accuracy",
    "style_accuracy",
    "win_rate",
]

#: The tag sets selected for each evaluation query (exploration off, best first): either
#: :class:`TagSet` objects or plain sequences of tag names.
Selections = Sequence[Sequence[Union[TagSet, Sequence[str]]]]


def _tags(tag_set: Union[TagSet, Sequence[str]]) -> tuple[str, ...]:
    return tag_set.tags if isinstance(tag_set, TagSet) else tuple(tag_set)


def _check(selections: Selections) -> None:
    if not selections:
        raise ValueError("there are no evaluation queries to score")
    if any(not sets for sets in selections):
        raise ValueError("every evaluation query needs at least one selected tag set")


def accuracy(selections: Selections, user_tags: Iterable[str]) -> float:
    """The paper's Accuracy: the share of the tags in all selected tag sets (every candidate of
    every evaluation query, exploration off) that are in the User Tag Set.

    Example:
        >>> accuracy([[("a", "b", "c"), ("a", "x", "y")], [("x", "y", "z")]], ["a", "b"])
        0.3333333333333333
    """
    _check(selections)
    liked = set(user_tags)
    tags = [t for sets in selections for s in sets for t in _tags(s)]
    return sum(t in liked for t in tags) / len(tags)


def accuracy_at_1(selections: Selections, user_tags: Iterable[str]) -> float:
    """Accuracy of the best (first) tag set of each query alone: what the user sees when
    exploration is off and only the top answer is shown.

    Example:
        >>> accuracy_at_1([[("a", "b", "c"), ("a", "x", "y")], [("x", "y", "z")]], ["a", "b"])
        0.3333333333333333
    """
    _check(selections)
    return accuracy([[sets[0]] for sets in selections], user_tags)


def style_accuracy(selections: Selections, user_styles: Iterable[str]) -> Optional[float]:
    """The share of chosen binary styles (all candidates) that are the user's preferred side;
    ``None`` when no style was chosen (a library without binary pairs).

    Example:
        >>> style_accuracy([[TagSet(("a",), ("Brief", "Serious"))]], ["Brief", "Humorous"])
        0.5
    """
    _check(selections)
    liked = set(user_styles)
    styles = [t for sets in selections for s in sets if isinstance(s, TagSet) for t in s.styles]
    return sum(t in liked for t in styles) / len(styles) if styles else None


def random_accuracy(k: int, n: int) -> float:
    """Expected Accuracy of uniformly random tag sets: ``k / n`` (15% for 3/20, 6% for 3/50).

    Example:
        >>> random_accuracy(3, 50)
        0.06
    """
    if not 0 < k <= n:
        raise ValueError(f"need 0 < k <= n, got k={k}, n={n}")
    return k / n


def win_rate(outcomes: Iterable[Union[bool, float]]) -> float:
    """The share of comparisons won: ``True``/1 is a win, ``False``/0 a loss, 0.5 a tie.

    A method compared with PREMIUM-Embed scores 50% when it is as good (the paper's Win Rate).

    Example:
        >>> win_rate([True, False, 0.5, True])
        0.625
    """
    values = [float(o) for o in outcomes]
    if not values:
        raise ValueError("win_rate needs at least one comparison")
    if any(not 0.0 <= v <= 1.0 for v in values):
        raise ValueError(f"outcomes must be between 0 and 1, got {values}")
    return float(np.mean(values))


@dataclass(frozen=True)
class MeanStd:
    """Mean and spread of one metric over seeds (``std`` is the sample standard deviation,
    ``ddof=1``; 0 for a single seed)."""

    mean: float
    std: float
    n: int

    def format(self, percent: bool = True, digits: int = 1) -> str:
        """``"54.3 ± 6.1"`` (in percent by default).

        Example:
            >>> MeanStd(0.5432, 0.0611, 3).format()
            '54.3 ± 6.1'
        """
        scale = 100.0 if percent else 1.0
        return f"{self.mean * scale:.{digits}f} ± {self.std * scale:.{digits}f}"

    def to_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "n": self.n}


def mean_std(values: Iterable[Optional[float]]) -> Optional[MeanStd]:
    """Mean and sample standard deviation of the values that are not ``None`` (``None`` if
    there are none).

    Example:
        >>> mean_std([0.2, 0.4])
        MeanStd(mean=0.30000000000000004, std=0.14142135623730953, n=2)
    """
    kept = [float(v) for v in values if v is not None]
    if not kept:
        return None
    std = float(np.std(kept, ddof=1)) if len(kept) > 1 else 0.0
    return MeanStd(float(np.mean(kept)), std, len(kept))


@dataclass(frozen=True)
class Curve:
    """A metric over interactions, one row of values per seed: ``values[seed][i]`` is measured
    after ``steps[i]`` interactions.

    Example:
        >>> curve = Curve(steps=(0, 10), values=((0.1, 0.3), (0.1, 0.5)))
        >>> curve.mean().tolist(), curve.final().format()
        ([0.1, 0.4], '40.0 ± 14.1')
    """

    steps: tuple[int, ...]
    values: tuple[tuple[float, ...], ...]

    @classmethod
    def from_runs(cls, runs: Sequence[Mapping[int, float]]) -> "Curve":
        """Build from one ``{step: value}`` per seed; only steps every seed measured are kept."""
        if not runs:
            raise ValueError("a curve needs at least one run")
        steps = sorted(set.intersection(*(set(r) for r in runs)))
        return cls(tuple(steps), tuple(tuple(float(r[s]) for s in steps) for r in runs))

    def mean(self) -> np.ndarray:
        return np.asarray(self.values, dtype=np.float64).mean(axis=0)

    def std(self) -> np.ndarray:
        values = np.asarray(self.values, dtype=np.float64)
        return values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(len(self.steps))

    def at(self, step: int) -> MeanStd:
        """Mean and spread after ``step`` interactions."""
        i = self.steps.index(step)
        return mean_std(row[i] for row in self.values)  # type: ignore[return-value]

    def final(self) -> MeanStd:
        return self.at(self.steps[-1])

    def to_dict(self) -> dict:
        return {"steps": list(self.steps), "mean": self.mean().tolist(), "std": self.std().tolist(),
                "values": [list(v) for v in self.values]}
