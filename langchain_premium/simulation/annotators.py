"""AI annotators: rank m answers for a simulated user (offline by embeddings, or by an LLM)."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Iterable, Literal, Mapping, Optional, Sequence, Union

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.prompts import BasePromptTemplate
from langchain_core.runnables import Runnable

from langchain_premium.answer_vectors import embed_answers, sentences, split_rows
from langchain_premium.encoding import embed_texts
from langchain_premium.errors import PremiumError
from langchain_premium.prompts import DEFAULT_ANNOTATOR_PROMPT, annotator_variables, output_text
from langchain_premium.simulation.users import SimulatedUser, UserTags, as_user_tags
from langchain_premium.tags import DEFAULT_BINARY_PAIRS
from langchain_premium.utils import SeedLike, check_random_state

__all__ = [
    "AnnotatorParseError",
    "BaseAnnotator",
    "ANSWER_TEMPERATURE",
    "DEFAULT_TEMPERATURE",
    "EmbeddingAnnotator",
    "LLMAnnotator",
    "STYLE_PROBES",
    "parse_ranking",
]

#: Who the annotator judges for: a simulated user (their first preference), a snapshot
#: ``user.at(step)``, or a plain list of tags.
UserLike = Union[SimulatedUser, UserTags, Sequence[str]]

#: Default Plackett-Luce temperature of :class:`EmbeddingAnnotator` (``match="sentence"``),
#: calibrated so the judge is about as inconsistent as a real one: on the candidates of
#: PREMIUM-Embed and its paper configuration in ``premium bench --quick`` (3/50, 30
#: interactions, 10 users) the noisy best pick agrees with the noiseless one in 80.6% of the
#: rankings (85% on PREMIUM-Embed's alone; 0.04 gives 78% there).
DEFAULT_TEMPERATURE = 0.03

#: The temperature of ``match="answer"`` (the judge of earlier versions), calibrated the same
#: way: on 3/50 runs of 30 interactions (PREMIUM-Embed, its paper variant, vanilla and RALM;
#: 12 users, 1080 rankings) its noisy best pick agreed with the noiseless one in 80% of them.
ANSWER_TEMPERATURE = 0.015

#: One sentence per writing style that an answer in that style tends to contain; an answer's
#: style score is its best-matching sentence against the liked side minus the other side. With
#: the stand-in's answers, the noiseless judge prefers the liked side of every pair when only
#: that style differs (tests/simulation/test_annotators.py), so a learner can find every style.
STYLE_PROBES: dict[str, str] = {
    "Thorough": "In summary: set a clear goal, apply each perspective in turn, and review what worked "
                "before the next step.",
    "Brief": "That is the short version, in a few words.",
    "Objective": "Sticking to established evidence and facts rather than opinions.",
    "Subjective": "Personally, in my own opinion, I find this the most rewarding.",
    "Humorous": "A light-hearted joke to make you smile.",
    "Serious": "This deserves careful and serious consideration.",
    "Professional": "From a professional standpoint, follow recognised industry standards.",
    "Amateurish": "Honestly, I'm just an enthusiast sharing friendly tips, not an expert.",
}

def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


class AnnotatorParseError(PremiumError, ValueError):
    """An annotator's output holds no usable ranking (no ranking, or not a permutation)."""


class BaseAnnotator(ABC):
    """Ranks m answers to a query for a user, best first, as a user giving feedback would."""

    @abstractmethod
    def rank(
        self, query: str, answers: Sequence[str], user: UserLike, *,
        rng: Optional[np.random.Generator] = None,
    ) -> list[int]:
        """Indices of ``answers`` from best to worst for ``user``."""

    def prefer(
        self, query: str, answer_a: str, answer_b: str, user: UserLike, *,
        rng: Optional[np.random.Generator] = None,
    ) -> bool:
        """Whether ``user`` prefers ``answer_a`` to ``answer_b`` (for win rates)."""
        return self.rank(query, [answer_a, answer_b], user, rng=rng)[0] == 0


class EmbeddingAnnotator(BaseAnnotator):
    """An offline AI annotator: ranks answer texts by their embedding relevance, with noise.

    It reads only the answers' text, never the tags that produced them. The relevance of an
    answer ``a`` for query ``q`` and a user with tags ``T`` (and styles ``S``) is::

        w_user * mean_t max_s cos(e(s), e(t)) + w_query * cos(e(a), e(q)) + w_style * style(a, S)

    over the sentences ``s`` of the whole answer: each of the user's interests is judged by the
    passage that addresses it best, as a judge asked "is this relevant to each of my interests"
    reads; ``e(a)`` is the normalised mean of the sentence vectors. ``style(a, S)`` averages, over
    the user's styles, how much better the answer's best-matching sentence fits the liked
    style's probe sentence (:data:`STYLE_PROBES`) than the other side of its pair.

    ``match="answer"`` is the judge of earlier versions: one vector for the first ``max_words``
    words, ``w_user * mean_t cos(e(a), e(t))``. It blends the interests into one vector, so an
    answer about a neighbouring topic (Gastronomy for a user who likes Nutrition) scores almost
    like one about the interest itself; it costs about half as much.

    A ranking is then drawn from the Plackett-Luce model with scores ``relevance / temperature``
    (the best answer with probability ``softmax(relevance / T)``, then the best of the rest,
    and so on; sampled with the Gumbel trick), so the annotator is as inconsistent as a real
    judge. ``temperature=0`` ranks by relevance exactly.

    The default ``temperature`` (:data:`DEFAULT_TEMPERATURE` = 0.03; 0.015 for ``"answer"``)
    is calibrated so the noisy best pick agrees with the noiseless one in about 80% of the
    rankings of 3/50 runs; ``premium bench`` prints the figure for its own runs.

    Args:
        embeddings: the shared frozen encoder (default: the packaged MiniLM, cached).
        temperature: Plackett-Luce temperature (>= 0; default: the calibrated one of ``match``).
        match: ``"sentence"`` (each user tag against its best sentence of the whole answer) or
            ``"answer"`` (the first ``max_words`` words as one vector).
        w_user, w_query, w_style: weights of the three terms.
        style_probes: style -> probe sentence (default :data:`STYLE_PROBES`; an unknown style
            is probed with "Written in a <style> style.").
        binary_pairs: the style pairs, to find the other side of a liked style.
        max_words: with ``match="answer"``, the judge reads the first ``max_words`` words of
            each answer (``None``: all).
        seed: for rankings drawn without an explicit ``rng``.

    Example:
        >>> from langchain_premium.hash_embeddings import HashEmbeddings
        >>> annotator = EmbeddingAnnotator(HashEmbeddings(),  # a fast stand-in for MiniLM
        ...                                temperature=0.0)
        >>> annotator.rank("How do I relax?", ["... Yoga ...", "... Tax law ..."], ["Yoga"])
        [0, 1]

    The examples of the methods below continue from this one.
    """

    def __init__(
        self,
        embeddings: Optional[Embeddings] = None,
        *,
        temperature: Optional[float] = None,
        match: Literal["sentence", "answer"] = "sentence",
        w_user: float = 1.0,
        w_query: float = 0.5,
        w_style: float = 0.3,
        style_probes: Optional[Mapping[str, str]] = None,
        binary_pairs: Iterable[tuple[str, str]] = DEFAULT_BINARY_PAIRS,
        max_words: Optional[int] = 64,
        seed: SeedLike = None,
    ) -> None:
        if match not in ("sentence", "answer"):
            raise ValueError(f"match must be 'sentence' or 'answer', got {match!r}")
        if temperature is None:
            temperature = DEFAULT_TEMPERATURE if match == "sentence" else ANSWER_TEMPERATURE
        self.embeddings = embeddings
        self.temperature = temperature
        self.match = match
        self.w_user = w_user
        self.w_query = w_query
        self.w_style = w_style
        self.style_probes = style_probes
        self.binary_pairs = binary_pairs
        self.max_words = max_words
        self.seed = seed
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if max_words is not None and max_words < 1:
            raise ValueError(f"max_words must be a positive number of words or None, got {max_words}")
        self._rng = check_random_state(seed)
        self._partner = {}
        for a, b in binary_pairs:
            self._partner[a], self._partner[b] = b, a

    def __repr__(self) -> str:
        return (f"EmbeddingAnnotator(temperature={self.temperature}, match={self.match!r}, w_user={self.w_user}, "
                f"w_query={self.w_query}, w_style={self.w_style})")

    @property
    def encoder(self) -> Embeddings:
        if self.embeddings is None:
            from langchain_premium.evaluation.embedding_cache import shared_embeddings

            self.embeddings = shared_embeddings()
        return self.embeddings

    def _probe(self, style: str) -> str:
        probes = STYLE_PROBES if self.style_probes is None else self.style_probes
        return probes.get(style, f"Written in a {style} style.")

    def relevance(self, query: str, answers: Sequence[str], user: UserLike) -> np.ndarray:
        """The noiseless relevance of each answer for ``user`` (higher is better).

        Example:
            >>> annotator.relevance("Plan a trip", ["... Backpacking ...", "... Tax law ..."],
            ...                     ["Backpacking"])
            array([1.  ..., 0.204...])
        """
        prefs = as_user_tags(user)
        if not answers:
            raise ValueError("there are no answers to judge")
        if not prefs.tags:
            raise ValueError("the user has no tags to judge answers by")
        n_tags = len(prefs.tags)
        if self.match == "sentence":
            # One batch: the query, the user's tags and every sentence of every answer.
            split = [sentences(a) for a in answers]
            vectors = embed_texts(self.encoder, [query, *prefs.tags, *(t for group in split for t in group)])
            query_vector, tag_vectors = vectors[0], vectors[1:1 + n_tags]
            groups = split_rows(vectors[1 + n_tags:], [len(group) for group in split])
            # Each interest is judged by the passage that addresses it best.
            user_term = np.array([(group @ tag_vectors.T).max(axis=0).mean() for group in groups])
            answer_vectors = np.stack([_unit(group.mean(axis=0)) for group in groups])
        else:
            vectors = embed_texts(self.encoder, [*(self.read(a) for a in answers), query, *prefs.tags])
            m = len(answers)
            answer_vectors, query_vector, tag_vectors = vectors[:m], vectors[m], vectors[m + 1:]
            user_term = (answer_vectors @ tag_vectors.T).mean(axis=1)
            groups = None
        score = self.w_user * user_term + self.w_query * (answer_vectors @ query_vector)
        if prefs.styles and self.w_style:
            if groups is None:
                groups = embed_answers(self.encoder, answers)
            score += self.w_style * self._style_scores(groups, prefs.styles)
        return score.astype(np.float64)

    def texts_read(self, answers: Sequence[str]) -> list[str]:
        """The texts :meth:`relevance` embeds for ``answers`` (to embed them in one batch)."""
        if self.match == "sentence":
            return [t for a in answers for t in sentences(a)]
        return [self.read(a) for a in answers]

    def read(self, answer: str) -> str:
        """The part of ``answer`` the judge reads (its first ``max_words`` words)."""
        if self.max_words is None:
            return answer
        words = answer.split()
        return answer if len(words) <= self.max_words else " ".join(words[: self.max_words])

    def _style_scores(self, groups: Sequence[np.ndarray], styles: Sequence[str]) -> np.ndarray:
        """Per answer (its sentence vectors), how much better its best sentence fits each liked
        style's probe than the other side of the pair (or the probe alone, without a partner)."""
        liked = embed_texts(self.encoder, [self._probe(s) for s in styles])
        other = np.zeros_like(liked)
        paired = [i for i, s in enumerate(styles) if s in self._partner]
        if paired:
            other[paired] = embed_texts(self.encoder, [self._probe(self._partner[styles[i]]) for i in paired])
        has_partner = np.array([s in self._partner for s in styles])
        scores = np.zeros(len(groups))
        for i, fit in enumerate(groups):
            best_liked = (fit @ liked.T).max(axis=0)
            best_other = np.where(has_partner, (fit @ other.T).max(axis=0), 0.0)
            scores[i] = float((best_liked - best_other).mean())
        return scores

    def sample_ranking(self, relevance: np.ndarray, rng: Optional[np.random.Generator] = None) -> list[int]:
        """A Plackett-Luce ranking of scores ``relevance / temperature`` (best first).

        Adding independent Gumbel noise and sorting draws exactly the sequential
        softmax-without-replacement ranking.
        """
        relevance = np.asarray(relevance, dtype=np.float64)
        if self.temperature == 0:
            return [int(i) for i in np.argsort(-relevance, kind="stable")]
        rng = self._rng if rng is None else rng
        noisy = relevance / self.temperature + rng.gumbel(size=len(relevance))
        return [int(i) for i in np.argsort(-noisy, kind="stable")]

    def rank(
        self, query: str, answers: Sequence[str], user: UserLike, *,
        rng: Optional[np.random.Generator] = None,
    ) -> list[int]:
        """Indices of ``answers`` from best to worst: a noisy ranking by :meth:`relevance`.

        Example:
            >>> annotator.rank("Plan a trip", ["... Tax law ...", "... Backpacking ..."],
            ...                ["Backpacking"], rng=np.random.default_rng(0))
            [1, 0]
        """
        return self.sample_ranking(self.relevance(query, answers, user), rng)

    def top_agreement(self, relevance: np.ndarray) -> float:
        """Probability that the noisy best pick is the noiseless best answer:
        ``softmax(relevance / T)`` at the best answer (exactly 1 when ``T == 0``)."""
        relevance = np.asarray(relevance, dtype=np.float64)
        if self.temperature == 0:
            return 1.0
        z = (relevance - relevance.max()) / self.temperature
        p = np.exp(z) / np.exp(z).sum()
        return float(p[int(np.argmax(relevance))])

    def agreement_with_noiseless(
        self,
        tasks: Iterable[tuple[str, Sequence[str], UserLike]],
        *,
        n_samples: Optional[int] = None,
        rng: Optional[np.random.Generator] = None,
    ) -> float:
        """How often the noisy best pick equals the noiseless best pick over ``tasks``
        (``(query, answers, user)`` triples): the exact expectation by default, or the share of
        ``n_samples`` drawn rankings per task.

        Example:
            >>> task = ("Plan a trip", ["... Backpacking ...", "... Tax law ..."], ["Backpacking"])
            >>> annotator.agreement_with_noiseless([task])  # temperature 0: always
            1.0
            >>> EmbeddingAnnotator(HashEmbeddings(), temperature=0.5).agreement_with_noiseless([task])
            0.83...
        """
        values = []
        for query, answers, user in tasks:
            relevance = self.relevance(query, answers, user)
            if n_samples is None:
                values.append(self.top_agreement(relevance))
            else:
                best = int(np.argmax(relevance))
                hits = [self.sample_ranking(relevance, rng)[0] == best for _ in range(n_samples)]
                values.append(float(np.mean(hits)))
        if not values:
            raise ValueError("agreement_with_noiseless needs at least one task")
        return float(np.mean(values))


class LLMAnnotator(BaseAnnotator):
    """An AI annotator backed by a chat model, as in the paper (Appendix I, Table 18).

    The prompt gives the user's domains (and styles), the query and the m numbered responses,
    and asks for an explanation, then a line ``(Ranking) 2, 1, 3``. The answer is parsed by
    :func:`parse_ranking`; output without a usable ranking raises :class:`AnnotatorParseError`.

    Args:
        llm: any chat model (or Runnable from a prompt value to a message or string).
        prompt: the template (default :data:`~langchain_premium.prompts.DEFAULT_ANNOTATOR_PROMPT`).
        shuffle: show the responses in a random order (seeded by ``rng``) and map the ranking
            back, so a judge's position bias averages out.
        seed: for the shuffles of calls without an explicit ``rng``.

    Example:
        >>> from langchain_core.language_models.fake_chat_models import FakeListChatModel
        >>> llm = FakeListChatModel(responses=["(Explanation) B is on topic. (Ranking) 2, 1"])
        >>> LLMAnnotator(llm, shuffle=False).rank("Q?", ["A", "B"], ["Yoga"])
        [1, 0]
    """

    def __init__(
        self,
        llm: Runnable,
        *,
        prompt: BasePromptTemplate = DEFAULT_ANNOTATOR_PROMPT,
        shuffle: bool = True,
        seed: SeedLike = None,
    ) -> None:
        self.llm = llm
        self.prompt = prompt
        self.shuffle = shuffle
        self.seed = seed
        self._rng = check_random_state(seed)

    def rank(
        self, query: str, answers: Sequence[str], user: UserLike, *,
        rng: Optional[np.random.Generator] = None,
    ) -> list[int]:
        prefs = as_user_tags(user)
        if not answers:
            raise ValueError("there are no answers to judge")
        order = list(range(len(answers)))
        if self.shuffle and len(answers) > 1:
            order = [int(i) for i in (self._rng if rng is None else rng).permutation(len(answers))]
        shown = [answers[i] for i in order]
        variables = annotator_variables(query, shown, prefs.tags, prefs.styles)
        output = self.llm.invoke(self.prompt.format_prompt(**variables))
        return [order[i] for i in parse_ranking(output_text(output), len(answers))]


_RANKING_MARKER = re.compile(r"\(?\s*ranking\s*\)?\s*[:\-]?", re.IGNORECASE)
_END_MARKER = re.compile(r"\(\s*the end", re.IGNORECASE)
# What may surround the numbers of a bare ranking: brackets, separators, "Response"/"and".
_RANKING_ONLY = re.compile(r"^[\s\[\]\(\)\{\},;:>.#\-]*((response|answer|and|then)?[\s\[\]\(\)\{\},;:>.#\-]*\d+[\s\[\]\(\)\{\},;:>.#\-]*)+$", re.IGNORECASE)


def parse_ranking(text: str, m: int) -> list[int]:
    """The 0-based ranking in an annotator's output (1-based numbers after "(Ranking)").

    Tolerates whitespace, brackets, ``>`` and "Response 2"-style wording, text after the
    ranking line and a missing marker when the output is nothing but the ranking. Raises
    :class:`AnnotatorParseError` when no ranking is found or it is not a permutation of 1..m.

    Example:
        >>> parse_ranking("(Explanation) The second is on topic. (Ranking) 2, 1, 3", 3)
        [1, 0, 2]
        >>> parse_ranking("Ranking: [Response 3] > [Response 1] > [Response 2]", 3)
        [2, 0, 1]
    """
    if not isinstance(text, str):
        raise AnnotatorParseError(f"expected the annotator's text, got {type(text).__name__}")
    markers = list(_RANKING_MARKER.finditer(text))
    # Take the last marker that has a number after it (an explanation may say "ranking" too).
    segment = None
    for match in reversed(markers):
        rest = text[match.end():]
        end = _END_MARKER.search(rest)
        rest = rest[: end.start()] if end else rest
        line = next((ln for ln in rest.splitlines() if ln.strip()), "")
        if re.search(r"\d", line):
            segment = line
            break
    if segment is None:
        stripped = text.strip()
        end = _END_MARKER.search(stripped)
        stripped = stripped[: end.start()].strip() if end else stripped
        if stripped and "\n" not in stripped and _RANKING_ONLY.match(stripped):
            segment = stripped
    if segment is None:
        raise AnnotatorParseError(f"no '(Ranking)' line found in the annotator's output: {_clip(text)!r}")
    numbers = [int(n) for n in re.findall(r"\d+", segment)]
    if sorted(numbers) != list(range(1, m + 1)):
        raise AnnotatorParseError(
            f"the ranking {numbers} is not an ordering of the responses 1..{m} "
            f"(each exactly once): {_clip(segment)!r}"
        )
    return [n - 1 for n in numbers]


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
