"""Every personalisation method by name, built behind the same PremiumRunnable-like interface."""

from __future__ import annotations

from typing import Any, Callable, Optional

from langchain_core.embeddings import Embeddings
from langchain_core.runnables import Runnable

from langchain_premium.memory import SQLiteMemory
from langchain_premium.runnable import PremiumRunnable
from langchain_premium.selectors import EmbedSelector, RandomSelector, RetrieverSelector
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
        >>> premium = build_method("vanilla", OfflineChatModel(), tag_library=TagLibrary.default(),
        ...                        memory=SQLiteMemory())  # doctest: +SKIP
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
    _premium(lambda **o: EmbedSelector(exploration="random", selection="sample", **o),
             method="premium-embed-paper", update_every=3)
)
register_method("vanilla")(_premium(RandomSelector))
register_method("ralm")(_premium(RetrieverSelector))
