"""PREMIUM-Prompt: the LLM candidate generator, its prompt, validation and repair."""

from __future__ import annotations

import logging

import pytest
from method_fakes import KeywordEmbeddings, RecordingChatModel, cfg

from langchain_premium import PremiumRunnable, SQLiteMemory, TagLibrary
from langchain_premium.methods import build_method
from langchain_premium.offline import OfflineChatModel
from langchain_premium.prompts import NO_HISTORY
from langchain_premium.selectors.candidate_output import (
    InvalidCandidatesError,
    check_candidates,
    parse_candidate_output,
    repair_candidates,
)
from langchain_premium.selectors.prompt import PromptSelector

TAGS = ["Baking", "Yoga", "Chess", "Jazz", "Hiking", "Sailing", "Poetry", "Gardening"]
VALID = "(Explanation) likes food\n(Tag Set 1) Baking, Yoga\n(Tag Set 2) Chess, Jazz\n" \
        "(Tag Set 3) Hiking, Sailing\n(The End of Answer)"


def answer(*sets: str) -> str:
    lines = [f"(Tag Set {i}) {s}" for i, s in enumerate(sets, start=1)]
    return "\n".join(["(Explanation) because", *lines, "(The End of Answer)"])


@pytest.fixture
def text_memory():
    memory = SQLiteMemory(store_text=True)
    yield memory
    memory.close()


def build(generator, memory, **selector_options) -> PremiumRunnable:
    return PremiumRunnable(
        llm=RecordingChatModel(), tag_library=TagLibrary(TAGS), memory=memory,
        selector=PromptSelector(generator, memory=memory, **selector_options),
        embeddings=KeywordEmbeddings([t.lower() for t in TAGS]), k=2, m=3, seed=0,
    )


# -- the prompt -----------------------------------------------------------------------------------


def test_prompt_carries_library_query_and_this_users_ranked_history(text_memory):
    generator = RecordingChatModel(responses=[VALID])
    premium = build(generator, text_memory, history_size=5)
    first = premium.invoke("How do I bake bread?", config=cfg("alice"))
    first.feedback([1, 2, 0])
    premium.invoke("Weekend plans?", config=cfg("alice"))
    premium.invoke("Chess openings for bob?", config=cfg("bob"))

    empty, alice, bob = generator.prompt_texts()
    assert NO_HISTORY in empty
    assert "(Tag Library) " + ", ".join(TAGS) in alice
    assert "(User Query) Weekend plans?" in alice and "Propose 3 tag sets of 2 tags each" in alice
    assert "Previous Query: How do I bake bread?" in alice
    assert "[Response 1] Baking, Yoga; [Response 2] Chess, Jazz; [Response 3] Hiking, Sailing" in alice
    for text in first.texts:
        assert text[:40] in alice
    assert "User's Preference Ranking: Response 2 > Response 3 > Response 1" in alice
    # Table 19's warning: a used tag set is not necessarily liked.
    assert "not necessarily" in alice
    # bob's prompt holds nothing of alice's.
    assert "bake bread" not in bob and NO_HISTORY in bob


def test_only_the_last_s_ranked_interactions_are_read(text_memory):
    generator = RecordingChatModel(responses=[VALID])
    premium = build(generator, text_memory, history_size=2)
    for q in ("first question", "second question", "third question"):
        premium.invoke(q, config=cfg("alice")).feedback([0, 1, 2])
    premium.invoke("unranked question", config=cfg("alice"))  # not ranked: not history
    premium.invoke("now", config=cfg("alice"))
    last = generator.prompt_texts()[-1]
    assert "first question" not in last
    assert "second question" in last and "third question" in last
    assert "Previous Query: unranked question" not in last


def test_valid_output_is_used_as_given(text_memory):
    premium = build(RecordingChatModel(responses=[VALID]), text_memory)
    result = premium.invoke("anything", config=cfg("alice"))
    assert [c.tags for c in result.candidates] == [["Baking", "Yoga"], ["Chess", "Jazz"], ["Hiking", "Sailing"]]
    assert premium.selector.repairs == type(premium.selector.repairs)([], maxlen=1000)


# -- validation and repair ----------------------------------------------------------------------


def test_unknown_tag_gets_one_retry_that_explains_the_error(text_memory):
    generator = RecordingChatModel(responses=[answer("Baking, Quidditch", "Chess, Jazz", "Hiking, Sailing"), VALID])
    premium = build(generator, text_memory)
    result = premium.invoke("anything", config=cfg("alice"))
    assert [c.tags for c in result.candidates][0] == ["Baking", "Yoga"]
    retry = generator.calls[1]
    assert retry[-2].type == "ai" and "Quidditch" in retry[-2].text
    assert "'Quidditch' is not in the Tag Library" in retry[-1].text
    (repair,) = premium.selector.repairs
    assert repair.action == "retried" and repair.user_id == "alice"


def test_still_invalid_after_retry_is_filled_from_the_library_and_logged(text_memory, caplog):
    bad = answer("Baking, Quidditch, Yoga", "Baking, Yoga")
    generator = RecordingChatModel(responses=[bad, bad])
    premium = build(generator, text_memory)
    with caplog.at_level(logging.WARNING):
        result = premium.invoke("hiking and sailing", config=cfg("alice"))
    sets = [frozenset(c.tags) for c in result.candidates]
    assert len(generator.calls) == 2
    assert len(sets) == 3 and len(set(sets)) == 3
    assert all(len(c.tags) == 2 and set(c.tags) <= set(TAGS) for c in result.candidates)
    assert "Quidditch" not in str([c.tags for c in result.candidates])
    assert sets[0] == {"Baking", "Yoga"}  # the valid part of the answer is kept
    (repair,) = premium.selector.repairs
    assert repair.action == "filled" and "Quidditch" in repair.dropped and repair.filled
    assert any("expected 3 tag sets, got 2" in e for e in repair.errors)
    assert "repaired (filled)" in caplog.text and "Quidditch" in caplog.text
    # the fill takes the tags closest to the query first
    assert {"Hiking", "Sailing"} in sets


def test_unparseable_output_is_repaired(text_memory):
    premium = build(RecordingChatModel(responses=["I would pick baking."]), text_memory)
    result = premium.invoke("chess and jazz", config=cfg("alice"))
    assert len({frozenset(c.tags) for c in result.candidates}) == 3
    assert premium.selector.repairs[0].errors == ["no '(Tag Set N) tag, tag, ...' lines were found"]


def test_on_invalid_raise_is_a_clear_error_and_stores_nothing(text_memory):
    generator = RecordingChatModel(responses=[answer("Baking, Baking", "Chess, Jazz", "Hiking, Sailing")])
    premium = build(generator, text_memory, on_invalid="raise")
    with pytest.raises(InvalidCandidatesError, match="repeats 'Baking'"):
        premium.invoke("anything", config=cfg("alice"))
    assert len(generator.calls) == 2  # one retry first
    assert text_memory.interactions("alice") == []
    assert premium.selector.repairs[0].action == "raised"


def test_check_candidates_finds_every_kind_of_error():
    check = check_candidates([["baking", "Yoga"], ["Yoga", "Baking"], ["Chess"], ["Jazz", "Jazz"]],
                             TAGS, k=2, m=3)
    assert not check.ok
    assert "expected 3 tag sets, got 4" in check.errors
    assert "tag sets 1 and 2 are the same" in check.errors
    assert "tag set 3 has 1 tags, expected 2" in check.errors
    assert "tag set 4 repeats 'Jazz'" in check.errors
    ok = check_candidates([["baking", " 'Yoga' "]], TAGS, k=2, m=1)
    assert ok.ok and ok.sets == (("Baking", "Yoga"),)  # library spelling


def test_parse_keeps_library_tags_that_contain_commas():
    library = ["Arts, crafts", "Yoga"]
    assert parse_candidate_output("(Tag Set 1) Arts, crafts, Yoga", library) == [["Arts, crafts", "Yoga"]]


def test_repair_never_returns_a_tag_outside_the_library():
    sets, dropped, _ = repair_candidates([["Nope", "Nada"], ["Nope"]], TAGS, k=3, m=4, fill_order=TAGS[::-1])
    assert len(sets) == 4 and len({frozenset(s) for s in sets}) == 4
    assert all(len(s) == 3 and set(s) <= set(TAGS) for s in sets)
    assert "Nope" in dropped and "Nada" in dropped
    with pytest.raises(InvalidCandidatesError):
        repair_candidates([], ["A", "B"], k=2, m=2, fill_order=["A", "B"])


# -- memory, forgetting, registration, the offline stand-in ---------------------------------------


def test_needs_a_memory_that_keeps_text():
    with pytest.raises(ValueError, match="store_text=True"):
        PromptSelector(RecordingChatModel(), memory=SQLiteMemory())
    premium = PremiumRunnable(llm=RecordingChatModel(), selector=PromptSelector(RecordingChatModel()),
                              tag_library=TagLibrary(TAGS), memory=SQLiteMemory(store_text=True),
                              embeddings=KeywordEmbeddings(TAGS), k=2, m=3)
    with pytest.raises(ValueError, match="needs the runnable's memory"):
        premium.invoke("q", config=cfg("alice"))
    with pytest.raises(ValueError, match="store_text=True"):
        build_method("premium-prompt", RecordingChatModel(), tag_library=TagLibrary(TAGS),
                     memory=SQLiteMemory(), embeddings=KeywordEmbeddings(TAGS), k=2, m=3)


def test_forget_user_empties_the_history(text_memory):
    generator = RecordingChatModel(responses=[VALID])
    premium = build(generator, text_memory)
    premium.invoke("secret question", config=cfg("alice")).feedback([0, 1, 2])
    premium.forget_user("alice")
    premium.invoke("again", config=cfg("alice"))
    assert "secret question" not in generator.prompt_texts()[-1]
    assert NO_HISTORY in generator.prompt_texts()[-1]


def test_offline_stand_in_plays_the_generator_and_follows_the_ranking(text_memory):
    premium = build_method("premium-prompt", OfflineChatModel(), tag_library=TagLibrary(TAGS),
                           memory=text_memory, embeddings=KeywordEmbeddings(TAGS), k=2, m=3, seed=0)
    first_sets = []
    for i in range(4):  # the user always ranks the answers that draw on Poetry first
        result = premium.invoke(f"plan my evening {i}", config=cfg("alice"))
        first_sets.append(result.candidates[0].tags)
        order = sorted(range(3), key=lambda j: "Poetry" not in result.candidates[j].tags)
        result.feedback(order)
    assert not premium.selector.repairs  # the stand-in's answers are valid as written
    assert "Poetry" not in first_sets[0]  # it was not the generator's first guess...
    best = premium.invoke("plan my evening", config=cfg("alice", explore=False)).candidates[0]
    assert "Poetry" in best.tags  # ...but the rankings taught it
