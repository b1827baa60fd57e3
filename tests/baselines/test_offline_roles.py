"""The offline stand-in plays the helper prompts deterministically, from the text it is given."""

from __future__ import annotations

from langchain_premium.evaluation.lamp2 import LAMP2_TAGS
from langchain_premium.offline import OfflineChatModel
from langchain_premium.prompts import (
    CANDIDATE_GENERATOR_PROMPT,
    NO_HISTORY,
    OPPU_PROFILE_PROMPT,
    TIDYBOT_SUMMARY_PROMPT,
    format_interaction_history,
    format_user_history,
    lamp2_profile_prompt,
    retrieved_section,
)
from langchain_premium.selectors.candidate_output import check_candidates, parse_candidate_output

LIBRARY = ["Baking", "Yoga", "Chess", "Jazz", "Hiking", "Sailing", "Poetry", "Gardening"]


def generator_messages(histories: str, k: int = 2, m: int = 3):
    return CANDIDATE_GENERATOR_PROMPT.format_messages(
        k=k, m=m, tag_library=", ".join(LIBRARY), query="Plan my weekend", histories=histories)


def test_candidate_generator_answer_is_valid_and_follows_the_rankings():
    model = OfflineChatModel()
    cold = model.invoke(generator_messages(NO_HISTORY)).text
    sets = parse_candidate_output(cold, LIBRARY)
    assert check_candidates(sets, LIBRARY, k=2, m=3).ok
    assert cold == model.invoke(generator_messages(NO_HISTORY)).text  # deterministic

    history = "\n".join(
        format_interaction_history(i, f"question {i}", [["Chess", "Yoga"], ["Jazz", "Baking"], ["Hiking", "Poetry"]],
                                   ["a", "b", "c"], [1, 2, 0])
        for i in (1, 2)
    )
    warm = parse_candidate_output(model.invoke(generator_messages(history)).text, LIBRARY)
    assert check_candidates(warm, LIBRARY, k=2, m=3).ok
    assert set(warm[0]) == {"Jazz", "Baking"}  # ranked first twice
    assert all("Jazz" in s for s in warm)  # the others keep the best tag and explore
    assert not any({"Chess", "Yoga"} <= set(s) for s in warm)  # ranked last twice


def test_summariser_and_profiler_answer_from_the_last_history_only():
    items = [("A heist", "action"), ("Robots", "sci-fi"), ("Chase", "action"),
             ("Long question", "Here is an answer to your question about x, drawing on Yoga, Chess and Jazz. More.")]
    model = OfflineChatModel()
    summary = model.invoke(TIDYBOT_SUMMARY_PROMPT.format_messages(history=format_user_history(items))).text
    first = summary.splitlines()[0]
    assert first == "The user's preferred answers mostly concern action, sci-fi, Yoga (most frequent first)."
    assert "dystopia" not in summary  # the few-shot examples are not the user's history
    profile = model.invoke(OPPU_PROFILE_PROMPT.format_messages(history=format_user_history(items))).text
    assert profile.splitlines()[0] == first and "4 history items" in profile


def test_tag_only_request_without_reference_answers_the_best_supported_tag():
    prompt = lamp2_profile_prompt(LAMP2_TAGS)
    model = OfflineChatModel()
    messages = prompt.format_messages(
        query="A detective hunts a killer.",
        profile_section="About this user: likes dark comedy, then action.\n\n",
        retrieved_section=retrieved_section([("A gang war", "action"), ("A chase", "action")]),
    )
    assert model.invoke(messages).text == "action"  # 3 mentions beat 1 ("dark comedy" is not "comedy")
    bare = prompt.format_messages(query="Something.", profile_section="", retrieved_section="")
    assert model.invoke(bare).text in LAMP2_TAGS
