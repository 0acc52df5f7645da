"""Multi-task loss: heteroscedastic Gaussian NLL per regression target plus the skin BCE.

Regression (standardised units, target t, prediction mu with log sigma s):
    NLL_t = 0.5 ((y - mu) / sigma)^2 + s          (per image; sigma is the network's output),
optionally weighted per image by stop_grad(sigma^(2 beta)) (beta-NLL, Seitzer et al. 2022), which
keeps the mean from being neglected where sigma is large.  The heteroscedastic sigma already
weights each regression task by its own noise.  Between the regression block and the class the
weighting is
    fixed:   L = mean_t NLL_t + class_weight * BCE,
    learned: L = mean_t NLL_t + exp(-s_c) BCE + s_c / 2, with a learned homoscedastic log-weight
             s_c (Kendall, Gal & Cipolla 2018, classification form), clamped to [-6, 6] because a
             separable class drives BCE -> 0 and s_c -> -inf otherwise.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from upclens.learn.settings import WEIGHTINGS

S_CLASS_RANGE = (-6.0, 6.0)


class MultiTaskLoss(nn.Module):
    """Callable (mu, log_sigma, logit, y, cls) -> (loss, parts); y (B, T), cls (B,)."""

    def __init__(self, weighting: str = "fixed", class_weight: float = 1.0,
                 beta_nll: float = 0.0) -> None:
        super().__init__()
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting {weighting!r} not in {WEIGHTINGS}")
        self.weighting = weighting
        self.class_weight = float(class_weight)
        self.beta_nll = float(beta_nll)
        self.s_class = nn.Parameter(torch.zeros(()), requires_grad=weighting == "learned")

    def forward(self, mu: torch.Tensor, log_sigma: torch.Tensor, logit: torch.Tensor,
                y: torch.Tensor, cls: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean loss over the batch and its parts (per-target NLL, BCE) as floats."""
        z = (y - mu) * torch.exp(-log_sigma)
        nll = 0.5 * z * z + log_sigma  # (B, T)
        if self.beta_nll > 0.0:
            nll = nll * torch.exp(2.0 * self.beta_nll * log_sigma).detach()
        nll_t = nll.mean(dim=0)
        bce = F.binary_cross_entropy_with_logits(logit, cls)
        if self.weighting == "learned":
            s = self.s_class.clamp(*S_CLASS_RANGE)
            cls_term = torch.exp(-s) * bce + 0.5 * s
        else:
            cls_term = self.class_weight * bce
        loss = nll_t.mean() + cls_term
        parts = {f"nll_{k}": float(v) for k, v in enumerate(nll_t.detach())}
        parts["bce"] = float(bce.detach())
        return loss, parts
