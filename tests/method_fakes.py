"""Test doubles for the method tests: chat models that record their prompts, keyword embeddings."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field, PrivateAttr

_DOMAINS = re.compile(r"domains: (.*?)\.(?:\n|$)")


class RecordingChatModel(BaseChatModel):
    """Records every prompt it receives. Answers with ``responses`` in turn (cycled) or, when
    there are none, with a line naming the prompt's domains and the question."""

    model: str = "recording"
    responses: list[str] = Field(default_factory=list)
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "recording-test-model"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        with self._lock:
            self.calls.append(list(messages))
            index = len(self.calls) - 1
        if self.responses:
            text = self.responses[index % len(self.responses)]
        else:
            found = _DOMAINS.search("\n".join(m.text for m in messages if m.type == "system"))
            text = f"An answer about {found.group(1) if found else 'nothing'} for: {messages[-1].text}"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def prompt_texts(self) -> list[str]:
        """Every recorded prompt as one string."""
        return ["\n".join(m.text for m in call) for call in self.calls]


class KeywordEmbeddings(Embeddings):
    """One dimension per vocabulary word (plus a constant): texts sharing a word are similar."""

    def __init__(self, vocabulary: list[str]) -> None:
        self.vocabulary = [w.lower() for w in vocabulary]

    def _vector(self, text: str) -> list[float]:
        words = set(re.findall(r"[a-z]+", text.lower()))
        return [1.0 if w in words else 0.0 for w in self.vocabulary] + [0.05]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def cfg(user: str, **extra: Any) -> dict:
    return {"configurable": {"user_id": user, **extra}}


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Tiny torch problems run far faster on one thread (and do not fight other processes)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
