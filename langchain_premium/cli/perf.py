"""``premium perf``: overhead, fan-out, update latency, memory and the paper's cost, against targets."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from langchain_premium.threads import limit_threads


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "perf", help="measure overhead, fan-out, update latency, memory and cost (issue 7)",
        description="Prints a Markdown table of performance figures on this machine, each target "
                    "marked PASS or MISS, and writes perf.json and perf.md to --out.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="a short version (under 2 minutes on an idle 2-core machine): fewer "
                             "repetitions; the largest library, 10,000 users and most Table 4 runs "
                             "are listed as not run")
    parser.add_argument("--out", default="perf-results", help="directory for perf.json and perf.md")
    parser.add_argument("--no-finetune", action="store_true",
                        help='leave out every encoder="finetune" measurement (the slow ones)')
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads, here and in child processes (default: torch's)")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated parts to measure (default: all of {','.join(SECTIONS)}); "
                             "the others are listed as not run")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run)


SECTIONS = ("overhead", "fanout", "feedback", "scale", "cost")


def _sections(text: str) -> set[str]:
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = chosen - set(SECTIONS)
    if unknown or not chosen:
        raise SystemExit(f"--sections takes a comma-separated subset of {','.join(SECTIONS)}, got {text!r}")
    return chosen


def _plan(quick: bool) -> dict[str, Any]:
    if quick:
        return {"sizes": (20, 200, 2_000), "repeats": 20, "fanout_repeats": 2, "adapter_feedbacks": 10,
                "finetune_feedbacks": 1, "users": (1_000,), "cost": {"3/20": ("premium-embed",)}}
    return {"sizes": (20, 200, 2_000, 20_000), "repeats": 200, "fanout_repeats": 5, "adapter_feedbacks": 60,
            "finetune_feedbacks": 4, "users": (1_000, 10_000),
            "cost": {name: ("premium-embed", "premium-embed-paper", "finetune") for name in ("3/20", "3/50", "3/100")}}


def run(args: argparse.Namespace) -> int:
    if args.threads is not None:
        _limit_threads(args.threads)

    from langchain_premium.perf import cost, fanout, overhead, report, scale, updates
    from langchain_premium.perf.measure import in_child, machine

    plan = _plan(args.quick)
    sections = _sections(args.sections)
    if "overhead" not in sections:
        plan["sizes"] = ()
    if "scale" not in sections:
        plan["users"] = ()
    if "cost" not in sections:
        plan["cost"] = {}
    reason = "--quick" if args.quick else "--no-finetune"
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick, "skipped": {},
                               "overhead": {}, "fanout": {}, "feedback": {}, "scale": {}, "cost": {}}
    started = time.perf_counter()
    loads = [results["machine"]["load_average_1m"]]

    def step(label: str, fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
        loads.append(machine()["load_average_1m"])
        print(f"[perf {time.perf_counter() - started:6.0f} s] {label} (load average {loads[-1]}) ...",
              file=sys.stderr, flush=True)
        return fn(*a, **kw)

    def not_selected(section: str) -> str:
        return "--quick" if section in sections else "--sections"

    for n in report.LIBRARY_SIZES:
        if n in plan["sizes"]:
            results["overhead"][n] = step(f"selection overhead, {n} tags", overhead.selection_overhead, n,
                                          repeats=plan["repeats"] if n < 20_000 else plan["repeats"] // 2,
                                          seed=args.seed)
        else:
            results["skipped"][f"Selection overhead per query|{n:,} tags"] = not_selected("overhead")
    for m in report.FANOUT_MS:
        if "fanout" not in sections:
            for mode in ("sync", "async"):
                results["skipped"][f"Fan-out wall / one call|m={m}, {mode}, model sleeps 0.5 s"] = "--sections"
            continue
        results["fanout"][m] = step(f"fan-out m={m}", fanout.fan_out, m, repeats=plan["fanout_repeats"],
                                    seed=args.seed)
    for encoder in ("adapter", "finetune"):
        skip = ("--sections" if "feedback" not in sections
                else "--no-finetune" if encoder == "finetune" and args.no_finetune else None)
        if skip:
            for measure in ("Feedback → updated model", "State per user"):
                results["skipped"][f'{measure}|encoder="{encoder}"'] = skip
            continue
        results["feedback"][encoder] = step(f"feedback latency, {encoder}", updates.feedback_latency, encoder,
                                            feedbacks=plan[f"{encoder}_feedbacks"], seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        for n in report.USER_COUNTS:
            if n not in plan["users"]:
                results["skipped"][f"Users: database, serving memory|{n:,} users"] = not_selected("scale")
                continue
            path = str(Path(tmp) / f"users-{n}.db")
            built = step(f"build {n} users", scale.build_users, path, n, seed=args.seed)
            served = step(f"serve {n} users (child process)", in_child, scale.serve_users, path, n, seed=args.seed)
            results["scale"][n] = {**built, **served}
    for name in cost.SETUPS:
        results["cost"][name] = {}
        for method in report.METHODS:
            if method not in plan["cost"].get(name, ()) or (method == "finetune" and args.no_finetune):
                why = "--sections" if "cost" not in sections else reason
                results["skipped"][f"Table 4 run: CPU, peak memory|{name}, {method} "
                                   f"({cost.SETUPS[name].interactions} rankings)"] = why
                continue
            results["cost"][name][method] = step(f"Table 4 {name} {method} (child process)", in_child,
                                                 cost.paper_run, name, method, seed=args.seed)
    results["total_s"] = time.perf_counter() - started
    results["machine"]["load_average_1m_end"] = machine()["load_average_1m"]
    results["machine"]["load_average_1m_max"] = max([*loads, results["machine"]["load_average_1m_end"]])

    rows = report.build_rows(results)
    table = report.markdown(rows, results["machine"])
    print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "perf.md").write_text(table + "\n", encoding="utf-8")
    payload = {**results, "rows": report.rows_as_dicts(rows)}
    (out / "perf.json").write_text(json.dumps(_jsonable(payload), indent=2), encoding="utf-8")
    print(f"\nWrote {out / 'perf.json'} and {out / 'perf.md'} in {results['total_s']:.0f} s.", file=sys.stderr)
    return 0


def _limit_threads(n: int) -> None:
    """Cap torch's and the BLAS thread pools here and in child processes: on a busy machine,
    pools as wide as the core count spin against each other and inflate every figure."""
    if n < 1:
        raise SystemExit(f"--threads must be at least 1, got {n}")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(n)  # read by the child processes when they load torch and numpy
    limit_threads(n)  # numpy's BLAS is already loaded in this process


def _jsonable(value: Any) -> Any:
    """JSON wants string keys (library sizes and user counts are ints here)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
