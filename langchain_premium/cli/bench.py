"""``premium bench``: simulated users against every method; tables, results.json and plots."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import time
from pathlib import Path
from typing import Iterator, Optional

from langchain_premium.threads import limit_threads


def register(subparsers: argparse._SubParsersAction) -> None:
    from langchain_premium.evaluation.presets import PRESETS
    from langchain_premium.simulation.queries import TASK_STYLES

    parser = subparsers.add_parser(
        "bench",
        help="reproduce the paper's experiments with simulated users (offline)",
        description="Run a preset of simulated Ranking-TAGER experiments and print the results "
                    "as Markdown; write results.json and PNG plots.\n\npresets:\n"
                    + "\n".join(f"  {p.name:<11} {p.description}" for p in PRESETS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", choices=list(PRESETS), default=None, help="the experiment (default: quick)")
    parser.add_argument("--quick", action="store_true", help="same as --preset quick")
    parser.add_argument("--setup", default=None, help="setups k/n, comma-separated (e.g. 3/20,3/50)")
    parser.add_argument("--methods", default=None,
                        help="methods, comma-separated: METHODS names or the preset's variants")
    parser.add_argument("--users", type=int, default=None, help="simulated users per seed")
    parser.add_argument("--interactions", type=int, default=None, help="rankings each user gives")
    parser.add_argument("--seeds", type=int, default=None, help="repetitions (mean ± std over seeds)")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--annotator", choices=["embedding", "llm"], default="embedding",
                        help="who ranks: the offline embedding annotator or a chat model")
    parser.add_argument("--annotator-model", default=None,
                        help="for --annotator llm: a chat model class as 'package.module:Class'")
    parser.add_argument("--annotator-kwargs", default="{}",
                        help="for --annotator llm: JSON keyword arguments of that class")
    parser.add_argument("--temperature", type=float, default=None,
                        help="the embedding annotator's Plackett-Luce temperature (default: the "
                             "calibrated one of --match)")
    parser.add_argument("--match", choices=["sentence", "answer"], default="sentence",
                        help="how the embedding annotator reads an answer: each user tag against "
                             "its best-matching sentence (default), or the first 64 words as one "
                             "vector (the judge of earlier versions)")
    parser.add_argument("--task", choices=list(TASK_STYLES), default="routine_writing",
                        help="the shipped query set")
    parser.add_argument("--eval-queries", type=int, default=None,
                        help="use only the first N test queries for Accuracy and Win Rate")
    parser.add_argument("--jobs", type=int, default=0,
                        help="worker processes, each loading the encoder once (default 0: one per "
                             "CPU core, at most one per simulated user; 1: run in this process)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch and BLAS threads per process (1 is fastest for these small "
                             "models, and keeps the rounding of one seed from depending on others)")
    parser.add_argument("--out", default="bench-results", help="directory for results.json and plots")
    parser.add_argument("--no-plots", action="store_true", help="do not write PNG plots")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    from tqdm.auto import tqdm

    from langchain_premium.evaluation.presets import get_preset, tag_based_methods
    from langchain_premium.evaluation.report import Report
    from langchain_premium.methods import METHODS
    from langchain_premium.simulation.queries import load_queries

    name = "quick" if args.quick or args.preset is None else args.preset
    if args.quick and args.preset not in (None, "quick"):
        raise SystemExit("--quick is --preset quick; give one or the other")
    preset = get_preset(name)
    if preset.rows is None and not args.methods:
        tagged = tag_based_methods()
        if preset.view == "win_rate":  # the methods without tags, against PREMIUM-Embed
            rows = [m for m in METHODS if m not in tagged] + ["premium-embed"]
        else:
            rows = tagged
        preset = preset.with_overrides(methods=rows)
    preset = preset.with_overrides(
        setups=_split(args.setup), methods=_split(args.methods), interactions=args.interactions,
        seeds=args.seeds, users=args.users,
    )
    unknown = [v.method for v in preset.rows if v.method not in METHODS]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; available: {', '.join(METHODS)}")
    if args.jobs < 0:
        raise SystemExit("--jobs must be 0 (one per core) or more")
    annotator = _annotator(args)
    run_options = {"task": args.task}
    if args.eval_queries is not None:
        if args.eval_queries < 1:
            raise SystemExit("--eval-queries must be at least 1")
        run_options["eval_queries"] = load_queries(args.task).test[: args.eval_queries]

    users = preset.seeds * preset.users
    # A chat-model judge stays in this process unless asked (its client may not pickle).
    auto = 1 if args.annotator == "llm" else max(1, min(os.cpu_count() or 1, users))
    jobs = args.jobs or auto
    with _threads(args.torch_threads if jobs == 1 else None):
        report = Report.from_preset(preset, annotator=annotator, seed=args.seed, n_jobs=jobs,
                                    torch_threads=args.torch_threads, **run_options)
    for cell in report.cells:
        for error in sorted(set(cell.errors)):
            tqdm.write(f"{cell.row} on {cell.column.label} failed: {error}")
    report.elapsed = time.perf_counter() - start  # including the imports and encoder loads
    report.config = {key: value for key, value in vars(args).items() if key != "func"}
    print(report.markdown())
    results = report.to_dict()
    if name == "table3":  # the paper's Table 3 also has a LaMP-2 column (accuracy and F1)
        from langchain_premium.evaluation.lamp2_report import lamp2_table

        markdown, results["lamp2"] = lamp2_table(seed=args.seed)
        print("\n" + markdown)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    written = [out / "results.json"]
    if not args.no_plots:
        from langchain_premium.evaluation.plots import save_plots

        written += save_plots(report, out)
    print("\nWrote " + ", ".join(str(p) for p in written))
    return 0


def _split(text: Optional[str]) -> Optional[list[str]]:
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _annotator(args: argparse.Namespace):
    from langchain_premium.simulation.annotators import EmbeddingAnnotator, LLMAnnotator

    if args.annotator == "embedding":
        if args.annotator_model:
            raise SystemExit("--annotator-model needs --annotator llm")
        if args.temperature is not None and args.temperature < 0:
            raise SystemExit("--temperature must be >= 0")
        return EmbeddingAnnotator(temperature=args.temperature, match=args.match)
    if not args.annotator_model:
        raise SystemExit(
            "--annotator llm needs --annotator-model package.module:Class (a chat model that can "
            "rank; the offline stand-in cannot), e.g. langchain_ollama:ChatOllama "
            "--annotator-kwargs '{\"model\": \"qwen2.5:72b\"}'"
        )
    module_name, _, class_name = args.annotator_model.partition(":")
    if not class_name:
        raise SystemExit(f"--annotator-model must look like package.module:Class, got {args.annotator_model!r}")
    try:
        model_class = getattr(importlib.import_module(module_name), class_name)
        kwargs = json.loads(args.annotator_kwargs)
    except (ImportError, AttributeError, json.JSONDecodeError) as exc:
        raise SystemExit(f"cannot build the annotator model: {exc}") from exc
    return LLMAnnotator(model_class(**kwargs), seed=args.seed)


@contextlib.contextmanager
def _threads(threads: Optional[int]) -> Iterator[None]:
    """Use ``threads`` torch and BLAS threads for the block, as the worker processes do."""
    if not threads:
        yield
        return
    restore = limit_threads(threads)
    try:
        yield
    finally:
        restore()


__all__ = ["register", "run"]
