"""Text-history baselines from the paper: TidyBot-style and OPPU-style (no PEFT) runnables."""

from langchain_premium.baselines.history import HistoryItem, add_history, user_history
from langchain_premium.baselines.oppu import OPPURunnable
from langchain_premium.baselines.profile import ProfileRunnable
from langchain_premium.baselines.retriever import UserHistoryRetriever
from langchain_premium.baselines.tidybot import TidyBotRunnable

__all__ = [
    "HistoryItem",
    "OPPURunnable",
    "ProfileRunnable",
    "TidyBotRunnable",
    "UserHistoryRetriever",
    "add_history",
    "user_history",
]
