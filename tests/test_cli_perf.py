"""``premium perf``: the table has every row (the figures themselves belong to the benchmark)."""

from __future__ import annotations

import json

import pytest

from langchain_premium.cli import main
from langchain_premium.perf import report

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
    fanout = {"single_call_s": 0.5, "sync_s": 0.9, "async_s": 0.55, "sync_ratio": 1.8, "async_ratio": 1.1}
    rows = {(r.setting, r.status) for r in report.build_rows({"fanout": {3: fanout}})}
    assert ("m=3, sync, model sleeps 0.5 s", "MISS") in rows
    assert ("m=3, async, model sleeps 0.5 s", "PASS") in rows


@pytest.mark.slow
def test_quick_run_prints_every_row_and_writes_json(tmp_path, capsys):
    assert main(["perf", "--quick", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert table_rows(printed) == expected_rows()
    assert "| PASS |" in printed or "| MISS |" in printed
    data = json.loads((tmp_path / "perf.json").read_text())
    assert data["quick"] is True and len(data["rows"]) == len(expected_rows())
    assert (tmp_path / "perf.md").read_text().strip() == printed.strip()
