"""Simulated Ranking-TAGER experiments: one simulated user interacting with one method."""

from __future__ import annotations

import json
import re
import resource
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.runnables import Runnable
from tqdm.auto import tqdm

from langchain_premium.evaluation.embedding_cache import CachedEmbeddings, shared_embeddings
from langchain_premium.evaluation.metrics import (
    accuracy,
    accuracy_at_1,
    mean_std,
    style_accuracy,
    win_rate,
)
from langchain_premium.memory import SQLiteMemory
from langchain_premium.methods import build_method
from langchain_premium.simulation.annotators import AnnotatorParseError, BaseAnnotator, EmbeddingAnnotator
from langchain_premium.simulation.queries import load_queries
from langchain_premium.simulation.users import SimulatedUser, UserTags
from langchain_premium.tags import DEFAULT_BINARY_PAIRS, TagLibrary
from langchain_premium.threads import limit_threads
from langchain_premium.utils import check_random_state, child_seed

__all__ = [
    "Setup",
    "UserRun",
    "Variant",
    "DEFAULT_VARIANTS",
    "expansion",
    "extra_tags",
    "is_tag_based",
    "make_library",
    "make_user",
    "run_experiment",
    "run_user",
    "summarize",
    "training_order",
    "win_rate_against",
]

#: The method every other method's win rate is judged against (the paper's Win Rate).
REFERENCE_METHOD = "premium-embed"


@dataclass(frozen=True)
class Setup:
    """A Ranking-TAGER setup "k/n": k tags per User Tag Set and per candidate, n library tags.

    Example:
        >>> Setup.parse("3/50"), str(Setup(2, 100))
        (Setup(k=3, n=50), '2/100')
    """

    k: int
    n: int

    @classmethod
    def parse(cls, text: Union[str, "Setup"]) -> "Setup":
        if isinstance(text, Setup):
            return text
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
        if not match:
            raise ValueError(f"a setup looks like '3/50' (k tags of a library of n), got {text!r}")
        k, n = int(match.group(1)), int(match.group(2))
        if not 0 < k < n:
            raise ValueError(f"a setup needs 0 < k < n, got {text!r}")
        return cls(k, n)

    def __str__(self) -> str:
        return f"{self.k}/{self.n}"


@lru_cache(maxsize=1)
def extra_tags() -> dict[str, tuple[str, ...]]:
    """The 100 tags (10 areas) written for this project to grow libraries past the paper's 193.

    Example:
        >>> sum(len(tags) for tags in extra_tags().values())
        100
    """
    text = resources.files("langchain_premium.evaluation").joinpath("data", "extra_tags.json").read_text("utf-8")
    return {area: tuple(tags) for area, tags in json.loads(text).items()}


def make_library(setup: Union[str, Setup], *, seed: int, binary: bool = False) -> TagLibrary:
    """The library of a setup: the first n tags of a seeded shuffle of the paper's 193 tags,
    followed (for n > 193) by a seeded shuffle of :func:`extra_tags`.

    Libraries of the same seed are nested (the 100-tag library is the start of the 200-tag
    one), which is how an experiment expands its library without retraining.

    Example:
        >>> small, large = make_library("2/100", seed=0), make_library("3/200", seed=0)
        >>> large.tags[:100] == small.tags, len(large)
        (True, 200)
    """
    setup = Setup.parse(setup)
    rng = check_random_state(child_seed(seed, "library"))
    default = TagLibrary.default()
    extra_areas = {tag: area for area, tags in extra_tags().items() for tag in tags}
    pool = [default.tags[i] for i in rng.permutation(len(default))]
    extras = list(extra_areas)
    pool += [extras[i] for i in rng.permutation(len(extras))]
    if setup.n > len(pool):
        raise ValueError(f"setup {setup} asks for {setup.n} tags; at most {len(pool)} are available")
    tags = pool[: setup.n]
    areas = {tag: extra_areas.get(tag) or default.area(tag) for tag in tags}
    return TagLibrary(tags, areas=areas, binary_pairs=DEFAULT_BINARY_PAIRS if binary else ())


def make_user(library: TagLibrary, k: int, *, seed: int, **options: Any) -> SimulatedUser:
    """The simulated user of bench seed ``seed`` (``options``: ``change_at`` and the other
    :class:`SimulatedUser` options)."""
    return SimulatedUser(library, k, seed=child_seed(seed, "user"), user_id=f"user-{seed}", **options)


def training_order(queries: Sequence[str], *, seed: int) -> list[str]:
    """``queries`` in the order the user of bench seed ``seed`` meets them in training."""
    order = check_random_state(child_seed(seed, "queries")).permutation(len(queries))
    return [queries[i] for i in order]


@dataclass(frozen=True)
class Variant:
    """A row of a results table: a registered method (see ``METHODS``) with build options.

    Args:
        name: the label in tables and plots.
        method: the ``METHODS`` key to build.
        options: extra keyword arguments for ``build_method`` (e.g. ``update_every`` or
            ``selector_options={"entropy_weight": 0}``).
        train_at_end: train once after the last interaction (with ``update_every=0``: the
            "without online learning" ablation).
        co_users: other simulated users (own tags, own query order) who interact with the same
            method instance before each of the evaluated user's interactions: the population a
            pooled method learns from (the paper pools 10 users for Population-Based Alignment).

    Example:
        >>> Variant("no-entropy", "premium-embed", {"selector_options": {"entropy_weight": 0.0}})
        Variant(name='no-entropy', method='premium-embed', options={'selector_options': {'entropy_weight': 0.0}}, train_at_end=False, co_users=0)
    """

    name: str
    method: str
    options: Mapping[str, Any] = field(default_factory=dict)
    train_at_end: bool = False
    co_users: int = 0

    @classmethod
    def of(cls, method: Union[str, "Variant"]) -> "Variant":
        """``method`` itself, the default variant of a ``METHODS`` name (see
        :data:`DEFAULT_VARIANTS`), or a plain variant of it."""
        if isinstance(method, Variant):
            return method
        return DEFAULT_VARIANTS.get(method) or cls(method, method)


#: How a method runs when a table names it: Population-Based Alignment pools 10 users (the
#: evaluated one and 9 others) and retrains its pool once per round of their rankings.
DEFAULT_VARIANTS: dict[str, Variant] = {
    "population": Variant("population", "population", {"update_every": 10}, co_users=9),
}


def is_tag_based(method: Any) -> bool:
    """Whether a built method personalises by choosing tags (it has ``select_tag_sets`` and is
    not a text-profile baseline such as TidyBot or OPPU, whose tag sets are random)."""
    if not callable(getattr(method, "select_tag_sets", None)):
        return False
    try:
        from langchain_premium.baselines.profile import ProfileRunnable
    except ImportError:  # pragma: no cover - the baselines are optional here
        return True
    return not isinstance(method, ProfileRunnable)


@dataclass
class UserRun:
    """What one simulated user's interaction with one method measured.

    ``steps[i]`` interactions had happened when ``accuracy[i]`` (all candidates, exploration
    off), ``accuracy_at_1[i]`` (best candidate) and ``style_accuracy[i]`` were measured on the
    evaluation queries, against the user's preference at that moment. ``tag_probability`` and
    ``tag_selected`` and ``tag_rank`` follow every tag the user ever liked: its probability in
    ``user_profile``, the share of evaluation queries whose candidates contain it and its rank in
    the profile (1 = most likely); ``None`` before the tag exists. Accuracies are ``None`` for methods that do not select tags.
    """

    method: str
    setup: str
    seed: int
    m: int
    n_interactions: int
    user_tags: list[str]
    final_tags: list[str]
    final_styles: list[str]
    ever_liked: list[str]
    steps: list[int] = field(default_factory=list)
    accuracy: list[Optional[float]] = field(default_factory=list)
    accuracy_at_1: list[Optional[float]] = field(default_factory=list)
    style_accuracy: list[Optional[float]] = field(default_factory=list)
    tag_probability: dict[str, list[Optional[float]]] = field(default_factory=dict)
    tag_selected: dict[str, list[Optional[float]]] = field(default_factory=dict)
    tag_rank: dict[str, list[Optional[int]]] = field(default_factory=dict)
    eval_queries: list[str] = field(default_factory=list)
    best_answers: list[str] = field(default_factory=list)
    win_rate: Optional[float] = None
    annotator_agreement: Optional[float] = None
    skipped_rankings: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    peak_memory_mb: float = 0.0
    error: Optional[str] = None

    def value(self, metric: str, step: Optional[int] = None) -> Optional[float]:
        """``metric`` ("accuracy", "accuracy_at_1", "style_accuracy") after ``step``
        interactions (default: the last measurement); ``"win_rate"`` ignores ``step``."""
        if metric == "win_rate":
            return self.win_rate
        values = getattr(self, metric)
        if not self.steps:
            return None
        return values[-1] if step is None else values[self.steps.index(step)]

    def to_dict(self, *, answers: bool = False) -> dict:
        data = asdict(self)
        if not answers:
            data.pop("best_answers")
            data.pop("eval_queries")
        return data


def expansion(
    setup: Union[str, Setup], expand_to: Union[str, Setup], *, seed: int, binary: bool = False,
) -> tuple[list[str], list[str]]:
    """The tags the seed's library gains when it grows from ``setup`` to ``expand_to``, and the
    ``k_new - k`` of them the user comes to like (Figure 4).

    Example:
        >>> added, liked = expansion("2/100", "3/200", seed=0)
        >>> len(added), len(liked), liked[0] in added
        (100, 1, True)
    """
    setup, target = Setup.parse(setup), Setup.parse(expand_to)
    if target.n <= setup.n or target.k < setup.k:
        raise ValueError(f"cannot expand {setup} to {target}: the library and k must not shrink")
    added = list(make_library(target, seed=seed, binary=binary).tags[setup.n:])
    pick = check_random_state(child_seed(seed, "new-user-tags")).choice(
        len(added), size=target.k - setup.k, replace=False)
    return added, [added[i] for i in pick]


def run_user(
    method: Union[str, Variant],
    setup: Union[str, Setup],
    *,
    n_interactions: int,
    seed: int,
    annotator: Optional[BaseAnnotator] = None,
    eval_every: Optional[int] = None,
    eval_queries: Optional[Sequence[str]] = None,
    train_queries: Optional[Sequence[str]] = None,
    task: str = "routine_writing",
    m: int = 3,
    binary: bool = False,
    change_at: Optional[int] = None,
    n_changed: int = 2,
    n_styles_changed: int = 0,
    expand_at: Optional[int] = None,
    expand_to: Union[str, Setup, None] = None,
    llm: Optional[Runnable] = None,
    embeddings: Optional[Embeddings] = None,
    answers: bool = True,
    progress: bool = False,
    after_ranking: Optional[Callable[[int, Runnable, str, UserTags], None]] = None,
) -> UserRun:
    """One simulated user interacts ``n_interactions`` times with one method; measure it.

    The method is built with ``build_method`` on a fresh in-memory
    ``SQLiteMemory(store_text=True)`` and the library of ``setup`` (:func:`make_library`). Each interaction invokes it on the next
    training query (a seeded order of the task's train split, cycled), has the ``annotator``
    rank the m answers for the user's current preference and sends that ranking as feedback
    (an annotator output that cannot be parsed skips the feedback and is counted). Before the
    first interaction, every ``eval_every`` interactions and after the last, Accuracy and
    Accuracy@1 are measured on ``eval_queries`` with ``select_tag_sets(..., explore=False)``.
    After the last interaction the best answer to each evaluation query is kept (``answers``)
    for :func:`win_rate_against`.

    A method whose selector is ``feedback_free`` (vanilla, RALM) is not asked the training
    queries: no ranking could change what it selects.

    Everything random (library, user, query order, method, annotator noise) derives from
    ``seed``, so two methods run with the same seed meet the same user on the same library.

    Args:
        method: a ``METHODS`` name or a :class:`Variant`.
        setup: ``"3/50"`` (k/n) or a :class:`Setup`.
        n_interactions: rankings the user gives.
        seed: the run's seed.
        annotator: who ranks (default :class:`EmbeddingAnnotator` on ``embeddings``).
        eval_every: measure every this many interactions (``None``: before and after only);
            also at ``change_at`` and ``expand_at``.
        eval_queries / train_queries: default the task's test / train split.
        task: the shipped query set (``routine_writing``, ``story_generation``,
            ``instruction_following``).
        m: candidates per query.
        binary: add the paper's four binary style pairs to the library.
        change_at, n_changed, n_styles_changed: the user's preference changes (Figure 3).
        expand_at, expand_to: at interaction ``expand_at`` the library grows to the setup
            ``expand_to`` (same seed, so the old tags stay), the candidates get its k, and the
            user gains ``k_new - k`` of the new tags (Figure 4).
        llm: the chat model (default ``OfflineChatModel``).
        embeddings: the shared encoder (default :func:`shared_embeddings`).
        answers: generate the final best answers for win rates.
        progress: show a progress bar over the interactions.
        after_ranking: called after each of the user's interactions (not the co-users') with
            the number of interactions so far, the method (a ``PremiumRunnable`` for a
            tag-based method), the user's id and the preference that ranked it: a benchmark
            reads the user's state there, between rankings, without copying this loop.

    Example:
        >>> run = run_user("premium-embed", "3/50", n_interactions=30, seed=0, eval_every=10)  # doctest: +SKIP
        >>> run.steps, run.accuracy  # doctest: +SKIP
        ([0, 10, 20, 30], [0.05, 0.12, 0.2, 0.28])
    """
    variant = Variant.of(method)
    setup = Setup.parse(setup)
    if n_interactions < 0:
        raise ValueError(f"n_interactions must be >= 0, got {n_interactions}")
    if eval_every is not None and eval_every < 1:
        raise ValueError(f"eval_every must be a positive number of interactions, got {eval_every}")
    if (expand_at is None) != (expand_to is None):
        raise ValueError("expand_at and expand_to go together")
    cpu0, wall0 = time.process_time(), time.perf_counter()

    embeddings = embeddings if embeddings is not None else shared_embeddings()
    annotator = annotator if annotator is not None else EmbeddingAnnotator(embeddings)
    queries = load_queries(task) if eval_queries is None or train_queries is None else None
    eval_queries = list(eval_queries if eval_queries is not None else queries.test)
    train_pool = list(train_queries if train_queries is not None else queries.train)
    if not eval_queries or not train_pool:
        raise ValueError("need at least one training and one evaluation query")
    train = training_order(train_pool, seed=seed)

    library = make_library(setup, seed=seed, binary=binary)
    user = make_user(library, setup.k, seed=seed, change_at=change_at, n_changed=n_changed,
                     n_styles_changed=n_styles_changed)
    new_tags, later_tags = expansion(setup, expand_to, seed=seed, binary=binary) if expand_to is not None else ([], [])
    if isinstance(embeddings, CachedEmbeddings):
        embeddings.warm(list(dict.fromkeys([*train[:n_interactions], *eval_queries, *library.all_tags, *new_tags])))

    from langchain_premium.offline import OfflineChatModel

    # Text is kept so the baselines that need it (TidyBot, OPPU, PREMIUM-Prompt) can run;
    # PREMIUM-Embed never reads it.
    premium = build_method(
        variant.method, llm if llm is not None else OfflineChatModel(), tag_library=library,
        memory=SQLiteMemory(store_text=True), embeddings=embeddings, k=setup.k, m=m,
        seed=child_seed(seed, "method"), **dict(variant.options),
    )
    user_id = user.user_id
    tag_based = is_tag_based(premium)
    # Vanilla and RALM select the same whatever the user ranks: their rankings would change
    # nothing but the bench's running time, so they are not asked for.
    feedback_free = tag_based and getattr(premium.selector, "feedback_free", False) and not variant.co_users
    co_users = [
        (SimulatedUser(library, setup.k, seed=child_seed(seed, "co-user", str(i)), user_id=f"user-{seed}-co{i}"),
         [train_pool[j] for j in check_random_state(child_seed(seed, "co-queries", str(i))).permutation(len(train_pool))])
        for i in range(variant.co_users)
    ]
    has_profile = callable(getattr(premium, "user_profile", None))
    # Also measure exactly when the preference changes or the library grows.
    eval_steps = _eval_steps(n_interactions, eval_every) | {
        s for s in (change_at, expand_at) if s is not None and s < n_interactions}
    run = UserRun(
        method=variant.name, setup=str(setup), seed=seed, m=m, n_interactions=n_interactions,
        user_tags=list(user.tags), final_tags=[], final_styles=[], ever_liked=[],
        eval_queries=eval_queries,
    )
    liked = list(dict.fromkeys([*user.ever_liked, *later_tags]))
    run.tag_probability = {tag: [] for tag in liked}
    run.tag_selected = {tag: [] for tag in liked}
    run.tag_rank = {tag: [] for tag in liked}
    noise = check_random_state(child_seed(seed, "annotator"))
    agreement_tasks: list[tuple[str, list[str], UserTags]] = []
    track_agreement = callable(getattr(annotator, "agreement_with_noiseless", None))

    def interact(who: str, query: str, prefs: UserTags) -> None:
        result = premium.invoke(query, config={"configurable": {"user_id": who}})
        try:
            ranking = annotator.rank(query, result.texts, prefs, rng=noise)
        except AnnotatorParseError:
            run.skipped_rankings += 1
            return
        result.feedback(ranking)
        if track_agreement and len(result.texts) > 1 and who == user_id:
            agreement_tasks.append((query, result.texts, prefs))

    def evaluate(step: int) -> None:
        prefs = user.at(step)
        run.steps.append(step)
        selections = (
            [premium.select_tag_sets(q, user_id=user_id, explore=False) for q in eval_queries]
            if tag_based else None
        )
        run.accuracy.append(accuracy(selections, prefs.tags) if selections else None)
        run.accuracy_at_1.append(accuracy_at_1(selections, prefs.tags) if selections else None)
        run.style_accuracy.append(style_accuracy(selections, prefs.styles) if selections and prefs.styles else None)
        profile = premium.user_profile(user_id).tags if has_profile else {}
        rank = {tag: i + 1 for i, tag in enumerate(profile)}
        for tag in liked:
            known = tag in library  # a tag of a later expansion does not exist yet
            run.tag_probability[tag].append(profile.get(tag) if known and has_profile else None)
            run.tag_rank[tag].append(rank.get(tag) if known else None)
            run.tag_selected[tag].append(
                float(np.mean([any(tag in s.tags for s in sets) for sets in selections]))
                if known and selections else None)

    try:
        for step in tqdm(range(n_interactions), desc=f"{variant.name} {setup} seed {seed}",
                         leave=False, disable=not progress):
            if step == expand_at:
                library.add(new_tags)
                user.add_tags(later_tags, at=step)
                if hasattr(premium, "k"):
                    premium.k = Setup.parse(expand_to).k  # candidates grow with the user's tag set
            if step in eval_steps:
                evaluate(step)
            if feedback_free:
                continue
            for other, their_queries in co_users:
                interact(other.user_id, their_queries[step % len(their_queries)], other.at(step))
            interact(user_id, train[step % len(train)], user.at(step))
            if after_ranking is not None:
                after_ranking(step + 1, premium, user_id, user.at(step))
        if variant.train_at_end:
            premium.train(user_id)
        evaluate(n_interactions)
        if answers:
            config = {"configurable": {"user_id": user_id, "explore": False}}
            run.best_answers = [premium.invoke(q, config=config).best.text for q in eval_queries]
            texts_read = getattr(annotator, "texts_read", None)
            if isinstance(embeddings, CachedEmbeddings) and callable(texts_read):
                embeddings.warm(texts_read(run.best_answers))  # one batch for the win rates
    finally:
        premium.memory.close()
    final = user.at(n_interactions)
    run.final_tags, run.final_styles = list(final.tags), list(final.styles)
    run.ever_liked = liked
    if agreement_tasks:
        run.annotator_agreement = annotator.agreement_with_noiseless(agreement_tasks)
    run.cpu_seconds = time.process_time() - cpu0
    run.wall_seconds = time.perf_counter() - wall0
    # ru_maxrss is the process's high-water mark (kB on Linux), not this run's alone.
    run.peak_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return run


def _eval_steps(n_interactions: int, eval_every: Optional[int]) -> set[int]:
    steps = {0, n_interactions}
    if eval_every:
        steps.update(range(0, n_interactions, eval_every))
    return steps


def win_rate_against(
    run: UserRun,
    reference: UserRun,
    annotator: BaseAnnotator,
    *,
    seed: Optional[int] = None,
) -> float:
    """The share of evaluation queries on which ``annotator`` prefers ``run``'s best answer to
    ``reference``'s (the paper's Win Rate: 50% means as good as the reference).

    Both runs must come from the same user (same setup and seed). Identical answers count as
    a tie (0.5) without asking the annotator.

    Example:
        >>> win_rate_against(vanilla_run, embed_run, EmbeddingAnnotator())  # doctest: +SKIP
        0.15
    """
    if (run.setup, run.seed) != (reference.setup, reference.seed):
        raise ValueError(
            f"win rates compare the same user: {run.setup}/seed {run.seed} vs "
            f"{reference.setup}/seed {reference.seed}"
        )
    if not run.best_answers or len(run.best_answers) != len(reference.best_answers):
        raise ValueError("both runs need their best answers (run_user(..., answers=True))")
    prefs = UserTags(tuple(run.final_tags), tuple(run.final_styles))
    rng = check_random_state(child_seed(run.seed if seed is None else seed, "win-rate"))
    outcomes = []
    for query, mine, theirs in zip(run.eval_queries, run.best_answers, reference.best_answers):
        if mine == theirs:
            outcomes.append(0.5)
        else:
            try:
                outcomes.append(float(annotator.prefer(query, mine, theirs, prefs, rng=rng)))
            except AnnotatorParseError:
                continue
    return win_rate(outcomes)


def run_experiment(
    methods: Sequence[Union[str, Variant]],
    setup: Union[str, Setup],
    *,
    seeds: Sequence[int],
    annotator: Optional[BaseAnnotator] = None,
    win_rates: bool = True,
    reference: Union[str, Variant] = REFERENCE_METHOD,
    on_error: str = "raise",
    n_jobs: int = 1,
    torch_threads: Optional[int] = 1,
    progress: bool = True,
    callback: Optional[Callable[[UserRun], None]] = None,
    **run_options: Any,
) -> list[UserRun]:
    """Run every method for every seed (one simulated user per seed) and fill in win rates
    against ``reference`` (run as well when it is not among ``methods``, but not returned).

    Args:
        methods: ``METHODS`` names or :class:`Variant`s.
        setup: the setup for every run.
        seeds: one run per method per seed; the same seed gives the same user to each method.
        annotator: shared by every run (default :class:`EmbeddingAnnotator`).
        win_rates: compute each run's win rate against the reference's run of the same seed.
        on_error: ``"raise"``, or ``"record"`` a failing run (its ``error`` is set) and go on.
        n_jobs: worker processes (one seed per task). Each worker loads the encoder once;
            the annotator, the options and the chat model must then be picklable.
        torch_threads: torch and BLAS threads per worker process (``None``: leave their
            defaults; see :func:`~langchain_premium.threads.limit_threads`). One thread per
            process is fastest for these small models, much faster on a busy machine, and keeps
            a worker's rounding from depending on the seeds it ran before; in-process runs
            (``n_jobs=1``) leave the caller's setting alone.
        progress: one progress bar over all runs.
        callback: called with each finished run, in seed order.
        run_options: passed on to :func:`run_user` (``n_interactions`` is required).

    Example:
        >>> runs = run_experiment(["premium-embed", "vanilla"], "3/50", seeds=range(3),
        ...                       n_interactions=30)  # doctest: +SKIP
        >>> [(r.method, r.seed, r.win_rate) for r in runs]  # doctest: +SKIP
    """
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}")
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be at least 1, got {n_jobs}")
    variants = [Variant.of(m) for m in methods]
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"method names must be unique, got {names}")
    ref = Variant.of(reference)
    todo = variants + ([ref] if win_rates and ref.name not in names else [])
    task = _SeedTask(tuple(todo), str(Setup.parse(setup)), annotator, win_rates, ref.name, on_error, run_options)
    runs: list[UserRun] = []
    bar = tqdm(total=len(todo) * len(seeds), desc=f"runs {Setup.parse(setup)}", disable=not progress)

    def collect(by_name: dict[str, UserRun]) -> None:
        bar.update(len(by_name))
        for name in names:
            runs.append(by_name[name])
            if callback:
                callback(by_name[name])

    try:
        if n_jobs == 1:
            for seed in seeds:
                bar.set_postfix_str(f"seed {seed}")
                collect(task(seed))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # "spawn": a fresh interpreter per worker (forking a process that holds torch
            # threads and SQLite connections is unsafe).
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(n_jobs, mp_context=context, initializer=_init_worker,
                                     initargs=(torch_threads,)) as pool:
                for by_name in pool.map(task, seeds):
                    collect(by_name)
    finally:
        bar.close()
    return runs


def _init_worker(torch_threads: Optional[int]) -> None:
    if torch_threads:
        limit_threads(torch_threads)  # for the worker's lifetime


@dataclass(frozen=True)
class _SeedTask:
    """Every method's run for one seed, then their win rates (picklable, for worker processes)."""

    variants: tuple[Variant, ...]
    setup: str
    annotator: Optional[BaseAnnotator]
    win_rates: bool
    reference: str
    on_error: str
    run_options: Mapping[str, Any]

    def __call__(self, seed: int) -> dict[str, UserRun]:
        annotator = self.annotator
        if annotator is None:
            annotator = EmbeddingAnnotator(self.run_options.get("embeddings"))
        by_name: dict[str, UserRun] = {}
        for variant in self.variants:
            try:
                run = run_user(variant, self.setup, seed=seed, annotator=annotator,
                               answers=self.win_rates, **self.run_options)
            except Exception as exc:  # noqa: BLE001 - recorded for the report when asked to
                if self.on_error == "raise":
                    raise
                run = UserRun(method=variant.name, setup=self.setup, seed=seed,
                              m=self.run_options.get("m", 3),
                              n_interactions=self.run_options.get("n_interactions", 0),
                              user_tags=[], final_tags=[], final_styles=[], ever_liked=[],
                              error=f"{type(exc).__name__}: {exc}")
            by_name[variant.name] = run
        reference = by_name.get(self.reference)
        if self.win_rates and reference is not None and reference.error is None:
            for run in by_name.values():
                if run.error is None and run.best_answers:
                    run.win_rate = win_rate_against(run, reference, annotator)
        return by_name


def summarize(runs: Sequence[UserRun], metric: str, step: Optional[int] = None):
    """Mean and spread of ``metric`` over ``runs`` (see :meth:`UserRun.value`)."""
    return mean_std(r.value(metric, step) for r in runs if r.error is None)
