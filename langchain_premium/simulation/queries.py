"""Shipped user-query sets (train/validation/test) for the three Ranking-TAGER-style task styles."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

__all__ = ["TASK_STYLES", "SPLIT_NAMES", "QuerySet", "load_queries"]

TASK_STYLES: tuple[str, ...] = ("routine_writing", "story_generation", "instruction_following")
"""The task styles with a shipped query set, in the paper's order (RW, SG, IF)."""

SPLIT_NAMES: tuple[str, ...] = ("train", "validation", "test")
"""The names accepted by :meth:`QuerySet.split`, in file order."""

SplitName = Literal["train", "validation", "test"]

_DATA_PACKAGE = "langchain_premium.simulation"
_DATA_DIR = "data"


def _check_queries(queries: Any, *, where: str) -> tuple[str, ...]:
    """Return ``queries`` as a tuple of non-blank strings, or raise naming ``where``."""
    if isinstance(queries, (str, bytes)) or not isinstance(queries, Sequence):
        raise ValueError(f"{where} must be a list of strings, got {type(queries).__name__}")
    checked = []
    for index, query in enumerate(queries):
        if not isinstance(query, str):
            raise ValueError(f"{where}[{index}] must be a string, got {type(query).__name__}")
        if not query.strip():
            raise ValueError(f"{where}[{index}] is an empty query")
        checked.append(query)
    return tuple(checked)


@dataclass(frozen=True)
class QuerySet:
    """The queries of one task style, split into fixed train/validation/test parts.

    Construction validates the parts: every query is a non-blank string and no query
    appears twice anywhere in the set (compared after trimming and lower-casing).

    Example:
        >>> qs = QuerySet("demo", train=["a?", "b?"], validation=["c?"], test=["d?"])
        >>> qs.split("validation")
        ('c?',)
        >>> len(qs)
        4
    """

    style: str
    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.style, str) or not self.style.strip():
            raise ValueError(f"QuerySet style must be a non-empty string, got {self.style!r}")
        seen: dict[str, str] = {}
        for name in SPLIT_NAMES:
            queries = _check_queries(getattr(self, name), where=f"{self.style}.{name}")
            object.__setattr__(self, name, queries)
            for index, query in enumerate(queries):
                key = " ".join(query.lower().split())
                here = f"{name}[{index}]"
                if key in seen:
                    raise ValueError(
                        f"duplicate query in {self.style!r}: {here} repeats {seen[key]}: {query!r}"
                    )
                seen[key] = here

    def split(self, name: SplitName | str) -> tuple[str, ...]:
        """Return the queries of split ``name`` (``"train"``, ``"validation"`` or ``"test"``).

        Example:
            >>> load_queries("story_generation").split("test")[0]  # doctest: +ELLIPSIS
            '...'
        """
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}; valid splits are: {', '.join(SPLIT_NAMES)}")
        return getattr(self, name)

    @property
    def all_queries(self) -> tuple[str, ...]:
        """Every query: train, then validation, then test."""
        return self.train + self.validation + self.test

    def __len__(self) -> int:
        return len(self.train) + len(self.validation) + len(self.test)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "query set") -> "QuerySet":
        """Build a query set from ``{"style", "train", "validation", "test"}``.

        ``source`` names where the data came from in error messages.

        Example:
            >>> QuerySet.from_dict({"style": "x", "train": ["q1"], "validation": [], "test": []}).train
            ('q1',)
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"{source}: expected a JSON object, got {type(data).__name__}")
        missing = [key for key in ("style", *SPLIT_NAMES) if key not in data]
        if missing:
            raise ValueError(f"{source}: missing field(s) {', '.join(missing)}")
        try:
            return cls(
                style=data["style"],
                train=data["train"],
                validation=data["validation"],
                test=data["test"],
            )
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None


@lru_cache(maxsize=None)
def _load_packaged(style: str) -> QuerySet:
    resource = resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR, f"{style}.json")
    source = f"{_DATA_DIR}/{style}.json"
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"packaged query file {source} is missing from {_DATA_PACKAGE}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source} is not valid JSON: {exc}") from None
    query_set = QuerySet.from_dict(data, source=source)
    if query_set.style != style:
        raise ValueError(f"{source} declares style {query_set.style!r}, expected {style!r}")
    return query_set


def load_queries(style: str) -> QuerySet:
    """Load the shipped query set of one task style (120 train / 40 validation / 40 test).

    ``style`` is one of :data:`TASK_STYLES`. The result is immutable and cached.

    Example:
        >>> qs = load_queries("instruction_following")
        >>> len(qs.train), len(qs.validation), len(qs.test)
        (120, 40, 40)
    """
    if style not in TASK_STYLES:
        raise ValueError(f"unknown task style {style!r}; valid styles are: {', '.join(TASK_STYLES)}")
    return _load_packaged(style)
