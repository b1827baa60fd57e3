"""The tag embedding cache stacks a library once and hands out copies."""

from __future__ import annotations

import numpy as np

from langchain_premium.encoding import TagEmbeddingCache
from langchain_premium.hash_embeddings import HashEmbeddings


class CountingEmbeddings(HashEmbeddings):
    def __init__(self) -> None:
        super().__init__(dimension=16)
        self.embedded: list[str] = []

    def embed_documents(self, texts):
        self.embedded.extend(texts)
        return super().embed_documents(texts)


def test_each_tag_is_embedded_once_and_the_matrix_follows_the_order_given():
    encoder = CountingEmbeddings()
    cache = TagEmbeddingCache(encoder)
    tags = [f"tag {i}" for i in range(100)]
    first = cache.matrix(tags)
    again = cache.matrix(list(reversed(tags)))
    assert encoder.embedded == tags  # the second call embedded nothing
    assert np.array_equal(again, first[::-1])
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0)


def test_callers_get_their_own_arrays():
    cache = TagEmbeddingCache(CountingEmbeddings())
    tags = [f"tag {i}" for i in range(100)]
    first = cache.matrix(tags)
    first[:] = 0.0
    second = cache.matrix(tags)
    assert second.flags.writeable and not np.shares_memory(first, second)
    assert np.allclose(np.linalg.norm(second, axis=1), 1.0)  # the cached matrix was not changed


def test_stacked_matrices_are_bounded():
    cache = TagEmbeddingCache(CountingEmbeddings())
    for start in range(5):
        cache.matrix([f"tag {i}" for i in range(start, start + 100)])
    cache.matrix(["tag 1", "tag 2"])  # small lists are stacked on every call, never kept
    assert len(cache._stacked) == TagEmbeddingCache.STACKED
