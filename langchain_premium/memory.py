"""SQLiteMemory: interactions, rankings, preference pairs and learner states in one SQLite file."""

from __future__ import annotations

import hashlib
import json
import operator
import os
import random
import sqlite3
import threading
import time
import weakref
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy as np
from sqlite_utils import Database

from .answer_vectors import decode_answer_vectors, encode_answer_vectors
from .errors import (
    CorruptStateError,
    FeedbackError,
    PremiumError,
    SchemaVersionError,
    StaleStateError,
)
from .records import Interaction, PreferencePair, TagSet

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteMemory", "StoredState"]


# --- schema -------------------------------------------------------------------------------------


def _create_tables(db: Database) -> None:
    """Version 1: users, interactions, preference pairs and learner states."""
    statements = [
        """CREATE TABLE users (
            user_id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL
        )""",
        # query/answers stay NULL unless the memory was opened with store_text=True.
        """CREATE TABLE interactions (
            run_id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(user_id),
            method TEXT NOT NULL,
            created_at TEXT NOT NULL,
            candidates TEXT NOT NULL,
            query_embedding BLOB,
            query TEXT,
            answers TEXT,
            ranking TEXT,
            ranked_at TEXT
        )""",
        "CREATE INDEX idx_interactions_user_id ON interactions(user_id)",
        # AUTOINCREMENT: ids never go back, so "order by id" stays "oldest first" after deletes.
        """CREATE TABLE preference_pairs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL REFERENCES interactions(run_id),
            user_id TEXT NOT NULL REFERENCES users(user_id),
            winner INTEGER NOT NULL CHECK (winner >= 0),
            loser INTEGER NOT NULL CHECK (loser >= 0 AND loser <> winner),
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX idx_preference_pairs_user_id ON preference_pairs(user_id)",
        # Foreign-key checks on deleting an interaction look pairs up by run_id.
        "CREATE INDEX idx_preference_pairs_run_id ON preference_pairs(run_id)",
        """CREATE TABLE user_states (
            user_id TEXT NOT NULL REFERENCES users(user_id),
            key TEXT NOT NULL,
            state BLOB NOT NULL,
            version INTEGER NOT NULL,
            pairs_seen INTEGER NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (user_id, key)
        )""",
    ]
    for sql in statements:
        db.execute(sql)


def _add_answer_vectors(db: Database) -> None:
    """Version 2: each interaction may keep its answers' sentence vectors (NULL before)."""
    db.execute("ALTER TABLE interactions ADD COLUMN answer_vectors BLOB")


#: Append-only: migration ``i`` (0-based) brings the schema to version ``i + 1``.
#: Never edit or reorder an entry that has shipped; add a new one instead.
MIGRATIONS: list[Callable[[Database], None]] = [_create_tables, _add_answer_vectors]
SCHEMA_VERSION = len(MIGRATIONS)

_MIGRATIONS_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
)"""

_INTERACTION_COLUMNS = (
    "run_id, user_id, method, created_at, candidates, query_embedding, query, answers, ranking,"
    " ranked_at, answer_vectors"
)


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredState:
    """A learner's saved state for one user and key, with its compare-and-swap version.

    >>> StoredState(b"...", version=3, pairs_seen=12, updated_at="2025-01-01T00:00:00+00:00")
    StoredState(version=3, pairs_seen=12, updated_at='2025-01-01T00:00:00+00:00')
    """

    blob: bytes = field(repr=False)  # can be megabytes: keep it out of logs
    version: int
    pairs_seen: int
    updated_at: str


# --- the memory ---------------------------------------------------------------------------------


class SQLiteMemory:
    """Durable, thread-safe store of what users were shown, how they ranked it, and learner states.

    >>> memory = SQLiteMemory()  # or SQLiteMemory("premium.db")
    >>> shown = [TagSet(("Math",)), TagSet(("Art",))]
    >>> memory.add_interaction(Interaction("run-1", "ada", "embed", shown))
    >>> memory.record_ranking("run-1", user_id="ada", ranking=[1, 0], pairs=[(1, 0)])
    1
    >>> [(p.winner.tags, p.loser.tags) for p in memory.pairs("ada")]
    [(('Art',), ('Math',))]

    The examples of the methods below each continue from this one, on a fresh ``memory``.

    By default (``store_text=False``) no query or answer text is ever written to the database.
    File databases use WAL and one connection per thread; ``":memory:"`` shares one connection
    behind a lock. Every group of writes that belongs together is one ``BEGIN IMMEDIATE``
    transaction, retried while another writer holds the lock, for up to ``timeout`` seconds.
    """

    def __init__(
        self,
        path: Union[str, "os.PathLike[str]"] = ":memory:",
        *,
        store_text: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.path: str = os.fspath(path)
        self.store_text = bool(store_text)
        self.timeout = float(timeout)
        if self.timeout < 0:
            raise ValueError(f"timeout must be >= 0 seconds, got {timeout!r}")
        self._closed = False
        self._local = threading.local()
        # Every connection opened, with the thread that owns it, so close() can reach them all.
        self._registry: list[tuple[weakref.ref[threading.Thread], Database]] = []
        self._registry_lock = threading.Lock()
        self._shared: Optional[Database] = None
        self._lock: AbstractContextManager[Any]

        if self.path == ":memory:":
            # Each connection to ":memory:" is its own database, so every thread shares this one.
            self._lock = threading.RLock()
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            self._shared = self._wrap(conn, wal=False)
            self._migrate(self._shared)
            return

        self._lock = nullcontext()  # per-thread connections; SQLite's own locks do the rest
        _check_path(self.path)
        try:
            db = self._wrap(self._open(), wal=False)
        except sqlite3.Error as exc:
            raise _open_error(self.path, exc) from exc
        try:
            # Read the version before anything (even journal_mode) writes to a newer database.
            _check_version(db, self.path)
            self._execute_when_free(db.conn, "PRAGMA journal_mode = WAL")
            self._migrate(db)
        except BaseException as exc:
            db.conn.close()
            if isinstance(exc, sqlite3.Error):
                raise _open_error(self.path, exc) from exc
            raise
        self._register(db)

    # -- interactions ----------------------------------------------------------------------------

    def add_interaction(self, interaction: Interaction) -> None:
        """Store a pending (not yet ranked) interaction, creating its user if new.

        With ``store_text=False`` its ``query`` and ``answers`` are dropped, whatever they hold.

        >>> memory.add_interaction(Interaction("run-2", "ada", "embed", [TagSet(("Math",))]))
        """
        if not isinstance(interaction, Interaction):
            got = type(interaction).__name__
            raise TypeError(f"add_interaction expects an Interaction, got {got}")
        run_id = _check_name("run_id", interaction.run_id)
        user_id = _check_name("user_id", interaction.user_id)
        method = _check_name("method", interaction.method)
        candidates = _check_candidates(run_id, interaction.candidates)
        if interaction.ranking is not None:
            raise ValueError(
                f"interaction {run_id!r} already carries a ranking: add it pending, then call "
                "record_ranking so that its preference pairs are stored with it"
            )
        now = _now()
        row: dict[str, Any] = {
            "run_id": run_id,
            "user_id": user_id,
            "method": method,
            "created_at": interaction.created_at or now,
            "candidates": json.dumps([c.to_dict() for c in candidates]),
            "query_embedding": _encode_embedding(run_id, interaction.query_embedding),
            "answer_vectors": encode_answer_vectors(run_id, interaction.answer_vectors, len(candidates)),
            "query": None,
            "answers": None,
            "ranking": None,
            "ranked_at": None,
        }
        if self.store_text:
            row["query"] = interaction.query
            row["answers"] = _encode_answers(run_id, interaction.answers, len(candidates))
        with self._write() as db:
            if _first(db.query("SELECT 1 AS hit FROM interactions WHERE run_id = ?", [run_id])):
                raise PremiumError(f"run id {run_id!r} is already stored; run ids must be unique")
            db["users"].insert({"user_id": user_id, "created_at": now}, ignore=True)
            db["interactions"].insert(row)

    def get_interaction(self, run_id: str) -> Optional[Interaction]:
        """The interaction stored under ``run_id``, or ``None``.

        >>> memory.get_interaction("run-1").ranking
        [1, 0]
        """
        with self._read() as db:
            sql = f"SELECT {_INTERACTION_COLUMNS} FROM interactions WHERE run_id = ?"
            row = _first(db.query(sql, [run_id]))
        return None if row is None else _to_interaction(row)

    def interactions(
        self,
        user_id: str,
        *,
        method: Optional[str] = None,
        ranked_only: bool = False,
        limit: Optional[int] = None,
    ) -> list[Interaction]:
        """A user's interactions, oldest first; ``limit`` keeps the most recent ones.

        >>> [i.run_id for i in memory.interactions("ada", ranked_only=True)]
        ['run-1']
        """
        where, params = ["user_id = ?"], [user_id]
        if method is not None:
            where.append("method = ?")
            params.append(method)
        if ranked_only:
            where.append("ranking IS NOT NULL")
        sql = (
            f"SELECT {_INTERACTION_COLUMNS} FROM interactions WHERE {' AND '.join(where)}"
            " ORDER BY rowid DESC"  # rowid = insertion order
        )
        with self._read() as db:
            rows = list(db.query(*_limited(sql, params, limit)))
        return [_to_interaction(row) for row in reversed(rows)]

    # -- feedback --------------------------------------------------------------------------------

    def record_ranking(
        self,
        run_id: str,
        *,
        user_id: str,
        ranking: Sequence[int],
        pairs: Iterable[tuple[int, int]],
        answer_vectors: Optional[Sequence[np.ndarray]] = None,
    ) -> int:
        """Store a user's ranking of a run's candidates and its preference pairs; return how many.

        ``ranking`` lists candidate indices best first; each pair is ``(winner, loser)``;
        ``answer_vectors``, one ``(sentences, d)`` array per candidate, is what the ranked answers
        said (stored with the ranking when the run has none yet). In one transaction: the run must
        exist, belong to ``user_id`` and not be ranked yet, every index must name one of its
        candidates and the vectors must match them, else an error and nothing is written.

        >>> memory.record_ranking("run-1", user_id="ada", ranking=[0, 1], pairs=[(0, 1)])
        Traceback (most recent call last):
        langchain_premium.errors.FeedbackError: run 'run-1' was already ranked
        """
        pairs = list(pairs)
        ranking = list(ranking)
        with self._write() as db:
            sql = "SELECT user_id, ranking, candidates FROM interactions WHERE run_id = ?"
            row = _first(db.query(sql, [run_id]))
            if row is None:
                raise FeedbackError(f"unknown run id {run_id!r}: no interaction was stored for it")
            if row["user_id"] != user_id:
                # Do not name the owner: the caller may be the wrong user.
                raise FeedbackError(f"run {run_id!r} belongs to another user, not {user_id!r}")
            if row["ranking"] is not None:
                raise FeedbackError(f"run {run_id!r} was already ranked")
            m = len(_load_json(run_id, "candidates", row["candidates"]))
            order = [_check_index(run_id, "ranking", value, m) for value in ranking]
            if not order:
                raise FeedbackError(f"ranking of run {run_id!r} is empty")
            repeated = sorted({i for i in order if order.count(i) > 1})
            if repeated:
                raise FeedbackError(
                    f"ranking of run {run_id!r} lists candidate(s) {repeated} more than once"
                )
            checked = [_check_pair(run_id, pair, m) for pair in pairs]
            vectors = encode_answer_vectors(run_id, answer_vectors, m)

            now = _now()
            db.execute(
                "UPDATE interactions SET ranking = ?, ranked_at = ?,"
                " answer_vectors = COALESCE(answer_vectors, ?) WHERE run_id = ?",
                [json.dumps(order), now, vectors, run_id],
            )
            if checked:
                db["preference_pairs"].insert_all(
                    dict(run_id=run_id, user_id=user_id, winner=w, loser=l, created_at=now)
                    for w, l in checked
                )
        return len(checked)

    def pairs(
        self, user_id: str, *, method: Optional[str] = None, limit: Optional[int] = None
    ) -> list[PreferencePair]:
        """A user's preference pairs, oldest first, with their tag sets and query embedding (and
        the query text when this memory stores text).

        ``method`` keeps pairs from runs of that method; ``limit`` keeps the most recent pairs.

        >>> memory.pairs("ada", limit=1)[0].winner.tags
        ('Art',)
        """
        sql = (
            "SELECT p.id, p.run_id, p.winner, p.loser, i.candidates, i.query_embedding, i.query,"
            " i.answer_vectors"
            " FROM preference_pairs AS p JOIN interactions AS i ON i.run_id = p.run_id"
            " WHERE p.user_id = ?"
        )
        params: list[Any] = [user_id]
        if method is not None:
            sql += " AND i.method = ?"
            params.append(method)
        sql += " ORDER BY p.id DESC"
        with self._read() as db:
            rows = list(db.query(*_limited(sql, params, limit)))
        candidates: dict[str, list[TagSet]] = {}  # decode each run once
        vectors: dict[str, Optional[list[np.ndarray]]] = {}
        result = []
        for row in reversed(rows):
            run_id = row["run_id"]
            if run_id not in candidates:
                candidates[run_id] = _decode_candidates(run_id, row["candidates"])
                vectors[run_id] = decode_answer_vectors(run_id, row["answer_vectors"])
            sets, said = candidates[run_id], vectors[run_id]
            try:
                winner, loser = sets[row["winner"]], sets[row["loser"]]
            except IndexError:
                raise CorruptStateError(
                    f"pair {row['id']} of run {run_id!r} names a candidate the run does not have"
                ) from None
            result.append(
                PreferencePair(
                    run_id=run_id,
                    user_id=user_id,
                    winner=winner,
                    loser=loser,
                    query_embedding=_decode_embedding(run_id, row["query_embedding"]),
                    id=row["id"],
                    query=row["query"],  # NULL unless the memory stores text
                    winner_vectors=None if said is None else said[row["winner"]],
                    loser_vectors=None if said is None else said[row["loser"]],
                )
            )
        return result

    def count_pairs(self, user_id: str, method: Optional[str] = None) -> int:
        """How many preference pairs a user has (from runs of ``method`` when given).

        >>> memory.count_pairs("ada")
        1
        """
        if method is None:
            sql, params = "SELECT count(*) AS n FROM preference_pairs WHERE user_id = ?", [user_id]
        else:
            sql = (
                "SELECT count(*) AS n FROM preference_pairs AS p"
                " JOIN interactions AS i ON i.run_id = p.run_id"
                " WHERE p.user_id = ? AND i.method = ?"
            )
            params = [user_id, method]
        with self._read() as db:
            return int(_first(db.query(sql, params))["n"])

    # -- learner states --------------------------------------------------------------------------

    def load_state(self, user_id: str, key: str) -> Optional[StoredState]:
        """The state saved for ``(user_id, key)``, or ``None``.

        >>> memory.load_state("ada", "embed") is None
        True
        """
        with self._read() as db:
            row = _first(
                db.query(
                    "SELECT state, version, pairs_seen, updated_at FROM user_states"
                    " WHERE user_id = ? AND key = ?",
                    [user_id, key],
                )
            )
        if row is None:
            return None
        return StoredState(
            blob=bytes(row["state"]),
            version=row["version"],
            pairs_seen=row["pairs_seen"],
            updated_at=row["updated_at"],
        )

    def state_stamp(self, user_id: str, key: str) -> Optional[tuple[int, str]]:
        """``(version, updated_at)`` of the state saved for ``(user_id, key)``, or ``None``,
        without reading the state itself (which can be hundreds of megabytes): enough to tell
        whether a state decoded earlier is still the stored one.

        >>> memory.state_stamp("ada", "embed") is None
        True
        """
        with self._read() as db:
            row = _first(
                db.query(
                    "SELECT version, updated_at FROM user_states WHERE user_id = ? AND key = ?",
                    [user_id, key],
                )
            )
        return None if row is None else (row["version"], row["updated_at"])

    def save_state(
        self,
        user_id: str,
        key: str,
        blob: bytes,
        *,
        expected_version: Optional[int],
        pairs_seen: int,
    ) -> int:
        """Save a state if nobody saved since ``expected_version``; return the new version.

        ``expected_version=None`` means the state must not exist yet (it starts at version 1).
        Otherwise the stored version must equal it, else ``StaleStateError``: reload and retry.

        >>> memory.save_state("ada", "embed", b"weights", expected_version=None, pairs_seen=1)
        1
        >>> memory.save_state("ada", "embed", b"weights2", expected_version=1, pairs_seen=2)
        2
        """
        _check_name("user_id", user_id)
        _check_name("key", key)
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise TypeError(f"state blob must be bytes, got {type(blob).__name__}")
        blob = bytes(blob)
        if expected_version is not None:
            expected_version = operator.index(expected_version)
        pairs_seen = operator.index(pairs_seen)
        if pairs_seen < 0:
            raise ValueError(f"pairs_seen must be >= 0, got {pairs_seen}")
        what = f"state {key!r} of user {user_id!r}"
        with self._write() as db:
            row = _first(
                db.query(
                    "SELECT version FROM user_states WHERE user_id = ? AND key = ?", [user_id, key]
                )
            )
            current = None if row is None else row["version"]
            if current != expected_version:
                if expected_version is None:
                    raise StaleStateError(
                        f"{what} already exists at version {current}; load it and pass "
                        f"expected_version={current}"
                    )
                if current is None:
                    raise StaleStateError(
                        f"{what} does not exist (expected version {expected_version}): "
                        "it was deleted; save with expected_version=None to start again"
                    )
                raise StaleStateError(
                    f"{what} is at version {current}, not {expected_version}: "
                    "another writer saved first; reload and retry"
                )
            now = _now()
            if current is None:
                db["users"].insert({"user_id": user_id, "created_at": now}, ignore=True)
                db["user_states"].insert(
                    {
                        "user_id": user_id,
                        "key": key,
                        "state": blob,
                        "version": 1,
                        "pairs_seen": pairs_seen,
                        "updated_at": now,
                    }
                )
                return 1
            db.execute(
                "UPDATE user_states SET state = ?, version = ?, pairs_seen = ?, updated_at = ?"
                " WHERE user_id = ? AND key = ?",
                [blob, current + 1, pairs_seen, now, user_id, key],
            )
            return current + 1

    def delete_state(self, user_id: str, key: str) -> bool:
        """Delete the state saved for ``(user_id, key)``; return whether there was one.

        >>> memory.save_state("ada", "embed", b"weights", expected_version=None, pairs_seen=1)
        1
        >>> memory.delete_state("ada", "embed")
        True
        >>> memory.delete_state("ada", "embed")
        False
        """
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM user_states WHERE user_id = ? AND key = ?", [user_id, key]
            )
            return cursor.rowcount > 0

    # -- users -----------------------------------------------------------------------------------

    def users(self) -> list[str]:
        """Every user with anything stored, in the order they first appeared.

        >>> memory.users()
        ['ada']
        """
        with self._read() as db:
            return [row["user_id"] for row in db.query("SELECT user_id FROM users ORDER BY rowid")]

    def forget_user(self, user_id: str) -> None:
        """Delete every row of one user (interactions, pairs, states, the user) in one transaction.

        >>> memory.forget_user("ada"); memory.users()
        []
        """
        with self._write() as db:
            # Children first, so the foreign keys hold at every step.
            for table in ("preference_pairs", "user_states", "interactions", "users"):
                db.execute(f"DELETE FROM {table} WHERE user_id = ?", [user_id])

    def export_user(self, user_id: str) -> dict[str, Any]:
        """Everything stored about one user as a JSON-serialisable dict (one consistent snapshot).

        States are summarised (version, pairs_seen, size, sha256), not dumped.

        >>> json.dumps(memory.export_user("ada"))  # doctest: +ELLIPSIS
        '{"user_id": "ada", ...}'
        """
        with self._read() as db:
            user = _first(db.query("SELECT created_at FROM users WHERE user_id = ?", [user_id]))
            interactions = list(
                db.query(
                    f"SELECT {_INTERACTION_COLUMNS} FROM interactions"
                    " WHERE user_id = ? ORDER BY rowid",
                    [user_id],
                )
            )
            pairs = list(
                db.query(
                    "SELECT id, run_id, winner, loser, created_at FROM preference_pairs"
                    " WHERE user_id = ? ORDER BY id",
                    [user_id],
                )
            )
            states = list(
                db.query(
                    "SELECT key, state, version, pairs_seen, updated_at FROM user_states"
                    " WHERE user_id = ? ORDER BY key",
                    [user_id],
                )
            )
        exported = []
        for row in interactions:
            interaction = _to_interaction(row)
            embedding = interaction.query_embedding
            exported.append(
                {
                    "run_id": interaction.run_id,
                    "method": interaction.method,
                    "created_at": interaction.created_at,
                    "candidates": [c.to_dict() for c in interaction.candidates],
                    "query_embedding": None if embedding is None else embedding.tolist(),
                    "query": interaction.query,  # None unless text was stored
                    "answers": interaction.answers,
                    "answer_vectors": (None if interaction.answer_vectors is None
                                       else [v.tolist() for v in interaction.answer_vectors]),
                    "ranking": interaction.ranking,
                    "ranked_at": interaction.ranked_at,
                }
            )
        return {
            "user_id": user_id,
            "created_at": None if user is None else user["created_at"],
            "interactions": exported,
            "pairs": pairs,
            "states": {
                row["key"]: {
                    "version": row["version"],
                    "pairs_seen": row["pairs_seen"],
                    "updated_at": row["updated_at"],
                    "bytes": len(row["state"]),
                    "sha256": hashlib.sha256(row["state"]).hexdigest(),
                }
                for row in states
            },
        }

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def db(self) -> Database:
        """The calling thread's ``sqlite_utils.Database``, for inspection.

        Writing through it bypasses this class's checks and, for ``":memory:"``, its lock.
        """
        return self._db()

    def close(self) -> None:
        """Close every connection this memory opened, in every thread. Safe to call twice."""
        with self._lock:
            with self._registry_lock:
                if self._closed:
                    return
                self._closed = True
                dbs = [db for _, db in self._registry]
                self._registry.clear()
                if self._shared is not None:
                    dbs.append(self._shared)
            for db in dbs:
                db.conn.close()

    def __enter__(self) -> "SQLiteMemory":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        closed = ", closed" if self._closed else ""
        return f"SQLiteMemory({self.path!r}, store_text={self.store_text}{closed})"

    # -- connections and transactions ------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        # check_same_thread=False only so close() may close it from another thread: each file
        # connection is otherwise used by the thread that opened it alone.
        return sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )

    def _wrap(self, conn: sqlite3.Connection, *, wal: bool) -> Database:
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            # Zero deleted rows when it costs no extra I/O, so forgotten text does not linger.
            conn.execute("PRAGMA secure_delete = FAST")
            if wal:
                conn.execute("PRAGMA journal_mode = WAL")
            return Database(conn, execute_plugins=False)
        except BaseException:
            conn.close()
            raise

    def _register(self, db: Database) -> None:
        with self._registry_lock:
            if self._closed:
                db.conn.close()
                raise _closed_error(self)
            # Close connections of threads that have ended: nobody else can use them now.
            alive = []
            for thread_ref, other in self._registry:
                thread = thread_ref()
                if thread is not None and thread.is_alive():
                    alive.append((thread_ref, other))
                else:
                    other.conn.close()
            alive.append((weakref.ref(threading.current_thread()), db))
            self._registry = alive
        self._local.db = db

    def _db(self) -> Database:
        if self._closed:
            raise _closed_error(self)
        if self._shared is not None:
            return self._shared
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = self._wrap(self._open(), wal=True)
            except sqlite3.Error as exc:
                raise _open_error(self.path, exc) from exc
            self._register(db)
        return db

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        self._execute_when_free(conn, "BEGIN IMMEDIATE")

    def _execute_when_free(self, conn: sqlite3.Connection, sql: str) -> None:
        """Run ``sql``, retrying while another connection holds the lock it needs."""
        # SQLite's busy handler already waits; this loop covers the cases where it gives up early
        # (BEGIN IMMEDIATE, and switching a new file to WAL while another opener migrates it).
        deadline = time.monotonic() + self.timeout
        delay = 0.001
        while True:
            try:
                conn.execute(sql)
                return
            except sqlite3.OperationalError as exc:
                message = str(exc).lower()
                if "locked" not in message and "busy" not in message:
                    raise
                if time.monotonic() >= deadline:
                    raise PremiumError(
                        f"{self.path} stayed locked by another writer for more than "
                        f"{self.timeout:g} s"
                    ) from exc
            time.sleep(random.uniform(0, delay))  # jitter: waiting writers do not retry in step
            delay = min(delay * 2, 0.05)

    @contextmanager
    def _write(self) -> Iterator[Database]:
        """One ``BEGIN IMMEDIATE`` transaction on this thread's connection."""
        with self._lock:
            db = self._db()
            with self._transaction(db):
                yield db

    @contextmanager
    def _read(self) -> Iterator[Database]:
        """A read transaction: several SELECTs see one snapshot even while others write."""
        with self._lock:
            db = self._db()
            conn = db.conn
            conn.execute("BEGIN")
            try:
                yield db
            finally:
                _rollback(conn)

    def _migrate(self, db: Database) -> None:
        """Apply the migrations this database lacks, all in one transaction."""
        if _check_version(db, self.path) == len(MIGRATIONS):
            return  # up to date: no write lock needed to open
        with self._transaction(db):
            db.execute(_MIGRATIONS_TABLE)
            # Re-read inside the lock: another process may have migrated since the check above.
            current = _check_version(db, self.path)
            for version in range(current + 1, len(MIGRATIONS) + 1):
                try:
                    MIGRATIONS[version - 1](db)
                except sqlite3.Error as exc:
                    raise PremiumError(
                        f"could not migrate {self.path} to schema version {version}: {exc}"
                    ) from exc
                db["schema_migrations"].insert({"version": version, "applied_at": _now()})

    @contextmanager
    def _transaction(self, db: Database) -> Iterator[None]:
        """``BEGIN IMMEDIATE``, then commit on success or roll back on any error."""
        conn = db.conn
        if conn.in_transaction:
            raise RuntimeError("SQLiteMemory write transactions cannot be nested")
        self._begin_immediate(conn)
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise


# --- helpers ------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _first(rows: Iterable[dict]) -> Optional[dict]:
    return next(iter(rows), None)


def _rollback(conn: sqlite3.Connection) -> None:
    # Never let a failed rollback hide the error that caused it.
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def _closed_error(memory: SQLiteMemory) -> PremiumError:
    return PremiumError(f"{memory!r} is closed")


def _open_error(path: str, exc: sqlite3.Error) -> PremiumError:
    if isinstance(exc, sqlite3.OperationalError):
        return PremiumError(f"cannot open memory database {path}: {exc}")
    return CorruptStateError(f"{path} is not a usable SQLite database: {exc}")


def _check_path(path: str) -> None:
    """Refuse a path SQLite could not create or write, before anything is created."""
    if path == "" or path.startswith("file:"):
        raise PremiumError(f"memory path must be ':memory:' or a file path, got {path!r}")
    target = Path(path)
    parent = target.parent
    if not parent.is_dir():
        raise PremiumError(f"cannot open memory database {path}: directory {parent} does not exist")
    # WAL keeps -wal and -shm files beside the database: the directory must be writable too.
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PremiumError(
            f"cannot open memory database {path}: directory {parent} is not writable"
        )
    if target.exists():
        if not target.is_file():
            raise PremiumError(f"cannot open memory database {path}: it is not a file")
        if not os.access(target, os.R_OK | os.W_OK):
            raise PremiumError(f"cannot open memory database {path}: the file is not writable")


def _check_version(db: Database, path: str) -> int:
    """The schema version recorded in ``db`` (0 when new); raise if newer than this code knows."""
    if not db["schema_migrations"].exists():
        return 0
    row = _first(db.query("SELECT max(version) AS version FROM schema_migrations"))
    version = (row or {}).get("version") or 0
    if version > len(MIGRATIONS):
        raise SchemaVersionError(
            f"{path} has schema version {version}, but this langchain-premium only knows up to "
            f"{len(MIGRATIONS)}: upgrade langchain-premium to open it"
        )
    return version


def _limited(sql: str, params: list[Any], limit: Optional[int]) -> tuple[str, list[Any]]:
    if limit is None:
        return sql, params
    if isinstance(limit, bool) or operator.index(limit) < 0:
        raise ValueError(f"limit must be a non-negative integer or None, got {limit!r}")
    return sql + " LIMIT ?", [*params, operator.index(limit)]


def _check_name(what: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _check_candidates(run_id: str, candidates: object) -> list[TagSet]:
    if not isinstance(candidates, (list, tuple)) or not candidates:
        raise ValueError(f"interaction {run_id!r} needs a non-empty list of TagSet candidates")
    for candidate in candidates:
        if not isinstance(candidate, TagSet):
            got = type(candidate).__name__
            raise TypeError(f"candidates of interaction {run_id!r} must be TagSets, got {got}")
    return list(candidates)


def _check_index(run_id: str, what: str, value: object, m: int) -> int:
    not_an_index = FeedbackError(f"{what} of run {run_id!r} holds {value!r}, not a candidate index")
    if isinstance(value, bool):  # True would silently mean candidate 1
        raise not_an_index
    try:
        index = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise not_an_index from None
    if not 0 <= index < m:
        raise FeedbackError(
            f"{what} of run {run_id!r} names candidate {index}, but the run has {m} candidates "
            f"(0..{m - 1})"
        )
    return index


def _check_pair(run_id: str, pair: object, m: int) -> tuple[int, int]:
    try:
        winner, loser = pair  # type: ignore[misc]
    except (TypeError, ValueError):
        raise FeedbackError(
            f"pairs of run {run_id!r} must be (winner, loser) tuples, got {pair!r}"
        ) from None
    w = _check_index(run_id, "pair winner", winner, m)
    l = _check_index(run_id, "pair loser", loser, m)
    if w == l:
        raise FeedbackError(f"pair {pair!r} of run {run_id!r} compares candidate {w} with itself")
    return w, l


def _encode_embedding(run_id: str, embedding: object) -> Optional[bytes]:
    if embedding is None:
        return None
    array = np.asarray(embedding, dtype="<f4")  # fixed byte order: the file may change machines
    if array.ndim != 1:
        raise ValueError(
            f"query_embedding of interaction {run_id!r} must be one vector, got shape {array.shape}"
        )
    return array.tobytes()


def _decode_embedding(run_id: str, blob: Optional[bytes]) -> Optional[np.ndarray]:
    if blob is None:
        return None
    if len(blob) % 4:
        raise CorruptStateError(f"query_embedding of run {run_id!r} is not a float32 vector")
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)  # a fresh, writable copy


def _encode_answers(run_id: str, answers: Optional[list[str]], m: int) -> Optional[str]:
    if answers is None:
        return None
    answers = list(answers)
    if len(answers) != m or not all(isinstance(a, str) for a in answers):
        raise ValueError(
            f"answers of interaction {run_id!r} must be {m} strings, one per candidate"
        )
    return json.dumps(answers)


def _load_json(run_id: str, column: str, text: Optional[str]) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CorruptStateError(f"{column} of run {run_id!r} is not valid JSON: {exc}") from exc


def _decode_candidates(run_id: str, text: str) -> list[TagSet]:
    try:
        return [TagSet.from_dict(item) for item in _load_json(run_id, "candidates", text)]
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptStateError(f"candidates of run {run_id!r} do not decode: {exc!r}") from exc


def _to_interaction(row: dict) -> Interaction:
    run_id = row["run_id"]
    return Interaction(
        run_id=run_id,
        user_id=row["user_id"],
        method=row["method"],
        candidates=_decode_candidates(run_id, row["candidates"]),
        query_embedding=_decode_embedding(run_id, row["query_embedding"]),
        query=row["query"],
        answers=_load_json(run_id, "answers", row["answers"]),
        ranking=_load_json(run_id, "ranking", row["ranking"]),
        created_at=row["created_at"],
        ranked_at=row["ranked_at"],
        answer_vectors=decode_answer_vectors(run_id, row["answer_vectors"]),
    )
