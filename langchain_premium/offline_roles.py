"""How the offline STAND-IN model plays the helper roles: candidate generator, profile writers, tagger."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from typing import Optional

__all__ = ["respond_in_role"]

# Kept free of heavy imports: ``langchain_premium.offline`` imports this module and must load
# without torch. The markers below are the ones the prompts in ``prompts.py`` write.
_TASK_RE = re.compile(r"\(Task\)\s*Propose\s+(\d+)\s+tag sets of\s+(\d+)\s+tags", re.IGNORECASE)
_LIBRARY_RE = re.compile(r"^\(Tag Library\)[ \t]*(.*)$", re.MULTILINE)
_QUERY_RE = re.compile(r"^\(User Query\)[ \t]*(.*)$", re.MULTILINE)
_HISTORY_RE = re.compile(
    r"\(The Start of Interaction History (\d+)\)(.*?)\(The End of Interaction History \1\)", re.DOTALL
)
_SETS_LINE_RE = re.compile(r"^Tag Set Candidates:[ \t]*(.*)$", re.MULTILINE)
_SET_ITEM_RE = re.compile(r"\[Response (\d+)\]\s*([^;]*)")
_RANKING_LINE_RE = re.compile(r"^User's Preference Ranking:[ \t]*(.*)$", re.MULTILINE)
_USER_HISTORY_RE = re.compile(r"\(User History\)(.*?)\(End of User History\)", re.DOTALL)
_ANSWER_RE = re.compile(r"^\s*Preferred answer:[ \t]*(.*)$", re.MULTILINE)
_DRAWING_RE = re.compile(r"drawing on (?P<items>[^\n]*?)(?:[.!]+(?=\s|$)|$)")
_TAG_ONLY_RE = re.compile(
    r"(?:answer|respond|reply)\s+(?:only\s+)?with\s+(?:only\s+)?the\s+tag", re.IGNORECASE
)
_TAG_LIST_RE = re.compile(r"tags:\s*\[(?P<items>[^\]]*)\]", re.IGNORECASE)
_REFERENCE_RE = re.compile(r"\(Reference Opinion\)", re.IGNORECASE)


def respond_in_role(types: Sequence[str], texts: Sequence[str]) -> Optional[str]:
    """The stand-in's answer when the messages are one of the package's helper prompts, else
    ``None`` (the caller then writes an ordinary answer).

    - PREMIUM-Prompt's candidate generator (``(Task) Propose m tag sets of k tags``): tags of
      higher-ranked responses in the histories are counted; the first set keeps the best ones,
      the others each try a new tag from the library.
    - TidyBot's summariser / OPPU's profiler (a ``(User History)`` block in the last human
      message): the terms that recur in the preferred answers (a short answer is a term; a
      long one contributes the domains it says it draws on), most frequent first; two lines.
    - A LaMP-2 style "answer with the tag name only" request without a reference opinion: the
      listed tag mentioned most often in the prompt (profile, retrieved items, description).

    Everything is deterministic and read from the text given; no knowledge is involved.

    Example:
        >>> respond_in_role(["human"], ["(User History)\\n[1] Query: q\\n    Preferred answer: "
        ...                             "comedy\\n(End of User History)"]).splitlines()[0]
        "The user's preferred answers mostly concern comedy (most frequent first)."
    """
    humans = [text for kind, text in zip(types, texts) if kind == "human"]
    for text in humans:
        if _TASK_RE.search(text) and _LIBRARY_RE.search(text):
            return _candidate_sets(text)
    if humans and _USER_HISTORY_RE.search(humans[-1]):
        return _profile(humans[-1])
    if any(_TAG_ONLY_RE.search(t) for t in texts) and not any(_REFERENCE_RE.search(t) for t in texts):
        return _tag_from_evidence(texts)
    return None


# --------------------------------------------------------------------- candidate generator


def _order(seed: str, items: Sequence[str]) -> list[str]:
    """``items`` in a fixed pseudo-random order that depends on ``seed`` only."""
    return sorted(items, key=lambda item: hashlib.sha256(f"{seed}\x1f{item}".encode()).digest())


def _candidate_sets(text: str) -> str:
    task = _TASK_RE.search(text)
    m, k = int(task.group(1)), int(task.group(2))
    library = [t.strip() for t in _LIBRARY_RE.search(text).group(1).split(", ") if t.strip()]
    query_match = _QUERY_RE.search(text)
    query = query_match.group(1).strip() if query_match else ""
    known = set(library)
    score: Counter[str] = Counter()
    seen: dict[str, int] = {}
    histories = _HISTORY_RE.findall(text)
    for _, block in histories:
        sets_line = _SETS_LINE_RE.search(block)
        ranking_line = _RANKING_LINE_RE.search(block)
        if not sets_line or not ranking_line:
            continue
        sets = {int(i): [t.strip() for t in tags.split(", ") if t.strip()]
                for i, tags in _SET_ITEM_RE.findall(sets_line.group(1))}
        ranking = [int(i) for i in re.findall(r"Response (\d+)", ranking_line.group(1))]
        n = len(sets)
        for number, tags in sets.items():
            position = ranking.index(number) if number in ranking else len(ranking)
            for tag in tags:
                score[tag] += (n - 1) / 2 - position  # best +, middle 0, worst -
                seen.setdefault(tag, len(seen))
    liked = sorted((t for t in score if score[t] > 0 and t in known), key=lambda t: (-score[t], seen[t]))
    unseen = [t for t in library if t not in score]
    neutral = [t for t in library if t in score and score[t] == 0]
    fresh = _order(query, unseen) + _order(query, neutral)
    fresh += [t for t in library if t not in liked and t not in fresh]  # disliked tags come last

    # The first set keeps the favoured tags; each other set keeps all but one of them and
    # tries tags not used yet (each new tag is used once), so the sets explore.
    sets_out: list[list[str]] = []
    cursor = 0

    def take(count: int, exclude: list[str]) -> list[str]:
        nonlocal cursor
        taken: list[str] = []
        while len(taken) < count and cursor < len(fresh):
            tag = fresh[cursor]
            cursor += 1
            if tag not in exclude:
                taken.append(tag)
        return taken

    first = liked[:k]
    sets_out.append(first + take(k - len(first), first))
    base = liked[: k - 1]
    while len(sets_out) < m and cursor < len(fresh):
        tags = base + take(k - len(base), base)
        if len(tags) == k and set(tags) not in [set(s) for s in sets_out]:
            sets_out.append(tags)
    lines = [
        f"(Explanation) Offline stand-in: counted the tags of the higher-ranked responses in "
        f"{len(histories)} interaction histories; favoured so far: "
        f"{', '.join(liked[:5]) if liked else 'none'}. The first set keeps the favoured tags, the "
        "others each try new ones."
    ]
    lines += [f"(Tag Set {i}) {', '.join(tags)}" for i, tags in enumerate(sets_out[:m], start=1)]
    lines.append("(The End of Answer)")
    return "\n".join(lines)


# --------------------------------------------------------------------- profile writers


def _terms(answer: str) -> list[str]:
    answer = answer.strip()
    if not answer:
        return []
    if len(answer.split()) <= 6:
        return [answer.rstrip(".").strip()]
    match = _DRAWING_RE.search(answer)
    if not match:
        return []
    parts = [p.strip() for p in match.group("items").split(", ")]
    if parts and " and " in parts[-1]:
        parts[-1:] = [p.strip() for p in parts[-1].rsplit(" and ", 1)]
    return list(dict.fromkeys(p for p in parts if p))


def _profile(text: str) -> str:
    block = _USER_HISTORY_RE.search(text).group(1)
    answers = _ANSWER_RE.findall(block)
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for answer in answers:
        for term in _terms(answer):
            counts[term] += 1
            first.setdefault(term, len(first))
    top = sorted(counts, key=lambda t: (-counts[t], first[t]))[:3]
    line = (
        f"The user's preferred answers mostly concern {', '.join(top)} (most frequent first)."
        if top else "The user's preferences are not clear yet."
    )
    return f"{line}\n(Offline stand-in profile from {len(answers)} history items.)"


# --------------------------------------------------------------------- tag-only requests


def _tag_from_evidence(texts: Sequence[str]) -> Optional[str]:
    listed: list[str] = []
    evidence = []
    for text in texts:
        match = _TAG_LIST_RE.search(text)
        if match and not listed:
            listed = [t.strip().strip("'\"") for t in match.group("items").split(",") if t.strip()]
        evidence.append(_TAG_LIST_RE.sub(" ", text))
    if not listed:
        return None
    work = "\n".join(evidence)
    best, best_key = listed[0], (0, 0)
    for tag in sorted(listed, key=len, reverse=True):  # "dark comedy" before "comedy"
        pattern = re.compile(r"(?<![\w-])" + re.escape(tag) + r"(?![\w-])", re.IGNORECASE)
        hits = [m.start() for m in pattern.finditer(work)]
        if hits:
            key = (len(hits), -hits[0])
            if key > best_key:
                best, best_key = tag, key
            work = pattern.sub(lambda m: " " * len(m.group(0)), work)
    return best
