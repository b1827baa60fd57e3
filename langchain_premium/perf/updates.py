"""Feedback-to-updated-model latency and the size of a user's stored state."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
from langchain_core.embeddings import Embeddings

from langchain_premium.perf.measure import percentiles_ms
from langchain_premium.perf.workload import InstantChatModel, queries, rank_by_tags, warm_up


def feedback_latency(
    encoder: Literal["adapter", "finetune"], *, feedbacks: int, seed: int = 0,
    embeddings: Optional[Embeddings] = None, selector: Any = None,
) -> dict[str, Any]:
    """Time from ``result.feedback(ranking)`` to an updated model that the next selection uses,
    for ``feedbacks`` successive rankings of one user (default library, file database).

    One latency is ``feedback`` (the ranking and its pairs stored, the learner trained on the
    user's stored pairs, the new state saved) plus what the next ``select`` does first: read the
    user's state and decode it (the new state is not in the runnable's cache yet). It checks
    that the state it got is the updated one (its update count went up). The figures are wall
    time and CPU time of this process; ``feedback_ms`` is the ``feedback`` part alone.

    Example:
        >>> feedback_latency("adapter", feedbacks=5)["latency"]["p50_ms"]  # doctest: +SKIP
        21.5
    """
    from langchain_premium import PremiumRunnable, SQLiteMemory, TagLibrary

    shared = embeddings if embeddings is not None else warm_up()
    library = TagLibrary.default()
    interests = library.sample(3, np.random.default_rng(seed))
    texts = queries()
    user = "perf-user"
    config = {"configurable": {"user_id": user}}
    with tempfile.TemporaryDirectory() as tmp:
        # Fine-tuning retrains on query text, which the memory keeps only when asked to.
        memory = SQLiteMemory(Path(tmp) / "perf.db", store_text=encoder == "finetune")
        options: dict[str, Any] = {"encoder": encoder} if selector is None else {"selector": selector}
        premium = PremiumRunnable(llm=InstantChatModel(), tag_library=library, memory=memory,
                                  embeddings=shared, seed=seed, **options)
        latencies, cpu, feedback_only = [], [], []
        updates = _updates(premium._load_state(user))
        for i in range(feedbacks):
            result = premium.invoke(texts[i % len(texts)], config=config)
            ranking = rank_by_tags(result, interests)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            receipt = result.feedback(ranking)
            wall1 = time.perf_counter()
            state = premium._load_state(user)  # what the next select_tag_sets / invoke starts with
            wall2, cpu2 = time.perf_counter(), time.process_time()
            if not receipt.trained or _updates(state) != updates + 1:
                raise RuntimeError(f"feedback {i} did not give the next selection an updated model")
            updates += 1
            latencies.append(wall2 - wall0)
            feedback_only.append(wall1 - wall0)
            cpu.append(cpu2 - cpu0)
        stored = memory.load_state(user, premium.key)
        pairs = memory.count_pairs(user)
        memory.close()
    return {
        "encoder": encoder,
        "feedbacks": feedbacks,
        "latency": percentiles_ms(latencies),
        "cpu": percentiles_ms(cpu),
        "feedback_ms": percentiles_ms(feedback_only),
        "latencies_ms": [s * 1000 for s in latencies],
        "state_bytes": len(stored.blob),
        "pairs": pairs,
    }


def _updates(state: Any) -> int:
    """How many updates a learner state has seen (both learners count them)."""
    return int(getattr(state, "n_updates", 0))
