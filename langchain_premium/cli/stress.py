"""``premium stress``: bounded concurrent load on one SQLite file, then a check that nothing was lost."""

from __future__ import annotations

import argparse
import multiprocessing
import queue as queue_module
import random
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DESCRIPTION = """\
Several processes, each with several threads, share one database file and invoke then rank for
the same and different users at once. Every ranking stores its pairs in one transaction and
updates that user's PREMIUM-Embed state (load, learn from all stored pairs, compare-and-swap
save). The chat model is OfflineChatModel and, by default, the encoder is HashEmbeddings: both
cost microseconds, so the figures are those of the memory (SQLite locking, WAL, retries) and of
the update path (learning, state (de)serialisation, compare-and-swap conflicts between
processes), not of a neural model. --encoder minilm uses the real encoder instead.

Afterwards it checks the database: every pair the callers were told about is stored exactly
once, every ranked run has all its pairs, and every user's stored state has seen all of that
user's pairs, with an update count equal to its number of saves. It exits with status 1 if
anything was lost, duplicated or raised an error."""

QUERIES = [
    "How do I make handmade desserts?",
    "Plan a relaxing weekend for me.",
    "What should I know before buying a bike?",
    "Explain how black holes form.",
    "Give me ideas for a birthday present.",
    "How can I save money on groceries?",
    "Suggest a hobby I could start this winter.",
    "How do I prepare for a job interview?",
]


@dataclass(frozen=True)
class LoadSpec:
    """How much load to apply, and to what."""

    path: str
    processes: int = 4
    threads: int = 8
    feedbacks: int = 64  # per thread
    users: int = 64
    update_every: int = 1
    steps: int = 40
    encoder: str = "hash"
    seed: int = 0
    timeout: float = 900.0  # seconds before the run is abandoned as hung

    @property
    def total(self) -> int:
        return max(self.processes, 1) * self.threads * self.feedbacks


@dataclass
class LoadReport:
    """What the workers saw: latencies (seconds), errors, and pairs the callers were told about."""

    feedback_latency: list[float] = field(default_factory=list)
    invoke_latency: list[float] = field(default_factory=list)
    store_latency: list[float] = field(default_factory=list)
    stale_saves: int = 0
    errors: list[str] = field(default_factory=list)
    expected_pairs: Counter = field(default_factory=Counter)
    feedbacks: int = 0
    started: float = float("inf")
    finished: float = 0.0
    #: Every successful ``save_state`` of a memory that records them (tests use this).
    saves: list[tuple] = field(default_factory=list)

    @property
    def elapsed(self) -> float:
        return max(self.finished - self.started, 1e-9)

    def merge(self, part: dict[str, Any]) -> None:
        self.feedback_latency += part["feedback_latency"]
        self.invoke_latency += part["invoke_latency"]
        self.store_latency += part["store_latency"]
        self.stale_saves += part["stale_saves"]
        self.errors += part["errors"]
        self.expected_pairs.update(part["expected_pairs"])
        self.feedbacks += part["feedbacks"]
        self.started = min(self.started, part["started"])
        self.finished = max(self.finished, part["finished"])
        self.saves += part.get("saves") or []


def user_name(index: int) -> str:
    return f"user-{index:03d}"


def favourite_tags(library: Any, index: int) -> set[str]:
    """Each simulated user likes a few tags of their own (spread over the library)."""
    tags = library.tags
    return {tags[(index * 7 + j * 31) % len(tags)] for j in range(6)}


def build_runnable(spec: LoadSpec, memory: Any) -> Any:
    """The runnable every worker uses: PREMIUM-Embed on the offline stand-ins."""
    from langchain_premium import EmbedSelector, PremiumRunnable, TagLibrary
    from langchain_premium.offline import OfflineChatModel

    if spec.encoder == "hash":
        from langchain_premium.hash_embeddings import HashEmbeddings

        embeddings = HashEmbeddings()
    else:
        from langchain_premium.offline import default_embeddings

        embeddings = default_embeddings()
    return PremiumRunnable(
        llm=OfflineChatModel(), tag_library=TagLibrary.default(), memory=memory,
        embeddings=embeddings, selector=EmbedSelector(steps=spec.steps),
        update_every=spec.update_every, seed=spec.seed,
    )


def _warm_up(premium: Any) -> None:
    """Pay one-off costs (encoder, tag embeddings, torch's lazy imports) before timing starts."""
    import numpy as np

    from langchain_premium.records import PreferencePair

    sets = premium.select_tag_sets(QUERIES[0], user_id="warm-up")
    pair = PreferencePair(run_id="warm-up", user_id="warm-up", winner=sets[0], loser=sets[-1])
    state = premium.selector.initial_state(premium.tag_library)
    premium.selector.learn(state, [pair], premium.tag_library, premium.tag_cache,
                           np.random.default_rng(0))


def run_threads(
    spec: LoadSpec, process_index: int, memory_class: Any = None, barrier: Any = None
) -> dict[str, Any]:
    """One process's share of the load: ``spec.threads`` threads of ``spec.feedbacks`` rounds."""
    from langchain_premium.errors import StaleStateError
    from langchain_premium.memory import SQLiteMemory

    memory = (memory_class or SQLiteMemory)(spec.path)
    premium = build_runnable(spec, memory)
    _warm_up(premium)

    lock = threading.Lock()
    out: dict[str, Any] = {
        "feedback_latency": [], "invoke_latency": [], "store_latency": [], "errors": [],
        "expected_pairs": Counter(), "feedbacks": 0, "stale_saves": 0,
    }
    # Time the ranking's own transaction, and count updates that lost the compare-and-swap
    # to another process (each is learned again on top of the winner's state).
    record_ranking, save_state = memory.record_ranking, memory.save_state

    def timed_record_ranking(*args: Any, **kwargs: Any) -> int:
        start = time.perf_counter()
        try:
            return record_ranking(*args, **kwargs)
        finally:
            with lock:
                out["store_latency"].append(time.perf_counter() - start)

    def counted_save_state(*args: Any, **kwargs: Any) -> int:
        try:
            return save_state(*args, **kwargs)
        except StaleStateError:
            with lock:
                out["stale_saves"] += 1
            raise

    memory.record_ranking, memory.save_state = timed_record_ranking, counted_save_state

    def work(thread_index: int) -> None:
        rng = random.Random(f"{spec.seed}/{process_index}/{thread_index}")
        for _ in range(spec.feedbacks):
            index = rng.randrange(spec.users)
            user = user_name(index)
            try:
                start = time.perf_counter()
                result = premium.invoke(
                    rng.choice(QUERIES), config={"configurable": {"user_id": user}}
                )
                middle = time.perf_counter()
                liked = favourite_tags(premium.tag_library, index)
                hits = [len(liked & set(c.tags)) for c in result.candidates]
                ranking = sorted(range(len(hits)), key=lambda j: (-hits[j], rng.random()))
                receipt = result.feedback(ranking)
                end = time.perf_counter()
            except Exception as exc:  # noqa: BLE001 - every error is reported, none may happen
                with lock:
                    out["errors"].append(f"{user}: {type(exc).__name__}: {exc}")
                continue
            with lock:
                out["invoke_latency"].append(middle - start)
                out["feedback_latency"].append(end - middle)
                out["expected_pairs"][user] += receipt.pairs
                out["feedbacks"] += 1

    if barrier is not None:
        barrier.wait()  # every process starts the load at once
    out["started"] = time.time()
    threads = [threading.Thread(target=work, args=(t,)) for t in range(spec.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out["finished"] = time.time()
    out["saves"] = list(getattr(memory, "saves", []))
    memory.close()
    return out


def _one_thread_per_library() -> None:
    """One torch and one BLAS thread in a worker process: the load already keeps every core
    busy, and more threads per process only queue behind each other."""
    import torch

    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits  # comes with scikit-learn

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - then BLAS keeps its default
        pass


def _process_main(spec: LoadSpec, index: int, memory_class: Any, barrier: Any, results: Any) -> None:
    try:
        _one_thread_per_library()
        results.put(run_threads(spec, index, memory_class, barrier))
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the run
        if barrier is not None:
            barrier.abort()  # do not leave the other processes waiting for this one
        results.put({"fatal": f"process {index}:\n{traceback.format_exc()}"})


def process_context() -> multiprocessing.context.BaseContext:
    """``forkserver`` where available (children fork from a clean server), else ``spawn``."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # The server imports the package once (and torch._dynamo, which the first optimiser step
    # would import lazily); every worker forks from it ready to run.
    context.set_forkserver_preload(["langchain_premium.cli.stress", "torch._dynamo"])
    return context


def run_load(spec: LoadSpec, memory_class: Any = None) -> LoadReport:
    """Apply the load; ``processes=0`` runs the threads in this process.

    ``memory_class`` (default :class:`SQLiteMemory`) is opened on ``spec.path`` in every process.
    """
    report = LoadReport()
    if spec.processes == 0:
        report.merge(run_threads(spec, 0, memory_class))
        return report
    context = process_context()
    barrier = context.Barrier(spec.processes)
    results = context.Queue()
    processes = [
        context.Process(target=_process_main, args=(spec, i, memory_class, barrier, results),
                        daemon=True)
        for i in range(spec.processes)
    ]
    for process in processes:
        process.start()
    deadline = time.monotonic() + spec.timeout
    try:
        for _ in processes:
            try:
                part = results.get(timeout=max(deadline - time.monotonic(), 0.1))
            except queue_module.Empty:
                report.errors.append(f"the load did not finish within {spec.timeout:g} s")
                break
            if "fatal" in part:
                report.errors.append(part["fatal"])
            else:
                report.merge(part)
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
    return report


def check_database(spec: LoadSpec, report: LoadReport) -> list[str]:
    """Every problem found in the database after the load (empty when nothing was lost)."""
    from langchain_premium.memory import SQLiteMemory

    problems: list[str] = []
    with SQLiteMemory(spec.path) as memory:
        premium = build_runnable(spec, memory)
        key, db = premium.key, memory.db
        if spec.update_every != 1:
            for user in memory.users():
                premium.train(user)  # the last few rankings of a user may be waiting for a batch
        stored_total = 0
        for user in sorted(set(memory.users()) | set(report.expected_pairs)):
            stored = memory.count_pairs(user, method=key)
            stored_total += stored
            if stored != report.expected_pairs.get(user, 0):
                problems.append(
                    f"{user}: {report.expected_pairs.get(user, 0)} pairs acknowledged, {stored} stored"
                )
            if stored == 0:
                continue
            state = memory.load_state(user, key)
            if state is None or state.pairs_seen != stored:
                seen = None if state is None else state.pairs_seen
                problems.append(f"{user}: the stored model has seen {seen} of {stored} pairs")
                continue
            decoded = premium.selector.loads(state.blob, premium.tag_library)
            n_updates, n_pairs = getattr(decoded, "n_updates", None), getattr(decoded, "n_pairs", None)
            if n_updates is not None and n_updates != state.version:
                problems.append(
                    f"{user}: {n_updates} updates went into the model but it was saved "
                    f"{state.version} times (an update was lost or applied twice)"
                )
            if n_pairs is not None and n_pairs != state.pairs_seen:
                problems.append(f"{user}: model learned {n_pairs} pairs, row says {state.pairs_seen}")
        m = premium.m
        per_run = m * (m - 1) // 2
        bad_runs = db.execute(
            "SELECT count(*) FROM (SELECT run_id, count(*) AS n FROM preference_pairs"
            " GROUP BY run_id HAVING n <> ?)", [per_run]
        ).fetchone()[0]
        duplicates = db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM preference_pairs GROUP BY run_id, winner, loser"
            " HAVING count(*) > 1)"
        ).fetchone()[0]
        ranked = db.execute("SELECT count(*) FROM interactions WHERE ranking IS NOT NULL").fetchone()[0]
        if bad_runs:
            problems.append(f"{bad_runs} ranked runs do not have exactly {per_run} pairs")
        if duplicates:
            problems.append(f"{duplicates} pairs are stored more than once")
        if ranked != report.feedbacks:
            problems.append(f"{report.feedbacks} rankings acknowledged, {ranked} runs stored as ranked")
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            problems.append(f"integrity_check: {integrity}")
        if stored_total != sum(report.expected_pairs.values()):
            problems.append(
                f"pairs: {sum(report.expected_pairs.values())} expected, {stored_total} stored"
            )
    return problems


def _ms(values: list[float], q: float) -> str:
    import numpy as np

    return f"{1000 * float(np.percentile(values, q)):.1f} ms" if values else "n/a"


def format_report(spec: LoadSpec, report: LoadReport, problems: list[str], stored: int) -> str:
    expected = sum(report.expected_pairs.values())
    where = f"{spec.processes} processes x " if spec.processes else "1 process (in-process) x "
    lines = [
        f"premium stress: {where}{spec.threads} threads x {spec.feedbacks} feedbacks, "
        f"{spec.users} users, PREMIUM-Embed (steps={spec.steps}, update_every={spec.update_every})"
        f", encoder={spec.encoder}, llm=OfflineChatModel",
        f"database: {spec.path}",
        f"feedbacks: {report.feedbacks} of {spec.total} in {report.elapsed:.1f} s = "
        f"{report.feedbacks / report.elapsed:.1f} feedbacks/s",
        f"feedback latency (store ranking + update the user's model): "
        f"p50 {_ms(report.feedback_latency, 50)}, p99 {_ms(report.feedback_latency, 99)}",
        f"  of which storing the ranking (one transaction): "
        f"p50 {_ms(report.store_latency, 50)}, p99 {_ms(report.store_latency, 99)}",
        "invoke latency (select + m model calls + store the interaction): "
        f"p50 {_ms(report.invoke_latency, 50)}, p99 {_ms(report.invoke_latency, 99)}",
        f"updates learned again after losing the compare-and-swap to another process: "
        f"{report.stale_saves}",
        f"errors: {len(report.errors)}",
        f"pairs: expected {expected}, stored {stored}",
    ]
    for error in report.errors[:10]:
        lines.append(f"  error: {error}")
    for problem in problems[:20]:
        lines.append(f"  lost: {problem}")
    lines.append("OK: nothing lost, nothing errored" if not (problems or report.errors) else "FAILED")
    return "\n".join(lines)


def stored_pairs(path: str) -> int:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM preference_pairs").fetchone()[0]
    finally:
        conn.close()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stress",
        help="concurrent load on one SQLite file; fails if a pair or an update is lost",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--processes", type=int, default=4, help="processes (0: threads only)")
    parser.add_argument("--threads", type=int, default=8, help="threads per process")
    parser.add_argument("--feedbacks", type=int, default=64, help="rankings per thread")
    parser.add_argument("--users", type=int, default=64, help="distinct users shared by all")
    parser.add_argument("--update-every", type=int, default=1, help="learn after every d rankings")
    parser.add_argument("--steps", type=int, default=40, help="optimisation steps per update")
    parser.add_argument("--encoder", choices=["hash", "minilm"], default="hash",
                        help="hash: cheap stand-in (measures memory + updates); minilm: real")
    parser.add_argument("--db", default=None, help="new SQLite file (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after this many s")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for name in ("threads", "feedbacks", "users"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name} must be at least 1")
    if args.processes < 0 or args.update_every < 1 or args.steps < 1:
        raise SystemExit("--processes must be >= 0, --update-every and --steps >= 1")
    if args.db is not None and Path(args.db).exists():
        raise SystemExit(f"--db {args.db} exists: stress needs a new database to count pairs")
    with tempfile.TemporaryDirectory(prefix="premium-stress-") as tmp:
        spec = LoadSpec(
            path=args.db or str(Path(tmp) / "stress.db"), processes=args.processes,
            threads=args.threads, feedbacks=args.feedbacks, users=args.users,
            update_every=args.update_every, steps=args.steps, encoder=args.encoder,
            seed=args.seed, timeout=args.timeout,
        )
        from langchain_premium.memory import SQLiteMemory

        SQLiteMemory(spec.path).close()  # create and migrate once, before the load starts
        report = run_load(spec)
        problems = check_database(spec, report)
        print(format_report(spec, report, problems, stored_pairs(spec.path)))
    return 1 if problems or report.errors else 0

