import pytest
from hypothesis import given
from hypothesis import strategies as st

from langchain_premium.errors import FeedbackError
from langchain_premium.feedback import best_to_pairs, feedback_to_pairs, ranking_to_pairs


def test_full_ranking_gives_every_ordered_pair():
    assert ranking_to_pairs([2, 0, 1], 3) == [(2, 0), (2, 1), (0, 1)]


@given(st.integers(min_value=2, max_value=7).flatmap(lambda m: st.permutations(range(m))))
def test_ranking_pairs_are_consistent_with_positions(ranking):
    m = len(ranking)
    pairs = ranking_to_pairs(list(ranking), m)
    assert len(pairs) == m * (m - 1) // 2
    position = {c: i for i, c in enumerate(ranking)}
    assert all(position[w] < position[l] for w, l in pairs)
    assert len(set(pairs)) == len(pairs)


def test_best_choice_beats_each_other():
    assert best_to_pairs(1, 3) == [(1, 0), (1, 2)]


def test_pair_when_m_is_two():
    assert feedback_to_pairs(2, [1, 0]) == ([1, 0], [(1, 0)])


@pytest.mark.parametrize(
    "ranking, message",
    [
        ([0, 1], "order all 3"),
        ([0, 0, 1], "repeat"),
        ([0, 1, 3], "out of range"),
        ([0, 1, -1], "out of range"),
        ([0, 1, 2.0], "integer"),
        ([0, 1, True], "integer"),
        ("012", "list"),
    ],
)
def test_bad_rankings_are_refused(ranking, message):
    with pytest.raises(FeedbackError, match=message):
        feedback_to_pairs(3, ranking)


def test_exactly_one_kind_of_feedback():
    with pytest.raises(FeedbackError, match="exactly one"):
        feedback_to_pairs(3)
    with pytest.raises(FeedbackError, match="exactly one"):
        feedback_to_pairs(3, [0, 1, 2], best=0)


def test_feedback_restricted_to_available_candidates():
    assert feedback_to_pairs(3, [2, 0], available=[0, 2]) == ([2, 0], [(2, 0)])
    with pytest.raises(FeedbackError, match="no answer"):
        feedback_to_pairs(3, [1, 0], available=[0, 2])
