"""Helpers for the reliability tests, importable by the child processes those tests start."""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from langchain_premium import EmbedSelector, PremiumRunnable, SQLiteMemory, TagLibrary
from langchain_premium.hash_embeddings import HashEmbeddings
from langchain_premium.offline import OfflineChatModel

TAGS = (
    "Baking", "Jazz", "Astronomy", "Tax law", "Cycling", "Poetry", "Chess", "Sailing",
    "Gardening", "Robotics",
)
QUERIES = (
    "How do I make handmade desserts?",
    "Plan my weekend",
    "Write a poem about rain",
    "How do taxes work?",
    "Tips for a job interview",
    "Explain black holes simply",
)
#: How long a paused child waits to be killed before giving up on its own (never reached).
PAUSE_LIMIT = 300.0


def cfg(user: str, **extra: Any) -> dict:
    return {"configurable": {"user_id": user, **extra}}


def library() -> TagLibrary:
    return TagLibrary(list(TAGS))


def fast_selector() -> EmbedSelector:
    """PREMIUM-Embed with few optimisation steps: the same code path, a fraction of the time."""
    return EmbedSelector(steps=6)


def build(memory: SQLiteMemory, *, selector: Any = None, **options: Any) -> PremiumRunnable:
    """A PremiumRunnable on the cheap stand-ins (hashed encoder, offline chat model)."""
    options.setdefault("tag_library", library())
    options.setdefault("k", 2)
    return PremiumRunnable(
        llm=options.pop("llm", None) or OfflineChatModel(), memory=memory,
        embeddings=options.pop("embeddings", None) or HashEmbeddings(),
        selector=selector or fast_selector(), **options,
    )


def ranking_for(result: Any, liked: str) -> list[int]:
    """A user who ranks the answers whose tags include ``liked`` first (stable otherwise)."""
    return sorted(range(len(result.candidates)), key=lambda j: liked not in result.candidates[j].tags)


def give_feedback(premium: PremiumRunnable, user: str, liked: str, rounds: int, start: int = 0) -> int:
    """``rounds`` invoke-and-rank cycles; the number of pairs stored."""
    pairs = 0
    for i in range(start, start + rounds):
        result = premium.invoke(QUERIES[i % len(QUERIES)], config=cfg(user))
        pairs += result.feedback(ranking_for(result, liked)).pairs
    return pairs


def file_dump(path: Path) -> str:
    """Every row of every table (and the schema) of a database file, as SQL text."""
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def wait_for(marker: Path, process: Any, limit: float = 180.0) -> None:
    """Wait until a child wrote ``marker`` (it has paused); fail if it died first."""
    deadline = time.monotonic() + limit
    while not marker.exists():
        if not process.is_alive():
            raise AssertionError(f"the child exited with {process.exitcode} before pausing")
        if time.monotonic() > deadline:
            raise AssertionError(f"the child did not pause within {limit:g} s")
        time.sleep(0.05)


def _pause(marker: str) -> None:
    Path(marker).write_text(str(os.getpid()))
    deadline = time.monotonic() + PAUSE_LIMIT
    while time.monotonic() < deadline:  # the test kills this process here
        time.sleep(0.05)
    os._exit(99)


# --- memories and selectors with hooks -----------------------------------------------------------


class RecordingMemory(SQLiteMemory):
    """Records every successful ``save_state`` of this process: ``(user, key, version,
    pairs_seen, blob)``, so a test can check the whole chain of updates afterwards."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.saves: list[tuple[str, str, int, int, bytes]] = []
        super().__init__(*args, **kwargs)

    def save_state(self, user_id: str, key: str, blob: bytes, *, expected_version: Optional[int],
                   pairs_seen: int) -> int:
        version = super().save_state(
            user_id, key, blob, expected_version=expected_version, pairs_seen=pairs_seen
        )
        self.saves.append((user_id, key, version, pairs_seen, bytes(blob)))
        return version


class PausingMemory(SQLiteMemory):
    """Pauses (until killed) just before SQLite runs a statement matching ``pause_at``.

    With ``armed_by``, the pause happens at the first ``pause_at`` statement *after* one matching
    ``armed_by`` ran (e.g. at the COMMIT that follows the UPDATE of a user's state). The pause is
    inside an open transaction, so a SIGKILL there is a crash between two statements.
    """

    def __init__(self, path: str, *, pause_at: str, marker: str, armed_by: Optional[str] = None):
        self._pause_at = re.compile(pause_at, re.IGNORECASE)
        self._armed_by = re.compile(armed_by, re.IGNORECASE) if armed_by else None
        self._armed = armed_by is None
        self._marker = marker
        self.enabled = False
        super().__init__(path)

    def _open(self) -> sqlite3.Connection:
        conn = super()._open()
        conn.set_trace_callback(self._trace)  # called as each statement starts to run
        return conn

    def _trace(self, sql: str) -> None:
        if not self.enabled:
            return
        if not self._armed:
            self._armed = bool(self._armed_by.search(sql))
        elif self._pause_at.search(sql):
            _pause(self._marker)


class PausingSelector(EmbedSelector):
    """Pauses (until killed) inside :meth:`learn`, after the ranking was committed."""

    def __init__(self, marker: str) -> None:
        super().__init__(steps=6)
        self.marker = marker

    def learn(self, *args: Any, **kwargs: Any) -> Any:
        _pause(self.marker)


# --- what the child processes run -----------------------------------------------------------------

FAULTS = {
    # Killed while learning: the ranking is committed, the new state is not saved.
    "in-learn": {},
    # Killed inside record_ranking, after the ranking UPDATE and before the pairs INSERT.
    "mid-ranking": {"pause_at": r'INSERT\s+(OR\s+\w+\s+)?INTO\s+[\["]?preference_pairs'},
    # Killed inside save_state, after the state was written and before COMMIT.
    "before-state-commit": {
        "armed_by": r'(UPDATE|INSERT\s+(OR\s+\w+\s+)?INTO)\s+[\["]?user_states',
        "pause_at": r"^\s*COMMIT",
    },
}


def fault_child(path: str, fault: str, marker: str, user: str, liked: str) -> None:
    """Rank one answer for ``user`` and pause at the fault point until the parent kills us."""
    if fault == "in-learn":
        memory: SQLiteMemory = SQLiteMemory(path)
        premium = build(memory, selector=PausingSelector(marker))
    else:
        memory = PausingMemory(path, marker=marker, **FAULTS[fault])
        premium = build(memory)
    result = premium.invoke(QUERIES[0], config=cfg(user))
    memory.enabled = True  # only the ranking below may pause (harmless attribute for SQLiteMemory)
    result.feedback(ranking_for(result, liked))
    os._exit(98)  # reaching this means the fault point was never hit


def replay_chain(saves: Sequence[tuple], pairs: Sequence[Any], premium: PremiumRunnable) -> int:
    """Check that each saved version of one user's state is what learning on the stored pairs
    from the previous version gives; return how many versions were checked."""
    selector, lib = premium.selector, premium.tag_library
    previous = selector.initial_state(lib)
    rng = np.random.default_rng(0)
    for _, _, version, pairs_seen, blob in sorted(saves, key=lambda s: s[2]):
        expected = selector.learn(previous, list(pairs[:pairs_seen]), lib, premium.tag_cache, rng)
        got = selector.loads(blob, lib)
        assert got.tags == expected.tags, f"version {version}: different tags"
        for name in ("bias", "precision", "user_vector"):
            np.testing.assert_allclose(
                getattr(got, name), getattr(expected, name), rtol=1e-3, atol=1e-4,
                err_msg=f"version {version}: {name} is not learn(previous version, its pairs)",
            )
        assert got.n_updates == version and got.n_pairs == pairs_seen
        previous = got
    return len(saves)
