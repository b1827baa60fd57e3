"""OPPU-style baseline: profile, then BM25-retrieved history items, then the task."""

from __future__ import annotations

import pytest
from langchain_core.language_models import FakeListChatModel
from method_fakes import KeywordEmbeddings, RecordingChatModel, cfg

from langchain_premium import SQLiteMemory, TagLibrary
from langchain_premium.baselines import OPPURunnable
from langchain_premium.methods import build_method
from langchain_premium.offline import OfflineChatModel

TAGS = ["Baking", "Yoga", "Chess", "Jazz", "Hiking", "Sailing", "Poetry", "Gardening"]
HISTORY = [
    ("How long should sourdough proof?", "Proof it overnight in the fridge."),
    ("Which chess opening suits beginners?", "Start with the Italian game."),
    ("How do I tune a jazz guitar?", "Use standard tuning and light strings."),
    ("Best sailing knots to learn?", "Bowline, cleat hitch and figure eight."),
]


@pytest.fixture
def text_memory():
    memory = SQLiteMemory(store_text=True)
    yield memory
    memory.close()


def build(memory, top_k=2, profile_llm=None, llm=None, **kwargs) -> OPPURunnable:
    return OPPURunnable(
        llm=llm or RecordingChatModel(), profile_llm=profile_llm or FakeListChatModel(responses=["A profile."]),
        tag_library=TagLibrary(TAGS), memory=memory, embeddings=KeywordEmbeddings(TAGS), k=2, m=3,
        seed=0, top_k=top_k, **kwargs,
    )


def test_prompt_is_profile_then_retrieved_items_then_task(text_memory):
    llm = RecordingChatModel()
    oppu = build(text_memory, top_k=1, llm=llm,
                 profile_llm=FakeListChatModel(responses=["Curious about bread and boats."]))
    oppu.add_history("alice", HISTORY)
    assert oppu.train("alice") is True
    oppu.invoke("My sourdough did not rise, why?", config=cfg("alice"))
    system = llm.calls[-1][0].text
    profile_at = system.index("About this user (written from their history): Curious about bread and boats.")
    items_at = system.index("Items from this user's history that may be relevant:")
    task_at = system.index("You are a helpful assistant.")
    assert profile_at < items_at < task_at
    # BM25 found the sourdough item, and only k = 1 of them
    assert "[1] Query: How long should sourdough proof?" in system
    assert "Preferred answer: Proof it overnight in the fridge." in system
    assert "[2] Query:" not in system and "chess" not in system.lower()


@pytest.mark.parametrize("top_k", [1, 2, 4])
def test_top_k_items_are_retrieved(text_memory, top_k):
    llm = RecordingChatModel()
    oppu = build(text_memory, top_k=top_k, llm=llm)
    oppu.add_history("alice", HISTORY)
    oppu.invoke("sailing knots and sourdough", config=cfg("alice"))
    system = llm.calls[-1][0].text
    assert system.count("Preferred answer:") == top_k
    assert f"[{top_k}] Query:" in system


def test_profile_is_written_from_the_last_ten_items(text_memory):
    profiler = RecordingChatModel(responses=["Profile."])
    oppu = build(text_memory, profile_llm=profiler)
    oppu.add_history("alice", [(f"question number {i}", f"answer number {i}") for i in range(12)])
    oppu.train("alice")
    prompt = profiler.prompt_texts()[-1]
    assert "question number 1\n" not in prompt and "question number 0" not in prompt
    assert "question number 2" in prompt and "question number 11" in prompt
    assert prompt.count("Preferred answer:") == 10


def test_feedback_builds_history_from_the_first_ranked_answer(text_memory):
    oppu = build(text_memory)
    result = oppu.invoke("Plan a sailing trip", config=cfg("alice"))
    result.feedback([1, 2, 0])
    (item,) = oppu.history("alice")
    assert item.query == "Plan a sailing trip" and item.answer == result.texts[1]
    assert oppu.profile("alice") == "A profile."


def test_retrieval_and_profile_are_per_user(text_memory):
    llm = RecordingChatModel()
    oppu = build(text_memory, top_k=4, llm=llm, profile_llm=FakeListChatModel(responses=["Alice likes bread."]))
    oppu.add_history("alice", HISTORY)
    oppu.train("alice")
    oppu.invoke("sourdough proof chess jazz sailing", config=cfg("bob"))
    bob = llm.prompt_texts()[-1]
    assert "Alice likes bread" not in bob and "Items from this user's history" not in bob
    assert all(q not in bob for q, _ in HISTORY)


def test_forget_user_clears_retrieval_and_profile(text_memory):
    llm = RecordingChatModel()
    oppu = build(text_memory, llm=llm)
    oppu.add_history("alice", HISTORY)
    oppu.train("alice")
    oppu.forget_user("alice")
    oppu.invoke("sourdough", config=cfg("alice"))
    system = llm.calls[-1][0].text
    assert "sourdough proof" not in system.lower() and "About this user" not in system
    assert oppu.retriever("alice").invoke("sourdough") == []


def test_registered_with_k_1_2_4_under_their_own_keys(text_memory):
    for top_k in (1, 2, 4):
        oppu = build_method(f"oppu-k{top_k}", RecordingChatModel(), tag_library=TagLibrary(TAGS),
                            memory=text_memory, embeddings=KeywordEmbeddings(TAGS), k=2, m=3)
        assert isinstance(oppu, OPPURunnable) and oppu.top_k == top_k and oppu.key == f"oppu-k{top_k}"
    with pytest.raises(ValueError, match="store_text=True"):
        build_method("oppu-k2", RecordingChatModel(), tag_library=TagLibrary(TAGS), memory=SQLiteMemory(),
                     embeddings=KeywordEmbeddings(TAGS), k=2, m=3)


def test_offline_stand_in_writes_a_profile_from_the_text(text_memory):
    oppu = build(text_memory, profile_llm=OfflineChatModel())
    oppu.add_history("alice", [("A heist movie", "action"), ("Robots rebel", "sci-fi"),
                               ("Car chase", "action")])
    oppu.train("alice")
    profile = oppu.profile("alice")
    assert profile.splitlines()[0] == "The user's preferred answers mostly concern action, sci-fi (most frequent first)."
    assert "from 3 history items" in profile
