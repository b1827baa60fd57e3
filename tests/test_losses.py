import math

import torch

from langchain_premium.losses import PreferenceLoss, negative_entropy, preference_loss


def plain_preference_loss(winners, losers):
    total = 0.0
    for w, l in zip(winners, losers):
        margin = sum(w) - sum(l)
        total += -math.log(1.0 / (1.0 + math.exp(-margin)))
    return total / len(winners)


def test_preference_loss_matches_the_paper_equation_written_as_a_loop():
    gen = torch.Generator().manual_seed(0)
    winners, losers = torch.randn(5, 3, generator=gen), torch.randn(5, 3, generator=gen)
    expected = plain_preference_loss(winners.tolist(), losers.tolist())
    assert math.isclose(preference_loss(winners, losers).item(), expected, rel_tol=1e-5)


def test_preference_loss_is_stable_for_large_margins():
    loss = preference_loss(torch.tensor([[-500.0]]), torch.tensor([[500.0]]))
    assert math.isfinite(loss.item()) and loss.item() > 900


def test_preference_loss_decreases_as_the_winner_pulls_ahead():
    losers = torch.zeros(1, 3)
    assert preference_loss(torch.ones(1, 3), losers) < preference_loss(torch.zeros(1, 3), losers)


def test_negative_entropy_matches_a_loop_and_is_lowest_when_uniform():
    logits = torch.tensor([[1.0, 2.0, 0.5]])
    probs = torch.softmax(logits, -1)[0].tolist()
    expected = sum(p * math.log(p) for p in probs)
    assert math.isclose(negative_entropy(logits).item(), expected, rel_tol=1e-5)
    assert math.isclose(negative_entropy(torch.zeros(1, 4)).item(), -math.log(4), rel_tol=1e-5)


def test_module_adds_the_weighted_entropy_term():
    w, l, logits = torch.ones(2, 3), torch.zeros(2, 3), torch.tensor([[3.0, 0.0, 0.0]])
    plain = PreferenceLoss(0.0)(w, l, logits)
    regularised = PreferenceLoss(0.5)(w, l, logits)
    assert math.isclose((regularised - plain).item(), 0.5 * negative_entropy(logits).item(), rel_tol=1e-5)


def test_weighted_preference_loss_is_the_weighted_mean_of_the_loop():
    gen = torch.Generator().manual_seed(1)
    winners, losers = torch.randn(4, 3, generator=gen), torch.randn(4, 3, generator=gen)
    weights = torch.tensor([0.125, 0.25, 0.5, 1.0])
    terms = [-math.log(1.0 / (1.0 + math.exp(-(sum(w) - sum(l))))) for w, l in zip(winners.tolist(), losers.tolist())]
    expected = sum(t * float(c) for t, c in zip(terms, weights)) / float(weights.sum())
    assert math.isclose(preference_loss(winners, losers, weights).item(), expected, rel_tol=1e-5)
    assert math.isclose(preference_loss(winners, losers, torch.ones(4)).item(),
                        preference_loss(winners, losers).item(), rel_tol=1e-6)
