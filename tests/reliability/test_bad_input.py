"""Bad input of every kind: a clear error, and nothing written to the database."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from reliability_support import TAGS, build, cfg, file_dump, give_feedback, library

import langchain_premium.memory as memory_module
from langchain_premium import FeedbackError, PremiumError, SQLiteMemory, TagLibrary
from langchain_premium.runnable import MAX_QUERY_CHARS


def make_world(path: Path):
    """A file database where alice has a ranked and a pending run, and bob a pending run."""
    memory = SQLiteMemory(path)
    premium = build(memory, seed=0)
    give_feedback(premium, "alice", "Jazz", 1)
    runs = {
        "ranked": memory.interactions("alice")[0].run_id,
        "pending": premium.invoke("Plan my weekend", config=cfg("alice")).run_id,
        "bob": premium.invoke("Plan my weekend", config=cfg("bob")).run_id,
    }
    return premium, path, runs


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One world for every refusal below: each of them must leave it exactly as it was."""
    premium, path, runs = make_world(tmp_path_factory.mktemp("world") / "premium.db")
    yield premium, path, runs
    premium.memory.close()


@contextmanager
def nothing_written(path: Path):
    before = file_dump(path)
    yield
    assert file_dump(path) == before


# --- queries and users ----------------------------------------------------------------------------

BAD_QUERIES = [
    ("", ValueError, "the query is empty"),
    ("  \n\t ", ValueError, "the query is empty"),
    ({"query": ""}, ValueError, "the query is empty"),
    (None, TypeError, "must be a string, got NoneType"),
    (42, TypeError, "must be a string, got int"),
    (b"How do I bake?", TypeError, "must be a string, got bytes"),
    (["not", "messages"], TypeError, "must be a string, got list"),
    ({"query": None}, TypeError, "must be a string"),
    ({"question": "hi"}, ValueError, "needs a 'query' key"),
    ([], ValueError, "no human message"),
    ([AIMessage("only the assistant spoke")], ValueError, "no human message"),
    ([HumanMessage(content=[{"type": "image_url", "image_url": {"url": "x"}}])], TypeError,
     "must be a string, got list"),
    ("x" * (MAX_QUERY_CHARS + 1), ValueError, f"the limit is {MAX_QUERY_CHARS}"),
]


@pytest.mark.parametrize("query, error, message", BAD_QUERIES,
                         ids=[f"query{i}" for i in range(len(BAD_QUERIES))])
def test_bad_queries_are_refused_and_nothing_is_written(world, query, error, message):
    premium, path, _ = world
    with nothing_written(path), pytest.raises(error, match=message):
        premium.invoke(query, config=cfg("alice"))


@pytest.mark.parametrize("config", [
    None, {}, {"configurable": {}}, cfg(""), cfg("   "), cfg(42), cfg(None),  # type: ignore[arg-type]
])
def test_a_missing_user_is_refused_and_nothing_is_written(world, config):
    premium, path, _ = world
    with nothing_written(path), pytest.raises(ValueError, match="needs a user"):
        premium.invoke("Plan my weekend", config=config)


def test_a_non_boolean_explore_is_refused(world):
    premium, path, _ = world
    with nothing_written(path), pytest.raises(TypeError, match="'explore' must be True or False"):
        premium.invoke("Plan my weekend", config=cfg("alice", explore="no"))


def test_a_query_at_the_length_limit_works_with_the_real_encoder(embeddings, memory):
    premium = build(memory, embeddings=embeddings)  # the packaged MiniLM: reads the start
    query = ("How do I make handmade desserts for a party? " * 3000)[:MAX_QUERY_CHARS]
    result = premium.invoke(query, config=cfg("alice"))
    assert len(result.candidates) == 3 and result.feedback([0, 1, 2]).pairs == 3
    with pytest.raises(ValueError, match=f"has {MAX_QUERY_CHARS + 1} characters"):
        premium.invoke(query + "?", config=cfg("alice"))


# --- feedback -------------------------------------------------------------------------------------

BAD_FEEDBACK = [
    ("pending", [0, 1], {}, "must order all 3 candidates"),
    ("pending", [0, 1, 2, 0], {}, "must order all 3 candidates"),
    ("pending", [0, 0, 1], {}, "must not repeat candidates; repeated: \\[0\\]"),
    ("pending", [0, 1, 3], {}, "ranking index 3 is out of range for 3 candidates"),
    ("pending", [-1, 0, 1], {}, "ranking index -1 is out of range"),
    ("pending", [0.0, 1, 2], {}, "must be an integer candidate index, got 0.0"),
    ("pending", ["0", 1, 2], {}, "must be an integer candidate index, got '0'"),
    ("pending", [True, 0, 1], {}, "must be an integer candidate index, got True"),
    ("pending", "012", {}, "must be a list of candidate indices"),
    ("pending", {0, 1, 2}, {}, "must be a list of candidate indices"),
    ("pending", np.array([0, 1, 2]), {}, "must be a list of candidate indices"),
    ("pending", None, {}, "give exactly one of a ranking"),
    ("pending", [0, 1, 2], {"best": 0}, "give exactly one of a ranking"),
    ("pending", None, {"best": 3}, "best 3 is out of range"),
    ("pending", None, {"best": 1.5}, "best must be an integer"),
    ("unknown", [0, 1, 2], {}, "unknown run id 'no-such-run'"),
    ("none", [0, 1, 2], {}, "unknown run id None"),
    ("ranked", [2, 1, 0], {}, "was already ranked"),
    ("bob", [0, 1, 2], {"user_id": "alice"}, "belongs to another user"),
]


@pytest.mark.parametrize("run, ranking, kwargs, message", BAD_FEEDBACK,
                         ids=[f"feedback{i}" for i in range(len(BAD_FEEDBACK))])
def test_bad_feedback_is_refused_and_nothing_is_written(world, run, ranking, kwargs, message):
    premium, path, runs = world
    run_id = {"unknown": "no-such-run", "none": None}[run] if run in ("unknown", "none") else runs[run]
    with nothing_written(path), pytest.raises(FeedbackError, match=message):
        premium.record_feedback(run_id, ranking, **kwargs)


def test_after_refused_feedback_the_run_still_takes_one_valid_ranking(tmp_path):
    premium, path, runs = make_world(tmp_path / "premium.db")
    for ranking in ([0, 1], [0, 0, 1], [0, 1, 3]):
        with pytest.raises(FeedbackError):
            premium.record_feedback(runs["pending"], ranking)
    assert premium.record_feedback(runs["pending"], [np.int64(2), 1, 0]).pairs == 3
    with pytest.raises(FeedbackError, match="already ranked"):
        premium.record_feedback(runs["pending"], [0, 1, 2])
    premium.memory.close()


# --- sizes and libraries --------------------------------------------------------------------------

BAD_SIZES = [
    ({"k": 0}, "k and m must be at least 1"),
    ({"m": 0}, "k and m must be at least 1"),
    ({"k": -1}, "k and m must be at least 1"),
    ({"k": 11}, "k=11 is larger than the tag library \\(10 tags\\)"),
    ({"k": 10, "m": 2}, "fewer than m=2 distinct sets of 10"),
    ({"n_explore": 4}, "n_explore \\(m_r\\) must be between 0 and m=3, got 4"),
    ({"n_explore": -1}, "n_explore \\(m_r\\) must be between 0 and m=3"),
    ({"update_every": -1}, "update_every must be >= 0"),
    ({"on_llm_error": "ignore"}, "on_llm_error"),
]


@pytest.mark.parametrize("options, message", BAD_SIZES, ids=[str(o) for o, _ in BAD_SIZES])
def test_bad_sizes_are_refused_when_the_runnable_is_built(memory, options, message):
    with pytest.raises(ValueError, match=message):
        build(memory, **options)
    assert memory.users() == []


@pytest.mark.parametrize("tags, message", [
    ([], "needs at least one tag"),
    (["Jazz", "Jazz"], "duplicate tag 'Jazz'"),
    (["Jazz", " Jazz "], "duplicate tag 'Jazz'"),
    (["Jazz", ""], "must not be empty"),
    (["Jazz", 3], "tags must be strings, got 3"),
])
def test_bad_libraries_are_refused(tags, message):
    with pytest.raises(ValueError, match=message):
        TagLibrary(tags)


def test_a_bad_change_to_a_library_changes_nothing():
    lib = TagLibrary(["Jazz", "Chess"])
    with pytest.raises(ValueError, match="duplicate tag 'Jazz'"):
        lib.add(["Sailing", "Jazz"])
    with pytest.raises(ValueError, match="unknown tag 'Opera'"):
        lib.remove("Opera")
    lib.remove("Chess")
    with pytest.raises(ValueError, match="needs at least one ordinary tag"):
        lib.remove("Jazz")
    assert lib.tags == ("Jazz",) and lib.version == 1


def test_a_tag_removed_after_users_learned_it_keeps_selection_and_profiles_working(memory):
    lib = library()
    premium = build(memory, tag_library=lib, seed=0)
    give_feedback(premium, "alice", "Jazz", 6)
    assert premium.user_profile("alice").top(1)[0][0] == "Jazz"
    pending = premium.invoke("Plan my weekend", config=cfg("alice"))
    shown_jazz = any("Jazz" in c.tags for c in pending.candidates)

    lib.remove("Jazz")
    profile = premium.user_profile("alice")
    assert "Jazz" not in profile.tags and set(profile.tags) == set(TAGS) - {"Jazz"}
    assert sum(profile.tags.values()) == pytest.approx(1.0)
    for i in range(4):
        result = premium.invoke("Plan my weekend", config=cfg("alice"))
        assert all("Jazz" not in c.tags for c in result.candidates)
        result.feedback([2, 1, 0])
    # A run shown before the removal can still be ranked and learned from.
    assert pending.feedback([0, 1, 2]).trained and shown_jazz in (True, False)
    assert premium.export_user("alice")["profile"]["tags"].keys() == profile.tags.keys()

    lib.add("Jazz")  # what was learned about the tag is still there when it comes back
    assert premium.user_profile("alice").top(1)[0][0] == "Jazz"


# --- where the database lives ---------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")
def test_a_database_path_nobody_can_write_is_refused():
    with pytest.raises(PremiumError, match="cannot open memory database /proc/premium.db"):
        SQLiteMemory("/proc/premium.db")


def test_a_read_only_database_file_is_refused_and_left_alone(tmp_path, monkeypatch):
    path = tmp_path / "premium.db"
    with SQLiteMemory(path) as memory:
        give_feedback(build(memory), "alice", "Jazz", 1)
    before = path.read_bytes()
    path.chmod(0o400)
    if os.geteuid() == 0:  # root ignores permission bits: answer as an ordinary user would
        real_access = os.access
        monkeypatch.setattr(memory_module.os, "access",
                            lambda p, mode: False if Path(p) == path and mode & os.W_OK
                            else real_access(p, mode))
    try:
        with pytest.raises(PremiumError, match="premium.db: the file is not writable"):
            SQLiteMemory(path)
        assert path.read_bytes() == before
    finally:
        path.chmod(0o600)
