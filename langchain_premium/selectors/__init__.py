"""Ways of choosing tag sets: one module each, all behind :class:`BaseSelector`."""

from langchain_premium.selectors.base import BaseSelector, SelectionContext, UserProfile
from langchain_premium.selectors.embed import EmbedSelector, EmbedState
from langchain_premium.selectors.random import RandomSelector
from langchain_premium.selectors.retriever import RetrieverSelector

__all__ = [
    "BaseSelector",
    "EmbedSelector",
    "EmbedState",
    "RandomSelector",
    "RetrieverSelector",
    "SelectionContext",
    "UserProfile",
]
