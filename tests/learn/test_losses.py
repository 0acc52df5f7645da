"""The multi-task loss: Gaussian NLL minimum, beta-NLL limit, learned class weight optimum."""

from __future__ import annotations

import math

import pytest
import torch

from upclens.learn.losses import MultiTaskLoss


def test_nll_minimum_at_the_residual() -> None:
    """0.5 (r / sigma)^2 + log sigma is smallest at sigma = |r|, with value 0.5 + log |r|."""
    y = torch.tensor([[0.3, -1.0, 2.0]])
    mu = torch.zeros(1, 3)
    loss = MultiTaskLoss()
    logit, cls = torch.tensor([0.0]), torch.tensor([1.0])
    best = torch.log(y.abs())
    total, parts = loss(mu, best, logit, y, cls)
    for k in range(3):
        assert parts[f"nll_{k}"] == pytest.approx(0.5 + math.log(abs(float(y[0, k]))), rel=1e-6)
    for shift in (-0.1, 0.1):
        other, _ = loss(mu, best + shift, logit, y, cls)
        assert float(other) > float(total)
    assert parts["bce"] == pytest.approx(math.log(2.0), rel=1e-6)


def test_beta_nll_weights_by_sigma() -> None:
    torch.manual_seed(0)
    mu, ls, y = torch.randn(8, 3), 0.3 * torch.randn(8, 3), torch.randn(8, 3)
    logit, cls = torch.randn(8), (torch.rand(8) > 0.5).float()
    plain, _ = MultiTaskLoss(beta_nll=0.0)(mu, ls, logit, y, cls)
    weighted, _ = MultiTaskLoss(beta_nll=0.5)(mu, ls, logit, y, cls)
    z = (y - mu) * torch.exp(-ls)
    nll = (0.5 * z**2 + ls) * torch.exp(ls)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logit, cls)
    assert float(weighted) == pytest.approx(float(nll.mean(0).mean() + bce), rel=1e-6)
    assert float(plain) != pytest.approx(float(weighted), rel=1e-3)


def test_learned_class_weight_reaches_its_optimum() -> None:
    """exp(-s) BCE + s/2 is minimal at s = log(2 BCE) (Kendall et al.'s classification form)."""
    loss = MultiTaskLoss(weighting="learned")
    mu, ls, y = torch.zeros(4, 3), torch.zeros(4, 3), torch.zeros(4, 3)
    logit, cls = torch.tensor([0.5, -0.2, 1.0, 0.1]), torch.tensor([1.0, 0.0, 1.0, 0.0])
    opt = torch.optim.SGD([loss.s_class], lr=0.5)
    for _ in range(300):
        opt.zero_grad()
        total, parts = loss(mu, ls, logit, y, cls)
        total.backward()
        opt.step()
    assert float(loss.s_class.detach()) == pytest.approx(math.log(2 * parts["bce"]), abs=1e-4)
    assert not MultiTaskLoss(weighting="fixed").s_class.requires_grad
