"""RALM: tags chosen by the frozen encoder's similarity to the query, with no learning."""

from __future__ import annotations

import numpy as np

from langchain_premium.records import TagSet
from langchain_premium.selectors.base import BaseSelector, SelectionContext
from langchain_premium.selectors.sets import best_sets, to_tag_set


class RetrieverSelector(BaseSelector):
    """The untrained retriever: the m best tag sets by cosine similarity to the query.

    It ignores feedback, so it shows what learning adds (the paper's "RALM" baseline).

    Example:
        >>> from langchain_premium import PremiumRunnable
        >>> from langchain_premium.offline import OfflineChatModel
        >>> premium = PremiumRunnable(llm=OfflineChatModel(), selector=RetrieverSelector())
        >>> premium.key  # its interactions are stored under this method key
        'ralm'
    """

    name = "ralm"
    feedback_free = True

    def scores(self, state, context: SelectionContext) -> np.ndarray:
        matrix = context.tag_cache.matrix(list(context.library.all_tags))
        return matrix @ context.query_embedding

    def select(self, state, context: SelectionContext, *, k, m, n_explore, explore, rng) -> list[TagSet]:
        library = context.library
        scores = self.scores(state, context)
        ordinary = len(library.tags)
        position = {t: i for i, t in enumerate(library.all_tags)}
        styles = tuple(
            a if scores[position[a]] >= scores[position[b]] else b for a, b in library.binary_pairs
        )
        return [
            to_tag_set(library.all_tags, s, scores, "selector", styles)
            for s in best_sets(scores[:ordinary], k, m)
        ]
