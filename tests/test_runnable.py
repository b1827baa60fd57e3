"""PremiumRunnable end to end on the offline defaults."""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from typing import Any

import numpy as np
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

from langchain_premium import (
    CandidateGenerationError,
    FeedbackError,
    PremiumRunnable,
    SQLiteMemory,
    TagLibrary,
)
from langchain_premium.answer_vectors import sentences
from langchain_premium.offline import OfflineChatModel
from langchain_premium.selectors import EmbedSelector

QUERY = "How do I make handmade desserts?"


def cfg(user: str = "alice", **extra: Any) -> dict:
    return {"configurable": {"user_id": user, **extra}}


class CountingChatModel(BaseChatModel):
    """Sleeps per call and records how many calls were in flight at once."""

    model: str = "counting"
    latency: float = 0.3
    fail_on: str = ""
    in_flight: int = 0
    max_in_flight: int = 0

    @property
    def _llm_type(self) -> str:
        return "counting-test-model"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        lock = _LOCK
        with lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.latency)
            system = messages[0].content
            if self.fail_on and self.fail_on in system:
                raise RuntimeError("provider timed out")
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=system))])
        finally:
            with lock:
                self.in_flight -= 1


_LOCK = threading.Lock()


@pytest.fixture
def premium(embeddings, memory):
    return PremiumRunnable(
        llm=OfflineChatModel(), tag_library=TagLibrary.default(), memory=memory,
        embeddings=embeddings, seed=0,
    )


def test_candidates_have_k_distinct_library_tags_and_m_distinct_sets(premium):
    result = premium.invoke({"query": QUERY}, config=cfg())
    assert len(result.candidates) == premium.m == 3
    library = premium.tag_library
    for c in result.candidates:
        assert len(c.tags) == 3 and len(set(c.tags)) == 3
        assert all(t in library for t in c.tags)
        assert c.text and c.source in ("selector", "exploration")
    assert len({frozenset(c.tags) for c in result.candidates}) == 3
    assert result.user_id == "alice" and result.query == QUERY and result.run_id


def test_plain_string_input_and_exploration_sources(premium):
    result = premium.invoke(QUERY, config=cfg())
    assert [c.source for c in result.candidates] == ["selector", "exploration", "exploration"]


def test_without_exploration_candidates_come_best_first(premium):
    result = premium.invoke(QUERY, config=cfg(explore=False))
    assert all(c.source == "selector" for c in result.candidates)
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)


def test_serving_without_exploration_never_shifts_what_is_explored_next(embeddings):
    # A measurement (the simulation's explore=False selections between rankings) must leave the
    # user's trajectory as it was: the same rankings give the same sets with or without it.
    def shown(look: bool) -> list[list[tuple[str, ...]]]:
        premium = PremiumRunnable(llm=OfflineChatModel(), memory=SQLiteMemory(), embeddings=embeddings, seed=0)
        sets = []
        for query in (QUERY, "Plan a weekend trip", "Explain how taxes work", QUERY):
            if look:
                best = premium.select_tag_sets("What should I cook?", user_id="alice")
                assert premium.select_tag_sets("What should I cook?", user_id="alice") == best
            result = premium.invoke(query, config=cfg())
            sets.append([c.tags for c in result.candidates])
            result.feedback([2, 0, 1])
        return sets

    assert shown(look=True) == shown(look=False)


def test_user_id_is_required_and_advertised(premium):
    assert "user_id" in {spec.id for spec in premium.config_specs}
    with pytest.raises(ValueError, match="user_id"):
        premium.invoke(QUERY)
    with pytest.raises(ValueError, match="user_id"):
        premium.invoke(QUERY, config={"configurable": {"user_id": ""}})


@pytest.mark.parametrize("bad, error", [("", ValueError), ("   ", ValueError), (42, TypeError),
                                         ({"question": "hi"}, ValueError)])
def test_bad_queries_are_refused_before_anything_is_stored(premium, bad, error):
    with pytest.raises(error):
        premium.invoke(bad, config=cfg())
    assert premium.memory.interactions("alice") == []


def test_model_calls_run_concurrently_as_child_runs(embeddings, memory):
    llm = CountingChatModel(latency=0.5)
    premium = PremiumRunnable(llm=llm, memory=memory, embeddings=embeddings, m=3, seed=0)
    premium.invoke("warm up the encoder", config=cfg())

    class Recorder(BaseCallbackHandler):
        def __init__(self):
            self.chain_runs, self.model_parents = [], []

        def on_chain_start(self, serialized, inputs, *, run_id, parent_run_id=None, **kw):
            if parent_run_id is None:
                self.chain_runs.append(run_id)

        def on_chat_model_start(self, serialized, messages, *, run_id, parent_run_id=None, **kw):
            self.model_parents.append(parent_run_id)

    recorder = Recorder()
    llm.max_in_flight = 0
    result = premium.invoke(QUERY, config={**cfg(), "callbacks": [recorder]})
    assert llm.max_in_flight == 3  # all m calls were in flight together
    assert len(recorder.chain_runs) == 1
    assert recorder.model_parents == [recorder.chain_runs[0]] * 3
    assert result.run_id == str(recorder.chain_runs[0])


def test_max_concurrency_caps_parallel_calls(embeddings, memory):
    llm = CountingChatModel(latency=0.05)
    premium = PremiumRunnable(llm=llm, memory=memory, embeddings=embeddings, m=3, max_concurrency=1)
    premium.invoke(QUERY, config=cfg())
    assert llm.max_in_flight == 1


def test_a_caller_fixed_run_id_is_the_feedback_handle(premium):
    import uuid

    run_id = uuid.uuid4()
    result = premium.invoke(QUERY, config={**cfg(), "run_id": run_id})
    assert result.run_id == str(run_id)
    assert premium.record_feedback(str(run_id), [0, 1, 2]).pairs == 3


def test_failed_model_call_raises_one_clear_error_and_stores_nothing(embeddings, memory):
    llm = CountingChatModel(latency=0.0, fail_on="domains")
    premium = PremiumRunnable(llm=llm, memory=memory, embeddings=embeddings)
    with pytest.raises(CandidateGenerationError, match="3 of 3 model calls failed"):
        premium.invoke(QUERY, config=cfg())
    assert memory.interactions("alice") == []


def test_invoke_ainvoke_batch_abatch_stream(premium):
    assert len(premium.invoke(QUERY, config=cfg()).candidates) == 3
    assert len(asyncio.run(premium.ainvoke(QUERY, config=cfg())).candidates) == 3
    batch = premium.batch([QUERY, "Plan a trip"], config=cfg())
    assert [r.query for r in batch] == [QUERY, "Plan a trip"]
    abatch = asyncio.run(premium.abatch([QUERY, "Plan a trip"], config=cfg()))
    assert len({r.run_id for r in abatch}) == 2
    chunks = list(premium.stream(QUERY, config=cfg()))
    assert len(chunks) == 1 and len(chunks[0].candidates) == 3
    assert len(premium.memory.interactions("alice")) == 7


def test_async_feedback_learns(premium):
    async def go():
        result = await premium.ainvoke(QUERY, config=cfg())
        return await result.afeedback([1, 0, 2])

    receipt = asyncio.run(go())
    assert receipt.pairs == 3 and receipt.trained


def test_drops_into_an_lcel_chain(premium):
    prompt = ChatPromptTemplate.from_messages([("system", "Be kind."), ("human", "{question}")])
    pick_best = RunnableLambda(lambda result: result.best.text)
    chain = prompt | premium | pick_best
    text = chain.invoke({"question": QUERY}, config=cfg())
    assert isinstance(text, str) and "dessert" in text.lower()


def test_feedback_stores_pairs_and_learns(premium):
    result = premium.invoke(QUERY, config=cfg())
    receipt = result.feedback([2, 0, 1])
    assert receipt.pairs == 3 and receipt.trained
    pairs = premium.memory.pairs("alice", method=premium.key)
    winners = [p.winner.tags for p in pairs]
    assert tuple(result.candidates[2].tags) in winners
    assert premium.record_feedback  # a chat UI can also feed back by run id


def test_best_choice_feedback(premium):
    result = premium.invoke(QUERY, config=cfg())
    assert result.feedback(best=1).pairs == 2


def test_pair_feedback_when_m_is_two(embeddings, memory):
    premium = PremiumRunnable(llm=OfflineChatModel(), memory=memory, embeddings=embeddings, m=2)
    result = premium.invoke(QUERY, config=cfg())
    assert result.feedback([1, 0]).pairs == 1


@pytest.mark.parametrize(
    "ranking, kwargs",
    [([0, 1], {}), ([0, 0, 1], {}), ([0, 1, 5], {}), ([0, 1, -1], {}), (["a", 1, 2], {}),
     (None, {"best": 7}), (None, {})],
)
def test_bad_feedback_raises_and_changes_nothing(premium, ranking, kwargs):
    result = premium.invoke(QUERY, config=cfg())
    before = premium.memory.export_user("alice")
    with pytest.raises(FeedbackError):
        premium.record_feedback(result.run_id, ranking, **kwargs)
    assert premium.memory.export_user("alice") == before


def test_unknown_repeated_and_foreign_runs_are_refused(premium):
    result = premium.invoke(QUERY, config=cfg())
    with pytest.raises(FeedbackError, match="unknown run"):
        premium.record_feedback("no-such-run", [0, 1, 2])
    with pytest.raises(FeedbackError, match="another user"):
        premium.record_feedback(result.run_id, [0, 1, 2], user_id="mallory")
    result.feedback([0, 1, 2])
    before = premium.memory.export_user("alice")
    with pytest.raises(FeedbackError, match="already"):
        result.feedback([2, 1, 0])
    assert premium.memory.export_user("alice") == before


def prefer_tag(premium: PremiumRunnable, user: str, tag: str, rounds: int) -> None:
    """A user who always ranks answers that mention ``tag`` first."""
    queries = [QUERY, "Plan my weekend", "Write a poem about rain", "How do taxes work?",
               "Tips for a job interview", "Explain black holes simply"]
    rng = random.Random(f"{user}/{tag}")
    for i in range(rounds):
        result = premium.invoke(queries[i % len(queries)], config=cfg(user))
        # Answers without the tag are equally good to this user: break ties at random, as a
        # person would, rather than always rewarding the first candidate.
        ties = [rng.random() for _ in result.candidates]
        # A whole-word match: "Astronomy" must not count answers about "Gastronomy".
        mentions = [bool(re.search(rf"\b{re.escape(tag)}\b", c.text, re.IGNORECASE))
                    for c in result.candidates]
        order = sorted(range(len(result.candidates)), key=lambda j: (not mentions[j], ties[j]))
        result.feedback(order)


def test_learning_raises_the_preferred_tag_and_leaves_other_users_alone(embeddings, memory):
    # Three areas (30 tags): small enough that exploration meets the tag within a few rankings,
    # so the test is about learning, not about the luck of finding one tag among 193.
    areas = TagLibrary.default().areas
    library = TagLibrary([t for area in ("Science", "Food", "Finance") for t in areas[area]])
    premium = PremiumRunnable(llm=OfflineChatModel(), tag_library=library, memory=memory,
                              embeddings=embeddings, seed=0)
    tag = "Astronomy"
    start = premium.user_profile("alice").tags[tag]
    bob_before = premium.user_profile("bob").tags
    prefer_tag(premium, "bob", "Baking", 3)
    bob_after_own = premium.user_profile("bob").tags
    prefer_tag(premium, "alice", tag, 25)
    after = premium.user_profile("alice")
    # Well above the uniform start; coverage shares some of the credit with Astronomy's
    # neighbours (Meteorology, Physics), so not all of it lands on the tag itself.
    assert after.tags[tag] > 3 * start
    assert tag in [t for t, _ in after.top(3)]
    assert premium.user_profile("bob").tags == bob_after_own  # alice's feedback never touches bob
    assert bob_after_own != bob_before
    chosen = premium.invoke(QUERY, config=cfg("alice", explore=False)).best.tags
    assert tag in chosen


def test_state_survives_closing_and_reopening(tmp_path, embeddings):
    path = tmp_path / "premium.db"
    first = PremiumRunnable(llm=OfflineChatModel(), memory=SQLiteMemory(path), embeddings=embeddings, seed=1)
    prefer_tag(first, "alice", "Astronomy", 8)
    profile = first.user_profile("alice").tags
    first.memory.close()
    second = PremiumRunnable(llm=OfflineChatModel(), memory=SQLiteMemory(path), embeddings=embeddings)
    assert second.user_profile("alice").tags == pytest.approx(profile)
    assert second.memory.count_pairs("alice") == 24


def test_forget_user_leaves_no_row(tmp_path, embeddings):
    import sqlite_utils

    path = tmp_path / "premium.db"
    premium = PremiumRunnable(llm=OfflineChatModel(), memory=SQLiteMemory(path), embeddings=embeddings)
    prefer_tag(premium, "alice", "Astronomy", 3)
    prefer_tag(premium, "bob", "Baking", 2)
    premium.forget_user("alice")
    db = sqlite_utils.Database(path)
    for name in db.table_names():
        columns = {c.name for c in db[name].columns}
        if "user_id" in columns:
            assert db.execute(f"select count(*) from [{name}] where user_id = 'alice'").fetchone()[0] == 0
    assert premium.memory.count_pairs("bob") == 6
    fresh = premium.user_profile("alice").tags
    assert max(fresh.values()) == pytest.approx(min(fresh.values()))  # back to knowing nothing


def test_update_every_and_manual_training(embeddings, memory):
    premium = PremiumRunnable(llm=OfflineChatModel(), memory=memory, embeddings=embeddings, update_every=2)
    r1 = premium.invoke(QUERY, config=cfg())
    assert not r1.feedback([0, 1, 2]).trained
    r2 = premium.invoke(QUERY, config=cfg())
    assert r2.feedback([0, 1, 2]).trained
    manual = PremiumRunnable(llm=OfflineChatModel(), memory=memory, embeddings=embeddings,
                             update_every=0, method="manual")
    r3 = manual.invoke(QUERY, config=cfg())
    assert not r3.feedback([0, 1, 2]).trained
    assert manual.train("alice") is True
    assert manual.train("alice") is False  # nothing new to learn


def test_binary_styles_one_per_pair(embeddings, memory):
    library = TagLibrary.default(binary=True)
    premium = PremiumRunnable(llm=OfflineChatModel(), tag_library=library, memory=memory, embeddings=embeddings)
    result = premium.invoke(QUERY, config=cfg())
    for c in result.candidates:
        assert len(c.styles) == len(library.binary_pairs)
        for (a, b), style in zip(library.binary_pairs, c.styles):
            assert style in (a, b)
        assert not set(c.tags) & {t for pair in library.binary_pairs for t in pair}
    result.feedback([0, 1, 2])
    assert set(premium.user_profile("alice").styles) == {t for p in library.binary_pairs for t in p}


def test_growing_library_keeps_learned_state_and_offers_new_tags(embeddings, memory):
    library = TagLibrary(["Baking", "Jazz", "Astronomy", "Tax law", "Cycling", "Poetry"])
    premium = PremiumRunnable(llm=OfflineChatModel(), tag_library=library, memory=memory,
                              embeddings=embeddings, k=2, seed=0)
    prefer_tag(premium, "alice", "Jazz", 10)
    library.add(["Sailing", "Chess"], area="Hobbies")
    profile = premium.user_profile("alice").tags
    assert set(profile) >= {"Sailing", "Chess"}
    assert max(profile, key=profile.get) == "Jazz"
    # The learned encoder serves until the next update (the belief weighed six tags, not
    # eight): Jazz keeps a share far above an unlearned profile's 1/8.
    assert profile["Jazz"] > 3 / len(profile)
    seen = {t for _ in range(6) for c in premium.invoke(QUERY, config=cfg()).candidates for t in c.tags}
    assert seen & {"Sailing", "Chess"}


@pytest.mark.parametrize("kwargs, message", [
    ({"k": 0}, "at least 1"), ({"m": 0}, "at least 1"), ({"k": 500}, "larger than"),
    ({"n_explore": 4}, "n_explore"), ({"update_every": -1}, "update_every"),
])
def test_bad_sizes_are_refused(memory, kwargs, message):
    with pytest.raises(ValueError, match=message):
        PremiumRunnable(llm=OfflineChatModel(), memory=memory, **kwargs)


def test_the_sentence_vectors_of_each_ranked_answer_reach_the_learner_and_no_text_is_stored(premium, memory):
    result = premium.invoke(QUERY, config=cfg())
    assert memory.get_interaction(result.run_id).answer_vectors is None  # nothing read until ranked
    result.feedback([2, 0, 1])
    stored = memory.get_interaction(result.run_id)
    assert stored.answers is None and len(stored.answer_vectors) == len(result.candidates)
    for vectors, candidate in zip(stored.answer_vectors, result.candidates):
        assert vectors.shape == (len(sentences(candidate.text)), 384)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=2e-3)
    pair = memory.pairs("alice")[0]  # the best answer over the second
    np.testing.assert_array_equal(pair.winner_vectors, stored.answer_vectors[2])
    np.testing.assert_array_equal(pair.loser_vectors, stored.answer_vectors[0])


def test_a_ranking_by_run_id_is_read_by_its_text_and_a_forgotten_users_answers_are_let_go(premium, memory):
    run_id = premium.invoke(QUERY, config=cfg()).run_id
    premium.record_feedback(run_id, [0, 1, 2])  # a chat UI that kept only the run id
    assert len(memory.get_interaction(run_id).answer_vectors) == 3
    premium.invoke(QUERY, config=cfg("bob"))
    premium.invoke(QUERY, config=cfg())
    premium.forget_user("alice")
    assert len(premium._unranked) == 1  # bob's answers only


def test_answers_no_longer_held_are_read_from_stored_text_or_else_by_their_tags(embeddings, tmp_path):
    for store_text in (True, False):
        memory = SQLiteMemory(tmp_path / f"{store_text}.db", store_text=store_text)
        first = PremiumRunnable(llm=OfflineChatModel(), tag_library=TagLibrary.default(), memory=memory,
                                embeddings=embeddings, seed=0)
        run_id = first.invoke(QUERY, config=cfg()).run_id
        later = PremiumRunnable(llm=OfflineChatModel(), tag_library=TagLibrary.default(), memory=memory,
                                embeddings=embeddings, seed=0)  # e.g. another process
        later.record_feedback(run_id, [1, 0, 2])
        vectors = memory.get_interaction(run_id).answer_vectors
        assert (vectors is not None) == store_text
        assert (memory.pairs("alice")[0].winner_vectors is not None) == store_text
        memory.close()


def test_a_selector_that_does_not_read_answers_stores_no_vectors(embeddings, memory):
    premium = PremiumRunnable(llm=OfflineChatModel(), tag_library=TagLibrary.default(), memory=memory,
                              embeddings=embeddings, selector=EmbedSelector(read_answers=False), seed=0)
    result = premium.invoke(QUERY, config=cfg())
    result.feedback([2, 0, 1])
    assert memory.get_interaction(result.run_id).answer_vectors is None
    assert len(premium._unranked) == 0
