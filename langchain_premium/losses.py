"""The preference loss (paper Eq. 1) and the entropy regulariser, as pure functions and modules."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def preference_loss(
    winner_scores: torch.Tensor, loser_scores: torch.Tensor, weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Paper Eq. 1: ``-mean log sigmoid(sum_j s(q, t_j^w) - sum_j s(q, t_j^l))``.

    Args:
        winner_scores: ``(N, k)`` scores ``E_q(q) . E_t(t)`` of the winning set's tags.
        loser_scores: ``(N, k)`` scores of the losing set's tags.
        weights: optional ``(N,)`` weight per pair (a weighted mean; e.g. newer pairs count more).

    Example:
        >>> w = torch.tensor([[1.0, 2.0]]); l = torch.tensor([[0.0, 0.0]])
        >>> round(preference_loss(w, l).item(), 4)  # -log sigmoid(3)
        0.0486
    """
    margin = winner_scores.sum(dim=-1) - loser_scores.sum(dim=-1)
    # logsigmoid is the numerically stable form of log(sigmoid(x)).
    if weights is None:
        return -F.logsigmoid(margin).mean()
    return -(weights * F.logsigmoid(margin)).sum() / weights.sum()


def negative_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean negative entropy ``sum_i p_i log p_i`` of the softmax over tags, per row of ``logits``.

    Adding ``delta * negative_entropy`` to the loss keeps the selector from collapsing onto a
    few tags too early (paper Section 4).
    """
    log_p = F.log_softmax(logits, dim=-1)
    return (log_p.exp() * log_p).sum(dim=-1).mean()


class PreferenceLoss(nn.Module):
    """Eq. 1 plus ``entropy_weight`` times the negative entropy of the selection distribution."""

    def __init__(self, entropy_weight: float = 0.0) -> None:
        super().__init__()
        self.entropy_weight = entropy_weight

    def forward(
        self,
        winner_scores: torch.Tensor,
        loser_scores: torch.Tensor,
        all_logits: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        loss = preference_loss(winner_scores, loser_scores, weights)
        if self.entropy_weight and all_logits is not None:
            loss = loss + self.entropy_weight * negative_entropy(all_logits)
        return loss
