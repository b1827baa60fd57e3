"""The ``premium perf`` table: PASS / MISS against the issue's targets, from small made-up figures."""

from __future__ import annotations

import pytest

from langchain_premium.perf import report


def ms(p50: float, p99: float | None = None, n: int = 10) -> dict:
    return {"p50_ms": p50, "p99_ms": p50 if p99 is None else p99, "n": n}


def overhead(n_tags: int, p50: float) -> dict:
    return {"n_tags": n_tags, "train_rounds": 5, "library_embedding_s": 0.5, "one_call_ms": 0.2,
            "overhead": ms(p50), "overhead_cpu": ms(p50 - 1), "embedding": ms(p50 - 5),
            "selection": ms(1.5), "state_bytes": 8_000}


def statuses(results: dict, measure: str) -> dict[str, str]:
    return {r.setting: r.status for r in report.build_rows(results) if r.measure == measure}


@pytest.mark.parametrize(("p50", "status"), [(19.9, "PASS"), (20.0, "MISS"), (35.0, "MISS")])
def test_the_selection_target_at_200_tags_is_strictly_under_20_ms(p50, status):
    rows = statuses({"overhead": {200: overhead(200, p50)}}, "Selection overhead per query")
    assert rows["200 tags"] == status
    assert rows["20 tags"] == report.NOT_RUN  # not measured: says so, never PASS


def test_growth_is_checked_against_the_previous_library_size():
    results = {"overhead": {20: overhead(20, 10.0), 200: overhead(200, 12.0),
                            2_000: overhead(2_000, 120.0), 20_000: overhead(20_000, 1_300.0)}}
    rows = statuses(results, "Selection overhead per query")
    assert rows["2,000 tags"] == "PASS"  # x10 for x10 tags: linear is allowed
    assert rows["20,000 tags"] == "MISS"  # x10.8 for x10 tags: worse than linear
    assert rows["20 tags"] == "—"  # no target below 200 tags
    text = {r.setting: r.result for r in report.build_rows(results)
            if r.measure == "Selection overhead per query"}
    assert "×10.00 for ×10 tags" in text["2,000 tags"]
    assert "query embedding p50 7.0 ms" in text["200 tags"]


def test_growth_is_not_judged_without_the_smaller_size():
    rows = statuses({"overhead": {2_000: overhead(2_000, 50.0)}}, "Selection overhead per query")
    assert rows["2,000 tags"] == "—"


def test_growth_factor():
    assert report.growth_factor(overhead(200, 10.0), overhead(2_000, 30.0)) == (3.0, 10.0)


def test_fan_out_ratio_must_be_under_1_2():
    fanout = {"single_call_s": 0.5, "sync_s": 0.6, "async_s": 0.5995, "sync_ratio": 1.2, "async_ratio": 1.199}
    rows = statuses({"fanout": {4: fanout}}, "Fan-out wall / one call")
    assert rows["m=4, sync, model sleeps 0.5 s"] == "MISS"
    assert rows["m=4, async, model sleeps 0.5 s"] == "PASS"
    assert rows["m=3, sync, model sleeps 0.5 s"] == report.NOT_RUN


def feedback(p50: float, state_bytes: int, encoder: str = "adapter") -> dict:
    return {"encoder": encoder, "feedbacks": 4, "latency": ms(p50, 2 * p50), "cpu": ms(p50),
            "feedback_ms": ms(p50 - 1), "state_bytes": state_bytes, "pairs": 12}


@pytest.mark.parametrize(("p50", "status"), [(49.9, "PASS"), (50.0, "MISS")])
def test_feedback_latency_target(p50, status):
    rows = statuses({"feedback": {"adapter": feedback(p50, 9_000)}}, "Feedback → updated model")
    assert rows['encoder="adapter"'] == status


def test_finetune_is_a_comparison_without_a_target():
    results = {"feedback": {"finetune": feedback(9_000.0, 180_000_000, "finetune")}}
    assert statuses(results, "Feedback → updated model")['encoder="finetune"'] == "—"
    assert statuses(results, "State per user")['encoder="finetune"'] == "—"


@pytest.mark.parametrize(("size", "status"), [(64_000, "PASS"), (64_001, "MISS")])
def test_state_size_target_is_64_kb_in_powers_of_ten(size, status):
    rows = statuses({"feedback": {"adapter": feedback(10.0, size)}}, "State per user")
    assert rows['encoder="adapter"'] == status


def scale(n: int, peak_mb: float) -> dict:
    return {"n_users": n, "db_bytes": 130_000_000, "interactions_per_user": 2, "peak_rss_mb": peak_mb,
            "rss_ready_mb": 600.0, "serve_s": 100.0, "cached_states": 1024, "cache_size": 1024}


@pytest.mark.parametrize(("peak", "status"), [(999.0, "PASS"), (1_000.0, "MISS")])
def test_serving_memory_target_applies_to_10000_users(peak, status):
    rows = statuses({"scale": {1_000: scale(1_000, 5_000.0), 10_000: scale(10_000, peak)}},
                    "Users: database, serving memory")
    assert rows["10,000 users"] == status
    assert rows["1,000 users"] == "—"


def test_table_4_rows_give_the_ratio_to_the_default_learner():
    run = {"cpu_s": 2.0, "wall_s": 2.5, "peak_rss_mb": 600.0, "updates": 67, "best_set_precision": 1.0}
    tuned = {**run, "cpu_s": 300.0, "peak_rss_mb": 2_400.0, "updates": 15}
    rows = {r.setting: r.result for r in report.build_rows({"cost": {"3/20": {"premium-embed": run,
                                                                              "finetune": tuned}}})}
    assert "×150.0 CPU, ×4.00 memory vs premium-embed" in rows["3/20, finetune (67 rankings)"]
    assert "15 updates" in rows["3/20, finetune (67 rankings)"]
    assert rows["3/20, premium-embed-paper (67 rankings)"].startswith(report.NOT_RUN)


def test_skipped_rows_say_why():
    results = {"skipped": {"Users: database, serving memory|10,000 users": "--quick"}}
    row = next(r for r in report.build_rows(results) if r.setting == "10,000 users")
    assert row.result == "not run (--quick)" and row.status == report.NOT_RUN


def test_markdown_has_the_machine_line_and_one_line_per_row():
    rows = report.build_rows({})
    machine = {"cores": 2, "torch": "2.x", "torch_threads": 1, "load_average_1m": 1.5,
               "load_average_1m_max": 3.25, "load_average_1m_end": 2.0, "python": "3.11"}
    text = report.markdown(rows, machine)
    assert text.splitlines()[0].startswith("Machine: 2 cores")
    assert "1.5 at start, 3.25 at most" in text and "2.0 at the end" in text
    assert len([line for line in text.splitlines() if line.startswith("| ")]) == len(rows) + 2  # + header, rule
    assert report.rows_as_dicts(rows[:1])[0].keys() == {"measure", "setting", "result", "target", "status"}
