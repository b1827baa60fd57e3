"""The paper's Table 4 side by side: CPU time and peak memory of whole 3/20, 3/50, 3/100 runs."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
from langchain_core.embeddings import Embeddings

from langchain_premium.perf.measure import cpu_seconds, peak_rss_mb
from langchain_premium.perf.workload import queries, rank_by_interest, sampled_library, warm_up

Method = Literal["premium-embed", "premium-embed-paper", "finetune"]


@dataclass(frozen=True)
class Setup:
    """One column of the paper's Table 4 with its Table 7 hyperparameters."""

    n_tags: int
    buffer: int  # S: replayed interactions
    epochs: int
    every: int  # d: new interactions per epoch (an update after every d rankings)
    batches: int  # bnum
    batch_size: int  # bsz
    entropy_weight: float  # delta
    paper_seconds: float  # Table 4, 8-core laptop CPU

    @property
    def interactions(self) -> int:
        """The first epoch fills the buffer (S); each later epoch adds d (67, 112, 164)."""
        return self.buffer + (self.epochs - 1) * self.every


SETUPS: dict[str, Setup] = {
    "3/20": Setup(20, 25, 15, 3, 8, 20, 0.0, 727.74),
    "3/50": Setup(50, 25, 30, 3, 8, 20, 4e-3, 1728.66),
    "3/100": Setup(100, 50, 20, 6, 10, 40, 4e-3, 3014.52),
}
#: Table 4's memory cost (one figure for all three setups).
PAPER_PEAK_MB = 5937.54


def training_points(setup: Setup) -> list[int]:
    """After which ranking (1-based) the paper's schedule trains: once the first ``S`` rankings
    fill the buffer, then after every ``d`` more, ``epochs`` times in all.

    Example:
        >>> training_points(SETUPS["3/20"])[:3], len(training_points(SETUPS["3/20"]))
        ([25, 28, 31], 15)
    """
    return [setup.buffer + epoch * setup.every for epoch in range(setup.epochs)]


def paper_run(setup_name: str, method: Method, *, seed: int = 0,
              embeddings: Optional[Embeddings] = None) -> dict[str, Any]:
    """One simulated user through a whole setup with ``method``; run it in a fresh process
    (:func:`~langchain_premium.perf.measure.in_child`) so the peak memory is its own.

    ``premium-embed`` is the default learner (an update after every ranking, from the first);
    ``premium-embed-paper`` the paper's exploration and schedule on the same learner;
    ``finetune`` the paper's full fine-tuning of both encoders with Table 7's hyperparameters.
    The two paper configurations train on the paper's schedule (:func:`training_points`:
    ``epochs`` updates, the first once ``S`` rankings fill the buffer, then every ``d``).
    CPU time counts every thread from the first query to the last update (the shared encoder
    is loaded before); the chat model is the offline stand-in, so it is almost all learner time.
    ``embeddings`` replaces the packaged encoder (tests pass a cheap one).
    """
    from langchain_premium import PremiumRunnable, SQLiteMemory
    from langchain_premium.methods import build_method
    from langchain_premium.offline import OfflineChatModel
    from langchain_premium.selectors.finetune import FinetuneSelector

    setup = SETUPS[setup_name]
    encoder = embeddings if embeddings is not None else warm_up()
    library = sampled_library(setup.n_tags, seed)
    interests = library.sample(3, np.random.default_rng(seed + 1))
    texts = queries()
    user = "perf-user"
    config = {"configurable": {"user_id": user}}
    # The default learner updates itself after every ranking; the paper's configurations train
    # at the paper's points only (update_every=0 and train() there).
    schedule = set() if method == "premium-embed" else set(training_points(setup))
    with tempfile.TemporaryDirectory() as tmp:
        memory = SQLiteMemory(Path(tmp) / "perf.db", store_text=method == "finetune")
        llm = OfflineChatModel()
        if method == "finetune":
            selector = FinetuneSelector(buffer_size=setup.buffer, batches=setup.batches,
                                        batch_size=setup.batch_size, entropy_weight=setup.entropy_weight)
            premium = PremiumRunnable(llm=llm, tag_library=library, memory=memory, selector=selector,
                                      embeddings=encoder, update_every=0, seed=seed)
        elif method == "premium-embed-paper":
            premium = build_method(method, llm, tag_library=library, memory=memory, seed=seed,
                                   embeddings=encoder, update_every=0)
        else:
            premium = build_method(method, llm, tag_library=library, memory=memory, seed=seed,
                                   embeddings=encoder)
        updates = 0
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        for i in range(setup.interactions):
            result = premium.invoke(texts[i % len(texts)], config=config)
            receipt = result.feedback(rank_by_interest(result, interests))
            updates += receipt.trained
            if i + 1 in schedule:
                updates += premium.train(user)
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
        # Sanity figure: how many of the user's 3 interests the best set holds, on held-out queries.
        held_out = texts[-20:]
        hits = [len(set(premium.select_tag_sets(q, user_id=user)[0].tags) & set(interests)) / 3
                for q in held_out]
        memory.close()
    return {
        "setup": setup_name, "method": method, "interactions": setup.interactions, "updates": updates,
        "cpu_s": cpu, "wall_s": wall, "peak_rss_mb": peak_rss_mb(), "best_set_precision": float(np.mean(hits)),
    }
