"""Stored data from other versions: an older schema is migrated; a newer or corrupted state
raises a clear error and is never overwritten."""

from __future__ import annotations

import io
import json
import sqlite3

import numpy as np
import pytest
from reliability_support import build, cfg, file_dump, give_feedback

import langchain_premium.memory as memory_module
from langchain_premium import SQLiteMemory
from langchain_premium.errors import CorruptStateError, SchemaVersionError


def _rebuild_user_states(db) -> None:
    """A plausible version 2: rebuild ``user_states`` with a new column (a table copy, the way
    SQLite changes constraints), keeping every stored state."""
    db.execute(
        """CREATE TABLE user_states_v2 (
            user_id TEXT NOT NULL REFERENCES users(user_id),
            key TEXT NOT NULL,
            state BLOB NOT NULL,
            version INTEGER NOT NULL,
            pairs_seen INTEGER NOT NULL,
            updated_at TEXT NOT NULL,
            note TEXT,
            PRIMARY KEY (user_id, key)
        )"""
    )
    db.execute(
        "INSERT INTO user_states_v2 (user_id, key, state, version, pairs_seen, updated_at)"
        " SELECT user_id, key, state, version, pairs_seen, updated_at FROM user_states"
    )
    db.execute("DROP TABLE user_states")
    db.execute("ALTER TABLE user_states_v2 RENAME TO user_states")


def test_a_database_of_an_older_schema_is_migrated_with_its_states(tmp_path, monkeypatch):
    path = tmp_path / "premium.db"
    old_migrations = list(memory_module.MIGRATIONS)
    with SQLiteMemory(path) as memory:  # written by the "old" release
        premium = build(memory, seed=0)
        give_feedback(premium, "alice", "Jazz", 3)
        give_feedback(premium, "bob", "Baking", 2)
        profiles = {u: premium.user_profile(u).tags for u in ("alice", "bob")}
        states = {u: memory.load_state(u, premium.key) for u in ("alice", "bob")}

    monkeypatch.setattr(memory_module, "MIGRATIONS", [*old_migrations, _rebuild_user_states])
    with SQLiteMemory(path) as memory:  # the "new" release opens it
        versions = [r[0] for r in memory.db.execute("SELECT version FROM schema_migrations")]
        assert versions == list(range(1, len(old_migrations) + 2))
        assert "note" in memory.db["user_states"].columns_dict
        premium = build(memory, seed=0)
        for user in ("alice", "bob"):
            assert memory.load_state(user, premium.key) == states[user]
            assert premium.user_profile(user).tags == pytest.approx(profiles[user])
        assert memory.count_pairs("alice") == 9 and memory.count_pairs("bob") == 6
        give_feedback(premium, "alice", "Jazz", 1, start=3)  # learning goes on from the old state
        after = memory.load_state("alice", premium.key)
        assert (after.version, after.pairs_seen) == (states["alice"].version + 1, 12)


def test_a_file_from_before_any_migration_is_brought_up_to_date(tmp_path):
    # "Version 0": an existing SQLite file with someone else's table and no schema_migrations.
    path = tmp_path / "premium.db"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE app_settings (name TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO app_settings VALUES ('theme', 'dark')")
    conn.close()
    with SQLiteMemory(path) as memory:
        give_feedback(build(memory), "alice", "Jazz", 1)
        assert memory.db.execute("SELECT value FROM app_settings").fetchall() == [("dark",)]
        assert memory.count_pairs("alice") == 3


# --- states that cannot be read ---------------------------------------------------------------


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _real_parts() -> dict:
    """The arrays of a state the current code writes (so new fields are covered too)."""
    memory = SQLiteMemory()
    premium = build(memory)
    give_feedback(premium, "someone", "Jazz", 1)
    blob = memory.load_state("someone", premium.key).blob
    memory.close()
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _with(**changes) -> bytes:
    parts = _real_parts()
    meta = json.loads(str(parts["meta"]))
    meta.update(changes.pop("meta", {}))
    return _npz(**{**parts, "meta": np.array(json.dumps(meta)), **changes})


BAD_STATES = {
    "random bytes": (lambda: b"\x00\x01 definitely not a state " * 10, CorruptStateError, "cannot be read"),
    "truncated": (lambda: _with()[:200], CorruptStateError, "cannot be read"),
    "missing array": (lambda: _npz(meta=_real_parts()["meta"]), CorruptStateError, "cannot be read"),
    "mismatched lengths": (lambda: _with(bias=np.zeros(1, np.float32)), CorruptStateError, "bias"),
    "bad metadata": (lambda: _with(meta={"log_scale": "big"}), CorruptStateError, "bad metadata"),
    "newer format": (lambda: _with(meta={"format": 99}), SchemaVersionError, "format 99 is not supported"),
}


def test_a_state_saved_by_the_first_release_still_loads(memory):
    # Release 0.1.0 saved format 1 with exactly these arrays; later fields must be optional.
    parts = {key: value for key, value in _real_parts().items()
             if key in ("meta", "tags", "bias", "precision", "user_vector")}
    premium = build(memory)
    state = premium.selector.loads(_npz(**parts), premium.tag_library)
    assert state.tags == [str(t) for t in parts["tags"]]
    np.testing.assert_array_equal(state.bias, parts["bias"])
    memory.save_state("alice", premium.key, _npz(**parts), expected_version=None, pairs_seen=0)
    give_feedback(premium, "alice", "Jazz", 1)  # and learning goes on from it
    assert memory.load_state("alice", premium.key).version == 2


@pytest.mark.parametrize("kind", sorted(BAD_STATES))
def test_an_unreadable_state_raises_a_clear_error_and_is_never_overwritten(tmp_path, kind):
    make_blob, error, message = BAD_STATES[kind]
    path = tmp_path / "premium.db"
    memory = SQLiteMemory(path)
    premium = build(memory, seed=0)
    give_feedback(premium, "alice", "Jazz", 2)
    give_feedback(premium, "bob", "Baking", 2)
    pending = premium.invoke("Plan my weekend", config=cfg("alice"))  # shown before the damage
    memory.db.execute("UPDATE user_states SET state = ? WHERE user_id = 'alice'", [make_blob()])
    damaged = memory.load_state("alice", premium.key)

    fresh = build(SQLiteMemory(path), seed=0)  # another process: no decoded state in memory
    for runnable in (premium, fresh):
        runnable._states.pop("alice")  # as after a restart: nothing decoded in memory
        with pytest.raises(error, match=message):
            runnable.invoke("Plan my weekend", config=cfg("alice"))
        with pytest.raises(error, match=message):
            runnable.user_profile("alice")
        assert runnable.train("alice") is False  # nothing new to learn: the state is not read
    # A ranking of a run shown before the damage is kept, but the update refuses to overwrite.
    with pytest.raises(error, match=message):
        pending.feedback([0, 1, 2])
    assert memory.count_pairs("alice") == 9
    before = file_dump(path)
    with pytest.raises(error, match=message):
        fresh.train("alice")
    assert file_dump(path) == before
    assert memory.load_state("alice", premium.key) == damaged  # same bytes, same version

    # Everyone else is served as usual, and the user can still see and erase what is held.
    give_feedback(fresh, "bob", "Baking", 1, start=2)
    exported = fresh.export_user("alice")
    assert len(exported["interactions"]) == 3 and len(exported["pairs"]) == 9
    assert exported["profile"] is None and message.split()[0] in exported["profile_error"]
    json.dumps(exported)
    fresh.forget_user("alice")
    give_feedback(fresh, "alice", "Jazz", 1)  # a fresh start after forgetting
    assert memory.load_state("alice", premium.key).pairs_seen == 3
    memory.close()
    fresh.memory.close()
