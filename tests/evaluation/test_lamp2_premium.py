"""PREMIUM, TidyBot and OPPU on LaMP-2 (Appendix H): prompts, feedback, the run on the fixture."""

from __future__ import annotations

import json

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from method_fakes import RecordingChatModel, cfg, one_torch_thread

from langchain_premium import SQLiteMemory
from langchain_premium.evaluation.lamp2 import LAMP2_TAGS, load_lamp2_fixture
from langchain_premium.evaluation.lamp2_premium import (
    LAMP2_METHODS,
    build_lamp2_method,
    lamp2_ranking,
    lamp2_users,
    predict_lamp2,
    run_lamp2,
    run_lamp2_table,
)
from langchain_premium.offline import OfflineChatModel


@pytest.fixture(scope="module")
def fixture():
    return load_lamp2_fixture()


@pytest.fixture(autouse=True)
def _fast_torch():
    with one_torch_thread():
        yield


def test_ranking_puts_answers_equal_to_the_gold_first():
    assert lamp2_ranking(["comedy", " Sci-Fi", "action"], "sci-fi") == [1, 0, 2]
    assert lamp2_ranking(["sci-fi", "comedy", "sci-fi"], "sci-fi") == [0, 2, 1]
    assert lamp2_ranking(["the tag is sci-fi", "comedy"], "sci-fi") is None  # no exact answer: no feedback
    with pytest.raises(ValueError, match="not a LaMP-2 tag"):
        lamp2_ranking(["x"], "space opera")


def test_users_are_grouped_by_profile(fixture):
    users = lamp2_users(fixture)
    assert len(users) == 6 and all(len(q) == 5 and len(p) == 10 for _, p, q in users)
    assert {q.id.split("-")[0] for q in users[0][2]} == {"u1"}


def test_premium_prompt_has_table_17_information_and_the_selected_tag_as_reference():
    llm = RecordingChatModel(responses=["sci-fi"])
    premium = build_lamp2_method("premium-embed", llm, memory=SQLiteMemory(),
                                 embeddings=DeterministicFakeEmbedding(size=16), m=3)
    assert premium.k == 1 and list(premium.tag_library.tags) == list(LAMP2_TAGS)
    result = premium.invoke({"query": "A pilot hears the ore sing."}, config=cfg("u"))
    assert len(llm.calls) == len(result.candidates) == 3
    for call in llm.calls:
        system = call[0].text
        assert "tags: [" + ", ".join(LAMP2_TAGS) + "]" in system
        assert "reference opinion is reasonable" in system.lower() or "if it is reasonable" in system
        assert "just answer with the tag name" in system.lower()
    # The m prompts go out concurrently, so the calls may arrive in any order: one per candidate.
    humans = sorted(call[1].text for call in llm.calls)
    assert humans == sorted(f"(Movie Description) A pilot hears the ore sing.\n(Reference Opinion) {c.tags[0]}"
                            for c in result.candidates)
    # the offline stand-in follows a reasonable reference opinion
    offline = build_lamp2_method("premium-embed", OfflineChatModel(), memory=SQLiteMemory(),
                                 embeddings=DeterministicFakeEmbedding(size=16), m=3)
    answered = offline.invoke({"query": "A robot paints."}, config=cfg("u"))
    assert [c.text for c in answered.candidates] == [c.tags[0] for c in answered.candidates]


def test_baseline_prompt_is_profile_then_items_then_task(fixture):
    llm = RecordingChatModel(responses=["sci-fi"])
    oppu = build_lamp2_method("oppu-k2", llm, memory=SQLiteMemory(store_text=True),
                              embeddings=DeterministicFakeEmbedding(size=16),
                              profile_llm=RecordingChatModel(responses=["Tags mostly sci-fi."]))
    assert oppu.m == 1
    _, profile, questions = lamp2_users(fixture)[0]
    oppu.add_history("u1", [(p.description, p.tag) for p in profile])
    oppu.train("u1")
    result = oppu.invoke({"query": questions[0].description}, config=cfg("u1", explore=False))
    assert result.best.text == "sci-fi"
    system = llm.calls[-1][0].text
    assert system.index("Tags mostly sci-fi.") < system.index("Preferred answer:") < system.index("tags: [")
    assert system.count("Preferred answer:") == 2
    assert "Reference Opinion" not in "\n".join(m.text for m in llm.calls[-1])


def test_run_lamp2_scores_the_baselines_on_the_fixture(fixture):
    embeddings = DeterministicFakeEmbedding(size=16)
    table = run_lamp2_table(fixture, methods=[m for m in LAMP2_METHODS if m != "premium-embed"],
                            embeddings=embeddings)
    assert set(table) == {"tidybot", "oppu-k1", "oppu-k2", "oppu-k4"}
    for scores in table.values():
        assert scores["n"] == 30 and scores["n_train"] == 60
        assert 0.0 < scores["accuracy"] <= 1.0 and 0.0 < scores["f1"] <= 1.0


def test_tidybot_predictions_come_from_the_written_profile(fixture):
    memory = SQLiteMemory(store_text=True)
    predictions, n_items = predict_lamp2("tidybot", fixture, memory=memory,
                                         embeddings=DeterministicFakeEmbedding(size=16))
    assert n_items == 60
    by_id = dict(zip([q.id for q in fixture], predictions))
    for user, profile, questions in lamp2_users(fixture):
        written = json.loads(memory.load_state(user, "tidybot/profile").blob)["profile"]
        assert "(most frequent first)" in written and "\n" not in written  # first line only
        assert any(p.tag in written for p in profile)
        for question in questions:
            # the offline tagger answers with a tag the profile (or the description) names
            assert by_id[question.id] in written or by_id[question.id] in question.description.lower()


def test_run_lamp2_premium_embed_learns_from_gold_rankings(fixture, embeddings):
    subset = fixture[:10]  # two users
    memory = SQLiteMemory(store_text=True)
    scores = run_lamp2("premium-embed", subset, embeddings=embeddings, memory=memory, seed=0)
    assert set(scores) == {"accuracy", "f1", "n", "n_train"} and scores["n"] == 10
    assert scores["n_train"] > 0 and scores["n_train"] == len({p.run_id for u in ("lamp2-user-0", "lamp2-user-1")
                                                               for p in memory.pairs(u)})
    assert scores["accuracy"] >= 0.2  # chance is 1/15
    # every stored ranking put an answer equal to the gold tag first
    for user in ("lamp2-user-0", "lamp2-user-1"):
        for interaction in memory.interactions(user, ranked_only=True):
            assert interaction.answers[interaction.ranking[0]] in LAMP2_TAGS


def test_run_lamp2_needs_gold_tags(fixture):
    from dataclasses import replace

    with pytest.raises(ValueError, match="needs gold tags"):
        run_lamp2("tidybot", [replace(fixture[0], gold=None)], embeddings=DeterministicFakeEmbedding(size=8))
