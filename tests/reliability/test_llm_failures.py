"""One of the m model calls failing or timing out: ``on_llm_error="drop"`` and ``"raise"``,
alone and with ``llm.with_retry(...)`` as the model."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field
from reliability_support import build, cfg

from langchain_premium import CandidateGenerationError, FeedbackError, SQLiteMemory

QUERY = "How do I make handmade desserts?"


class FlakyChatModel(BaseChatModel):
    """Fails the calls whose prompt names one of ``fail_tags``: the first ``fail_times`` attempts
    of each such prompt (``-1``: every attempt), raising ``error``; counts attempts per prompt."""

    model: str = "flaky"
    fail_tags: tuple[str, ...] = ()
    fail_times: int = -1
    error: str = "timeout"
    attempts: dict = Field(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "flaky-test-model"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        system = messages[0].content
        with _LOCK:
            self.attempts[system] = self.attempts.get(system, 0) + 1
            attempt = self.attempts[system]
        if any(tag in system for tag in self.fail_tags) and (
            self.fail_times < 0 or attempt <= self.fail_times
        ):
            if self.error == "timeout":
                raise TimeoutError("request timed out after 30 s")
            raise RuntimeError("provider returned 503")
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=f"answer {attempt}"))])


_LOCK = threading.Lock()


def setup(memory: SQLiteMemory, failing: int, **options: Any):
    """A runnable whose model fails for ``failing`` of its three candidates (chosen by a tag
    that only those candidates have); the llm, the runnable and the failing candidates' tags."""
    probe = build(memory)
    sets = probe.select_tag_sets(QUERY, user_id="alice")  # explore=False: deterministic
    fail_tags = _tags_only_in(sets, failing)
    llm = FlakyChatModel(fail_tags=fail_tags, **options.pop("llm_options", {}))
    wrapped = options.pop("wrap", lambda model: model)(llm)
    premium = build(memory, llm=wrapped, **options)
    failed = [s.tags for s in sets if any(t in s.tags for t in fail_tags)]
    assert len(failed) == failing
    return llm, premium, failed


def _tags_only_in(sets, count: int) -> tuple[str, ...]:
    """Tags such that exactly the first ``count`` sets contain one of them."""
    chosen = []
    for i in range(count):
        others = {t for j, s in enumerate(sets) if j >= count for t in s.tags}
        tag = next(t for t in sets[i].tags if t not in others)
        chosen.append(tag)
    return tuple(chosen)


NO_EXPLORE = cfg("alice", explore=False)


@pytest.mark.parametrize("error", ["timeout", "runtime"])
def test_drop_returns_the_successful_candidates_and_feedback_ranks_only_those(memory, error):
    llm, premium, [failed_tags] = setup(memory, 1, on_llm_error="drop", llm_options={"error": error})
    result = premium.invoke(QUERY, config=NO_EXPLORE)
    assert len(result.candidates) == 2 and [c.index for c in result.candidates] == [0, 1]
    assert all(tuple(c.tags) != failed_tags for c in result.candidates)
    [failure] = result.failures
    assert failure["tags"] == list(failed_tags)
    assert failure["error"] == (
        "TimeoutError: request timed out after 30 s" if error == "timeout"
        else "RuntimeError: provider returned 503"
    )
    stored = memory.get_interaction(result.run_id)
    assert [c.tags for c in stored.candidates] == [tuple(c.tags) for c in result.candidates]

    with pytest.raises(FeedbackError, match="out of range for 2 candidates"):
        result.feedback([0, 1, 2])  # the failed candidate cannot be ranked
    assert result.feedback([1, 0]).pairs == 1
    [pair] = memory.pairs("alice")
    assert (list(pair.winner.tags), list(pair.loser.tags)) == (
        result.candidates[1].tags, result.candidates[0].tags
    )


def test_drop_works_on_the_async_path(memory):
    llm, premium, [failed_tags] = setup(memory, 1, on_llm_error="drop")
    result = asyncio.run(premium.ainvoke(QUERY, config=NO_EXPLORE))
    assert len(result.candidates) == 2 and len(result.failures) == 1
    assert asyncio.run(result.afeedback(best=0)).pairs == 1


@pytest.mark.parametrize("asynchronous", [False, True])
def test_raise_gives_one_error_naming_the_failure_and_stores_nothing(memory, asynchronous):
    llm, premium, [failed_tags] = setup(memory, 1, on_llm_error="raise")
    with pytest.raises(CandidateGenerationError) as info:
        if asynchronous:
            asyncio.run(premium.ainvoke(QUERY, config=NO_EXPLORE))
        else:
            premium.invoke(QUERY, config=NO_EXPLORE)
    message = str(info.value)
    assert message.startswith("1 of 3 model calls failed; candidate ")
    assert str(list(failed_tags)) in message and "TimeoutError: request timed out" in message
    assert isinstance(info.value.__cause__, TimeoutError)
    assert memory.users() == [] and memory.interactions("alice") == []


def test_drop_when_every_call_fails_is_an_error_and_stores_nothing(memory):
    llm = FlakyChatModel(fail_tags=("domains",))  # every prompt names its domains
    premium = build(memory, llm=llm, on_llm_error="drop")
    with pytest.raises(CandidateGenerationError, match="3 of 3 model calls failed"):
        premium.invoke(QUERY, config=cfg("alice"))
    assert memory.users() == []


def test_drop_leaving_one_answer_returns_it_but_it_cannot_be_ranked(memory):
    llm, premium, failed = setup(memory, 2, on_llm_error="drop")
    result = premium.invoke(QUERY, config=NO_EXPLORE)
    assert len(result.candidates) == 1 and len(result.failures) == 2
    with pytest.raises(FeedbackError, match="at least two answers"):
        result.feedback(best=0)
    assert memory.count_pairs("alice") == 0 and memory.get_interaction(result.run_id).ranking is None


def retry(model):
    return model.with_retry(
        stop_after_attempt=3, wait_exponential_jitter=False,
        retry_if_exception_type=(TimeoutError, RuntimeError),
    )


def test_with_retry_recovers_transient_failures(memory):
    llm, premium, _ = setup(memory, 1, wrap=retry, llm_options={"fail_times": 2})
    result = premium.invoke(QUERY, config=NO_EXPLORE)
    assert len(result.candidates) == 3 and result.failures == []
    assert sorted(llm.attempts.values())[-1] == 3  # the flaky prompt succeeded on its 3rd try
    assert result.feedback([2, 1, 0]).pairs == 3


@pytest.mark.parametrize("on_llm_error", ["drop", "raise"])
def test_with_retry_gives_up_after_its_attempts(memory, on_llm_error):
    llm, premium, [failed_tags] = setup(memory, 1, wrap=retry, on_llm_error=on_llm_error)
    if on_llm_error == "raise":
        with pytest.raises(CandidateGenerationError, match="1 of 3 model calls failed"):
            premium.invoke(QUERY, config=NO_EXPLORE)
    else:
        result = premium.invoke(QUERY, config=NO_EXPLORE)
        assert len(result.candidates) == 2 and len(result.failures) == 1
    failing = [n for prompt, n in llm.attempts.items() if any(t in prompt for t in llm.fail_tags)]
    assert failing == [3]  # retried up to stop_after_attempt, then reported
