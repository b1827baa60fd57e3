"""Percentiles, timing and workload helpers behind ``premium perf``."""

from __future__ import annotations

import pytest

from langchain_premium.perf import cost
from langchain_premium.perf.measure import current_rss_mb, peak_rss_mb, percentiles_ms, timed, timed_cpu
from langchain_premium.perf.workload import rank_by_tags, synthetic_library


def test_percentiles_are_in_milliseconds_with_linear_interpolation():
    summary = percentiles_ms([0.001 * i for i in range(1, 102)])  # 1 ms .. 101 ms
    assert summary == {"p50_ms": pytest.approx(51.0), "p99_ms": pytest.approx(100.0), "n": 101}
    assert percentiles_ms([0.004])["p99_ms"] == pytest.approx(4.0)
    assert percentiles_ms([0.010, 0.001, 0.002])["p50_ms"] == pytest.approx(2.0)  # order does not matter


def test_percentiles_need_a_duration():
    with pytest.raises(ValueError):
        percentiles_ms([])


def test_timed_returns_the_value_and_a_duration():
    value, seconds = timed(sum, [1, 2, 3])
    assert value == 6 and seconds >= 0
    value, wall, cpu = timed_cpu(max, 4, 9)
    assert value == 9 and wall >= 0 and cpu >= 0


def test_memory_figures_are_positive_megabytes():
    assert peak_rss_mb() > 1
    now = current_rss_mb()
    assert now is None or 1 < now <= peak_rss_mb() + 1


def test_synthetic_libraries_have_distinct_tags_default_ones_first():
    small, large = synthetic_library(50), synthetic_library(2_000)
    assert len(small) == 50 and len(large) == 2_000 and len(set(large.tags)) == 2_000
    assert large.tags[:50] == small.tags
    with pytest.raises(ValueError):
        synthetic_library(10**6)


class _Candidate:
    def __init__(self, tags):
        self.tags = tags


class _Result:
    def __init__(self, *tag_sets):
        self.candidates = [_Candidate(list(t)) for t in tag_sets]


def test_rank_by_tags_puts_more_interests_first_and_keeps_ties_in_order():
    result = _Result(("Jazz", "Chess"), ("Baking", "Jazz"), ("Baking", "Poetry"), ("Chess",))
    assert rank_by_tags(result, ["Baking", "Jazz"]) == [1, 0, 2, 3]


@pytest.mark.parametrize("name", list(cost.SETUPS))
def test_the_paper_schedule_trains_epochs_times_ending_at_the_last_ranking(name):
    setup = cost.SETUPS[name]
    points = cost.training_points(setup)
    assert len(points) == setup.epochs and points[0] == setup.buffer
    assert points[-1] == setup.interactions and all(b - a == setup.every for a, b in zip(points, points[1:]))
