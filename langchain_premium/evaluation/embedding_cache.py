"""An in-process cache around a frozen encoder, shared by every simulated run."""

from __future__ import annotations

import functools
import threading
from typing import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from langchain_premium.encoding import embed_texts

__all__ = ["CachedEmbeddings", "shared_embeddings"]


class CachedEmbeddings(Embeddings):
    """Embeddings that remember every text they have embedded (text -> unit vector).

    Simulations embed the same queries, tags and answers over and over (every seed, method and
    evaluation step); the encoder is frozen, so each distinct text is embedded once. Missing
    texts of one call are embedded together in one batch. Thread-safe; unbounded (a 384-d
    vector is 1.5 kB, so 10,000 texts take about 15 MB).

    Unlike ``langchain.embeddings.CacheBackedEmbeddings`` it also caches :meth:`embed_query`
    (the runnable embeds every query that way) and keeps numpy arrays, not lists.

    Args:
        embeddings: the encoder to wrap (vectors are normalised to unit length).

    Example:
        >>> from langchain_core.embeddings import DeterministicFakeEmbedding
        >>> cached = CachedEmbeddings(DeterministicFakeEmbedding(size=8))
        >>> first = cached.embed_query("hello")
        >>> cached.embed_query("hello") == first, len(cached)
        (True, 1)
    """

    def __init__(self, embeddings: Embeddings) -> None:
        self.embeddings = embeddings
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def __reduce__(self):
        # Sent to a worker process: the process-wide cache stays the worker's own shared
        # cache; any other cache starts empty there (locks and vectors do not travel).
        if self is shared_embeddings():
            return (shared_embeddings, ())
        return (CachedEmbeddings, (self.embeddings,))

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), d)`` float32 unit rows; only texts not seen before reach the encoder."""
        texts = list(texts)
        if not texts:
            raise ValueError("embed_array needs at least one text")
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            vectors = embed_texts(self.embeddings, missing)
            with self._lock:
                self._vectors.update(zip(missing, vectors))
        return np.stack([self._vectors[t] for t in texts])

    def warm(self, texts: Sequence[str]) -> None:
        """Embed ``texts`` now, in one batch, so later single lookups are free."""
        if texts:
            self.embed_array(texts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()


@functools.lru_cache(maxsize=1)
def shared_embeddings() -> CachedEmbeddings:
    """The process-wide cache around the packaged MiniLM encoder (loaded on first use).

    Example:
        >>> shared_embeddings() is shared_embeddings()
        True
    """
    from langchain_premium.offline import default_embeddings

    return CachedEmbeddings(default_embeddings())
