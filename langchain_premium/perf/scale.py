"""Many users: database size, and peak memory while serving them from a bounded state cache."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
from langchain_core.embeddings import Embeddings

from langchain_premium.perf.measure import current_rss_mb, peak_rss_mb
from langchain_premium.perf.workload import MemoEmbeddings, queries, rank_by_tags, warm_up

#: Users whose states are trained for real; the others reuse their state blobs round robin.
_TEMPLATE_USERS = 8


def build_users(path: str, n_users: int, *, interactions: int = 2, seed: int = 0,
                embeddings: Optional[Embeddings] = None) -> dict[str, Any]:
    """Fill ``path`` with ``n_users`` users, each with ``interactions`` ranked interactions (3
    candidates, 3 pairs each) and a learned default-learner state, through the public
    ``SQLiteMemory`` API. Returns the database size and how long building took.

    Training 10,000 users would take as long as serving them, so ``_TEMPLATE_USERS`` users are
    trained for real and every other user stores one of their (same-sized) state blobs.
    ``embeddings`` replaces the packaged encoder (tests pass a cheap one).
    """
    from langchain_premium import PremiumRunnable, SQLiteMemory, TagLibrary
    from langchain_premium.feedback import feedback_to_pairs
    from langchain_premium.offline import OfflineChatModel
    from langchain_premium.records import Interaction, TagSet

    embeddings = MemoEmbeddings(embeddings if embeddings is not None else warm_up())
    start = time.perf_counter()
    library = TagLibrary.default()
    rng = np.random.default_rng(seed)
    texts = queries()
    memory = SQLiteMemory(path)
    # Building is not measured: skip the fsync per transaction on this thread's connection only.
    memory.db.execute("PRAGMA synchronous = NORMAL")
    premium = PremiumRunnable(llm=OfflineChatModel(), tag_library=library, memory=memory,
                              embeddings=embeddings, seed=seed)
    blobs = []
    for u in range(min(_TEMPLATE_USERS, n_users)):
        user, interests = f"user-{u}", library.sample(3, rng)
        for i in range(interactions):
            result = premium.invoke(texts[(u + i) % len(texts)], config={"configurable": {"user_id": user}})
            result.feedback(rank_by_tags(result, interests))
        blobs.append(memory.load_state(user, premium.key).blob)
    vectors = {q: np.asarray(embeddings.embed_query(q), np.float32) for q in texts[:50]}
    for u in range(len(blobs), n_users):
        user = f"user-{u}"
        for i in range(interactions):
            run_id = f"{user}-run-{i}"
            candidates = [TagSet(library.sample(3, rng)) for _ in range(3)]
            memory.add_interaction(Interaction(run_id=run_id, user_id=user, method=premium.key,
                                               candidates=candidates,
                                               query_embedding=vectors[texts[(u + i) % 50]]))
            ranking, pairs = feedback_to_pairs(3, list(rng.permutation(3)))
            memory.record_ranking(run_id, user_id=user, ranking=ranking, pairs=pairs)
        memory.save_state(user, premium.key, blobs[u % len(blobs)], expected_version=None,
                          pairs_seen=3 * interactions)
    memory.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    memory.close()
    return {"n_users": n_users, "db_bytes": _file_bytes(path), "build_s": time.perf_counter() - start,
            "state_bytes": len(blobs[0]), "interactions_per_user": interactions}


def _file_bytes(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def serve_users(path: str, n_users: int, *, train_every: int = 10, seed: int = 0,
                cache_size: Optional[int] = None, embeddings: Optional[Embeddings] = None) -> dict[str, Any]:
    """Serve one request for every user of ``path``, as a chat product's server would, and
    report this process's peak resident memory (run it in a fresh process:
    :func:`~langchain_premium.perf.measure.in_child`, so the figure is the server's own).

    Every user sends a query through ``invoke`` (selection with their learned state, m = 3
    answers from the offline model, the interaction stored); every ``train_every``-th also ranks
    the answers, so their model is updated and saved. States are loaded on demand through the
    runnable's bounded state cache (``cache_size``; default the runnable's), never all held.
    Query embeddings are memoised (the queries repeat): this measures memory, not speed.
    """
    from langchain_premium import PremiumRunnable, SQLiteMemory, TagLibrary
    from langchain_premium.offline import OfflineChatModel

    embeddings = MemoEmbeddings(embeddings if embeddings is not None else warm_up())
    texts = queries()[:50]
    library = TagLibrary.default()
    rng = np.random.default_rng(seed)
    memory = SQLiteMemory(path)
    premium = PremiumRunnable(llm=OfflineChatModel(), tag_library=library, memory=memory,
                              embeddings=embeddings, seed=seed, state_cache_size=cache_size)
    premium.select_tag_sets(texts[0], user_id="user-0")
    ready_mb = current_rss_mb()
    start = time.perf_counter()
    loaded = 0
    for u in range(n_users):
        user, query = f"user-{u}", texts[u % len(texts)]
        loaded += premium.memory.state_stamp(user, premium.key) is not None
        result = premium.invoke(query, config={"configurable": {"user_id": user}})
        if u % train_every == 0:
            result.feedback(rank_by_tags(result, library.sample(3, rng)))
    serve_s = time.perf_counter() - start
    cached = len(premium._states)
    memory.close()
    return {"n_users": n_users, "rss_ready_mb": ready_mb, "peak_rss_mb": peak_rss_mb(),
            "serve_s": serve_s, "users_with_state": loaded, "cache_size": premium._states.maxsize,
            "cached_states": cached, "db_path": str(Path(path).name)}
