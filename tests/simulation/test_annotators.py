"""Annotators: the offline embedding judge (noise, seeds, agreement) and the LLM judge (prompt, parsing)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.runnables import RunnableLambda

from langchain_premium.errors import PremiumError
from langchain_premium.offline import OfflineChatModel
from langchain_premium.prompts import DEFAULT_GENERATION_PROMPT, generation_variables
from langchain_premium.simulation.annotators import (
    ANSWER_TEMPERATURE,
    DEFAULT_TEMPERATURE,
    AnnotatorParseError,
    EmbeddingAnnotator,
    LLMAnnotator,
    parse_ranking,
)
from langchain_premium.simulation.queries import load_queries
from langchain_premium.simulation.users import UserTags
from langchain_premium.tags import DEFAULT_BINARY_PAIRS, TagLibrary

QUERY = "Write a short guide to spending a free Saturday."
ANSWERS = [
    "Spend the morning on Tax law reading and the afternoon on Corporate finance spreadsheets.",
    "Start with a Baking session: a loaf of sourdough. Then Yoga in the park to stretch.",
    "Begin with Baking some bread for breakfast, then review your Accounting ledger.",
]
USER = UserTags(("Baking", "Yoga"))


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Encoding a few short texts is much faster on one torch thread (as the bench runs)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# -- the embedding annotator ---------------------------------------------------------------------


def test_without_noise_answers_about_the_users_tags_rank_higher(embeddings):
    annotator = EmbeddingAnnotator(embeddings, temperature=0.0)
    assert annotator.rank(QUERY, ANSWERS, USER) == [1, 2, 0]
    # The judge reads the answers, so another user with other tags ranks them differently.
    assert annotator.rank(QUERY, ANSWERS, ["Tax law", "Corporate finance"])[0] == 0


def test_the_judge_reads_text_not_tags(embeddings):
    annotator = EmbeddingAnnotator(embeddings, temperature=0.0)
    relevance = annotator.relevance(QUERY, [ANSWERS[1], ANSWERS[1]], USER)
    assert relevance[0] == pytest.approx(relevance[1])


def test_style_probes_favour_the_liked_side(embeddings):
    annotator = EmbeddingAnnotator(embeddings, temperature=0.0, w_user=0.0, w_query=0.0, w_style=1.0)
    texts = ["Bake bread. Honestly, I'm just an enthusiast, so take these as friendly tips.",
             "Bake bread. From a professional standpoint, follow recognised standards."]
    assert annotator.rank(QUERY, texts, UserTags(("Baking",), ("Amateurish",))) == [0, 1]
    assert annotator.rank(QUERY, texts, UserTags(("Baking",), ("Professional",))) == [1, 0]


@pytest.mark.parametrize("liked", [side for pair in DEFAULT_BINARY_PAIRS for side in pair])
def test_the_judge_prefers_the_stand_ins_answer_in_the_liked_style(embeddings, liked):
    # Table 9 measures whether the learner finds the user's style; it can only find a side the
    # judge rewards. Same query and tags, every other style the same: only ``liked`` flipped.
    llm, library = OfflineChatModel(), TagLibrary.default(binary=True)
    queries, rng = load_queries("routine_writing").train, np.random.default_rng(0)
    annotator = EmbeddingAnnotator(embeddings, temperature=0.0)
    pair = next(p for p in DEFAULT_BINARY_PAIRS if liked in p)
    other = pair[1] if liked == pair[0] else pair[0]
    margins = []
    for case in range(8):
        tags = library.sample(3, rng)
        rest = [side[rng.integers(2)] for side in DEFAULT_BINARY_PAIRS if side != pair]
        query = queries[int(rng.integers(len(queries)))]
        answers = [llm.invoke(DEFAULT_GENERATION_PROMPT.invoke(generation_variables(query, tags, [style, *rest]))).content
                   for style in (liked, other)]
        relevance = annotator.relevance(query, answers, UserTags(tuple(tags), (liked, *rest)))
        margins.append(relevance[0] - relevance[1])
    assert np.mean(margins) > 0 and np.mean(np.array(margins) > 0) >= 0.5, margins


def test_noisy_rankings_are_permutations_reproducible_from_a_seed():
    annotator = EmbeddingAnnotator(DeterministicFakeEmbedding(size=16), temperature=1.0)
    draws = [annotator.rank(QUERY, ANSWERS, USER, rng=np.random.default_rng(s)) for s in range(30)]
    assert all(sorted(d) == [0, 1, 2] for d in draws)
    assert draws == [annotator.rank(QUERY, ANSWERS, USER, rng=np.random.default_rng(s)) for s in range(30)]
    assert len({tuple(d) for d in draws}) > 1  # noise does change the ranking
    seeded = [EmbeddingAnnotator(DeterministicFakeEmbedding(size=16), temperature=1.0, seed=4)
              .rank(QUERY, ANSWERS, USER) for _ in range(2)]
    assert seeded[0] == seeded[1]


def test_plackett_luce_best_pick_follows_the_softmax():
    annotator = EmbeddingAnnotator(DeterministicFakeEmbedding(size=8), temperature=0.5)
    relevance = np.array([1.0, 0.5, 0.0])
    rng = np.random.default_rng(0)
    tops = np.bincount([annotator.sample_ranking(relevance, rng)[0] for _ in range(4000)], minlength=3) / 4000
    expected = np.exp(relevance / 0.5) / np.exp(relevance / 0.5).sum()
    assert np.allclose(tops, expected, atol=0.03)
    assert annotator.top_agreement(relevance) == pytest.approx(expected[0])


def test_agreement_with_noiseless_exact_matches_sampled_and_is_one_without_noise():
    fake = DeterministicFakeEmbedding(size=16)
    tasks = [(QUERY, ANSWERS, USER), ("Plan a trip", ANSWERS[::-1], ["Yoga"])]
    noisy = EmbeddingAnnotator(fake, temperature=0.05)
    exact = noisy.agreement_with_noiseless(tasks)
    sampled = noisy.agreement_with_noiseless(tasks, n_samples=2000, rng=np.random.default_rng(1))
    assert 0.0 < exact < 1.0 and abs(exact - sampled) < 0.04
    assert EmbeddingAnnotator(fake, temperature=0.0).agreement_with_noiseless(tasks) == 1.0
    assert EmbeddingAnnotator(fake, temperature=10.0).agreement_with_noiseless(tasks) < exact
    with pytest.raises(ValueError):
        noisy.agreement_with_noiseless([])


def test_prefer_uses_the_same_judgement(embeddings):
    annotator = EmbeddingAnnotator(embeddings, temperature=0.0)
    assert annotator.prefer(QUERY, ANSWERS[1], ANSWERS[0], USER) is True
    assert annotator.prefer(QUERY, ANSWERS[0], ANSWERS[1], USER) is False


def test_each_interest_is_judged_by_the_sentence_that_addresses_it():
    # With a hash embedding only identical texts are similar: a sentence that is exactly the
    # user's tag matches it; the same words inside a longer sentence do not.
    fake = DeterministicFakeEmbedding(size=64)
    focused = "Some opening words here. Closing remarks follow. Yoga"
    blended = "Some opening words here. Closing remarks follow, Yoga"
    judge = EmbeddingAnnotator(fake, temperature=0.0, w_query=0.0)
    assert judge.rank(QUERY, [blended, focused], ["Yoga"]) == [1, 0]
    assert judge.relevance(QUERY, [focused], ["Yoga"])[0] == pytest.approx(1.0)


def test_the_sentence_judge_reads_the_whole_answer():
    fake = DeterministicFakeEmbedding(size=64)
    late = " ".join(["filler"] * 200) + ". Yoga"
    other = " ".join(["filler"] * 200) + ". Tax law"
    judge = EmbeddingAnnotator(fake, temperature=0.0, w_query=0.0, max_words=3)
    assert judge.rank(QUERY, [other, late], ["Yoga"]) == [1, 0]
    # The answer-level judge reads only the first max_words words: both look the same to it.
    relevance = EmbeddingAnnotator(fake, temperature=0.0, match="answer", max_words=3).relevance(
        QUERY, [other, late], ["Yoga"])
    assert relevance[0] == pytest.approx(relevance[1])


def test_each_judge_has_its_calibrated_temperature():
    fake = DeterministicFakeEmbedding(size=8)
    assert EmbeddingAnnotator(fake).temperature == DEFAULT_TEMPERATURE
    assert EmbeddingAnnotator(fake, match="answer").temperature == ANSWER_TEMPERATURE
    assert EmbeddingAnnotator(fake, match="answer", temperature=0.5).temperature == 0.5


def test_the_judge_reads_only_the_first_max_words():
    annotator = EmbeddingAnnotator(DeterministicFakeEmbedding(size=8), max_words=3)
    assert annotator.read("one two three four five") == "one two three"
    assert EmbeddingAnnotator(DeterministicFakeEmbedding(size=8), max_words=None).read("a b c d") == "a b c d"


@pytest.mark.parametrize("kwargs", [{"temperature": -0.1}, {"max_words": 0}, {"match": "words"}])
def test_invalid_embedding_annotator_settings(kwargs):
    with pytest.raises(ValueError):
        EmbeddingAnnotator(DeterministicFakeEmbedding(size=8), **kwargs)


def test_default_temperature_is_documented():
    assert str(DEFAULT_TEMPERATURE) in EmbeddingAnnotator.__doc__
    assert str(ANSWER_TEMPERATURE) in EmbeddingAnnotator.__doc__


# -- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, m, expected",
    [
        ("(Explanation) The second fits. (Ranking) 2, 1, 3 (The End of AI Feedback)", 3, [1, 0, 2]),
        ("(Explanation) My ranking puts 3 first.\n(Ranking)\n  3,1,2  \nThanks!", 3, [2, 0, 1]),
        ("Ranking: [Response 3] > [Response 1] > [Response 2]", 3, [2, 0, 1]),
        ("(Ranking) [2, 1]", 2, [1, 0]),
        ("2, 1", 2, [1, 0]),
        ("Response 2, Response 1, Response 4, Response 3", 4, [1, 0, 3, 2]),
    ],
)
def test_parse_ranking_reads_one_based_rankings(text, m, expected):
    assert parse_ranking(text, m) == expected


@pytest.mark.parametrize(
    "text, m",
    [
        ("(Explanation) Both are fine.", 2),             # no ranking at all
        ("I prefer the first response.", 3),             # prose is not a ranking
        ("(Ranking) 1, 1, 2", 3),                        # repeated
        ("(Ranking) 1, 2", 3),                           # too short
        ("(Ranking) 0, 1, 2", 3),                        # 0-based
        ("(Ranking) 1, 2, 4", 3),                        # out of range
        ("", 2),
    ],
)
def test_parse_ranking_rejects_what_is_not_a_permutation(text, m):
    with pytest.raises(AnnotatorParseError) as info:
        parse_ranking(text, m)
    assert isinstance(info.value, PremiumError) and isinstance(info.value, ValueError)


# -- the LLM annotator ---------------------------------------------------------------------------


def test_llm_annotator_parses_the_models_ranking():
    llm = FakeListChatModel(responses=["(Explanation) Response 3 draws on Baking. (Ranking) 3, 1, 2"])
    assert LLMAnnotator(llm, shuffle=False).rank(QUERY, ANSWERS, USER) == [2, 0, 1]


def test_llm_annotator_raises_on_output_it_cannot_parse():
    llm = FakeListChatModel(responses=["I like them all.", "(Ranking) 1, 1, 3"])
    annotator = LLMAnnotator(llm, shuffle=False)
    for _ in range(2):
        with pytest.raises(AnnotatorParseError):
            annotator.rank(QUERY, ANSWERS, USER)


def _judge_that_likes(word: str, seen: list):
    """A fake judge: ranks first the response that mentions ``word``, the rest in order."""

    def judge(prompt):
        text = "\n".join(m.content for m in prompt.to_messages())
        seen.append(text)
        numbers = [int(n) for n in re.findall(r"\(The Start of Response (\d+)\)", text)]
        bodies = re.findall(r"\(The Start of Response \d+\)(.*?)\(The End of Response", text, re.S)
        best = next(n for n, body in zip(numbers, bodies) if word in body)
        order = [best] + [n for n in numbers if n != best]
        return "(Explanation) One response fits. (Ranking) " + ", ".join(map(str, order))

    return RunnableLambda(judge)


def test_llm_annotator_maps_shuffled_responses_back():
    seen: list[str] = []
    annotator = LLMAnnotator(_judge_that_likes("Yoga", seen), seed=0)
    for seed in range(6):
        assert annotator.rank(QUERY, ANSWERS, USER, rng=np.random.default_rng(seed))[0] == 1
    # The responses were shown in more than one order.
    assert len({re.search(r"Response 1\) (\w+)", t).group(1) for t in seen}) > 1
    assert annotator.prefer(QUERY, ANSWERS[1], ANSWERS[0], USER) is True


def test_llm_annotator_prompt_carries_the_judging_information():
    seen: list[str] = []
    annotator = LLMAnnotator(_judge_that_likes("Yoga", seen), shuffle=False)
    annotator.rank(QUERY, ANSWERS, UserTags(("Baking", "Yoga"), ("Brief",)))
    prompt = seen[0]
    for piece in ("Baking, Yoga", "Brief", QUERY, "3 numbered responses", "(Explanation)", "(Ranking)",
                  "(The End of AI Feedback)", *ANSWERS):
        assert piece in prompt
    assert "(The Start of Response 3)" in prompt
    annotator.rank(QUERY, ANSWERS, ["Baking"])
    assert "styles" not in seen[1].split("(User Question)")[0]  # no style lines without styles
