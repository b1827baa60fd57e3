"""``premium stress``: its report, and that it fails when a pair or an update is lost."""

from __future__ import annotations

import re

import pytest

from langchain_premium.cli import main, stress
from langchain_premium.memory import SQLiteMemory

SMALL = ["--processes", "0", "--threads", "3", "--feedbacks", "3", "--users", "2", "--steps", "3"]


def test_stress_reports_throughput_latency_errors_and_pairs(tmp_path, capsys):
    path = tmp_path / "stress.db"
    assert main(["stress", *SMALL, "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"feedbacks: 9 of 9 in [\d.]+ s = [\d.]+ feedbacks/s", out)
    assert re.search(r"feedback latency .*: p50 [\d.]+ ms, p99 [\d.]+ ms", out)
    assert "errors: 0" in out and "pairs: expected 27, stored 27" in out
    assert out.rstrip().endswith("OK: nothing lost, nothing errored")
    with SQLiteMemory(path) as memory:
        assert sum(memory.count_pairs(u) for u in memory.users()) == 27


def test_stress_refuses_an_existing_database(tmp_path):
    path = tmp_path / "stress.db"
    path.write_bytes(b"")
    with pytest.raises(SystemExit, match="exists"):
        main(["stress", *SMALL, "--db", str(path)])


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A small finished load whose database the tests below damage, each on its own copy."""
    path = tmp_path_factory.mktemp("stress") / "stress.db"
    spec = stress.LoadSpec(path=str(path), processes=0, threads=2, feedbacks=3, users=2, steps=3)
    SQLiteMemory(spec.path).close()
    report = stress.run_load(spec)
    assert report.errors == [] and stress.check_database(spec, report) == []
    return spec, report


def damaged(loaded, tmp_path, sql: str) -> list[str]:
    spec, report = loaded
    copy = tmp_path / f"copy{len(list(tmp_path.iterdir()))}.db"
    with SQLiteMemory(spec.path) as source:
        source.db.execute("VACUUM INTO ?", [str(copy)])
    with SQLiteMemory(copy) as memory:
        memory.db.execute(sql)
    return stress.check_database(stress.LoadSpec(**{**spec.__dict__, "path": str(copy)}), report)


def test_a_lost_pair_is_reported(loaded, tmp_path):
    problems = damaged(
        loaded, tmp_path, "DELETE FROM preference_pairs WHERE id = (SELECT max(id) FROM preference_pairs)"
    )
    assert any("pairs acknowledged" in p for p in problems)
    assert any("do not have exactly 3 pairs" in p for p in problems)


def test_a_lost_or_doubled_update_is_reported(loaded, tmp_path):
    problems = damaged(loaded, tmp_path, "UPDATE user_states SET version = version + 1")
    assert any("an update was lost or applied twice" in p for p in problems)
    problems = damaged(loaded, tmp_path, "UPDATE user_states SET pairs_seen = pairs_seen - 3")
    assert any("the stored model has seen" in p for p in problems)


def test_stress_exits_non_zero_when_anything_is_lost_or_errored(tmp_path, monkeypatch, capsys):
    real_run_load = stress.run_load

    def one_error(spec, memory_class=None):
        report = real_run_load(spec, memory_class)
        report.errors.append("user-000: OperationalError: database is locked")
        return report

    monkeypatch.setattr(stress, "run_load", one_error)
    assert main(["stress", *SMALL]) == 1
    out = capsys.readouterr().out
    assert "errors: 1" in out and "database is locked" in out and out.rstrip().endswith("FAILED")
