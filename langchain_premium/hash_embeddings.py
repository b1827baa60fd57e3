"""HashEmbeddings: a cheap, deterministic stand-in encoder for load tests and unit tests."""

from __future__ import annotations

import hashlib
import re

import numpy as np
from langchain_core.embeddings import Embeddings

__all__ = ["HashEmbeddings"]

_WORD = re.compile(r"\w+")


class HashEmbeddings(Embeddings):
    """Hashed bag of words: each lowercase word adds a signed unit at a position set by its hash.

    Texts that share words are similar and different words are nearly orthogonal, which is all a
    tag selector needs to run. It costs microseconds, so ``premium stress`` measures the memory
    and the update path rather than a neural encoder. It is the same in every process (no salted
    ``hash``), so the tag embeddings that several processes compute agree exactly.

    Example:
        >>> encoder = HashEmbeddings(dimension=32)
        >>> len(encoder.embed_query("Baking bread"))
        32
    """

    def __init__(self, dimension: int = 64) -> None:
        if dimension < 2:
            raise ValueError(f"dimension must be at least 2, got {dimension}")
        self.dimension = dimension

    def _vector(self, text: str) -> list[float]:
        if not isinstance(text, str):
            raise TypeError(f"HashEmbeddings embeds strings, got {type(text).__name__}")
        vector = np.zeros(self.dimension, dtype=np.float64)
        # Long inputs are capped: the encoder, like MiniLM, only reads the start of a text.
        words = _WORD.findall(text[:4096].lower()) or [text[:4096]]
        for word in words:
            digest = hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest()
            slot = int.from_bytes(digest[:4], "little") % self.dimension
            vector[slot] += 1.0 if digest[4] & 1 else -1.0
        norm = np.linalg.norm(vector)
        if norm == 0:  # the words cancelled out: fall back to the first slot
            vector[0], norm = 1.0, 1.0
        return (vector / norm).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)
