"""Per-query overhead of PremiumRunnable on top of the model calls, for growing tag libraries."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from langchain_premium.perf.measure import percentiles_ms, timed, timed_cpu
from langchain_premium.perf.workload import queries, rank_by_interest, synthetic_library, warm_up


def selection_overhead(n_tags: int, *, repeats: int, seed: int = 0, train_rounds: int = 5) -> dict[str, Any]:
    """Time one user's queries against a library of ``n_tags`` tags.

    Returns the one-off library embedding time and, per query, p50/p99 of

    - ``selection``: what the runnable does before the model calls (embed the query, load the
      user's learned state, score every tag, choose the m sets), via ``select_tag_sets``;
    - ``invoke``: a whole ``invoke`` with the offline model at zero latency, i.e. selection plus
      prompts, the fan-out machinery, the stand-in's own writing and the SQLite write.

    The user first gives ``train_rounds`` rankings, so a learned state is scored, as in serving.

    Example:
        >>> selection_overhead(20, repeats=5)["selection"]["p50_ms"]  # doctest: +SKIP
        6.1
    """
    from langchain_premium import PremiumRunnable, SQLiteMemory
    from langchain_premium.offline import OfflineChatModel

    warm_up()
    library = synthetic_library(n_tags)
    texts = queries()
    interests = library.sample(3, np.random.default_rng(seed))
    config = {"configurable": {"user_id": "perf-user"}}
    with tempfile.TemporaryDirectory() as tmp:
        memory = SQLiteMemory(Path(tmp) / "perf.db")
        premium = PremiumRunnable(llm=OfflineChatModel(), tag_library=library, memory=memory, seed=seed)
        _, embed_s = timed(premium.tag_cache.matrix, list(library.all_tags))  # cached from now on
        for i in range(train_rounds):
            result = premium.invoke(texts[i], config=config)
            result.feedback(rank_by_interest(result, interests))
        selection, selection_cpu, invoke, invoke_cpu = [], [], [], []
        for i in range(repeats):
            query = texts[(train_rounds + i) % len(texts)]
            _, wall, cpu = timed_cpu(premium.select_tag_sets, query, user_id="perf-user", explore=True)
            selection.append(wall)
            selection_cpu.append(cpu)
            _, wall, cpu = timed_cpu(premium.invoke, query, config=config)
            invoke.append(wall)
            invoke_cpu.append(cpu)
        memory.close()
    return {
        "n_tags": n_tags,
        "library_embedding_s": embed_s,
        "selection": percentiles_ms(selection),
        "selection_cpu": percentiles_ms(selection_cpu),
        "invoke": percentiles_ms(invoke),
        "invoke_cpu": percentiles_ms(invoke_cpu),
    }
