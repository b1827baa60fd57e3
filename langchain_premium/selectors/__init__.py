"""Ways of choosing tag sets: one module each, all behind :class:`BaseSelector`."""

from langchain_premium.selectors.base import BaseSelector, SelectionContext, UserProfile
from langchain_premium.selectors.embed import EmbedSelector, EmbedState
from langchain_premium.selectors.finetune import FinetuneSelector, FinetuneState
from langchain_premium.selectors.population import POPULATION_USER_ID, PopulationSelector
from langchain_premium.selectors.prompt import PromptSelector
from langchain_premium.selectors.random import RandomSelector
from langchain_premium.selectors.retriever import RetrieverSelector

__all__ = [
    "BaseSelector",
    "EmbedSelector",
    "EmbedState",
    "FinetuneSelector",
    "FinetuneState",
    "POPULATION_USER_ID",
    "PopulationSelector",
    "PromptSelector",
    "RandomSelector",
    "RetrieverSelector",
    "SelectionContext",
    "UserProfile",
]
