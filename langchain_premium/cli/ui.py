"""``premium ui``: a local web page to ask, rank the m answers and watch the learned profile."""

from __future__ import annotations

import argparse
import importlib
import tempfile
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ui",
        help="a local web page: ask, rank the answers, watch your profile (needs the ui extra)",
        description="Serve the PREMIUM chat page on http://127.0.0.1:PORT (never on other "
        "interfaces). Needs gradio: pip install 'langchain-premium[ui]'.",
    )
    parser.add_argument("--port", type=int, default=7860, help="port on 127.0.0.1 (default 7860)")
    parser.add_argument("--db", default=None,
                        help="SQLite file for the rankings (default: a temporary one, deleted on exit)")
    parser.add_argument("--model", default=None, metavar="MODULE:ATTR",
                        help="chat model to personalise: a BaseChatModel instance, or a class or "
                        "function called without arguments, e.g. langchain_openai:ChatOpenAI "
                        "(default: the offline stand-in)")
    parser.add_argument("--tags", default=None, metavar="PATH",
                        help="tag library file (.txt one per line, or .json); default: the paper's")
    parser.add_argument("--user", default="you", help="the user name the page starts with")
    parser.add_argument("-k", type=int, default=3, help="tags per answer (default 3)")
    parser.add_argument("-m", type=int, default=3, help="answers per question (default 3)")
    parser.add_argument("--seed", type=int, default=None)
    parser.set_defaults(func=run)


def load_model(spec: str) -> Any:
    """The chat model named ``module:attr``: an instance, or a callable that returns one.

    Example:
        >>> type(load_model("langchain_premium.offline:OfflineChatModel")).__name__
        'OfflineChatModel'
    """
    from langchain_core.runnables import Runnable

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SystemExit(
            f"--model must look like module:attr (e.g. langchain_openai:ChatOpenAI), got {spec!r}"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"--model {spec}: cannot import {module_name!r}: {exc}") from exc
    try:
        target = getattr(module, attr)
    except AttributeError:
        raise SystemExit(f"--model {spec}: module {module_name!r} has no attribute {attr!r}") from None
    model = target if isinstance(target, Runnable) else target() if callable(target) else target
    if not isinstance(model, Runnable):
        raise SystemExit(f"--model {spec} is not a chat model (got {type(model).__name__})")
    return model


def build(args: argparse.Namespace, db_path: str) -> tuple[Any, Any]:
    """The runnable and the Gradio page for ``args`` (used by the command and its tests)."""
    from langchain_premium import PremiumRunnable, SQLiteMemory, TagLibrary
    from langchain_premium.offline import OfflineChatModel
    from langchain_premium.ui.app import build_app

    offline = args.model is None
    llm = OfflineChatModel() if offline else load_model(args.model)
    library = TagLibrary.from_file(args.tags) if args.tags else TagLibrary.default()
    premium = PremiumRunnable(
        llm=llm, tag_library=library, memory=SQLiteMemory(db_path), k=args.k, m=args.m,
        seed=args.seed,
    )
    return premium, build_app(premium, user_id=args.user, offline_note=offline)


def run(args: argparse.Namespace) -> int:
    from langchain_premium.ui.app import HOST, import_gradio, serve

    try:
        import_gradio()
    except ImportError as exc:
        raise SystemExit(str(exc)) from None
    with tempfile.TemporaryDirectory() as tmp:
        db_path = args.db or str(Path(tmp) / "premium-ui.db")
        premium, app = build(args, db_path)
        kept = "" if args.db else " (temporary: pass --db FILE to keep them)"
        print(f"Rankings are stored in {db_path}{kept}.")
        print(f"Open http://{HOST}:{args.port} in a browser; Ctrl-C stops the server.")
        try:
            serve(app, port=args.port, block=True)
        except KeyboardInterrupt:
            pass
        finally:
            app.close()
            premium.memory.close()
    return 0
