"""TidyBot-style baseline: a one-line profile summarised from the user's preferred answers."""

from __future__ import annotations

import pytest
from langchain_core.language_models import FakeListChatModel
from method_fakes import KeywordEmbeddings, RecordingChatModel, cfg

from langchain_premium import SQLiteMemory, TagLibrary
from langchain_premium.baselines import TidyBotRunnable
from langchain_premium.offline import OfflineChatModel
from langchain_premium.result import PremiumResult

TAGS = ["Baking", "Yoga", "Chess", "Jazz", "Hiking", "Sailing", "Poetry", "Gardening"]


@pytest.fixture
def text_memory():
    memory = SQLiteMemory(store_text=True)
    yield memory
    memory.close()


def build(memory, profile_llm=None, llm=None, **kwargs) -> TidyBotRunnable:
    return TidyBotRunnable(
        llm=llm or RecordingChatModel(), profile_llm=profile_llm, tag_library=TagLibrary(TAGS),
        memory=memory, embeddings=KeywordEmbeddings(TAGS), k=2, m=3, seed=0, **kwargs,
    )


def test_profile_is_the_first_line_and_reaches_the_prompt(text_memory):
    summariser = RecordingChatModel(responses=["Loves baking and breads.\nA second line to drop."])
    llm = RecordingChatModel()
    tidybot = build(text_memory, profile_llm=summariser, llm=llm)
    first = tidybot.invoke("How do I bake bread?", config=cfg("alice"))
    assert isinstance(first, PremiumResult) and first.method == "tidybot" and len(first.candidates) == 3
    assert "About this user" not in llm.prompt_texts()[0]  # no profile yet
    receipt = first.feedback([2, 0, 1])
    assert receipt.trained is True
    assert tidybot.profile("alice") == "Loves baking and breads."

    tidybot.invoke("Ideas for Sunday?", config=cfg("alice"))
    system = llm.calls[-1][0]
    assert system.type == "system"
    assert "About this user (written from their history): Loves baking and breads." in system.text
    assert "second line" not in system.text
    assert system.text.index("About this user") < system.text.index("domains:")  # profile, then task
    # every one of the m candidates carries the profile
    assert all("Loves baking" in p for p in llm.prompt_texts()[-3:])


def test_summariser_reads_few_shot_examples_then_query_and_first_ranked_answer(text_memory):
    summariser = RecordingChatModel(responses=["Likes things."])
    tidybot = build(text_memory, profile_llm=summariser)
    result = tidybot.invoke("How do I bake bread?", config=cfg("alice"))
    result.feedback([2, 0, 1])
    (prompt,) = summariser.calls
    assert [m.type for m in prompt] == ["system", "human", "ai", "human", "ai", "human"]  # few-shot
    last = prompt[-1].text
    assert "[1] Query: How do I bake bread?" in last
    assert f"Preferred answer: {result.texts[2][:30]}" in last
    assert result.texts[0][:60] not in last and result.texts[1][:60] not in last


def test_history_and_profile_are_per_user(text_memory):
    summariser = FakeListChatModel(responses=["Alice profile: sourdough.", "Bob profile: chess."])
    llm = RecordingChatModel()
    tidybot = build(text_memory, profile_llm=summariser, llm=llm)
    tidybot.invoke("Sourdough starter tips", config=cfg("alice")).feedback([0, 1, 2])
    tidybot.invoke("Best chess opening", config=cfg("bob")).feedback([0, 1, 2])
    tidybot.invoke("Anything new?", config=cfg("bob"))
    bob_prompt = llm.prompt_texts()[-1]
    assert "Bob profile: chess." in bob_prompt
    assert "sourdough" not in bob_prompt.lower()
    assert [i.query for i in tidybot.history("bob")] == ["Best chess opening"]


def test_profile_refreshes_every_update_every_items(text_memory):
    summariser = RecordingChatModel(responses=["P1", "P2"])
    tidybot = build(text_memory, profile_llm=summariser, update_every=2)
    assert tidybot.invoke("q1", config=cfg("alice")).feedback([0, 1, 2]).trained is False
    assert tidybot.profile("alice") == "" and not summariser.calls
    assert tidybot.invoke("q2", config=cfg("alice")).feedback([0, 1, 2]).trained is True
    assert tidybot.profile("alice") == "P1"
    assert tidybot.train("alice") is False  # nothing new since
    tidybot.add_history("alice", [("seeded question", "seeded answer")])
    assert tidybot.train("alice") is True and tidybot.profile("alice") == "P2"
    assert "seeded question" in summariser.prompt_texts()[-1]


def test_forget_user_drops_history_and_profile(text_memory):
    llm = RecordingChatModel()
    tidybot = build(text_memory, profile_llm=FakeListChatModel(responses=["Secret profile."]), llm=llm)
    tidybot.invoke("private question", config=cfg("alice")).feedback([0, 1, 2])
    assert tidybot.profile("alice") == "Secret profile."
    tidybot.forget_user("alice")
    assert tidybot.profile("alice") == "" and tidybot.history("alice") == []
    assert text_memory.users() == []
    tidybot.invoke("new question", config=cfg("alice"))
    assert "Secret profile" not in llm.prompt_texts()[-1]


def test_needs_text_and_exports_the_profile(text_memory):
    with pytest.raises(ValueError, match=r"store_text=True\) \(PREMIUM itself needs no text\)"):
        build(SQLiteMemory())
    tidybot = build(text_memory, profile_llm=FakeListChatModel(responses=["Exported."]))
    tidybot.invoke("q", config=cfg("alice")).feedback([0, 1, 2])
    exported = tidybot.export_user("alice")
    assert exported["profile_text"] == "Exported." and "tidybot/profile" in exported["states"]


def test_offline_stand_in_summarises_the_preferred_answers(text_memory):
    tidybot = build(text_memory, llm=OfflineChatModel())
    for i in range(3):  # the user always prefers the answer drawing on Chess (or the first)
        result = tidybot.invoke(f"What should I do tonight {i}?", config=cfg("alice"))
        order = sorted(range(3), key=lambda j: "Chess" not in result.candidates[j].tags)
        result.feedback(order)
    profile = tidybot.profile("alice")
    assert profile.startswith("The user's preferred answers mostly concern")
    assert "\n" not in profile  # first line only
    preferred = {t for item in tidybot.history("alice") for t in TAGS if t in item.answer}
    assert any(tag in profile for tag in preferred)
