"""Synthetic tag libraries, a simulated ranking user and repeatable queries for the benchmarks."""

from __future__ import annotations

import itertools
from typing import Any, Optional, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_premium.result import PremiumResult
from langchain_premium.tags import TagLibrary

# Qualifiers that turn each of the 193 default tags into new, plausible tag names
# ("Applied Baking", "Urban Running", ...): 110 x 193 covers libraries of 20,000 tags.
_QUALIFIERS = """Applied Advanced Modern Classical Urban Rural Digital Analog Global Local Youth
Senior Beginner Expert Community Corporate Creative Critical Historical Future Experimental
Practical Theoretical Comparative Regional International Sustainable Mobile Remote Outdoor
Indoor Budget Premium Ancient Medieval Contemporary Tropical Arctic Coastal Mountain Desert
Island Family Solo Team Competitive Recreational Therapeutic Preventive Clinical Industrial
Domestic Seasonal Nocturnal Minimalist Maximalist Vintage Futuristic Scientific Artistic Ethical
Legal Economic Political Social Cultural Spiritual Technical Visual Musical Literary Culinary
Athletic Academic Vocational Holistic Quantitative Qualitative Interactive Collaborative
Independent Accessible Inclusive Adaptive Automated Handmade Organic Synthetic Micro Macro
Open-source Proprietary Nordic Mediterranean Latin Asian African Oceanic Alpine Urbanist Pastoral
Speculative Evidence-based Grassroots Luxury Everyday Weekend Lifelong Introductory Professional
Amateur Green""".split()


def synthetic_library(n_tags: int) -> TagLibrary:
    """A library of ``n_tags`` tags: the paper's default tags first, then qualified variants.

    Example:
        >>> len(synthetic_library(2000)), synthetic_library(200).tags[193]
        (2000, 'Applied Investment')
    """
    default = list(TagLibrary.default().tags)
    if n_tags <= len(default):
        return TagLibrary(default[:n_tags])
    extra = (f"{q} {t}" for q, t in itertools.product(_QUALIFIERS, default))
    tags = list(dict.fromkeys([*default, *extra]))
    if n_tags > len(tags):
        raise ValueError(f"at most {len(tags)} synthetic tags can be generated, asked for {n_tags}")
    return TagLibrary(tags[:n_tags])


def sampled_library(n_tags: int, seed: int) -> TagLibrary:
    """``n_tags`` tags drawn from the default library (the paper's 3/20, 3/50, 3/100 setups)."""
    return TagLibrary(TagLibrary.default().sample(n_tags, np.random.default_rng(seed)))


def queries() -> list[str]:
    """The shipped training queries of every task style, in a fixed order."""
    from langchain_premium.simulation.queries import TASK_STYLES, load_queries

    return [q for style in TASK_STYLES for q in load_queries(style).train]


def rank_by_interest(result: PremiumResult, interests: Sequence[str]) -> list[int]:
    """A simulated user's ranking: answers that mention more of ``interests`` first.

    Example:
        >>> from langchain_premium import Candidate
        >>> texts = ["Try some jazz.", "Read up on tax law.", "Bake bread: baking calms."]
        >>> result = PremiumResult("run-1", "al", "How do I relax?", method="vanilla",
        ...                        candidates=[Candidate(i, [], t) for i, t in enumerate(texts)])
        >>> rank_by_interest(result, ["Baking"])
        [2, 0, 1]
    """
    lowered = [tag.lower() for tag in interests]
    hits = [sum(tag in c.text.lower() for tag in lowered) for c in result.candidates]
    return sorted(range(len(hits)), key=lambda i: (-hits[i], i))


def rank_by_tags(result: PremiumResult, interests: Sequence[str]) -> list[int]:
    """A simulated user's ranking from the candidates' tags (any chat model): candidates whose
    tag sets hold more of ``interests`` first, ties in candidate order.

    Example:
        >>> class C:  # a stand-in for a Candidate
        ...     def __init__(self, tags): self.tags = tags
        >>> class R:
        ...     candidates = [C(["Jazz"]), C(["Baking", "Jazz"]), C(["Baking"])]
        >>> rank_by_tags(R(), ["Baking"])
        [1, 2, 0]
    """
    wanted = set(interests)
    hits = [len(wanted.intersection(c.tags)) for c in result.candidates]
    return sorted(range(len(hits)), key=lambda i: (-hits[i], i))


class InstantChatModel(BaseChatModel):
    """A chat model that answers at once with a fixed text, through LangChain's ordinary call
    path (callbacks, child runs, batch): with it, the wall time of ``PremiumRunnable.invoke``
    is what the runnable adds on top of the model calls."""

    answer: str = "ok"

    @property
    def _llm_type(self) -> str:
        return "premium-perf-instant"

    def _generate(self, messages: list[BaseMessage], stop: Optional[list[str]] = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.answer))])


class MemoEmbeddings(Embeddings):
    """Remembers query embeddings of an inner encoder, for benchmarks that repeat queries and
    measure memory rather than encoding speed."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self._queries: dict[str, list[float]] = {}

    def embed_query(self, text: str) -> list[float]:
        if text not in self._queries:
            self._queries[text] = self.inner.embed_query(text)
        return self._queries[text]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def embed_array(self, texts: Sequence[str]) -> Any:
        """The inner encoder's fast path for tag libraries (see ``encoding.embed_texts``)."""
        fast = getattr(self.inner, "embed_array", None)
        return fast(list(texts)) if fast else np.asarray(self.inner.embed_documents(list(texts)))


def warm_up() -> Embeddings:
    """Load the shared encoder (the slow first import) so that it is not timed."""
    from langchain_premium.offline import default_embeddings

    embeddings = default_embeddings()
    embeddings.embed_query("warm up")
    return embeddings
