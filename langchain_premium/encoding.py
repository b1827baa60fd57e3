"""Shared, frozen text encoding: unit-length numpy vectors for queries and (cached) tags."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def embed_texts(embeddings: Embeddings, texts: Sequence[str]) -> np.ndarray:
    """Embed ``texts`` as an ``(n, d)`` float32 array of unit rows (cosine geometry)."""
    if not texts:
        raise ValueError("embed_texts needs at least one text")
    fast = getattr(embeddings, "embed_array", None)
    matrix = fast(list(texts)) if fast else np.asarray(embeddings.embed_documents(list(texts)))
    return _unit_rows(np.asarray(matrix, dtype=np.float32))


def embed_query(embeddings: Embeddings, query: str) -> np.ndarray:
    """Embed one query as a ``(d,)`` float32 unit vector."""
    return _unit_rows(np.asarray(embeddings.embed_query(query), dtype=np.float32)[None, :])[0]


async def aembed_query(embeddings: Embeddings, query: str) -> np.ndarray:
    """Async :func:`embed_query` (runs the encoder off the event loop when it has no async API)."""
    vector = await embeddings.aembed_query(query)
    return _unit_rows(np.asarray(vector, dtype=np.float32)[None, :])[0]


class TagEmbeddingCache:
    """Tag name -> embedding, computed once per encoder; safe to share between threads.

    Tags are short and reused by every query and user, so the library is embedded once and
    new tags are embedded when they first appear (an expanded Tag Library costs only its new tags).

    Example:
        >>> from langchain_premium.hash_embeddings import HashEmbeddings
        >>> cache = TagEmbeddingCache(HashEmbeddings(dimension=64))  # any LangChain Embeddings
        >>> cache.matrix(["Baking", "Jazz"]).shape
        (2, 64)
    """

    #: Stacked matrices kept for the most recently requested tag lists of at least
    #: ``STACK_FROM`` tags: a selector asks for the same library on every query, and stacking
    #: 20,000 rows each time cost more than scoring them (copying a stacked one costs 1/7).
    STACKED = 2
    STACK_FROM = 64

    def __init__(self, embeddings: Embeddings) -> None:
        self.embeddings = embeddings
        self._vectors: dict[str, np.ndarray] = {}
        self._stacked: OrderedDict[tuple[str, ...], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def matrix(self, tags: Sequence[str]) -> np.ndarray:
        """The ``(len(tags), d)`` matrix of unit tag embeddings, in the order given.

        The result is the caller's own array (a copy), so it may be changed freely.
        """
        key = tuple(tags)
        with self._lock:
            stacked = self._stacked.get(key)
            if stacked is not None:
                self._stacked.move_to_end(key)
                return stacked.copy()
        missing = [tag for tag in dict.fromkeys(key) if tag not in self._vectors]
        if missing:
            vectors = embed_texts(self.embeddings, missing)
            with self._lock:
                self._vectors.update(zip(missing, vectors))
        stacked = np.stack([self._vectors[tag] for tag in key])
        if len(key) < self.STACK_FROM:
            return stacked
        stacked.flags.writeable = False  # the cached one: callers get copies
        with self._lock:
            self._stacked[key] = stacked
            while len(self._stacked) > self.STACKED:
                self._stacked.popitem(last=False)
        return stacked.copy()
