"""UnrankedAnswers: a run's answers are held for its owner until ranked, and the oldest go first."""

import pytest

from langchain_premium.unranked_answers import UnrankedAnswers


def test_answers_are_given_once_and_only_to_the_runs_owner():
    held = UnrankedAnswers()
    held.put("r1", "alice", ["One.", "Two."])
    assert held.take("r1", "bob") is None
    assert held.take("r1", "alice") == ["One.", "Two."]
    assert held.take("r1", "alice") is None and len(held) == 0


def test_the_oldest_runs_go_first_and_a_forgotten_user_leaves_nothing():
    held = UnrankedAnswers(maxsize=2)
    for run, user in [("r1", "alice"), ("r2", "bob"), ("r3", "alice")]:
        held.put(run, user, [run])
    assert held.take("r1", "alice") is None  # evicted by r3
    held.forget_user("alice")
    assert held.take("r3", "alice") is None and held.take("r2", "bob") == ["r2"]


def test_a_size_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        UnrankedAnswers(maxsize=0)
