"""Reading the LLM candidate generator's answer: parse, validate against the library, repair."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import combinations
from typing import Sequence

from langchain_premium.errors import PremiumError

__all__ = [
    "CandidateCheck",
    "InvalidCandidatesError",
    "check_candidates",
    "parse_candidate_output",
    "repair_candidates",
]

_SET_LINE = re.compile(r"^[\s*#>-]*\(?\s*tag\s+set\s*(\d+)\s*\)?\s*[:.\-]?\s*(?P<items>.*)$",
                       re.IGNORECASE)
_END = re.compile(r"\(\s*the\s+end\s+of\s+answer\s*\)", re.IGNORECASE)


class InvalidCandidatesError(PremiumError, ValueError):
    """The candidate generator's answer cannot be turned into m valid tag sets (and repairing
    was not allowed)."""


@dataclass(frozen=True)
class CandidateCheck:
    """The outcome of checking one answer: the valid sets (when there are no errors), the
    problems found, and the tags that are not in the library.

    Example:
        >>> check = check_candidates([["Yoga", "Jazz"]], ["Yoga", "Running"], k=2, m=1)
        >>> check.ok, check.unknown, check.errors
        (False, ('Jazz',), ["tag set 1: 'Jazz' is not in the Tag Library"])
    """

    sets: tuple[tuple[str, ...], ...]
    errors: list[str] = field(default_factory=list)
    unknown: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def _norm(text: str) -> str:
    return " ".join(text.strip().strip("'\"`*").strip().split()).casefold()


def _split_tags(items: str, known: dict[str, str]) -> list[str]:
    """Split a comma-separated list, re-joining pieces when the joined text is a library tag
    (so a tag that itself contains a comma survives)."""
    items = items.strip().strip("[]{}").strip().rstrip(".")
    pieces = [p.strip() for p in items.split(",")]
    out, i = [], 0
    while i < len(pieces):
        for j in range(len(pieces), i + 1, -1):
            if _norm(", ".join(pieces[i:j])) in known:
                out.append(", ".join(pieces[i:j]))
                i = j
                break
        else:
            out.append(pieces[i])
            i += 1
    return [p for p in out if p.strip().strip("'\"`*").strip()]


def parse_candidate_output(text: str, library_tags: Sequence[str] = ()) -> list[list[str]]:
    """The tag sets written as ``(Tag Set i) a, b, c`` lines, in order, tags as written.

    Lines after ``(The End of Answer)`` are ignored; an answer without any such line gives
    ``[]``.

    Example:
        >>> parse_candidate_output("(Explanation) ...\\n(Tag Set 1) Yoga, Running\\n"
        ...                        "(Tag Set 2) Jazz\\n(The End of Answer)")
        [['Yoga', 'Running'], ['Jazz']]
    """
    known = {_norm(t): t for t in library_tags}
    end = _END.search(text)
    body = text[: end.start()] if end else text
    sets = []
    for line in body.splitlines():
        match = _SET_LINE.match(line)
        if match:
            sets.append(_split_tags(match.group("items"), known))
    return sets


def check_candidates(
    raw_sets: Sequence[Sequence[str]], library_tags: Sequence[str], *, k: int, m: int
) -> CandidateCheck:
    """Check parsed tag sets against the library: exactly ``m`` sets of ``k`` distinct library
    tags, no two sets equal. Tags are matched ignoring case and surrounding quotes, and returned
    in the library's spelling.

    Example:
        >>> check_candidates([["yoga", "Running"], ["Running", "Yoga"]], ["Yoga", "Running"],
        ...                  k=2, m=2).errors
        ['tag sets 1 and 2 are the same']
    """
    known = {_norm(t): t for t in library_tags}
    errors: list[str] = []
    unknown: list[str] = []
    if not raw_sets:
        errors.append("no '(Tag Set N) tag, tag, ...' lines were found")
    elif len(raw_sets) != m:
        errors.append(f"expected {m} tag sets, got {len(raw_sets)}")
    sets: list[tuple[str, ...]] = []
    seen: dict[frozenset, int] = {}
    for number, raw in enumerate(raw_sets, start=1):
        tags: list[str] = []
        for tag in raw:
            canonical = known.get(_norm(tag))
            if canonical is None:
                errors.append(f"tag set {number}: {tag.strip()!r} is not in the Tag Library")
                unknown.append(tag.strip())
            elif canonical in tags:
                errors.append(f"tag set {number} repeats {canonical!r}")
            else:
                tags.append(canonical)
        if len(raw) != k:
            errors.append(f"tag set {number} has {len(raw)} tags, expected {k}")
        key = frozenset(tags)
        if tags and key in seen:
            errors.append(f"tag sets {seen[key]} and {number} are the same")
        seen.setdefault(key, number)
        sets.append(tuple(tags))
    return CandidateCheck(sets=tuple(sets) if not errors else (), errors=errors,
                          unknown=tuple(dict.fromkeys(unknown)))


def repair_candidates(
    raw_sets: Sequence[Sequence[str]],
    library_tags: Sequence[str],
    *,
    k: int,
    m: int,
    fill_order: Sequence[str],
) -> tuple[list[tuple[str, ...]], list[str], list[str]]:
    """Deterministically turn whatever was parsed into ``m`` valid sets of ``k`` tags.

    Unknown tags and repeats are dropped; sets with too many tags are cut; missing tags are
    filled from ``fill_order`` (library tags, best first, e.g. by similarity to the query);
    duplicate sets are removed and missing sets built the same way. Returns
    ``(sets, dropped, filled)``: the repaired sets and which tags were dropped or added.

    Example:
        >>> repair_candidates([["Yoga", "Jazz"]], ["Yoga", "Running", "Chess"], k=2, m=2,
        ...                   fill_order=["Chess", "Running", "Yoga"])
        ([('Yoga', 'Chess'), ('Chess', 'Running')], ['Jazz'], ['Chess', 'Chess', 'Running'])
    """
    known = {_norm(t): t for t in library_tags}
    order = [t for t in dict.fromkeys(fill_order) if t in set(library_tags)]
    order += [t for t in library_tags if t not in set(order)]
    if len(order) < k:
        raise InvalidCandidatesError(f"the Tag Library has {len(order)} tags, fewer than k={k}")
    dropped: list[str] = []
    filled: list[str] = []
    result: list[tuple[str, ...]] = []
    taken: set[frozenset] = set()

    def complete(tags: list[str]) -> None:
        for tag in order:
            if len(tags) >= k:
                break
            if tag not in tags:
                tags.append(tag)
                filled.append(tag)

    for raw in raw_sets:
        if len(result) == m:
            break
        tags: list[str] = []
        for tag in raw:
            canonical = known.get(_norm(tag))
            if canonical is None or canonical in tags or len(tags) >= k:
                dropped.append(tag.strip())
            else:
                tags.append(canonical)
        complete(tags)
        if frozenset(tags) in taken:
            dropped.extend(tags)
            continue
        taken.add(frozenset(tags))
        result.append(tuple(tags))
    # Missing sets: the next unused combinations of the fill order, best tags first.
    for combo in combinations(order, k):
        if len(result) == m:
            break
        if frozenset(combo) in taken:
            continue
        taken.add(frozenset(combo))
        filled.extend(combo)
        result.append(tuple(combo))
    if len(result) < m:
        raise InvalidCandidatesError(
            f"cannot build {m} distinct tag sets of {k} tags from a library of {len(order)}"
        )
    return result, dropped, filled
