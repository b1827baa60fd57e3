"""Vanilla: m tag sets drawn uniformly at random (the paper's "Vanilla LLM" baseline)."""

from __future__ import annotations

import numpy as np

from langchain_premium.records import TagSet
from langchain_premium.selectors.base import BaseSelector, SelectionContext
from langchain_premium.selectors.sets import fill_distinct, random_subset, to_tag_set


class RandomSelector(BaseSelector):
    """Chooses every tag set uniformly at random and never learns.

    Example:
        >>> from langchain_premium import PremiumRunnable
        >>> from langchain_premium.offline import OfflineChatModel
        >>> premium = PremiumRunnable(llm=OfflineChatModel(), selector=RandomSelector())
        >>> premium.key  # its interactions are stored under this method key
        'vanilla'
    """

    name = "vanilla"
    feedback_free = True

    def select(self, state, context: SelectionContext, *, k, m, n_explore, explore, rng) -> list[TagSet]:
        library = context.library
        ordinary = len(library.tags)
        subsets = fill_distinct([], lambda: random_subset(ordinary, k, rng), m, [])
        return [
            to_tag_set(
                library.all_tags, s, None, "selector",
                tuple(a if rng.random() < 0.5 else b for a, b in library.binary_pairs),
            )
            for s in subsets
        ]
