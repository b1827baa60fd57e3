"""``premium bench`` on a tiny setup: the Markdown table, results.json and the PNG plots."""

from __future__ import annotations

import json

import pytest

from langchain_premium.cli import main

TINY = ["--jobs", "1", "--setup", "3/10", "--methods", "vanilla,premium-embed", "--interactions", "2",
        "--seeds", "2", "--eval-queries", "2"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory, embeddings):
    """One tiny quick-preset run shared by the tests below (the encoder is the session's)."""
    out = tmp_path_factory.mktemp("bench")
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(["bench", "--quick", *TINY, "--out", str(out)])
    return code, buffer.getvalue(), out


def test_bench_prints_a_markdown_table_with_the_random_line(bench):
    code, printed, _ = bench
    assert code == 0
    assert "| Method | Accuracy | Acc@1 | Win rate |" in printed
    rows = {line.split("|")[1].strip(): line for line in printed.splitlines() if line.startswith("| ")}
    assert {"vanilla", "premium-embed", "random (k/n = 3/10)"} <= set(rows)
    assert "30.0" in rows["random (k/n = 3/10)"]  # k/n = 3/10
    assert "±" in rows["vanilla"] and "50.0 ± 0.0" in rows["premium-embed"]  # the reference vs itself
    assert "agrees with the noiseless best pick in" in printed


def test_bench_writes_results_json(bench):
    _, _, out = bench
    data = json.loads((out / "results.json").read_text())
    assert data["preset"] == "quick" and 0.0 < data["annotator_agreement"] <= 1.0
    column = data["columns"][0]
    assert column["setup"] == "3/10" and column["random_accuracy"] == pytest.approx(0.3)
    rows = {row["method"]: row for row in column["rows"]}
    assert set(rows) == {"vanilla", "premium-embed"}
    vanilla = rows["vanilla"]
    assert vanilla["metrics"]["accuracy"]["n"] == 2 and len(vanilla["runs"]) == 2
    assert vanilla["curves"]["accuracy"]["steps"] == [0, 2]
    assert vanilla["cpu_seconds_per_run"] > 0 and vanilla["errors"] == []


def test_bench_writes_png_plots(bench):
    _, _, out = bench
    plot = out / "curves-3-10.png"
    assert plot.exists() and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_without_plots_and_with_user_tag_plots(tmp_path, capsys):
    figure3 = ["bench", "--preset", "figure3", "--jobs", "1", "--setup", "3/10", "--interactions", "2",
               "--seeds", "1", "--eval-queries", "1"]
    assert main([*figure3, "--methods", "vanilla", "--no-plots", "--out", str(tmp_path / "a")]) == 0
    assert "Right after (new tags)" in capsys.readouterr().out
    assert not list((tmp_path / "a").glob("*.png"))
    assert main([*figure3, "--methods", "premium-embed", "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / "user-tags-3-10.png").exists()


@pytest.mark.parametrize(
    "argv, message",
    [(["--annotator", "llm"], "--annotator-model"), (["--methods", "nope"], "unknown methods"),
     (["--quick", "--preset", "table2"], "--quick")],
)
def test_bench_refuses_bad_options_clearly(argv, message, tmp_path):
    with pytest.raises(SystemExit, match=message):
        main(["bench", *argv, "--out", str(tmp_path)])
