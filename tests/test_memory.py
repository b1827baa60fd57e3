"""Tests of SQLiteMemory: round trips, privacy, atomicity, migrations, compare-and-swap, threads."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

import langchain_premium.memory as memory_module
from langchain_premium.errors import (
    CorruptStateError,
    FeedbackError,
    PremiumError,
    SchemaVersionError,
    StaleStateError,
)
from langchain_premium.memory import SCHEMA_VERSION, SQLiteMemory, StoredState
from langchain_premium.records import Interaction, PreferencePair, TagSet

SECRET_QUERY = "zq-secret-query-7f3a: how do I fix my bike?"
SECRET_ANSWER = "zq-secret-answer-91c2"


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def memory():
    with SQLiteMemory() as mem:
        yield mem


def candidates(m: int = 4) -> list[TagSet]:
    return [
        TagSet(
            tags=(f"Area{i}", f"Topic{i}"),
            styles=("Brief",) if i % 2 else (),
            source="exploration" if i == m - 1 else "selector",
            score=0.25 * i,
        )
        for i in range(m)
    ]


def embedding(seed: int, d: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(d).astype(np.float32)


def interaction(run_id: str, user_id: str = "ada", *, method="embed", m=4, seed=0) -> Interaction:
    return Interaction(
        run_id=run_id,
        user_id=user_id,
        method=method,
        candidates=candidates(m),
        query_embedding=embedding(seed),
        query=SECRET_QUERY,
        answers=[f"{SECRET_ANSWER} #{i}" for i in range(m)],
    )


def full_pairs(ranking: list[int]) -> list[tuple[int, int]]:
    return [(w, l) for i, w in enumerate(ranking) for l in ranking[i + 1 :]]


def dump(mem: SQLiteMemory) -> str:
    """Schema and every row of every table, as SQL text."""
    return "\n".join(mem.db.conn.iterdump())


def file_dump(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


# --- interactions -------------------------------------------------------------------------------


def test_interaction_round_trip_with_text():
    with SQLiteMemory(store_text=True) as mem:
        original = interaction("r1", seed=3)
        mem.add_interaction(original)
        got = mem.get_interaction("r1")
    assert got.run_id == "r1" and got.user_id == "ada" and got.method == "embed"
    assert got.candidates == original.candidates
    assert all(isinstance(c, TagSet) for c in got.candidates)
    assert got.query_embedding.dtype == np.float32
    np.testing.assert_array_equal(got.query_embedding, original.query_embedding)
    assert got.query == SECRET_QUERY
    assert got.answers == original.answers
    assert got.ranking is None and got.ranked_at is None
    assert got.created_at


def test_interaction_without_text_drops_query_and_answers(memory):
    memory.add_interaction(interaction("r1"))
    got = memory.get_interaction("r1")
    assert got.query is None and got.answers is None
    assert got.candidates == candidates(4)


def test_embedding_is_stored_as_float32(memory):
    record = interaction("r1")
    record.query_embedding = [0.5, -1.25, 3.0]  # a list of Python floats is accepted too
    memory.add_interaction(record)
    blob = memory.db.execute("SELECT query_embedding FROM interactions").fetchone()[0]
    assert len(blob) == 3 * 4
    got = memory.get_interaction("r1").query_embedding
    assert got.dtype == np.float32 and got.tolist() == [0.5, -1.25, 3.0]
    got[0] = 9.0  # a writable copy, not a view of the stored bytes


def test_unknown_interaction_is_none(memory):
    assert memory.get_interaction("missing") is None


def test_duplicate_run_id_is_refused_and_keeps_the_first(memory):
    memory.add_interaction(interaction("r1", "ada"))
    before = dump(memory)
    with pytest.raises(PremiumError, match="'r1' is already stored"):
        memory.add_interaction(interaction("r1", "bob"))
    assert dump(memory) == before
    assert memory.users() == ["ada"]


def test_add_interaction_refuses_a_ranked_record(memory):
    record = interaction("r1")
    record.ranking = [0, 1, 2, 3]
    with pytest.raises(ValueError, match="record_ranking"):
        memory.add_interaction(record)
    assert memory.get_interaction("r1") is None


def test_interactions_filters_and_limit(memory):
    for n in range(5):
        memory.add_interaction(interaction(f"r{n}", method="embed" if n % 2 == 0 else "random"))
    memory.add_interaction(interaction("other", "bob"))
    memory.record_ranking("r1", user_id="ada", ranking=[0, 1, 2, 3], pairs=[(0, 1)])
    memory.record_ranking("r4", user_id="ada", ranking=[3, 2, 1, 0], pairs=[(3, 2)])

    ids = lambda items: [i.run_id for i in items]  # noqa: E731
    assert ids(memory.interactions("ada")) == ["r0", "r1", "r2", "r3", "r4"]
    assert ids(memory.interactions("ada", method="embed")) == ["r0", "r2", "r4"]
    assert ids(memory.interactions("ada", ranked_only=True)) == ["r1", "r4"]
    assert ids(memory.interactions("ada", limit=2)) == ["r3", "r4"]  # most recent, oldest first
    assert ids(memory.interactions("ada", limit=0)) == []
    assert memory.interactions("ada", ranked_only=True)[0].ranking == [0, 1, 2, 3]
    assert ids(memory.interactions("nobody")) == []
    with pytest.raises(ValueError, match="limit"):
        memory.interactions("ada", limit=-1)


# --- rankings and pairs -------------------------------------------------------------------------


def test_record_ranking_stores_ranking_and_pairs(memory):
    memory.add_interaction(interaction("r1", seed=1))
    ranking = [2, 0, 3, 1]
    stored = memory.record_ranking("r1", user_id="ada", ranking=ranking, pairs=full_pairs(ranking))
    assert stored == 6

    stored = memory.get_interaction("r1")
    assert stored.ranking == ranking and stored.ranked_at
    pairs = memory.pairs("ada")
    assert len(pairs) == 6 == memory.count_pairs("ada")
    sets = candidates(4)
    expected = [(sets[w], sets[l]) for w, l in full_pairs(ranking)]
    assert [(p.winner, p.loser) for p in pairs] == expected
    assert all(isinstance(p, PreferencePair) for p in pairs)
    assert {(p.run_id, p.user_id) for p in pairs} == {("r1", "ada")}
    for p in pairs:
        np.testing.assert_array_equal(p.query_embedding, embedding(1))
    assert [p.id for p in pairs] == sorted(p.id for p in pairs)


def test_record_ranking_accepts_numpy_indices_and_no_pairs(memory):
    memory.add_interaction(interaction("r1", m=1))
    assert memory.record_ranking("r1", user_id="ada", ranking=[np.int64(0)], pairs=[]) == 0
    assert memory.get_interaction("r1").ranking == [0]


def test_pairs_order_limit_and_method(memory):
    memory.add_interaction(interaction("a", method="embed", seed=1))
    memory.add_interaction(interaction("b", method="random", seed=2))
    memory.add_interaction(interaction("c", method="embed", seed=3))
    memory.add_interaction(interaction("x", "bob"))
    memory.record_ranking("b", user_id="ada", ranking=[1, 0], pairs=[(1, 0)])
    memory.record_ranking("a", user_id="ada", ranking=[0, 1, 2], pairs=[(0, 1), (1, 2)])
    memory.record_ranking("c", user_id="ada", ranking=[3, 2], pairs=[(3, 2)])
    memory.record_ranking("x", user_id="bob", ranking=[0, 1], pairs=[(0, 1)])

    order = [(p.run_id, p.winner.tags[0], p.loser.tags[0]) for p in memory.pairs("ada")]
    assert order == [
        ("b", "Area1", "Area0"),
        ("a", "Area0", "Area1"),
        ("a", "Area1", "Area2"),
        ("c", "Area3", "Area2"),
    ]
    assert [p.run_id for p in memory.pairs("ada", limit=2)] == ["a", "c"]
    assert [p.run_id for p in memory.pairs("ada", method="embed")] == ["a", "a", "c"]
    assert [p.run_id for p in memory.pairs("ada", method="embed", limit=1)] == ["c"]
    assert memory.count_pairs("ada") == 4
    assert memory.count_pairs("ada", method="random") == 1
    assert memory.count_pairs("ada", "embed") == 3
    assert memory.count_pairs("bob") == 1 and memory.count_pairs("nobody") == 0
    [random_pair] = memory.pairs("ada", method="random")
    np.testing.assert_array_equal(random_pair.query_embedding, embedding(2))


def _feedback_world(mem: SQLiteMemory) -> None:
    mem.add_interaction(interaction("r1", "ada", m=3))
    mem.add_interaction(interaction("r-bob", "bob", m=3))
    mem.add_interaction(interaction("r-done", "ada", m=3))
    mem.record_ranking("r-done", user_id="ada", ranking=[0, 1, 2], pairs=[(0, 1)])


@pytest.mark.parametrize(
    ("run_id", "user_id", "ranking", "pairs", "message"),
    [
        ("nope", "ada", [0, 1, 2], [(0, 1)], "unknown run id 'nope'"),
        ("r-bob", "ada", [0, 1, 2], [(0, 1)], "belongs to another user"),
        ("r-done", "ada", [2, 1, 0], [(2, 1)], "run 'r-done' was already ranked"),
        ("r1", "ada", [0, 1, 3], [(0, 1)], "candidate 3, but the run has 3 candidates"),
        ("r1", "ada", [-1, 0, 1], [(0, 1)], "candidate -1"),
        ("r1", "ada", [0, 1, 2], [(0, 1), (0, 3)], "pair loser of run 'r1' names candidate 3"),
        ("r1", "ada", [0, 1, 2], [(5, 1)], "pair winner of run 'r1' names candidate 5"),
        ("r1", "ada", [0, 1, 2], [(1, 1)], "with itself"),
        ("r1", "ada", [0, 0, 1], [(0, 1)], "more than once"),
        ("r1", "ada", [], [], "is empty"),
        ("r1", "ada", [True, 0], [(0, 1)], "not a candidate index"),
        ("r1", "ada", [0, 1, 2], [(0,)], "must be \\(winner, loser\\)"),
        ("r1", "ada", ["0", 1], [(0, 1)], "not a candidate index"),
    ],
)
def test_record_ranking_errors_write_nothing(memory, run_id, user_id, ranking, pairs, message):
    _feedback_world(memory)
    before = dump(memory)
    with pytest.raises(FeedbackError, match=message):
        memory.record_ranking(run_id, user_id=user_id, ranking=ranking, pairs=pairs)
    assert dump(memory) == before
    # The failed call left no half-open transaction: a valid ranking still goes through.
    assert memory.record_ranking("r1", user_id="ada", ranking=[2, 1, 0], pairs=[(2, 1)]) == 1


def test_wrong_user_error_does_not_leak_the_owner(memory):
    memory.add_interaction(interaction("r1", "owner-alice-42"))
    with pytest.raises(FeedbackError) as info:
        memory.record_ranking("r1", user_id="mallory", ranking=[0], pairs=[])
    assert "owner-alice-42" not in str(info.value) and "mallory" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_failure_after_writes_began_rolls_everything_back(memory, monkeypatch):
    memory.add_interaction(interaction("r1"))
    before = dump(memory)

    def broken_insert_all(self, *args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite_utils.db.Table, "insert_all", broken_insert_all)
    with pytest.raises(sqlite3.OperationalError):
        memory.record_ranking("r1", user_id="ada", ranking=[1, 0], pairs=[(1, 0)])
    assert dump(memory) == before  # the ranking UPDATE that ran first was rolled back
    assert memory.get_interaction("r1").ranking is None


def test_failed_add_interaction_leaves_no_user_behind(memory, monkeypatch):
    real_insert = sqlite_utils.db.Table.insert

    def insert(self, record, **kwargs):
        if self.name == "interactions":
            raise sqlite3.OperationalError("disk full")
        return real_insert(self, record, **kwargs)

    monkeypatch.setattr(sqlite_utils.db.Table, "insert", insert)
    with pytest.raises(sqlite3.OperationalError):
        memory.add_interaction(interaction("r1"))
    assert memory.users() == []  # the user row inserted just before was rolled back too


# --- privacy ------------------------------------------------------------------------------------


def _cells_containing(db: sqlite_utils.Database, needle: str) -> list[tuple[str, str]]:
    """(table, column) of every TEXT or BLOB cell, in every table, that contains ``needle``."""
    hits = []
    for table in db.tables:
        for column in table.columns:
            if column.type.upper() not in ("TEXT", "BLOB", ""):
                continue
            for row in db.query(f"SELECT [{column.name}] AS value FROM [{table.name}]"):
                value = row["value"]
                if isinstance(value, str) and needle in value:
                    hits.append((table.name, column.name))
                elif isinstance(value, bytes) and needle.encode() in value:
                    hits.append((table.name, column.name))
    return hits


@pytest.mark.parametrize("store_text", [False, True])
def test_store_text_false_writes_no_text_anywhere(store_text):
    with SQLiteMemory(store_text=store_text) as mem:
        mem.add_interaction(interaction("r1"))
        mem.record_ranking("r1", user_id="ada", ranking=[1, 0], pairs=[(1, 0)])
        mem.save_state("ada", "embed", b"weights", expected_version=None, pairs_seen=1)
        query_hits = _cells_containing(mem.db, SECRET_QUERY)
        answer_hits = _cells_containing(mem.db, SECRET_ANSWER)
    if store_text:  # the scan does find text when it is there
        assert query_hits == [("interactions", "query")]
        assert answer_hits == [("interactions", "answers")]
    else:
        assert query_hits == [] and answer_hits == []


# --- states -------------------------------------------------------------------------------------


def test_state_round_trip_and_compare_and_swap(memory):
    assert memory.load_state("ada", "embed") is None
    assert memory.save_state("ada", "embed", b"v1", expected_version=None, pairs_seen=3) == 1
    state = memory.load_state("ada", "embed")
    assert isinstance(state, StoredState)
    assert (state.blob, state.version, state.pairs_seen) == (b"v1", 1, 3) and state.updated_at
    assert "v1" not in repr(state)  # blobs stay out of logs

    with pytest.raises(StaleStateError, match="already exists at version 1"):
        memory.save_state("ada", "embed", b"other", expected_version=None, pairs_seen=0)
    version = memory.save_state("ada", "embed", bytearray(b"v2"), expected_version=1, pairs_seen=5)
    assert version == 2
    with pytest.raises(StaleStateError, match="is at version 2, not 1"):
        memory.save_state("ada", "embed", b"lost update", expected_version=1, pairs_seen=6)
    assert memory.load_state("ada", "embed") == StoredState(
        b"v2", 2, 5, memory.load_state("ada", "embed").updated_at
    )

    # Keys and users are independent.
    assert memory.save_state("ada", "prompt", b"p", expected_version=None, pairs_seen=0) == 1
    assert memory.save_state("bob", "embed", b"b", expected_version=None, pairs_seen=0) == 1
    assert memory.users() == ["ada", "bob"]  # saving a state creates the user

    assert memory.delete_state("ada", "embed") is True
    assert memory.delete_state("ada", "embed") is False
    assert memory.load_state("ada", "embed") is None
    with pytest.raises(StaleStateError, match="does not exist"):
        memory.save_state("ada", "embed", b"v3", expected_version=2, pairs_seen=7)
    assert memory.load_state("ada", "prompt").blob == b"p"


def test_large_state_blob_round_trips(memory):
    blob = os.urandom(3 * 1024 * 1024)
    memory.save_state("ada", "embed", blob, expected_version=None, pairs_seen=0)
    assert memory.load_state("ada", "embed").blob == blob


# --- users, forget, export ----------------------------------------------------------------------


def _rows_of(mem: SQLiteMemory, user_id: str) -> dict[str, list[dict]]:
    tables = ("users", "interactions", "preference_pairs", "user_states")
    return {t: list(mem.db[t].rows_where("user_id = ?", [user_id])) for t in tables}


def _two_users(mem: SQLiteMemory) -> None:
    for user in ("ada", "bob"):
        for n in range(3):
            run_id, ranking = f"{user}-{n}", [0, 1, 2, 3]
            mem.add_interaction(interaction(run_id, user))
            mem.record_ranking(run_id, user_id=user, ranking=ranking, pairs=full_pairs(ranking))
        mem.add_interaction(interaction(f"{user}-pending", user))
        mem.save_state(user, "embed", user.encode() * 10, expected_version=None, pairs_seen=18)


def test_forget_user_removes_all_of_one_user_and_nothing_else(memory):
    _two_users(memory)
    bob_before = _rows_of(memory, "bob")
    assert all(_rows_of(memory, "ada").values())  # ada has rows in every table

    memory.forget_user("ada")

    assert _rows_of(memory, "ada") == {t: [] for t in bob_before}
    assert _rows_of(memory, "bob") == bob_before
    assert memory.users() == ["bob"]
    assert memory.count_pairs("ada") == 0 and memory.load_state("ada", "embed") is None
    with pytest.raises(FeedbackError, match="unknown run id"):
        memory.record_ranking("ada-pending", user_id="ada", ranking=[0], pairs=[])
    memory.forget_user("ada")  # forgetting twice is harmless
    memory.add_interaction(interaction("ada-0", "ada"))  # and the user may come back afresh
    assert memory.count_pairs("ada") == 0


def test_export_user_is_json_and_complete(memory):
    _two_users(memory)
    exported = memory.export_user("ada")
    again = json.loads(json.dumps(exported))
    assert again == exported
    assert exported["user_id"] == "ada" and exported["created_at"]
    run_ids = [i["run_id"] for i in exported["interactions"]]
    assert run_ids == ["ada-0", "ada-1", "ada-2", "ada-pending"]
    first = exported["interactions"][0]
    assert first["candidates"] == [c.to_dict() for c in candidates(4)]
    assert first["ranking"] == [0, 1, 2, 3] and first["ranked_at"] and first["created_at"]
    assert first["query"] is None and first["answers"] is None  # no text was stored
    assert len(first["query_embedding"]) == 8
    assert len(exported["pairs"]) == 18
    assert {p["run_id"] for p in exported["pairs"]} == {"ada-0", "ada-1", "ada-2"}
    blob = b"ada" * 10
    assert exported["states"] == {
        "embed": {
            "version": 1,
            "pairs_seen": 18,
            "updated_at": memory.load_state("ada", "embed").updated_at,
            "bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
        }
    }
    assert "bob" not in json.dumps(exported)
    assert memory.export_user("nobody") == {
        "user_id": "nobody", "created_at": None, "interactions": [], "pairs": [], "states": {}
    }


def test_export_user_includes_text_when_stored():
    with SQLiteMemory(store_text=True) as mem:
        mem.add_interaction(interaction("r1"))
        exported = mem.export_user("ada")
    assert exported["interactions"][0]["query"] == SECRET_QUERY
    assert exported["interactions"][0]["answers"][0].startswith(SECRET_ANSWER)
    json.dumps(exported)


# --- lifecycle ----------------------------------------------------------------------------------


def test_close_repr_and_context_manager(tmp_path):
    path = tmp_path / "premium.db"
    with SQLiteMemory(path) as mem:
        assert mem.path == str(path)
        assert repr(mem) == f"SQLiteMemory({str(path)!r}, store_text=False)"
        mem.add_interaction(interaction("r1"))
    assert "closed" in repr(mem)
    with pytest.raises(PremiumError, match="is closed"):
        mem.get_interaction("r1")
    mem.close()  # twice is fine
    with SQLiteMemory(path) as reopened:
        assert reopened.get_interaction("r1").run_id == "r1"
        assert reopened.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert reopened.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_missing_directory_is_refused_and_nothing_created(tmp_path):
    path = tmp_path / "missing" / "premium.db"
    with pytest.raises(PremiumError, match="missing.*does not exist"):
        SQLiteMemory(path)
    assert not (tmp_path / "missing").exists()


def test_path_under_a_file_is_refused(tmp_path):
    (tmp_path / "file.txt").write_text("not a directory")
    with pytest.raises(PremiumError, match="file.txt"):
        SQLiteMemory(tmp_path / "file.txt" / "premium.db")


def test_directory_path_is_refused(tmp_path):
    with pytest.raises(PremiumError, match="not a file"):
        SQLiteMemory(tmp_path)


def test_unwritable_directory_is_refused(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.geteuid() == 0:  # root ignores permission bits: answer as an ordinary user would
        real_access = os.access
        monkeypatch.setattr(
            memory_module.os,
            "access",
            lambda p, mode: False if Path(p) == locked and mode & os.W_OK else real_access(p, mode),
        )
    try:
        with pytest.raises(PremiumError, match=r"locked.*not writable"):
            SQLiteMemory(locked / "premium.db")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "premium.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CorruptStateError, match="not a usable SQLite database"):
        SQLiteMemory(path)


# --- migrations ---------------------------------------------------------------------------------


def _migrations(db: sqlite_utils.Database) -> list[dict]:
    return list(db.query("SELECT version, applied_at FROM schema_migrations ORDER BY version"))


def test_new_database_records_every_migration(memory):
    assert [m["version"] for m in _migrations(memory.db)] == list(range(1, SCHEMA_VERSION + 1))
    tables = {"users", "interactions", "preference_pairs", "user_states"}
    assert tables <= set(memory.db.table_names())


def test_reopening_keeps_data_and_does_not_rerun_migrations(tmp_path, monkeypatch):
    path = tmp_path / "premium.db"
    with SQLiteMemory(path) as mem:
        _two_users(mem)
        applied = _migrations(mem.db)
        before = dump(mem)

    def must_not_run(db):
        raise AssertionError("an applied migration ran again")

    monkeypatch.setattr(memory_module, "MIGRATIONS", [must_not_run] * SCHEMA_VERSION)
    with SQLiteMemory(path) as mem:
        assert _migrations(mem.db) == applied
        assert dump(mem) == before
        assert mem.count_pairs("ada") == 18


def test_a_new_migration_runs_once_and_keeps_data(tmp_path, monkeypatch):
    path = tmp_path / "premium.db"
    with SQLiteMemory(path) as mem:
        _two_users(mem)
    calls = []

    def add_notes(db):
        calls.append(1)
        db["users"].add_column("note", str)

    monkeypatch.setattr(memory_module, "MIGRATIONS", [*memory_module.MIGRATIONS, add_notes])
    for _ in range(2):
        with SQLiteMemory(path) as mem:
            assert [m["version"] for m in _migrations(mem.db)] == list(range(1, SCHEMA_VERSION + 2))
            assert "note" in mem.db["users"].columns_dict
            assert mem.count_pairs("ada") == 18
    assert calls == [1]


def test_a_failing_migration_applies_nothing(tmp_path, monkeypatch):
    path = tmp_path / "premium.db"
    with SQLiteMemory(path) as mem:
        mem.add_interaction(interaction("r1"))
    before = file_dump(path)

    def half_done(db):
        db.execute("CREATE TABLE half (x INTEGER)")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(memory_module, "MIGRATIONS", [*memory_module.MIGRATIONS, half_done])
    with pytest.raises(RuntimeError, match="migration bug"):
        SQLiteMemory(path)
    assert file_dump(path) == before


def test_newer_schema_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "premium.db"
    with SQLiteMemory(path) as mem:
        mem.add_interaction(interaction("r1"))
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
            [SCHEMA_VERSION + 1, "2099-01-01T00:00:00+00:00"],
        )
    conn.close()
    before_dump, before_bytes = file_dump(path), path.read_bytes()

    with pytest.raises(SchemaVersionError, match=f"schema version {SCHEMA_VERSION + 1}"):
        SQLiteMemory(path)
    assert file_dump(path) == before_dump
    assert path.read_bytes() == before_bytes


# --- threads ------------------------------------------------------------------------------------


def _run_threads(target, n: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run(t: int) -> None:
        try:
            barrier.wait()
            target(t)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return errors


@pytest.mark.parametrize("where", ["file", "memory"])
def test_eight_threads_record_rankings_without_losing_or_duplicating_pairs(tmp_path, where):
    path = tmp_path / "premium.db" if where == "file" else ":memory:"
    threads, runs, ranking = 8, 15, [3, 1, 0, 2]
    expected = full_pairs(ranking)

    with SQLiteMemory(path) as mem:

        def work(t: int) -> None:
            for n in range(runs):
                run_id = f"t{t}-r{n}"
                mem.add_interaction(interaction(run_id, f"user{t % 3}", seed=n))
                user = f"user{t % 3}"
                stored = mem.record_ranking(run_id, user_id=user, ranking=ranking, pairs=expected)
                assert stored == len(expected)
                assert mem.count_pairs(f"user{t % 3}") > 0  # reads interleave with writes

        assert _run_threads(work, threads) == []
        total = threads * runs * len(expected)
        assert sum(mem.count_pairs(u) for u in mem.users()) == total
        rows = list(mem.db.query("SELECT run_id, winner, loser FROM preference_pairs"))
        assert len(rows) == total
        by_run: dict[str, list] = {}
        for row in rows:
            by_run.setdefault(row["run_id"], []).append((row["winner"], row["loser"]))
        assert len(by_run) == threads * runs
        # Every pair exactly once: none lost, none duplicated.
        assert all(sorted(got) == sorted(expected) for got in by_run.values())
        assert len(mem.interactions("user0", ranked_only=True)) == 3 * runs


def test_two_threads_racing_on_one_run_give_one_success_and_one_feedback_error(tmp_path):
    with SQLiteMemory(tmp_path / "premium.db") as mem:
        for round_ in range(10):
            run_id = f"race-{round_}"
            mem.add_interaction(interaction(run_id))
            results: list[object] = []

            def rank(t: int) -> None:
                try:
                    stored = mem.record_ranking(
                        run_id, user_id="ada", ranking=[0, 1, 2], pairs=full_pairs([0, 1, 2])
                    )
                    results.append(stored)
                except FeedbackError as exc:
                    results.append(exc)

            assert _run_threads(rank, 2) == []
            successes = [r for r in results if r == 3]
            failures = [r for r in results if isinstance(r, FeedbackError)]
            assert len(successes) == 1 and len(failures) == 1, results
            assert "already ranked" in str(failures[0])
            assert len([p for p in mem.pairs("ada") if p.run_id == run_id]) == 3


def test_concurrent_state_writers_never_lose_an_update(tmp_path):
    with SQLiteMemory(tmp_path / "premium.db") as mem:
        mem.save_state("ada", "counter", b"0", expected_version=None, pairs_seen=0)
        stale = []

        def increment(t: int) -> None:
            for _ in range(10):
                while True:
                    state = mem.load_state("ada", "counter")
                    value = int(state.blob) + 1
                    try:
                        mem.save_state(
                            "ada",
                            "counter",
                            str(value).encode(),
                            expected_version=state.version,
                            pairs_seen=value,
                        )
                        break
                    except StaleStateError:
                        stale.append(t)  # someone else won: reload and retry

        assert _run_threads(increment, 8) == []
        final = mem.load_state("ada", "counter")
        assert int(final.blob) == 80 and final.version == 81 and final.pairs_seen == 80


def test_connections_of_finished_threads_are_closed(tmp_path):
    with SQLiteMemory(tmp_path / "premium.db") as mem:
        for _ in range(20):
            thread = threading.Thread(target=mem.users)
            thread.start()
            thread.join()
        mem.users()
        mem.add_interaction(interaction("r1"))  # opening a new thread's connection prunes old ones
        thread = threading.Thread(target=mem.users)
        thread.start()
        thread.join()
        assert len(mem._registry) <= 2


def test_opening_one_new_file_from_many_threads_migrates_once(tmp_path):
    path = tmp_path / "premium.db"
    opened: list[SQLiteMemory] = []
    assert _run_threads(lambda t: opened.append(SQLiteMemory(path)), 6) == []
    try:
        versions = [m["version"] for m in _migrations(opened[0].db)]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
    finally:
        for mem in opened:
            mem.close()


# --- answer vectors -----------------------------------------------------------------------------


def said(m: int, seed: int = 0) -> list[np.ndarray]:
    """Per answer, 1 to 3 sentence vectors."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((1 + i % 3, 8)).astype(np.float32) for i in range(m)]


def test_pairs_carry_the_vectors_of_their_own_two_answers_without_storing_text(memory):
    vectors = said(4)
    run = interaction("run-1")
    memory.add_interaction(Interaction(run.run_id, run.user_id, run.method, run.candidates,
                                       query_embedding=run.query_embedding, answer_vectors=vectors))
    memory.record_ranking("run-1", user_id="ada", ranking=[2, 0, 3, 1], pairs=full_pairs([2, 0, 3, 1]))
    memory.add_interaction(interaction("run-2"))  # a run that kept no vectors
    memory.record_ranking("run-2", user_id="ada", ranking=[0, 1, 2, 3], pairs=[(0, 1)])
    pairs = memory.pairs("ada")
    for pair, (w, l) in zip(pairs, full_pairs([2, 0, 3, 1])):
        np.testing.assert_allclose(pair.winner_vectors, vectors[w], rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(pair.loser_vectors, vectors[l], rtol=1e-3, atol=1e-3)
    assert pairs[-1].winner_vectors is None and pairs[-1].loser_vectors is None
    stored = memory.get_interaction("run-1")
    assert [v.shape for v in stored.answer_vectors] == [v.shape for v in vectors]
    assert stored.query is None and stored.answers is None  # vectors, never text
    exported = json.loads(json.dumps(memory.export_user("ada")))
    assert len(exported["interactions"][0]["answer_vectors"]) == 4
    assert exported["interactions"][1]["answer_vectors"] is None


def test_vectors_for_another_number_of_answers_are_refused_and_nothing_is_written(memory):
    run = interaction("run-1")
    bad = Interaction(run.run_id, run.user_id, run.method, run.candidates, answer_vectors=said(3))
    with pytest.raises(ValueError, match="3 answers' vectors for 4 candidates"):
        memory.add_interaction(bad)
    assert memory.get_interaction("run-1") is None


def test_a_database_from_before_answer_vectors_gains_the_column_and_keeps_its_pairs(tmp_path):
    path = tmp_path / "premium.db"
    with SQLiteMemory(path) as mem:
        _two_users(mem)
    conn = sqlite3.connect(path)  # back to a version-1 file, as the release before wrote it
    with conn:
        conn.execute("ALTER TABLE interactions DROP COLUMN answer_vectors")
        conn.execute("DELETE FROM schema_migrations WHERE version = 2")
    conn.close()
    with SQLiteMemory(path) as mem:
        assert [m["version"] for m in _migrations(mem.db)] == [1, 2]
        assert "answer_vectors" in mem.db["interactions"].columns_dict
        old = mem.pairs("ada")
        assert len(old) == 18 and all(p.winner_vectors is None for p in old)
        run = interaction("run-new")
        mem.add_interaction(Interaction(run.run_id, "ada", run.method, run.candidates, answer_vectors=said(4)))
        mem.record_ranking("run-new", user_id="ada", ranking=[1, 0, 2, 3], pairs=[(1, 0)])
        assert mem.pairs("ada")[-1].winner_vectors.shape == (2, 8)


def test_a_ranking_stores_what_its_answers_said_and_wrong_vectors_write_nothing(memory):
    memory.add_interaction(interaction("run-1"))
    with pytest.raises(ValueError, match="2 answers' vectors for 4 candidates"):
        memory.record_ranking("run-1", user_id="ada", ranking=[1, 0, 2, 3], pairs=[(1, 0)], answer_vectors=said(2))
    assert memory.get_interaction("run-1").ranking is None and memory.pairs("ada") == []
    vectors = said(4)
    memory.record_ranking("run-1", user_id="ada", ranking=[1, 0, 2, 3], pairs=[(1, 0)], answer_vectors=vectors)
    (pair,) = memory.pairs("ada")
    np.testing.assert_allclose(pair.winner_vectors, vectors[1], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(pair.loser_vectors, vectors[0], rtol=1e-3, atol=1e-3)
