"""``premium demo``: one simulated user personalises the offline chat model, end to end."""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from tqdm import tqdm

QUERIES = [
    "How do I make handmade desserts?",
    "Plan a relaxing weekend for me.",
    "Write a short note about staying healthy at work.",
    "What should I read about to learn something new this month?",
    "Give me ideas for a birthday present.",
    "How can I save money on groceries?",
    "Suggest a hobby I could start this winter.",
    "Explain why sleep matters.",
]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="a short end-to-end demo on the offline defaults")
    parser.add_argument("--interactions", type=int, default=20, help="rankings the user gives")
    parser.add_argument("--user-tags", default="Baking,Nutrition,Dog training",
                        help="the simulated user's hidden interests (comma-separated)")
    parser.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from langchain_premium import PremiumRunnable, SQLiteMemory, TagLibrary
    from langchain_premium.offline import OfflineChatModel

    hidden = [t.strip() for t in args.user_tags.split(",") if t.strip()]
    library = TagLibrary.default()
    unknown = [t for t in hidden if t not in library]
    if unknown:
        raise SystemExit(f"--user-tags not in the default library: {unknown}")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or str(Path(tmp) / "premium.db")
        premium = PremiumRunnable(
            llm=OfflineChatModel(), tag_library=library, memory=SQLiteMemory(path), seed=args.seed
        )
        config = {"configurable": {"user_id": "demo-user"}}
        print(f"Hidden interests of the simulated user: {hidden}")
        print("The chat model is OfflineChatModel, a deterministic stand-in for a real model.\n")
        for i in tqdm(range(args.interactions), desc="interactions", unit="ranking"):
            result = premium.invoke(QUERIES[i % len(QUERIES)], config=config)
            # The simulated user prefers answers that talk about more of their interests.
            hits = [sum(bool(re.search(rf"\b{re.escape(tag)}\b", c.text, re.IGNORECASE)) for tag in hidden)
                    for c in result.candidates]
            result.feedback(sorted(range(len(hits)), key=lambda j: -hits[j]))
        final = premium.invoke(QUERIES[0], config={"configurable": {"user_id": "demo-user", "explore": False}})
        print(f"\nQuery: {final.query}")
        for c in final.candidates:
            print(f"  [{c.source}] {c.tags}: {c.text[:100]}...")
        print("\nWhat PREMIUM learned (top tags of the user's profile):")
        for tag, p in premium.user_profile("demo-user").top(5):
            marker = "  <- hidden interest" if tag in hidden else ""
            print(f"  {tag:<28} {p:6.1%}{marker}")
        premium.memory.close()
    return 0
