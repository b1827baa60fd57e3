"""``premium perf``: the table has every row and writes what it printed (the figures themselves
belong to the benchmark, so the measurements are replaced by fixed fakes here)."""

from __future__ import annotations

import json

import pytest

from langchain_premium.cli import main
from langchain_premium.perf import cost, fanout, measure, overhead, report, scale, updates

MACHINE = {"cores": 2, "torch": "x", "torch_threads": 2, "load_average_1m": 0.1, "python": "3"}


def expected_rows() -> list[tuple[str, str]]:
    return [(r.measure, r.setting) for r in report.build_rows({})]


def table_rows(text: str) -> list[tuple[str, str]]:
    cells = [line.strip("|").split("|") for line in text.splitlines() if line.startswith("| ")]
    return [(c[0].strip(), c[1].strip()) for c in cells[2:]]  # without the header and the rule


def test_every_row_is_listed_even_when_nothing_was_measured():
    rows = report.build_rows({})
    assert all(r.status == report.NOT_RUN for r in rows if r.target != "—")
    text = report.markdown(rows, MACHINE)
    assert "2 cores" in text and "| Measure | Setting | Result | Target | Status |" in text
    assert table_rows(text) == expected_rows()
    measures = {m for m, _ in expected_rows()}
    assert {"Selection overhead per query", "Fan-out wall / one call", "Feedback → updated model",
            "State per user", "Users: database, serving memory", "Table 4 run: CPU, peak memory"} <= measures


def test_a_missed_target_says_miss():
    fanout_item = {"single_call_s": 0.5, "sync_s": 0.9, "async_s": 0.55, "sync_ratio": 1.8, "async_ratio": 1.1}
    rows = {(r.setting, r.status) for r in report.build_rows({"fanout": {3: fanout_item}})}
    assert ("m=3, sync, model sleeps 0.5 s", "MISS") in rows
    assert ("m=3, async, model sleeps 0.5 s", "PASS") in rows


def _ms(p50: float) -> dict:
    return {"p50_ms": p50, "p99_ms": 2 * p50, "n": 3}


@pytest.fixture
def fake_measurements(monkeypatch):
    """Every measurement returns fixed figures at once; the calls are recorded."""
    calls: list[tuple] = []

    def selection_overhead(n, *, repeats, seed=0):
        calls.append(("overhead", n, repeats))
        return {"n_tags": n, "train_rounds": 5, "library_embedding_s": 0.1, "one_call_ms": 0.2,
                "overhead": _ms(10.0 + n / 1000), "overhead_cpu": _ms(9.0), "embedding": _ms(8.0),
                "selection": _ms(1.0), "state_bytes": 4_000}

    def fan_out(m, *, repeats, seed=0):
        calls.append(("fanout", m))
        return {"m": m, "latency_s": 0.5, "single_call_s": 0.5, "sync_s": 0.52, "async_s": 0.51,
                "sync_ratio": 1.04, "async_ratio": 1.02}

    def feedback_latency(encoder, *, feedbacks, seed=0):
        calls.append(("feedback", encoder, feedbacks))
        return {"encoder": encoder, "feedbacks": feedbacks, "latency": _ms(30.0), "cpu": _ms(29.0),
                "feedback_ms": _ms(28.0), "latencies_ms": [30.0], "state_bytes": 9_000, "pairs": 3 * feedbacks}

    def build_users(path, n, *, seed=0):
        calls.append(("build", n))
        return {"n_users": n, "db_bytes": 13 * n, "build_s": 1.0, "state_bytes": 9_000,
                "interactions_per_user": 2}

    def in_child(fn, *args, **kwargs):
        calls.append(("child", fn.__name__, *args))
        if fn is scale.serve_users:
            return {"n_users": args[1], "rss_ready_mb": 600.0, "peak_rss_mb": 650.0, "serve_s": 2.0,
                    "users_with_state": args[1], "cache_size": 1024, "cached_states": 1024}
        assert fn is cost.paper_run
        return {"setup": args[0], "method": args[1], "interactions": 67, "updates": 67, "cpu_s": 4.0,
                "wall_s": 5.0, "peak_rss_mb": 620.0, "best_set_precision": 1.0}

    monkeypatch.setattr(overhead, "selection_overhead", selection_overhead)
    monkeypatch.setattr(fanout, "fan_out", fan_out)
    monkeypatch.setattr(updates, "feedback_latency", feedback_latency)
    monkeypatch.setattr(scale, "build_users", build_users)
    monkeypatch.setattr(measure, "in_child", in_child)
    return calls


def test_quick_run_prints_every_row_and_writes_json(tmp_path, capsys, fake_measurements):
    assert main(["perf", "--quick", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert table_rows(printed) == expected_rows()
    assert "| PASS |" in printed and "| MISS |" not in printed
    assert "not run (--quick)" in printed
    data = json.loads((tmp_path / "perf.json").read_text())
    assert data["quick"] is True and len(data["rows"]) == len(expected_rows())
    assert data["overhead"]["200"]["n_tags"] == 200  # JSON keys are strings
    assert (tmp_path / "perf.md").read_text().strip() == printed.strip()
    assert ("overhead", 20_000, 10) not in fake_measurements  # the largest library is a full-run figure
    assert ("child", "paper_run", "3/20", "premium-embed") in fake_measurements


def test_sections_choose_what_is_measured(tmp_path, capsys, fake_measurements):
    assert main(["perf", "--sections", "fanout,feedback", "--no-finetune", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert {c[0] for c in fake_measurements} == {"fanout", "feedback"}
    assert ("feedback", "finetune", 4) not in fake_measurements
    assert "not run (--sections)" in printed and "not run (--no-finetune)" in printed
    assert table_rows(printed) == expected_rows()


def test_unknown_sections_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="--sections"):
        main(["perf", "--sections", "overhead,speed", "--out", str(tmp_path)])
