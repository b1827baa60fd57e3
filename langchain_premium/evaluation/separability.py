"""How well the offline judge tells a simulated user's exact tag set from its single-tag swaps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.runnables import Runnable
from tqdm.auto import tqdm

from langchain_premium.evaluation.embedding_cache import shared_embeddings
from langchain_premium.evaluation.experiment import Setup, expansion, make_library, make_user, training_order
from langchain_premium.prompts import DEFAULT_GENERATION_PROMPT, format_declared, generation_variables, output_text
from langchain_premium.simulation.annotators import EmbeddingAnnotator
from langchain_premium.simulation.queries import load_queries

__all__ = ["Separability", "swap_separability", "win_probability"]


# eq=False: the generated __eq__ would compare numpy arrays, whose truth value is ambiguous.
@dataclass(frozen=True, eq=False)
class Separability:
    """For one simulated user: how often the judge prefers the answer written for the exact
    tag set to the answer written for each single-tag swap of it.

    ``win_probability[i]`` is the mean over the queries of P(judge ranks the exact set's answer
    above ``swaps[i]``'s). A swap near 0.5 is one the judge cannot tell from the user's own
    set, so no learner can find out which of the two the user has, however many rankings.
    """

    setup: str
    seed: int
    user_tags: tuple[str, ...]
    swaps: tuple[tuple[str, ...], ...]
    win_probability: np.ndarray

    @property
    def hardest(self) -> tuple[tuple[str, ...], float]:
        """The swap the exact set beats least often, and that probability."""
        i = int(np.argmin(self.win_probability))
        return self.swaps[i], float(self.win_probability[i])

    @property
    def separable(self) -> bool:
        """Whether the exact set beats every swap more often than not."""
        return bool(np.all(self.win_probability > 0.5))


def win_probability(difference: Any, temperature: float) -> np.ndarray:
    """P(judge ranks a above b) for relevance differences ``r_a - r_b``: Plackett-Luce on two
    answers is ``sigmoid(difference / T)``; at ``T == 0``, 1 / 0.5 / 0 by the sign.

    Example:
        >>> win_probability([0.0, 1.0, -1.0], 0.0).tolist()
        [0.5, 1.0, 0.0]
    """
    difference = np.asarray(difference, dtype=np.float64)
    if temperature == 0:
        return 0.5 * (1.0 + np.sign(difference))
    return 0.5 * (1.0 + np.tanh(difference / (2.0 * temperature)))  # sigmoid without overflow


def _swaps(user_tags: tuple[str, ...], library_tags: list[str]) -> tuple[tuple[str, ...], ...]:
    # Position by position, each outside tag in library order: the swapped-in tag takes the
    # replaced one's place, so the prompt lists the tags in the same order.
    outside = [t for t in library_tags if t not in user_tags]
    return tuple(user_tags[:i] + (tag,) + user_tags[i + 1:] for i in range(len(user_tags)) for tag in outside)


def swap_separability(
    setup: Union[str, Setup],
    *,
    seed: int,
    n_queries: int = 6,
    task: str = "routine_writing",
    annotator: Optional[Any] = None,
    llm: Optional[Runnable] = None,
    embeddings: Optional[Embeddings] = None,
    expand_to: Union[str, Setup, None] = None,
    progress: bool = True,
) -> Separability:
    """How well ``annotator`` tells the bench's user of ``seed`` from its k*(n-k) single-tag swaps.

    The library and user are built as ``run_user`` builds them, so the user of seed ``s`` is
    ``premium bench``'s user of seed ``s``; the queries are the first ``n_queries`` that user
    meets in training. For each query, the answers to the exact set and to every swap (from
    ``llm`` with :data:`DEFAULT_GENERATION_PROMPT`) are judged in one ``relevance`` call, and
    each swap's win probability is ``sigmoid((r_exact - r_swap) / temperature)``. The smallest
    one bounds Accuracy@1: a swap the judge prefers half the time cannot be ruled out.

    Args:
        setup: ``"3/50"`` (k/n) or a :class:`Setup`.
        seed: the bench seed.
        n_queries: training queries to average over.
        task: the shipped query set.
        annotator: anything with ``relevance(query, answers, user_tags)`` and ``temperature``
            (default :class:`EmbeddingAnnotator` on ``embeddings``, at its default temperature).
        llm: the chat model (default ``OfflineChatModel``).
        embeddings: the default annotator's encoder (default :func:`shared_embeddings`).
        expand_to: judge the user after the library has grown to this setup, as in
            ``run_user(..., expand_to=...)`` (Figure 4): the grown library, the user's tags plus
            the new ones they come to like, and the swaps in the grown library.
        progress: show a progress bar over the queries.

    Example:
        >>> result = swap_separability("3/50", seed=0)  # doctest: +SKIP
        >>> len(result.swaps), result.hardest  # doctest: +SKIP
        (141, (('Investment', 'Energy policy', 'Pet nutrition'), 0.49))
    """
    setup = Setup.parse(setup)
    if n_queries < 1:
        raise ValueError(f"n_queries must be at least 1, got {n_queries}")
    if annotator is None:
        annotator = EmbeddingAnnotator(embeddings if embeddings is not None else shared_embeddings())
    missing = [name for name, ok in (("relevance method", callable(getattr(annotator, "relevance", None))),
                                     ("temperature", hasattr(annotator, "temperature"))) if not ok]
    if missing:
        raise TypeError(f"swap_separability needs an annotator with a noiseless relevance(query, answers, "
                        f"user_tags) method and a temperature, such as EmbeddingAnnotator; "
                        f"{type(annotator).__name__} has no {' and no '.join(missing)}")
    if llm is None:
        from langchain_premium.offline import OfflineChatModel

        llm = OfflineChatModel()

    # The same library, user and query order as run_user for this seed.
    library = make_library(setup, seed=seed)
    user = make_user(library, setup.k, seed=seed)
    if expand_to is not None:
        added, liked = expansion(setup, expand_to, seed=seed)
        library.add(added)
        user.add_tags(liked, at=0)
        setup = Setup.parse(expand_to)
    prefs = user.at(0)
    queries = training_order(load_queries(task).train, seed=seed)[:n_queries]

    swaps = _swaps(prefs.tags, list(library.tags))
    sets = [prefs.tags, *swaps]
    per_query = []
    for query in tqdm(queries, desc=f"judge {setup} seed {seed}", leave=False, disable=not progress):
        prompts = [format_declared(DEFAULT_GENERATION_PROMPT, generation_variables(query, tags, prefs.styles))
                   for tags in sets]
        answers = [output_text(out) for out in llm.batch(prompts)]
        relevance = np.asarray(annotator.relevance(query, answers, prefs), dtype=np.float64)
        per_query.append(win_probability(relevance[0] - relevance[1:], annotator.temperature))
    return Separability(str(setup), seed, prefs.tags, swaps, np.mean(per_query, axis=0))
