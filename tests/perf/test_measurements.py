"""The measurement functions run end to end on tiny inputs with a cheap encoder (no timing asserted)."""

from __future__ import annotations

import pytest

from langchain_premium.hash_embeddings import HashEmbeddings
from langchain_premium.perf import cost, fanout, overhead, updates
from langchain_premium.perf.workload import InstantChatModel


def test_instant_chat_model_answers_through_langchain():
    assert InstantChatModel(answer="hi").invoke("hello").content == "hi"


def test_selection_overhead_reports_the_whole_overhead_and_its_parts():
    item = overhead.selection_overhead(20, repeats=4, train_rounds=2, embeddings=HashEmbeddings())
    assert item["n_tags"] == 20 and item["train_rounds"] == 2
    for key in ("overhead", "overhead_cpu", "embedding", "selection"):
        assert item[key]["n"] == 4 and item[key]["p99_ms"] >= item[key]["p50_ms"] >= 0
    assert item["state_bytes"] > 0 and item["one_call_ms"] > 0


def test_feedback_latency_checks_that_every_feedback_updated_the_model():
    item = updates.feedback_latency("adapter", feedbacks=3, embeddings=HashEmbeddings())
    assert item["latency"]["n"] == 3 and item["feedbacks"] == 3 and item["pairs"] == 9
    assert item["latency"]["p50_ms"] >= item["feedback_ms"]["p50_ms"] > 0
    assert 0 < item["state_bytes"] < 64_000


def test_feedback_latency_refuses_a_learner_that_did_not_update():
    from langchain_premium.selectors.random import RandomSelector

    with pytest.raises(RuntimeError, match="updated model"):
        updates.feedback_latency("adapter", feedbacks=1, embeddings=HashEmbeddings(), selector=RandomSelector())


def test_fan_out_ratios():
    item = fanout.fan_out(3, latency=0.05, repeats=1, embeddings=HashEmbeddings())
    assert item["sync_ratio"] == item["sync_s"] / item["single_call_s"] and item["async_ratio"] > 0


def test_a_paper_run_trains_on_the_papers_schedule(monkeypatch):
    monkeypatch.setitem(cost.SETUPS, "tiny", cost.Setup(20, 3, 2, 2, 2, 4, 0.0, 1.0))
    paper = cost.paper_run("tiny", "premium-embed-paper", embeddings=HashEmbeddings())
    assert paper["interactions"] == 5 and paper["updates"] == 2  # after rankings 3 and 5 only
    assert paper["cpu_s"] > 0 and paper["peak_rss_mb"] > 0 and 0 <= paper["best_set_precision"] <= 1
