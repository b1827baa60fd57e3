"""PREMIUM and the text baselines on LaMP-2 movie tagging (paper Appendix H, Table 3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from langchain_core.embeddings import Embeddings
from langchain_core.runnables import Runnable

from langchain_premium.baselines.profile import ProfileRunnable
from langchain_premium.evaluation.lamp2 import (
    LAMP2_TAGS,
    LaMP2Example,
    ProfileItem,
    lamp2_scores,
    normalize_lamp2_answer,
)
from langchain_premium.memory import SQLiteMemory
from langchain_premium.methods import build_method
from langchain_premium.prompts import lamp2_generation_prompt, lamp2_profile_prompt
from langchain_premium.runnable import PremiumRunnable
from langchain_premium.tags import TagLibrary

__all__ = [
    "LAMP2_METHODS",
    "build_lamp2_method",
    "lamp2_library",
    "lamp2_ranking",
    "lamp2_users",
    "predict_lamp2",
    "run_lamp2",
    "run_lamp2_table",
]

#: The rows of the paper's Table 3 (LaMP-2 columns).
LAMP2_METHODS: tuple[str, ...] = ("premium-embed", "tidybot", "oppu-k1", "oppu-k2", "oppu-k4")


def lamp2_library() -> TagLibrary:
    """The 15 LaMP-2 movie tags as a Tag Library (PREMIUM selects k = 1 of them)."""
    return TagLibrary(list(LAMP2_TAGS))


def lamp2_ranking(answers: Sequence[str], gold: str) -> Optional[list[int]]:
    """The ranking a LaMP-2 user gives: answers equal to the gold tag first (candidate order
    otherwise), or ``None`` when no answer is the gold tag (the ranking would carry no
    information, so no feedback is given).

    The ranking is about the tags the model *answered*, not the reference opinion it was given.

    Example:
        >>> lamp2_ranking(["comedy", "Sci-Fi", "action"], "sci-fi")
        [1, 0, 2]
        >>> lamp2_ranking(["comedy", "action"], "sci-fi") is None
        True
    """
    target = normalize_lamp2_answer(gold)
    if target is None:
        raise ValueError(f"the gold tag {gold!r} is not a LaMP-2 tag")
    hits = [normalize_lamp2_answer(a) == target for a in answers]
    if not any(hits):
        return None
    return sorted(range(len(answers)), key=lambda i: (not hits[i], i))


def lamp2_users(
    examples: Sequence[LaMP2Example],
) -> list[tuple[str, tuple[ProfileItem, ...], list[LaMP2Example]]]:
    """Group questions by user: questions sharing a profile belong to one user.

    Returns ``(user_id, profile, questions)`` in order of first appearance; user ids are
    ``"lamp2-user-<n>"``.

    Example:
        >>> from langchain_premium.evaluation.lamp2 import load_lamp2_fixture
        >>> [(u, len(p), len(q)) for u, p, q in lamp2_users(load_lamp2_fixture())][:2]
        [('lamp2-user-0', 10, 5), ('lamp2-user-1', 10, 5)]
    """
    groups: dict[tuple[ProfileItem, ...], list[LaMP2Example]] = {}
    for example in examples:
        groups.setdefault(tuple(example.profile), []).append(example)
    return [(f"lamp2-user-{i}", profile, questions)
            for i, (profile, questions) in enumerate(groups.items())]


def build_lamp2_method(
    method: str,
    llm: Runnable,
    *,
    memory: SQLiteMemory,
    embeddings: Optional[Embeddings] = None,
    m: int = 3,
    seed: Optional[int] = 0,
    **options: Any,
) -> Runnable:
    """Build a registered method for LaMP-2: the 15 tags as the library, k = 1.

    PREMIUM-family methods get the reference-opinion prompt (paper Table 17) and ``m``
    candidates; the text baselines (TidyBot, OPPU) get the profile-then-items-then-task prompt
    and one answer (``m = 1``), since they are only asked to predict.
    """
    library = lamp2_library()
    common = dict(tag_library=library, memory=memory, embeddings=embeddings, k=1, seed=seed)
    runnable = build_method(method, llm, m=m, prompt=lamp2_generation_prompt(LAMP2_TAGS),
                            **common, **options)
    if isinstance(runnable, ProfileRunnable):
        runnable = build_method(method, llm, m=1, prompt=lamp2_profile_prompt(LAMP2_TAGS),
                                **common, **options)
    return runnable


def predict_lamp2(
    method: str,
    examples: Sequence[LaMP2Example],
    *,
    llm: Optional[Runnable] = None,
    embeddings: Optional[Embeddings] = None,
    memory: Optional[SQLiteMemory] = None,
    m: int = 3,
    seed: Optional[int] = 0,
    epochs: int = 1,
    **options: Any,
) -> tuple[list[str], int]:
    """Train ``method`` on each user's profile items, then tag every question.

    Training (all users first, so a population method pools them all): PREMIUM-family
    methods answer each profile item's description with ``m`` candidates and receive the
    ranking of :func:`lamp2_ranking` against the item's tag (``epochs`` passes); the text
    baselines get the items as history ``(description, tag)`` and write their profile.
    Prediction: each question's description, exploration off; the prediction is the first
    candidate's answer. Returns ``(predictions, number of training rankings or history items)``.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if llm is None:
        from langchain_premium.offline import OfflineChatModel

        llm = OfflineChatModel()
    if embeddings is None:
        from langchain_premium.offline import default_embeddings

        embeddings = default_embeddings()
    memory = memory if memory is not None else SQLiteMemory(store_text=True)
    runnable = build_lamp2_method(method, llm, memory=memory, embeddings=embeddings, m=m,
                                  seed=seed, **options)
    users = lamp2_users(examples)
    trained = 0
    for user_id, profile, _ in users:
        if isinstance(runnable, ProfileRunnable):
            trained += runnable.add_history(user_id, [(p.description, p.tag) for p in profile])
            runnable.train(user_id)
        elif isinstance(runnable, PremiumRunnable):
            config = {"configurable": {"user_id": user_id}}
            for _ in range(epochs):
                for item in profile:
                    result = runnable.invoke({"query": item.description}, config=config)
                    ranking = lamp2_ranking(result.texts, item.tag)
                    if ranking is not None:
                        result.feedback(ranking)
                        trained += 1
        else:
            raise TypeError(f"method {method!r} built a {type(runnable).__name__}, which run_lamp2 "
                            "cannot train")
    predictions: dict[str, str] = {}
    for user_id, _, questions in users:
        config = {"configurable": {"user_id": user_id, "explore": False}}
        for question in questions:
            result = runnable.invoke({"query": question.description}, config=config)
            predictions[question.id] = result.best.text.strip()
    return [predictions[e.id] for e in examples], trained


def run_lamp2(
    method: str,
    examples: Sequence[LaMP2Example],
    *,
    llm: Optional[Runnable] = None,
    embeddings: Optional[Embeddings] = None,
    memory: Optional[SQLiteMemory] = None,
    m: int = 3,
    seed: Optional[int] = 0,
    epochs: int = 1,
    **options: Any,
) -> dict[str, float]:
    """Accuracy and macro-F1 of ``method`` on LaMP-2 ``examples`` (which need gold tags).

    ``method`` is any registered name (``"premium-embed"``, ``"tidybot"``, ``"oppu-k1"``, ...);
    ``llm`` defaults to the offline stand-in, ``embeddings`` to the packaged MiniLM, ``memory``
    to a fresh in-memory ``SQLiteMemory(store_text=True)``; other options go to the method's
    factory. Returns ``{"accuracy", "f1", "n", "n_train"}`` (``n_train``: training rankings for
    PREMIUM, history items for the baselines). See :func:`predict_lamp2` for the protocol.

    Example:
        >>> from langchain_premium.evaluation.lamp2 import load_lamp2_fixture
        >>> run_lamp2("tidybot", load_lamp2_fixture())  # doctest: +SKIP
        {'accuracy': 0.4, 'f1': 0.2, 'n': 30, 'n_train': 60}
    """
    golds = [e.gold for e in examples]
    missing = [e.id for e in examples if e.gold is None]
    if missing:
        raise ValueError(f"run_lamp2 needs gold tags; these questions have none: {missing[:5]}")
    if not examples:
        raise ValueError("run_lamp2 needs at least one example")
    predictions, trained = predict_lamp2(method, examples, llm=llm, embeddings=embeddings,
                                         memory=memory, m=m, seed=seed, epochs=epochs, **options)
    scores: dict[str, float] = dict(lamp2_scores(predictions, golds))
    scores["n"] = len(examples)
    scores["n_train"] = trained
    return scores


def run_lamp2_table(
    examples: Sequence[LaMP2Example],
    methods: Sequence[str] = LAMP2_METHODS,
    **kwargs: Any,
) -> dict[str, dict[str, float]]:
    """:func:`run_lamp2` for each method (each with a fresh memory): the LaMP-2 part of Table 3.

    Example:
        >>> table = run_lamp2_table(load_lamp2_fixture())  # doctest: +SKIP
        >>> sorted(table)  # doctest: +SKIP
        ['oppu-k1', 'oppu-k2', 'oppu-k4', 'premium-embed', 'tidybot']
    """
    if "memory" in kwargs:
        raise ValueError("run_lamp2_table gives each method a fresh memory; do not pass one")
    return {method: run_lamp2(method, examples, **kwargs) for method in methods}
