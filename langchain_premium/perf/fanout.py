"""Fan-out: m candidates from a slow chat model should cost about one call, not m."""

from __future__ import annotations

import asyncio
import statistics
from typing import Any, Optional

from langchain_core.embeddings import Embeddings

from langchain_premium.perf.measure import timed
from langchain_premium.perf.workload import queries, warm_up


def fan_out(m: int, *, latency: float = 0.5, repeats: int = 3, seed: int = 0,
            embeddings: Optional[Embeddings] = None) -> dict[str, Any]:
    """Median wall time of ``invoke`` / ``ainvoke`` with ``m`` candidates from a model that
    sleeps ``latency`` seconds per call, divided by the median time of one direct call.

    Example:
        >>> fan_out(3, repeats=1)["sync_ratio"]  # doctest: +SKIP
        1.04
    """
    from langchain_premium import PremiumRunnable, SQLiteMemory
    from langchain_premium.offline import OfflineChatModel

    encoder = embeddings if embeddings is not None else warm_up()
    llm = OfflineChatModel(latency=latency)
    premium = PremiumRunnable(llm=llm, m=m, memory=SQLiteMemory(), embeddings=encoder, seed=seed)
    texts = queries()
    config = {"configurable": {"user_id": "perf-user"}}
    premium.select_tag_sets(texts[0], user_id="perf-user")  # tag embeddings cached, as in serving

    single = statistics.median(timed(llm.invoke, texts[i])[1] for i in range(repeats))
    sync = statistics.median(timed(premium.invoke, texts[i], config=config)[1] for i in range(repeats))

    async def one(query: str) -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await premium.ainvoke(query, config=config)
        return loop.time() - start

    async def run_all() -> list[float]:
        return [await one(texts[repeats + i]) for i in range(repeats)]

    asynchronous = statistics.median(asyncio.run(run_all()))
    premium.memory.close()
    return {
        "m": m, "latency_s": latency, "single_call_s": single, "sync_s": sync, "async_s": asynchronous,
        "sync_ratio": sync / single, "async_ratio": asynchronous / single,
    }
