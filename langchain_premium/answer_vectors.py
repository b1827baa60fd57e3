"""What an answer says: its sentences' unit vectors, and how well they address each tag."""

from __future__ import annotations

import io
import re
from typing import Optional, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from langchain_premium.encoding import embed_texts
from langchain_premium.errors import CorruptStateError

__all__ = ["answer_relevance", "decode_answer_vectors", "embed_answers", "encode_answer_vectors", "sentences",
           "split_rows"]

_SENTENCE_END = re.compile(r"(?<=[.!?)])\s+")


def sentences(answer: str) -> list[str]:
    """The sentences of ``answer`` (the whole answer when it has no sentence breaks).

    Example:
        >>> sentences("Plan ahead. Pack light! (Then go.)")
        ['Plan ahead.', 'Pack light!', '(Then go.)']
    """
    return [t for t in _SENTENCE_END.split(answer) if t.strip()] or [answer]


def split_rows(rows: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """``rows`` cut into consecutive blocks of ``sizes`` rows (each answer's sentences).

    Example:
        >>> [b.tolist() for b in split_rows(np.arange(3), [2, 1])]
        [[0, 1], [2]]
    """
    return np.split(rows, np.cumsum(sizes)[:-1])


def embed_answers(embeddings: Embeddings, answers: Sequence[str]) -> list[np.ndarray]:
    """Per answer, the ``(sentences, d)`` unit vectors of its sentences, embedded in one batch.

    Example:
        >>> from langchain_premium.hash_embeddings import HashEmbeddings
        >>> [v.shape for v in embed_answers(HashEmbeddings(), ["One. Two.", "Three."])]
        [(2, 64), (1, 64)]
    """
    if not answers:
        return []
    split = [sentences(a) for a in answers]
    vectors = embed_texts(embeddings, [s for group in split for s in group])
    return split_rows(vectors, [len(group) for group in split])


def answer_relevance(vectors: np.ndarray, tag_vectors: np.ndarray, floor: float) -> np.ndarray:
    """``(tags,)``: how well an answer addresses each tag, read as its best sentence for it.

    The cosine of the tag's unit vector with the closest sentence, rescaled as the coverage
    kernel rescales tag similarity, ``(cos - floor) / (1 - floor)``, so a ranking's evidence
    is on the scale of the tag sets' (:func:`~.selectors.coverage.coverage_kernel`). Not
    clipped: an answer that reads less like a tag than the floor counts a little against it.

    Example:
        >>> v = np.array([[1.0, 0.0], [0.6, 0.8]])  # two sentences
        >>> answer_relevance(v, np.array([[1.0, 0.0], [0.0, 1.0]]), floor=0.2).round(2).tolist()
        [1.0, 0.75]
    """
    best = (np.asarray(vectors, dtype=np.float32) @ np.asarray(tag_vectors, dtype=np.float32).T).max(axis=0)
    return (best - floor) / (1.0 - floor)


def encode_answer_vectors(run_id: str, vectors: Optional[Sequence[np.ndarray]], n_candidates: int) -> Optional[bytes]:
    """One blob for the sentence vectors of a run's answers (float16: a cosine moves by ~1e-3)."""
    if vectors is None:
        return None
    if len(vectors) != n_candidates:
        raise ValueError(f"run {run_id!r}: {len(vectors)} answers' vectors for {n_candidates} candidates")
    arrays = [np.asarray(v, dtype=np.float32) for v in vectors]
    if any(a.ndim != 2 or len(a) == 0 or a.shape[1] != arrays[0].shape[1] for a in arrays):
        raise ValueError(f"run {run_id!r}: each answer's vectors must be a non-empty (sentences, d) array of one d")
    buffer = io.BytesIO()
    np.savez(buffer, vectors=np.concatenate(arrays).astype(np.float16),
             counts=np.array([len(a) for a in arrays], dtype=np.int32))
    return buffer.getvalue()


def decode_answer_vectors(run_id: str, blob: Optional[bytes]) -> Optional[list[np.ndarray]]:
    """The answers' sentence vectors of :func:`encode_answer_vectors` (float32), or ``None``."""
    if blob is None:
        return None
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            vectors, counts = data["vectors"].astype(np.float32), data["counts"]
    except Exception as error:  # a truncated or foreign blob
        raise CorruptStateError(f"run {run_id!r}: unreadable answer vectors ({error})") from error
    if counts.sum() != len(vectors):
        raise CorruptStateError(f"run {run_id!r}: answer vectors hold {len(vectors)} rows, counts say {counts.sum()}")
    return split_rows(vectors, counts)
