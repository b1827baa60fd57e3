"""Every personalisation method by name, built behind the same PremiumRunnable-like interface."""

from __future__ import annotations

from typing import Any, Callable, Optional

from langchain_core.embeddings import Embeddings
from langchain_core.runnables import Runnable

from langchain_premium.baselines import OPPURunnable, TidyBotRunnable
from langchain_premium.memory import SQLiteMemory
from langchain_premium.runnable import PremiumRunnable
from langchain_premium.selectors import EmbedSelector, RandomSelector, RetrieverSelector
from langchain_premium.selectors.population import PopulationSelector
from langchain_premium.selectors.prompt import PromptSelector
from langchain_premium.tags import TagLibrary

#: ``build(llm, *, tag_library, memory, embeddings, k, m, seed, **options) -> Runnable``
MethodFactory = Callable[..., Runnable]

METHODS: dict[str, MethodFactory] = {}


def register_method(name: str) -> Callable[[MethodFactory], MethodFactory]:
    """Register a factory under ``name`` (used by ``premium bench`` and the UI)."""

    def decorator(factory: MethodFactory) -> MethodFactory:
        if name in METHODS:
            raise ValueError(f"a method named {name!r} is already registered")
        METHODS[name] = factory
        return factory

    return decorator


def build_method(
    name: str,
    llm: Runnable,
    *,
    tag_library: TagLibrary,
    memory: SQLiteMemory,
    embeddings: Optional[Embeddings] = None,
    k: int = 3,
    m: int = 3,
    seed: Optional[int] = None,
    **options: Any,
) -> Runnable:
    """Build the method ``name`` (see :data:`METHODS`) with shared settings.

    Example:
        >>> from langchain_premium import SQLiteMemory, TagLibrary
        >>> from langchain_premium.offline import OfflineChatModel
        >>> premium = build_method("vanilla", OfflineChatModel(), tag_library=TagLibrary.default(),
        ...                        memory=SQLiteMemory())
        >>> type(premium).__name__, type(premium.selector).__name__
        ('PremiumRunnable', 'RandomSelector')
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; available: {sorted(METHODS)}")
    return METHODS[name](
        llm, tag_library=tag_library, memory=memory, embeddings=embeddings, k=k, m=m, seed=seed,
        **options,
    )


def _premium(selector_factory: Callable[..., Any], **defaults: Any) -> MethodFactory:
    def build(llm: Runnable, **kwargs: Any) -> PremiumRunnable:
        selector_options = kwargs.pop("selector_options", {})
        return PremiumRunnable(llm=llm, selector=selector_factory(**selector_options), **{**defaults, **kwargs})

    return build


register_method("premium-embed")(_premium(EmbedSelector))
# The paper's configuration: m_r = 2 uniformly random candidates, probability sampling for the
# selector's own candidate, training after every d = 3 rankings (Table 7).
register_method("premium-embed-paper")(
    _premium(lambda **o: EmbedSelector(**{"exploration": "random", "selection": "sample", "half_life": None,
                                              "coverage": None, "max_hypotheses": None, **o}),
             method="premium-embed-paper", update_every=3)
)
register_method("vanilla")(_premium(RandomSelector))
register_method("ralm")(_premium(RetrieverSelector))


# -- selectors that read the memory, and the text baselines (they need the memory itself) -------


def _population(llm: Runnable, *, memory: SQLiteMemory, seed: Optional[int] = None,
                **kwargs: Any) -> PremiumRunnable:
    """One PREMIUM-Embed selector trained on every user's pooled pairs (options:
    ``contributors``, ``selector_options`` for the pooled EmbedSelector)."""
    selector = PopulationSelector(
        # One hidden k-subset is a model of one person, not of a crowd: no belief over it.
        memory, base=EmbedSelector(**{"max_hypotheses": None, **kwargs.pop("selector_options", {})}),
        method=kwargs.get("method"), contributors=kwargs.pop("contributors", None), seed=seed,
    )
    return PremiumRunnable(llm=llm, selector=selector, memory=memory, seed=seed, **kwargs)


def _premium_prompt(llm: Runnable, *, memory: SQLiteMemory, **kwargs: Any) -> PremiumRunnable:
    """PREMIUM-Prompt (options: ``candidate_llm`` (default ``llm``), ``history_size`` (s = 5),
    ``on_invalid``, ``max_retries``); needs ``SQLiteMemory(store_text=True)``."""
    options = {name: kwargs.pop(name) for name in ("history_size", "on_invalid", "max_retries")
               if name in kwargs}
    candidate_llm = kwargs.pop("candidate_llm", None) or llm
    selector = PromptSelector(candidate_llm, memory=memory, method=kwargs.get("method"), **options)
    return PremiumRunnable(llm=llm, selector=selector, memory=memory, **kwargs)


def _tidybot(llm: Runnable, **kwargs: Any) -> TidyBotRunnable:
    """TidyBot-style profile baseline; needs ``SQLiteMemory(store_text=True)``."""
    return TidyBotRunnable(llm=llm, **kwargs)


def _oppu(top_k: int) -> MethodFactory:
    def build(llm: Runnable, **kwargs: Any) -> OPPURunnable:
        """OPPU-style profile + BM25 baseline; needs ``SQLiteMemory(store_text=True)``."""
        kwargs.setdefault("method", f"oppu-k{top_k}")
        return OPPURunnable(llm=llm, top_k=top_k, **kwargs)

    return build


register_method("population")(_population)
# The paper's Appendix C setting: s = 5 past interactions in the candidate generator's prompt.
register_method("premium-prompt")(_premium_prompt)
register_method("tidybot")(_tidybot)
# The paper's Table 3 settings: k = 1, 2, 4 retrieved history items.
for _top_k in (1, 2, 4):
    register_method(f"oppu-k{_top_k}")(_oppu(_top_k))
