"""Feedback-to-updated-model latency and the size of a user's stored state."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np

from langchain_premium.perf.measure import percentiles_ms, timed_cpu
from langchain_premium.perf.workload import queries, rank_by_interest, warm_up


def feedback_latency(
    encoder: Literal["adapter", "finetune"], *, feedbacks: int, seed: int = 0
) -> dict[str, Any]:
    """Time ``result.feedback(ranking)`` until it returns with the user's model updated
    (ranking stored, the learner trained on every stored pair, the new state saved), for
    ``feedbacks`` successive rankings of one user on the default library and a file database.

    Example:
        >>> feedback_latency("adapter", feedbacks=5)["latency"]["p50_ms"]  # doctest: +SKIP
        21.5
    """
    from langchain_premium import PremiumRunnable, SQLiteMemory, TagLibrary
    from langchain_premium.offline import OfflineChatModel

    warm_up()
    library = TagLibrary.default()
    interests = library.sample(3, np.random.default_rng(seed))
    texts = queries()
    config = {"configurable": {"user_id": "perf-user"}}
    with tempfile.TemporaryDirectory() as tmp:
        # Fine-tuning retrains on query text, which the memory keeps only when asked to.
        memory = SQLiteMemory(Path(tmp) / "perf.db", store_text=encoder == "finetune")
        premium = PremiumRunnable(llm=OfflineChatModel(), tag_library=library, memory=memory,
                                  encoder=encoder, seed=seed)
        latencies, cpu = [], []
        for i in range(feedbacks):
            result = premium.invoke(texts[i % len(texts)], config=config)
            receipt, seconds, cpu_seconds = timed_cpu(result.feedback, rank_by_interest(result, interests))
            if not receipt.trained:
                raise RuntimeError(f"feedback {i} did not update the model: nothing to time")
            latencies.append(seconds)
            cpu.append(cpu_seconds)
        stored = memory.load_state("perf-user", premium.key)
        pairs = memory.count_pairs("perf-user")
        memory.close()
    return {
        "encoder": encoder,
        "latency": percentiles_ms(latencies),
        "cpu": percentiles_ms(cpu),
        "latencies_ms": [s * 1000 for s in latencies],
        "state_bytes": len(stored.blob),
        "pairs": pairs,
    }
