"""The ``premium`` command: one sub-command per module in this package."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

#: Sub-command modules; each defines ``register(subparsers)`` that sets ``func`` on its parser.
COMMANDS = ["demo", "stress", "perf", "ui", "bench", "judge"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="premium", description="Personalise chat models from users' rankings (PREMIUM)."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"langchain_premium.cli.{name}").register(subparsers)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
