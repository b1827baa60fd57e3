"""The encoder's training data: the replayed preference pairs as tensors, and their recency weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from langchain_premium.records import PreferencePair
from langchain_premium.selectors.coverage import set_coverage

__all__ = ["PairProblem", "recency_weights"]


def recency_weights(pairs: Sequence[PreferencePair], half_life: Optional[float]) -> np.ndarray:
    """``0.5 ** (age / half_life)`` per pair, its age counted in rankings (pairs of one run share
    it) back from the newest; all ones without a half-life.

    Example:
        >>> from langchain_premium.records import PreferencePair, TagSet
        >>> pairs = [PreferencePair(run_id=run, user_id="u", winner=TagSet(("a",)), loser=TagSet(("b",)))
        ...          for run in ["r1", "r1", "r2"]]  # two rankings, the first of two pairs
        >>> recency_weights(pairs, 1.0).tolist(), recency_weights(pairs, None).tolist()
        ([0.5, 0.5, 1.0], [1.0, 1.0, 1.0])
    """
    if not half_life:
        return np.ones(len(pairs))
    runs = list(dict.fromkeys(p.run_id for p in pairs))
    age = {run: len(runs) - 1 - i for i, run in enumerate(runs)}
    return np.array([0.5 ** (age[p.run_id] / half_life) for p in pairs])


@dataclass
class PairProblem:
    """The replayed pairs as tensors: each pair's query, winner tags and loser tags."""

    queries: torch.Tensor  # (N, d)
    winners: torch.Tensor  # (N, kmax) tag indices, padded with -1
    losers: torch.Tensor
    design: np.ndarray  # (N, U): each topic's coverage by the winner minus by the loser
    similarity: torch.Tensor  # (N, U): e(q_i) . e(t)
    winner_cover: torch.Tensor  # (N, A): coverage of the A topics by each winner set
    loser_cover: torch.Tensor
    kernel: torch.Tensor  # (U, A): coverage_kernel of every tag against the topics
    topics: torch.Tensor  # (A,) the topics' indices among the U tags
    own: torch.Tensor  # (U,) 1 for a tag that is no topic (its bias is its own)

    @classmethod
    def build(
        cls, pairs: Sequence[PreferencePair], index: dict[str, int], matrix: np.ndarray,
        kernel: np.ndarray, topics: Sequence[int],
    ) -> "PairProblem":
        dim = matrix.shape[1]
        queries = np.stack([
            p.query_embedding if p.query_embedding is not None else np.zeros(dim, np.float32)
            for p in pairs
        ]).astype(np.float32)
        width = max(max(len(p.winner.all_tags), len(p.loser.all_tags)) for p in pairs)

        def padded(sets: list[tuple[str, ...]]) -> torch.Tensor:
            out = np.full((len(sets), width), -1, dtype=np.int64)
            for i, tags in enumerate(sets):
                out[i, : len(tags)] = [index[t] for t in tags]
            return torch.from_numpy(out)

        winner_cover = set_coverage(kernel, [[index[t] for t in p.winner.all_tags] for p in pairs])
        loser_cover = set_coverage(kernel, [[index[t] for t in p.loser.all_tags] for p in pairs])
        design = np.zeros((len(pairs), len(index)), dtype=np.float32)
        design[:, list(topics)] = winner_cover - loser_cover  # shared tags cancel
        own = np.ones(len(index), dtype=np.float32)
        own[list(topics)] = 0.0
        return cls(
            queries=torch.from_numpy(queries),
            winners=padded([p.winner.all_tags for p in pairs]),
            losers=padded([p.loser.all_tags for p in pairs]),
            design=design,
            similarity=torch.from_numpy(queries @ matrix.T),
            winner_cover=torch.from_numpy(winner_cover.astype(np.float32)),
            loser_cover=torch.from_numpy(loser_cover.astype(np.float32)),
            kernel=torch.from_numpy(kernel.astype(np.float32)),
            topics=torch.tensor(list(topics), dtype=torch.int64),
            own=torch.from_numpy(own),
        )

    def logits(self, params: dict[str, torch.Tensor], tag_matrix: torch.Tensor) -> torch.Tensor:
        """``(N, U)`` scores of every tag for every replayed query, biases aside."""
        scores = params["log_scale"].exp() * self.similarity
        if "user_vector" in params:
            scores = scores + tag_matrix @ params["user_vector"]
        return scores

    def effective_bias(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(U,)`` each tag's own bias (if it is no topic) plus what it covers of the topics."""
        return self.own * params["bias"] + self.kernel @ params["bias"][self.topics]

    def set_scores(
        self, logits: torch.Tensor, params: dict[str, torch.Tensor], tags: torch.Tensor, cover: torch.Tensor,
    ) -> torch.Tensor:
        """``(N, kmax + 1)``: the set's tags' scores and, last, its coverage of the topics."""
        return torch.cat([self.gather(logits, tags), (cover @ params["bias"][self.topics])[:, None]], dim=1)

    @staticmethod
    def gather(logits: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """Scores at ``indices`` per row; padding (-1) scores zero."""
        safe = indices.clamp(min=0)
        return torch.where(indices >= 0, logits.gather(1, safe), torch.zeros((), dtype=logits.dtype))
