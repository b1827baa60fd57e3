"""LaMP-2 personalised movie tagging: the 15 tags, a strict reader for its files, and its metrics."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Union

from sklearn.metrics import accuracy_score, f1_score

__all__ = [
    "LAMP2_TAGS",
    "LAMP2_TASK",
    "LaMP2FormatError",
    "ProfileItem",
    "LaMP2Example",
    "lamp2_description",
    "normalize_lamp2_answer",
    "load_lamp2",
    "load_lamp2_fixture",
    "lamp2_scores",
]

LAMP2_TAGS: tuple[str, ...] = (
    "sci-fi",
    "based on a book",
    "comedy",
    "action",
    "twist ending",
    "dystopia",
    "dark comedy",
    "classic",
    "psychology",
    "fantasy",
    "romance",
    "thought-provoking",
    "social commentary",
    "violence",
    "true story",
)
"""The 15 LaMP-2 movie tags, in the benchmark's order."""

LAMP2_TASK = "LaMP_2"
"""The ``task`` value a LaMP-2 outputs file must carry."""

_TAG_SET = frozenset(LAMP2_TAGS)
_DESCRIPTION_MARKER = "description:"
# Stands in for any answer that is not a tag. It is not in LAMP2_TAGS, so it never matches a
# gold label and, because f1_score is restricted to LAMP2_TAGS, never earns a class credit.
_INVALID_ANSWER = "<not a LaMP-2 tag>"

PathLike = Union[str, os.PathLike]


class LaMP2FormatError(ValueError):
    """A LaMP-2 questions or outputs file does not follow the LaMP-2 schema."""


@dataclass(frozen=True)
class ProfileItem:
    """One movie the user tagged in the past: ``{"id", "description", "tag"}`` in LaMP-2.

    Example:
        >>> ProfileItem(id="p1", description="A heist goes wrong.", tag="action").tag
        'action'
    """

    id: str
    description: str
    tag: str


@dataclass(frozen=True)
class LaMP2Example:
    """One LaMP-2 question with its user's profile and, when known, the gold tag.

    ``input`` is the full instruction as given in the questions file; ``description`` is the
    movie description taken from it (see :func:`lamp2_description`).

    Example:
        >>> ex = load_lamp2_fixture()[0]
        >>> ex.id, ex.gold, len(ex.profile)
        ('u1-q1', 'sci-fi', 10)
    """

    id: str
    input: str
    description: str
    profile: tuple[ProfileItem, ...]
    gold: Optional[str] = None


def lamp2_description(input_text: str) -> str:
    """Return the movie description inside a LaMP-2 ``input``.

    That is the text after the last ``description:``; when the marker is absent (or nothing
    follows it) the whole input, stripped, is returned.

    Example:
        >>> lamp2_description("Which tag ...? tags: [comedy] description: A dog runs a cafe.")
        'A dog runs a cafe.'
        >>> lamp2_description("A dog runs a cafe.")
        'A dog runs a cafe.'
    """
    _, marker, after = input_text.rpartition(_DESCRIPTION_MARKER)
    if marker and after.strip():
        return after.strip()
    return input_text.strip()


def normalize_lamp2_answer(answer: object) -> Optional[str]:
    """Return ``answer`` as a LaMP-2 tag if, stripped and lower-cased, it is exactly one; else ``None``.

    No partial matching: an answer that merely contains a tag is not a tag.

    Example:
        >>> normalize_lamp2_answer("  Sci-Fi\\n")
        'sci-fi'
        >>> normalize_lamp2_answer("sci-fi.") is None
        True
        >>> normalize_lamp2_answer("The tag is comedy") is None
        True
    """
    if not isinstance(answer, str):
        return None
    candidate = answer.strip().lower()
    return candidate if candidate in _TAG_SET else None


# --------------------------------------------------------------------------- reading files


def _read_json(path: Path, what: str) -> Any:
    if not path.exists():
        raise FileNotFoundError(f"LaMP-2 {what} file not found: {path}")
    if not path.is_file():
        raise LaMP2FormatError(f"LaMP-2 {what} path is not a file: {path}")
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise LaMP2FormatError(
            f"LaMP-2 {what} file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None


def _field(item: Any, key: str, kind: type, where: str) -> Any:
    """Return ``item[key]``, checking ``item`` is an object and the value has type ``kind``."""
    if not isinstance(item, dict):
        raise LaMP2FormatError(f"{where} must be a JSON object, got {type(item).__name__}")
    if key not in item:
        raise LaMP2FormatError(f"{where} is missing field {key!r}")
    value = item[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise LaMP2FormatError(
            f"{where}: field {key!r} must be a {kind.__name__}, got {type(value).__name__}"
        )
    return value


def _check_tag(tag: str, where: str) -> str:
    if tag not in _TAG_SET:
        raise LaMP2FormatError(
            f"{where}: unknown tag {tag!r}; LaMP-2 tags are: {', '.join(LAMP2_TAGS)}"
        )
    return tag


def _parse_profile(raw: list, question_where: str) -> tuple[ProfileItem, ...]:
    items = []
    for index, entry in enumerate(raw):
        where = f"{question_where}, profile item #{index}"
        item_id = _field(entry, "id", str, where)
        where = f"{question_where}, profile item {item_id!r}"
        description = _field(entry, "description", str, where)
        tag = _check_tag(_field(entry, "tag", str, where), where)
        items.append(ProfileItem(id=item_id, description=description, tag=tag))
    return tuple(items)


def _parse_questions(data: Any, path: Path) -> list[tuple[str, str, tuple[ProfileItem, ...]]]:
    if not isinstance(data, list):
        raise LaMP2FormatError(
            f"LaMP-2 questions file {path} must hold a JSON list of questions, got {type(data).__name__}"
        )
    if not data:
        raise LaMP2FormatError(f"LaMP-2 questions file {path} contains no questions")
    parsed = []
    seen: set[str] = set()
    for index, entry in enumerate(data):
        where = f"{path}: question #{index}"
        question_id = _field(entry, "id", str, where)
        where = f"{path}: question {question_id!r}"
        if question_id in seen:
            raise LaMP2FormatError(f"{where} appears more than once")
        seen.add(question_id)
        input_text = _field(entry, "input", str, where)
        if not input_text.strip():
            raise LaMP2FormatError(f"{where}: field 'input' is empty")
        profile = _parse_profile(_field(entry, "profile", list, where), where)
        parsed.append((question_id, input_text, profile))
    return parsed


def _parse_outputs(data: Any, path: Path, question_ids: set[str]) -> dict[str, str]:
    where = f"LaMP-2 outputs file {path}"
    task = _field(data, "task", str, where)
    if task != LAMP2_TASK:
        raise LaMP2FormatError(f"{where}: field 'task' is {task!r}, expected {LAMP2_TASK!r}")
    golds: dict[str, str] = {}
    for index, entry in enumerate(_field(data, "golds", list, where)):
        item_where = f"{path}: gold #{index}"
        gold_id = _field(entry, "id", str, item_where)
        item_where = f"{path}: gold for {gold_id!r}"
        if gold_id not in question_ids:
            raise LaMP2FormatError(f"{item_where}: no question with this id in the questions file")
        if gold_id in golds:
            raise LaMP2FormatError(f"{item_where} appears more than once")
        golds[gold_id] = _check_tag(_field(entry, "output", str, item_where), item_where)
    return golds


def load_lamp2(
    questions_path: PathLike, outputs_path: Optional[PathLike] = None
) -> list[LaMP2Example]:
    """Read a LaMP-2 questions file and, optionally, its outputs (gold tags) file.

    Questions file: a JSON list of ``{"id", "input", "profile": [{"id", "description", "tag"}]}``.
    Outputs file: ``{"task": "LaMP_2", "golds": [{"id", "output"}]}``. Examples come back in
    file order; ``gold`` is ``None`` when no outputs file is given or it has no entry for the
    question. Raises ``FileNotFoundError`` for a missing file and :class:`LaMP2FormatError`
    (a ``ValueError``) naming the file, the item id and the field for anything off-schema,
    including a tag outside :data:`LAMP2_TAGS` or a gold id with no question.

    Example:
        >>> examples = load_lamp2("dev_questions.json", "dev_outputs.json")  # doctest: +SKIP
        >>> examples[0].description, examples[0].gold  # doctest: +SKIP
        ('A cargo pilot on a mining asteroid ...', 'sci-fi')
    """
    q_path = Path(questions_path)
    questions = _parse_questions(_read_json(q_path, "questions"), q_path)
    golds: dict[str, str] = {}
    if outputs_path is not None:
        o_path = Path(outputs_path)
        golds = _parse_outputs(_read_json(o_path, "outputs"), o_path, {qid for qid, _, _ in questions})
    return [
        LaMP2Example(
            id=question_id,
            input=input_text,
            description=lamp2_description(input_text),
            profile=profile,
            gold=golds.get(question_id),
        )
        for question_id, input_text, profile in questions
    ]


def load_lamp2_fixture() -> list[LaMP2Example]:
    """Load the small synthetic LaMP-2 fixture shipped with the package (with gold tags).

    Six invented users, five questions each; every question carries its user's ten-item
    profile and each user favours two or three tags. No real LaMP-2 data is included.

    Example:
        >>> examples = load_lamp2_fixture()
        >>> len(examples), sorted({ex.id.split("-")[0] for ex in examples})[:2]
        (30, ['u1', 'u2'])
    """
    fixture_dir = resources.files("langchain_premium.evaluation").joinpath("data", "lamp2")
    with resources.as_file(fixture_dir) as folder:
        return load_lamp2(folder / "questions.json", folder / "outputs.json")


# --------------------------------------------------------------------------- metrics


def lamp2_scores(predictions: Sequence[str], golds: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 of predicted tags against gold tags, as LaMP-2 scores them.

    A prediction counts only if, after ``.strip().lower()``, it is exactly one of
    :data:`LAMP2_TAGS`; anything else (extra words, punctuation, ``None``) is wrong. Macro-F1 is
    averaged over all 15 tags (``f1_score(average="macro", labels=LAMP2_TAGS)``), so a tag that
    appears in neither golds nor predictions contributes 0. Raises ``ValueError`` when the
    lengths differ, when there is nothing to score, or when a gold is not a tag.

    Example:
        >>> lamp2_scores(["comedy", "Sci-Fi ", "a comedy"], ["comedy", "sci-fi", "comedy"])["accuracy"]
        0.6666666666666666
    """
    for name, value in (("predictions", predictions), ("golds", golds)):
        if isinstance(value, (str, bytes)):
            raise TypeError(f"{name} must be a sequence of tag strings, not a single string")
    predictions, golds = list(predictions), list(golds)
    if len(predictions) != len(golds):
        raise ValueError(
            f"predictions and golds differ in length: {len(predictions)} predictions, {len(golds)} golds"
        )
    if not golds:
        raise ValueError("cannot score LaMP-2 on zero examples")
    gold_labels = []
    for index, gold in enumerate(golds):
        label = normalize_lamp2_answer(gold)
        if label is None:
            raise ValueError(
                f"gold #{index} is {gold!r}, which is not a LaMP-2 tag; tags are: {', '.join(LAMP2_TAGS)}"
            )
        gold_labels.append(label)
    predicted = [normalize_lamp2_answer(p) or _INVALID_ANSWER for p in predictions]
    accuracy = accuracy_score(gold_labels, predicted)
    macro_f1 = f1_score(
        gold_labels, predicted, labels=list(LAMP2_TAGS), average="macro", zero_division=0
    )
    return {"accuracy": float(accuracy), "f1": float(macro_f1)}
