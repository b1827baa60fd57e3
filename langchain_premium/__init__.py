"""langchain-premium: personalise any LangChain chat model from users' rankings of its answers."""

from langchain_premium.errors import (
    CandidateGenerationError,
    FeedbackError,
    PremiumError,
    StaleStateError,
)
from langchain_premium.memory import SQLiteMemory
from langchain_premium.records import PreferencePair, TagSet
from langchain_premium.result import Candidate, FeedbackReceipt, PremiumResult
from langchain_premium.runnable import PremiumRunnable
from langchain_premium.selectors import (
    BaseSelector,
    EmbedSelector,
    RandomSelector,
    RetrieverSelector,
    UserProfile,
)
from langchain_premium.tags import TagLibrary

__all__ = [
    "BaseSelector",
    "Candidate",
    "CandidateGenerationError",
    "EmbedSelector",
    "FeedbackError",
    "FeedbackReceipt",
    "PreferencePair",
    "PremiumError",
    "PremiumResult",
    "PremiumRunnable",
    "RandomSelector",
    "RetrieverSelector",
    "SQLiteMemory",
    "StaleStateError",
    "TagLibrary",
    "TagSet",
    "UserProfile",
]
__version__ = "0.1.0"
