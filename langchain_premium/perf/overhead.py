"""Per-query overhead of PremiumRunnable on top of the model calls, for growing tag libraries."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np
from langchain_core.embeddings import Embeddings

from langchain_premium.perf.measure import percentiles_ms, timed, timed_cpu
from langchain_premium.perf.workload import (
    InstantChatModel,
    queries,
    rank_by_tags,
    synthetic_library,
    warm_up,
)


def selection_overhead(
    n_tags: int, *, repeats: int, seed: int = 0, train_rounds: int = 5,
    embeddings: Optional[Embeddings] = None,
) -> dict[str, Any]:
    """What ``PremiumRunnable.invoke`` adds on top of the model calls, per query, for one user
    and a library of ``n_tags`` tags.

    The model answers at once (:class:`~langchain_premium.perf.workload.InstantChatModel`), so
    a query's overhead is the wall time of ``invoke`` (m = 3 candidates) minus the median time
    of one direct call of the same model: embedding the query, loading the user's state,
    scoring every tag, choosing the sets, the prompts, the fan-out and storing the interaction
    (a file database). ``embedding`` and ``selection`` time the first two parts on the same
    queries, separately: the query embedding, and the rest of the selection (state, scores,
    sets). The user first gives ``train_rounds`` rankings, so a learned state is scored.

    Example:
        >>> selection_overhead(20, repeats=5)["overhead"]["p50_ms"]  # doctest: +SKIP
        24.1
    """
    from langchain_premium import PremiumRunnable, SQLiteMemory
    from langchain_premium.encoding import embed_query

    encoder = embeddings if embeddings is not None else warm_up()
    library = synthetic_library(n_tags)
    texts = queries()
    interests = library.sample(3, np.random.default_rng(seed))
    user = "perf-user"
    config = {"configurable": {"user_id": user}}
    llm = InstantChatModel()
    with tempfile.TemporaryDirectory() as tmp:
        memory = SQLiteMemory(Path(tmp) / "perf.db")
        premium = PremiumRunnable(llm=llm, tag_library=library, memory=memory, embeddings=encoder, seed=seed)
        _, embed_s = timed(premium.tag_cache.matrix, list(library.all_tags))  # cached from now on
        for i in range(train_rounds):
            result = premium.invoke(texts[i], config=config)
            result.feedback(rank_by_tags(result, interests))
        prompt = texts[0]
        for _ in range(3):
            llm.invoke(prompt)  # warm
        one_call = statistics.median(timed(llm.invoke, prompt)[1] for _ in range(max(5, min(repeats, 50))))
        overhead, overhead_cpu, embedding, selection = [], [], [], []
        for i in range(repeats):
            query = texts[(train_rounds + i) % len(texts)]
            _, wall, cpu = timed_cpu(premium.invoke, query, config=config)
            overhead.append(max(wall - one_call, 0.0))
            overhead_cpu.append(cpu)
            vector, seconds = timed(embed_query, encoder, query)
            embedding.append(seconds)
            request = premium._parse(query, config)
            selection.append(timed(premium._select, request, vector)[1])
        stored = memory.load_state(user, premium.key)
        memory.close()
    return {
        "n_tags": n_tags,
        "train_rounds": train_rounds,
        "library_embedding_s": embed_s,
        "one_call_ms": one_call * 1000,
        "overhead": percentiles_ms(overhead),
        "overhead_cpu": percentiles_ms(overhead_cpu),
        "embedding": percentiles_ms(embedding),
        "selection": percentiles_ms(selection),
        "state_bytes": len(stored.blob) if stored is not None else 0,
    }
