"""Privacy: no text stored by default, forget_user and export_user for every method, and one
user's feedback never reaching another user's model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils
from langchain_core.messages import AIMessage, HumanMessage
from reliability_support import QUERIES, build, cfg, give_feedback, library, ranking_for

from langchain_premium import SQLiteMemory
from langchain_premium.hash_embeddings import HashEmbeddings
from langchain_premium.methods import METHODS, build_method
from langchain_premium.offline import OfflineChatModel

SECRET = "zqx7secret"  # a word that appears nowhere but in the users' own text
HISTORY_SECRET = "zqx7history"
ALICE = "alice-7f3e"  # a user id that cannot occur by chance inside other values


def cells_containing(db: sqlite_utils.Database, needle: str) -> list[tuple[str, str]]:
    """(table, column) of every cell, of every table and any type, whose value holds ``needle``."""
    hits = []
    for table in db.table_names():
        for column in db[table].columns_dict:
            for (value,) in db.execute(f"SELECT [{column}] FROM [{table}]"):
                text = value if isinstance(value, (str, bytes)) else str(value)
                if (needle.encode() if isinstance(text, bytes) else needle) in text:
                    hits.append((table, column))
    return hits


def files_containing(path: Path, needle: str) -> list[str]:
    """Which of the database's files (main, -wal, -shm) hold ``needle`` anywhere in their bytes."""
    return [p.name for p in path.parent.glob(path.name + "*") if needle.encode() in p.read_bytes()]


def use(premium, user: str, liked: str, rounds: int, secret: str = SECRET) -> list[str]:
    """Rounds of chat (with history) and ranking; the answers the user saw."""
    answers = []
    for i in range(rounds):
        history = [HumanMessage(f"earlier: {HISTORY_SECRET}"), AIMessage("noted")]
        messages = [*history, HumanMessage(f"{QUERIES[i % len(QUERIES)]} {secret} {i}")]
        result = premium.invoke(messages, config=cfg(user))
        answers += result.texts
        result.feedback(ranking_for(result, liked))
    return answers


@pytest.mark.parametrize("store_text", [False, True])
def test_by_default_no_query_or_answer_text_reaches_the_database(tmp_path, store_text):
    path = tmp_path / "premium.db"
    memory = SQLiteMemory(path, store_text=store_text)
    premium = build(memory)
    answers = use(premium, ALICE, "Jazz", 3)
    assert SECRET in answers[0]  # the answers repeat the query: the scan below can find them
    premium.train(ALICE)
    db = memory.db
    needles = [SECRET, HISTORY_SECRET, *answers]
    hits = {needle: cells_containing(db, needle) for needle in needles}
    memory.close()  # checkpoints the WAL into the file as well
    if store_text:  # the same scan finds the text when the memory was asked to keep it
        assert hits[SECRET] and all(hits[a] for a in answers)
        assert files_containing(path, SECRET)
    else:
        assert all(found == [] for found in hits.values()), hits
        assert files_containing(path, SECRET) == [] and files_containing(path, HISTORY_SECRET) == []
        assert all(files_containing(path, a[:60]) == [] for a in answers)


def make_method(name: str, memory: SQLiteMemory):
    common = dict(tag_library=library(), memory=memory, embeddings=HashEmbeddings(), k=2, m=3, seed=0)
    try:  # methods with a PREMIUM-Embed learner get few steps: the same code, in less time
        return build_method(name, OfflineChatModel(), selector_options={"steps": 6}, **common)
    except TypeError:  # this method's selector takes no options
        return build_method(name, OfflineChatModel(), **common)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_no_method_stores_text_unless_asked(tmp_path, name):
    path = tmp_path / "premium.db"
    memory = SQLiteMemory(path)
    try:
        premium = make_method(name, memory)
    except ValueError as exc:
        if "store_text=True" not in str(exc):
            raise
        pytest.skip(f"{name} needs SQLiteMemory(store_text=True) and says so")
    use(premium, ALICE, "Jazz", 2)
    assert cells_containing(memory.db, SECRET) == [] and cells_containing(memory.db, HISTORY_SECRET) == []
    memory.close()
    assert files_containing(path, SECRET) == []


def rows_without_user(db: sqlite_utils.Database) -> dict[str, list[str]]:
    """Every row of every table that has no ``user_id`` column (e.g. the applied migrations)."""
    return {t: sorted(map(repr, db.execute(f"SELECT * FROM [{t}]"))) for t in db.table_names()
            if "user_id" not in db[t].columns_dict}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_forget_user_removes_all_of_that_user_and_nothing_else(tmp_path, name):
    memory = SQLiteMemory(tmp_path / "premium.db", store_text=True)  # hardest case: text kept
    premium = make_method(name, memory)
    use(premium, "bob", "Baking", 2, secret="bobsecret")
    use(premium, ALICE, "Jazz", 2)
    use(premium, "carol", "Chess", 1, secret="carolsecret")
    for user in ("bob", ALICE, "carol"):
        premium.train(user)
    assert cells_containing(memory.db, ALICE) and cells_containing(memory.db, SECRET)
    others = {u: json.dumps(premium.export_user(u), sort_keys=True) for u in ("bob", "carol")}
    shared = rows_without_user(memory.db)

    premium.forget_user(ALICE)

    # No row of any table names her or holds her text ...
    assert cells_containing(memory.db, ALICE) == [] and cells_containing(memory.db, SECRET) == []
    exported = premium.export_user(ALICE)
    assert (exported["interactions"], exported["pairs"], exported["states"]) == ([], [], {})
    # ... and nobody else lost anything.
    for user, before in others.items():
        assert json.dumps(premium.export_user(user), sort_keys=True) == before
    assert rows_without_user(memory.db) == shared
    memory.close()


def test_a_forgotten_state_never_comes_back_from_another_runnables_cache(tmp_path):
    # Two runnables on one file, as two server processes: the second has alice's state decoded
    # in memory when the first forgets her; she then starts again and reaches the same version.
    path = tmp_path / "premium.db"
    first, second = build(SQLiteMemory(path)), build(SQLiteMemory(path))
    give_feedback(first, ALICE, "Jazz", 3)
    old_profile = second.user_profile(ALICE).tags  # decoded and kept by the second runnable
    first.forget_user(ALICE)
    give_feedback(first, ALICE, "Chess", 3)  # versions 1..3 again, learned from new pairs only
    assert first.memory.load_state(ALICE, first.key).version == 3
    assert second.user_profile(ALICE).tags == first.user_profile(ALICE).tags != old_profile
    first.memory.close()
    second.memory.close()


def test_export_user_is_json_of_everything_held_about_that_user(memory):
    premium = build(memory)
    use(premium, ALICE, "Jazz", 2)
    use(premium, "bob", "Baking", 1, secret="bobsecret")
    pending = premium.invoke("Plan my weekend", config=cfg(ALICE))
    exported = json.loads(json.dumps(premium.export_user(ALICE)))
    runs = [r for (r,) in memory.db.execute(
        "SELECT run_id FROM interactions WHERE user_id = ? ORDER BY rowid", [ALICE])]
    assert [i["run_id"] for i in exported["interactions"]] == runs and pending.run_id in runs
    assert len(exported["pairs"]) == memory.count_pairs(ALICE) == 6
    assert exported["states"][premium.key]["pairs_seen"] == 6
    assert exported["profile"]["user_id"] == ALICE and set(exported["profile"]["tags"]) == set(
        premium.tag_library.tags)
    assert all(i["query"] is None and i["answers"] is None for i in exported["interactions"])
    assert "bob" not in json.dumps(exported)


def test_one_users_feedback_never_changes_another_users_selections(tmp_path):
    # Opposite tastes in one memory, one runnable, one process. Bob never explores, so his
    # candidates depend on his own model only; alice explores and draws from the shared generator.
    shared = build(SQLiteMemory(tmp_path / "shared.db"), seed=0)
    alone = build(SQLiteMemory(tmp_path / "alone.db"), seed=0)

    def bob_round(premium, i: int) -> None:
        result = premium.invoke(QUERIES[i % len(QUERIES)], config=cfg("bob", explore=False))
        order = ranking_for(result, "Baking")
        result.feedback(sorted(order, key=lambda j: "Jazz" in result.candidates[j].tags))

    def alice_round(i: int) -> None:
        result = shared.invoke(QUERIES[i % len(QUERIES)], config=cfg(ALICE))
        order = ranking_for(result, "Jazz")
        result.feedback(sorted(order, key=lambda j: "Baking" in result.candidates[j].tags))

    for i in range(6):
        alice_round(i)
        bob_round(shared, i)
        bob_round(alone, i)
        selections = [tuple(s.tags) for q in QUERIES for s in shared.select_tag_sets(q, user_id="bob")]
        assert selections == [
            tuple(s.tags) for q in QUERIES for s in alone.select_tag_sets(q, user_id="bob")
        ]
    # Bob's model is the one he would have alone (its random exploration draws aside).
    bob_state = shared.memory.load_state("bob", shared.key)
    with_alice, without = (r.selector.loads(r.memory.load_state("bob", r.key).blob, r.tag_library)
                           for r in (shared, alone))
    assert (with_alice.tags, with_alice.log_scale) == (without.tags, without.log_scale)
    for name in ("bias", "precision", "user_vector"):
        np.testing.assert_array_equal(getattr(with_alice, name), getattr(without, name))
    for i in range(6, 12):  # alice alone keeps ranking: bob's model does not move
        alice_round(i)
        assert shared.memory.load_state("bob", shared.key) == bob_state
    alice, bob = shared.user_profile(ALICE), shared.user_profile("bob")
    # Each profile follows its own user's rankings. Alice may meet Jazz only beside Baking (a set
    # she ranks last), so it need not top her profile, but Bob's favourite, which she always
    # ranks last, stays out of her top two.
    assert bob.top(1)[0][0] == "Baking" and bob.tags["Jazz"] < bob.tags["Baking"]
    assert "Baking" not in [tag for tag, _ in alice.top(2)]
    shared.memory.close()
    alone.memory.close()
