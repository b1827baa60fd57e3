"""BM25 retrieval over one user's text history (the OPPU-style baseline's retrieval step)."""

from __future__ import annotations

import re
import warnings
from typing import Any, Optional

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from langchain_premium.baselines.history import require_text, user_history
from langchain_premium.memory import SQLiteMemory

__all__ = ["UserHistoryRetriever", "bm25_tokens"]


def bm25_tokens(text: str) -> list[str]:
    """Lower-cased word tokens for BM25.

    Example:
        >>> bm25_tokens("Sci-Fi: a ROBOT paints!")
        ['sci', 'fi', 'a', 'robot', 'paints']
    """
    return re.findall(r"[a-z0-9]+", text.lower())


class UserHistoryRetriever(BaseRetriever):
    """The ``k`` items of one user's history most relevant to a query, by BM25.

    Each history item (a past query and the answer the user ranked first, see
    :func:`~langchain_premium.baselines.history.user_history`) is one document: the query, a
    newline, the answer; ``metadata`` holds ``query``, ``answer`` and ``run_id``. The index is
    built from the memory at every call, so new feedback and ``forget_user`` apply at once.
    Only this user's items are ever searched. Needs ``SQLiteMemory(store_text=True)``.

    Example:
        >>> from langchain_premium.baselines.history import add_history
        >>> memory = SQLiteMemory(store_text=True)
        >>> add_history(memory, "alice", "oppu-k2", [("A robot paints a mural.", "sci-fi"),
        ...     ("A dog runs a cafe.", "comedy"), ("The robot paints Mars.", "sci-fi")])
        3
        >>> retriever = UserHistoryRetriever(memory=memory, user_id="alice", method="oppu-k2",
        ...                                  k=2)
        >>> [d.metadata["answer"] for d in retriever.invoke("a robot paints")]
        ['sci-fi', 'sci-fi']
    """

    memory: SQLiteMemory
    """The memory holding the user's interactions (with text)."""
    user_id: str
    """Whose history to search."""
    method: str
    """The method key whose interactions form the history."""
    k: int = Field(default=4, ge=0)
    """How many items to return (at most the size of the history)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def model_post_init(self, context: Any) -> None:
        require_text(self.memory, "UserHistoryRetriever")

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: Optional[int] = None
    ) -> list[Document]:
        k = self.k if k is None else k
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        items = user_history(self.memory, self.user_id, self.method)
        if not items or k == 0:
            return []
        # Imported here: langchain_community is slow to import and warns that it is being sunset
        # (BM25Retriever is still the natural OPPU retriever; the warning is not the user's).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*langchain-community.*", category=DeprecationWarning)
            from langchain_community.retrievers import BM25Retriever

        documents = [
            Document(page_content=f"{item.query}\n{item.answer}",
                     metadata={"query": item.query, "answer": item.answer, "run_id": item.run_id})
            for item in items
        ]
        bm25 = BM25Retriever.from_documents(documents, k=min(k, len(documents)),
                                            preprocess_func=bm25_tokens)
        return bm25.invoke(query, config={"callbacks": run_manager.get_child()})
