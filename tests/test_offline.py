"""Tests for the offline stand-in chat model and the packaged MiniLM embeddings."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from langchain_premium import offline
from langchain_premium.offline import (
    MiniLMEmbeddings,
    OfflineChatModel,
    default_embeddings,
    get_sentence_transformer,
)


def generation_prompt(domains, styles=(), query="How do I make handmade desserts?"):
    """Messages shaped like the contract's generation prompt."""
    system = (
        "You are a helpful assistant. Answer the user's question.\n"
        "Weave in relevant elements, perspectives, examples and terminology "
        f"from the following domains: {', '.join(domains)}."
    )
    if styles:
        system += f"\nAlso, write in the following writing styles: {', '.join(styles)}."
    return [SystemMessage(system), HumanMessage(query)]


# ----------------------------------------------------------------------------- standard suites


class TestOfflineChatModelStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[OfflineChatModel]:
        return OfflineChatModel

    @property
    def chat_model_params(self) -> dict:
        return {"model": "premium-offline-test"}

    @property
    def has_tool_calling(self) -> bool:
        return False


class TestMiniLMEmbeddingsStandard(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[MiniLMEmbeddings]:
        return MiniLMEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"batch_size": 16}


# ----------------------------------------------------------------------------- chat model


@pytest.fixture
def model() -> OfflineChatModel:
    return OfflineChatModel()


def test_answer_mentions_every_requested_domain(model: OfflineChatModel) -> None:
    domains = ["Baking", "Industrial-organizational psychology", "K-12 education"]
    text = model.invoke(generation_prompt(domains)).content
    for domain in domains:
        assert domain in text
        # The domain is used to frame the question, not only listed once.
        assert text.count(domain) >= 2
    assert "handmade desserts" in text


def test_answer_is_deterministic(model: OfflineChatModel) -> None:
    messages = generation_prompt(["Baking", "Nutrition", "Yoga"], ["Humorous"])
    first = model.invoke(messages).content
    assert OfflineChatModel().invoke(messages).content == first
    # A stable hash, not Python's per-process salted hash(): a new interpreter agrees.
    system, human = messages[0].content, messages[1].content
    script = (
        "from langchain_core.messages import HumanMessage, SystemMessage\n"
        "from langchain_premium.offline import OfflineChatModel\n"
        f"messages = [SystemMessage({system!r}), HumanMessage({human!r})]\n"
        "print(OfflineChatModel().invoke(messages).content, end='')\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert other.stdout == first


def test_answers_differ_for_different_tag_sets(model: OfflineChatModel) -> None:
    baking = model.invoke(generation_prompt(["Baking", "Nutrition", "Yoga"])).content
    finance = model.invoke(generation_prompt(["Investment", "Film theory", "Cat care"])).content
    assert baking != finance
    assert "Investment" not in baking and "Baking" not in finance


def test_answer_without_domains_is_plain(model: OfflineChatModel) -> None:
    text = model.invoke([HumanMessage("How do I make handmade desserts?")]).content
    assert "handmade desserts" in text
    assert "perspective" not in text and "drawing on" not in text


def test_answers_the_last_human_message(model: OfflineChatModel) -> None:
    messages = [
        *generation_prompt(["Baking"], query="Tell me about volcanoes"),
        HumanMessage("Now tell me about bicycles"),
    ]
    text = model.invoke(messages).content
    assert "bicycles" in text and "volcanoes" not in text


def test_styles_shape_the_answer(model: OfflineChatModel) -> None:
    domains = ["Baking", "Nutrition", "Yoga"]
    plain = model.invoke(generation_prompt(domains)).content
    brief = model.invoke(generation_prompt(domains, ["Brief", "Serious"])).content
    thorough = model.invoke(generation_prompt(domains, ["Thorough", "Humorous"])).content
    assert len(brief.split()) < len(plain.split()) < len(thorough.split())
    assert all(domain in brief for domain in domains)
    assert "(" in thorough and "(" not in brief  # the light aside only when humorous


def test_domains_and_styles_on_one_line(model: OfflineChatModel) -> None:
    system = (
        "Use the following domains: Node.js, Baking. Additionally, follow the following "
        "writing styles: Brief."
    )
    text = model.invoke([SystemMessage(system), HumanMessage("Plan a party")]).content
    assert "Node.js" in text and "Baking" in text
    assert "Additionally" not in text


def test_reference_opinion_prompt_gets_the_tag_only(model: OfflineChatModel) -> None:
    prompt = (
        "Decide which tag the movie relates to. If the reference opinion is reasonable, "
        "repeat it. Just answer with the tag name without further explanation.\n"
        "tags: [sci-fi, based on a book, comedy, twist ending]\n"
        "(Reference Opinion) twist ending\n"
        "(Movie Description) A detective slowly realises he is the culprit."
    )
    assert model.invoke(prompt).content == "twist ending"
    # Without the "tag name only" instruction it is an ordinary question.
    assert model.invoke("(Reference Opinion) comedy\nWhat makes films funny?").content != (
        "comedy"
    )


def test_stream_is_word_by_word_and_matches_invoke(model: OfflineChatModel) -> None:
    messages = generation_prompt(["Baking", "Nutrition"])
    chunks = list(model.stream(messages))
    assert len(chunks) > 10
    assert all(isinstance(chunk, AIMessageChunk) for chunk in chunks)
    assert "".join(chunk.content for chunk in chunks) == model.invoke(messages).content
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.usage_metadata["output_tokens"] == len(merged.content.split())


def test_stop_sequence_truncates(model: OfflineChatModel) -> None:
    messages = generation_prompt(["Baking"])
    full = model.invoke(messages).content
    cut = model.invoke(messages, stop=["Baking"]).content
    assert full.startswith(cut) and "Baking" not in cut


_IN_FLIGHT_LOCK = threading.Lock()


class InFlightCounter(OfflineChatModel):
    """The offline model, counting how many of its calls are sleeping at once."""

    in_flight: int = 0
    max_in_flight: int = 0

    def _enter(self) -> None:
        with _IN_FLIGHT_LOCK:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with _IN_FLIGHT_LOCK:
            self.in_flight -= 1

    def _generate(self, *args, **kwargs):
        self._enter()
        try:
            return super()._generate(*args, **kwargs)
        finally:
            self._leave()

    async def _agenerate(self, *args, **kwargs):
        self._enter()
        try:
            return await super()._agenerate(*args, **kwargs)
        finally:
            self._leave()


# Concurrency is checked by counting the calls in flight, not by a wall-clock bound, which a
# loaded machine can break. A model that slept with a lock held, or blocked the event loop,
# would keep one call in flight at a time.
def test_batch_runs_calls_concurrently() -> None:
    slow = InFlightCounter(latency=0.3)
    tags = ("Baking", "Yoga", "Chess", "Music")
    answers = slow.batch([generation_prompt([tag]) for tag in tags], config={"max_concurrency": 4})
    assert all(tag in answer.content for tag, answer in zip(tags, answers))
    assert slow.max_in_flight == 4


async def test_async_calls_overlap() -> None:
    slow = InFlightCounter(latency=0.3)
    start = time.perf_counter()
    answers = await asyncio.gather(*(slow.ainvoke(f"Question {i}") for i in range(4)))
    assert len(answers) == 4
    assert time.perf_counter() - start >= 0.3  # the latency was slept
    assert slow.max_in_flight == 4


def test_negative_latency_is_rejected() -> None:
    with pytest.raises(ValueError, match="latency"):
        OfflineChatModel(latency=-1)


def test_reports_itself_as_a_stand_in(model: OfflineChatModel) -> None:
    assert "standin" in model._llm_type
    assert model._identifying_params["model"] == "premium-offline"


# ----------------------------------------------------------------------------- embeddings


def test_loading_the_module_does_not_import_torch() -> None:
    # Load offline.py on its own: the package __init__ pulls in other modules whose imports
    # are not this module's to test.
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('offline', {offline.__file__!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "module.MiniLMEmbeddings()\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def embeddings() -> MiniLMEmbeddings:
    embeddings = default_embeddings()
    embeddings.embed_query("warm up")  # load the model once for the whole module
    return embeddings


def test_vectors_are_384_d_and_normalised(embeddings: MiniLMEmbeddings) -> None:
    vectors = embeddings.embed_documents(["How do I bake bread?", "Stock market basics", ""])
    assert len(vectors) == 3
    assert all(isinstance(v, list) and len(v) == 384 for v in vectors)
    assert all(isinstance(x, float) for x in vectors[0])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embeddings.dimension == 384


def test_embed_array_matches_documents_and_query(embeddings: MiniLMEmbeddings) -> None:
    texts = ["Yoga for beginners", "Quantum computing"]
    array = embeddings.embed_array(texts)
    assert array.shape == (2, 384) and array.dtype == np.float32
    np.testing.assert_allclose(array, np.array(embeddings.embed_documents(texts)), atol=1e-6)
    np.testing.assert_allclose(array[0], embeddings.embed_query(texts[0]), atol=1e-5)
    assert embeddings.embed_array([]).shape == (0, 384)


def test_similar_texts_are_closer_than_unrelated(embeddings: MiniLMEmbeddings) -> None:
    cake, pastry, tax = embeddings.embed_array(
        ["How do I bake a chocolate cake?", "Tips for baking pastry at home", "Filing income tax"]
    )
    assert float(cake @ pastry) > float(cake @ tax) + 0.2


def test_batch_size_does_not_change_vectors(embeddings: MiniLMEmbeddings) -> None:
    texts = [f"sentence number {i} about gardening" for i in range(10)]
    small = MiniLMEmbeddings(batch_size=3).embed_array(texts)
    np.testing.assert_allclose(small, embeddings.embed_array(texts), atol=1e-5)


def test_a_vector_does_not_depend_on_the_texts_embedded_with_it(embeddings: MiniLMEmbeddings) -> None:
    """Simulations cache vectors, so which texts share a batch depends on what was cached
    before; padded to a longer batch-mate a vector moved by ~1e-7 and flipped near-ties."""
    texts = ["Tax law", "Jazz", "A long answer about sailing, knots, tides and the history of harbours."]
    alone = np.stack([embeddings.embed_array([t])[0] for t in texts])
    together = embeddings.embed_array(texts)
    shuffled = embeddings.embed_array(texts[::-1] + ["A much longer sentence, padded to the others."])[:3][::-1]
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(shuffled, alone)


def test_padding_to_a_common_width_leaves_the_vectors_as_sentence_transformers_gives_them(
    embeddings: MiniLMEmbeddings,
) -> None:
    """Padded tokens are masked out: the vectors match unpadded encoding to float precision,
    for a text shorter than one padding step, texts in between and one past the model's limit."""
    texts = ["Jazz", "Tax law and the history of harbours", "A short tip.", "word " * 400]
    expected = get_sentence_transformer().encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(embeddings.embed_array(texts), expected, atol=1e-6)


def test_texts_of_one_padded_width_share_a_forward_pass(
    embeddings: MiniLMEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The judge's short sentences differ by a token or two; one pass per exact length made
    batches of one or two sentences, and the quick bench took 161 s against 136 s."""
    model = get_sentence_transformer()
    texts = ["Jazz", "Tax law", "Baking bread"]  # 3, 4 and 4 tokens: one width of 8
    widths = []
    forward = type(model).forward
    monkeypatch.setattr(type(model), "forward",
                        lambda self, features, **kw: widths.append(features["input_ids"].shape)
                        or forward(self, features, **kw))
    embeddings.embed_array(texts + ["A much longer sentence about the history of sailing ships."])
    assert widths == [(3, offline.PAD_TO), (1, 2 * offline.PAD_TO)]


def test_model_is_loaded_once_and_shared(embeddings: MiniLMEmbeddings) -> None:
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(get_sentence_transformer()))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result is results[0] for result in results)
    assert default_embeddings() is embeddings


def test_concurrent_embedding_is_safe(embeddings: MiniLMEmbeddings) -> None:
    texts = ["concurrent one", "concurrent two", "concurrent three"]
    expected = embeddings.embed_array(texts)
    outputs: list[np.ndarray] = []

    def work() -> None:
        outputs.append(embeddings.embed_array(texts))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outputs) == 4
    for output in outputs:
        np.testing.assert_allclose(output, expected, atol=1e-5)


def test_bad_inputs_are_rejected_with_clear_errors(embeddings: MiniLMEmbeddings) -> None:
    with pytest.raises(TypeError, match="embed_query"):
        embeddings.embed_documents("one string")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="None"):
        embeddings.embed_documents(["ok", None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="expects a string"):
        embeddings.embed_query(["a list"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        MiniLMEmbeddings(batch_size=0)
