"""What an answer says: sentence vectors, their relevance to tags, and their storage format."""

from __future__ import annotations

import numpy as np
import pytest

from langchain_premium.answer_vectors import (
    answer_relevance,
    decode_answer_vectors,
    embed_answers,
    encode_answer_vectors,
    sentences,
)
from langchain_premium.errors import CorruptStateError
from langchain_premium.hash_embeddings import HashEmbeddings


def test_an_answer_is_split_into_its_sentences():
    assert sentences("Bake slowly. Then rest! Why? (Serve cold.) Done") == [
        "Bake slowly.", "Then rest!", "Why?", "(Serve cold.)", "Done"]
    assert sentences("no breaks at all") == ["no breaks at all"]
    assert sentences("") == [""]


def test_each_answer_gets_the_unit_vectors_of_its_own_sentences():
    encoder = HashEmbeddings()
    answers = ["Jazz at night. Baking at dawn.", "Tax law."]
    vectors = embed_answers(encoder, answers)
    assert [v.shape[0] for v in vectors] == [2, 1]
    np.testing.assert_allclose(np.linalg.norm(np.concatenate(vectors), axis=1), 1.0, rtol=1e-5)
    alone = np.asarray(encoder.embed_documents(["Baking at dawn."])[0])
    np.testing.assert_allclose(vectors[0][1], alone / np.linalg.norm(alone), rtol=1e-5, atol=1e-6)
    assert embed_answers(encoder, []) == []


def test_relevance_is_the_best_sentence_per_tag_rescaled_as_the_coverage_kernel():
    rng = np.random.default_rng(0)
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    said, tags = unit(rng.normal(size=(4, 8))), unit(rng.normal(size=(3, 8)))
    got = answer_relevance(said, tags, floor=0.2)
    for j, tag in enumerate(tags):  # the plain loop
        best = max(float(s @ tag) for s in said)
        assert got[j] == pytest.approx((best - 0.2) / 0.8, abs=1e-6)
    # a sentence that is the tag itself gives full relevance, whatever the floor
    assert answer_relevance(tags[:1], tags[:1], floor=0.4)[0] == pytest.approx(1.0, abs=1e-6)


def test_stored_vectors_come_back_per_answer_in_half_precision():
    rng = np.random.default_rng(1)
    vectors = [rng.normal(size=(3, 16)).astype(np.float32), rng.normal(size=(1, 16)).astype(np.float32)]
    blob = encode_answer_vectors("run-1", vectors, 2)
    back = decode_answer_vectors("run-1", blob)
    assert [v.shape for v in back] == [(3, 16), (1, 16)] and back[0].dtype == np.float32
    for a, b in zip(vectors, back):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
    assert encode_answer_vectors("run-1", None, 2) is None and decode_answer_vectors("run-1", None) is None


def test_vectors_that_do_not_fit_the_candidates_are_refused_by_name():
    good = np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match="run 'r': 1 answers' vectors for 2 candidates"):
        encode_answer_vectors("r", [good], 2)
    with pytest.raises(ValueError, match="non-empty"):
        encode_answer_vectors("r", [good, np.ones((0, 4), np.float32)], 2)
    with pytest.raises(ValueError, match="of one d"):
        encode_answer_vectors("r", [good, np.ones((1, 5), np.float32)], 2)
    with pytest.raises(CorruptStateError, match="run 'r': unreadable answer vectors"):
        decode_answer_vectors("r", b"not an npz file")
