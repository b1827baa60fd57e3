"""Accuracy, Accuracy@1, Win Rate and their spread, against hand-computed examples."""

from __future__ import annotations

import math

import pytest

from langchain_premium.evaluation.metrics import (
    Curve,
    MeanStd,
    accuracy,
    accuracy_at_1,
    mean_std,
    random_accuracy,
    style_accuracy,
    win_rate,
)
from langchain_premium.records import TagSet

USER = ["Baking", "Yoga", "Chess"]
# Two evaluation queries, three candidates each (best first).
SELECTIONS = [
    [("Baking", "Yoga", "Jazz"), ("Chess", "Jazz", "Poetry"), ("Jazz", "Poetry", "Golf")],
    [("Golf", "Jazz", "Poetry"), ("Baking", "Golf", "Jazz"), ("Baking", "Yoga", "Chess")],
]


def test_accuracy_counts_user_tags_over_every_selected_tag():
    # Query 1: 2 + 1 + 0 hits; query 2: 0 + 1 + 3 hits; 18 tags in all.
    assert accuracy(SELECTIONS, USER) == pytest.approx(7 / 18)


def test_accuracy_at_1_looks_at_the_best_candidate_only():
    # Best candidates: ("Baking", "Yoga", "Jazz") -> 2 hits, ("Golf", "Jazz", "Poetry") -> 0 hits.
    assert accuracy_at_1(SELECTIONS, USER) == pytest.approx(2 / 6)


def test_accuracy_takes_tag_sets_too():
    sets = [[TagSet(("Baking", "Jazz")), TagSet(("Yoga", "Chess"))]]
    assert accuracy(sets, USER) == pytest.approx(3 / 4)
    assert accuracy_at_1(sets, USER) == pytest.approx(1 / 2)


def test_style_accuracy_counts_liked_styles_and_is_none_without_styles():
    sets = [[TagSet(("a",), ("Brief", "Serious")), TagSet(("b",), ("Thorough", "Serious"))]]
    assert style_accuracy(sets, ["Brief", "Serious"]) == pytest.approx(3 / 4)
    assert style_accuracy(SELECTIONS, ["Brief"]) is None


@pytest.mark.parametrize("selections", [[], [[]]])
def test_accuracy_refuses_empty_selections(selections):
    with pytest.raises(ValueError):
        accuracy(selections, USER)


def test_random_accuracy_is_k_over_n():
    assert random_accuracy(3, 20) == 0.15 and random_accuracy(3, 100) == 0.03
    with pytest.raises(ValueError):
        random_accuracy(4, 3)


def test_win_rate_counts_ties_as_half():
    assert win_rate([True, False, 0.5, True]) == pytest.approx(0.625)
    with pytest.raises(ValueError):
        win_rate([])
    with pytest.raises(ValueError):
        win_rate([1.5])


def test_mean_std_uses_the_sample_standard_deviation_and_skips_none():
    summary = mean_std([0.2, None, 0.4, 0.6])
    assert summary.mean == pytest.approx(0.4) and summary.std == pytest.approx(0.2) and summary.n == 3
    assert mean_std([0.3]) == MeanStd(0.3, 0.0, 1)
    assert mean_std([None]) is None
    assert summary.format() == "40.0 ± 20.0"


def test_curve_aggregates_per_step_over_seeds():
    curve = Curve.from_runs([{0: 0.1, 10: 0.3, 20: 0.5}, {0: 0.1, 10: 0.5}])
    assert curve.steps == (0, 10)  # only the steps every seed measured
    assert curve.mean().tolist() == pytest.approx([0.1, 0.4])
    assert curve.std()[1] == pytest.approx(math.sqrt(0.02))
    assert curve.final().mean == pytest.approx(0.4) and curve.at(0).std == 0.0
    assert curve.to_dict()["values"] == [[0.1, 0.3], [0.1, 0.5]]
