"""The multi-task ResNet: raw image in, physical predictions with uncertainties out.

Trunk: a stem convolution (3x3 with stride 2, or a patchify stem of stride 4), stages of
residual basic blocks (He et al. 2016) whose width doubles and resolution halves from stage to
stage, a 4x4 adaptive average pool that keeps the coarse position of the fringes, and a shared
fully connected layer (which also gets the standardised log of the image's total when the
network is told the event count, ``count_feature``).  Heads: for each regression target
a mean and a log-sigma in standardised units, and one skin logit.  Target standardisation and
input preprocessing are buffers of the model, so it maps raw intensities to physical units.
"""

from __future__ import annotations

import torch
from torch import nn

from upclens.learn.preprocess import Preprocess
from upclens.learn.settings import TARGETS, TrainSettings

#: log(sigma) in standardised units is clamped to this range (sigma from 1e-5 to 20 std).
LOG_SIGMA_RANGE = (-11.5, 3.0)


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN plus the identity (or a strided 1x1 projection)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                      nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, c_in, H, W) -> (B, c_out, H / stride, W / stride)."""
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.skip(x))


class ShapeNet(nn.Module):
    """Preprocessing + ResNet trunk + heads; ``forward`` returns a dict of (B,) tensors:
    beta2, beta3, delta_rnp (physical units), their ``*_sigma`` and ``skin_logit``."""

    def __init__(self, settings: TrainSettings, shape: tuple[int, int]) -> None:
        super().__init__()
        self.targets = TARGETS
        self.preprocess = Preprocess(settings.preprocess, settings.eps, shape)
        w = settings.width
        s = settings.stem
        stem = (nn.Conv2d(1, w, 3, s, 1, bias=False) if s <= 2
                else nn.Conv2d(1, w, s, s, 0, bias=False))
        layers: list[nn.Module] = [stem, nn.BatchNorm2d(w), nn.ReLU()]
        c = w
        for stage, n_blocks in enumerate(settings.blocks):
            c_out = w * 2**stage
            for k in range(n_blocks):
                layers.append(BasicBlock(c, c_out, 2 if (k == 0 and stage > 0) else 1))
                c = c_out
        layers += [nn.AdaptiveAvgPool2d(4), nn.Flatten()]
        self.trunk = nn.Sequential(*layers)
        self.count_feature = settings.count_feature
        self.dense = nn.Sequential(nn.Linear(16 * c + int(self.count_feature), settings.head),
                                   nn.ReLU())
        n_t = len(TARGETS)
        self.regression = nn.Linear(settings.head, 2 * n_t)
        self.classifier = nn.Linear(settings.head, 1)
        self.register_buffer("target_mean", torch.zeros(n_t))
        self.register_buffer("target_std", torch.ones(n_t))
        # Post-hoc factor on each predicted sigma, fitted on the validation set (1: none).
        self.register_buffer("sigma_scale", torch.ones(n_t))

    def standardised(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw (B, 1, ny, nx) -> mean (B, T), log sigma (B, T) in standardised target units,
        and the skin logit (B,)."""
        h = self.trunk(self.preprocess(x))
        if self.count_feature:
            h = torch.cat([h, self.preprocess.total_feature(x)], dim=1)
        h = self.dense(h)
        out = self.regression(h)
        n_t = len(self.targets)
        log_sigma = out[:, n_t:].clamp(*LOG_SIGMA_RANGE)
        return out[:, :n_t], log_sigma, self.classifier(h)[:, 0]

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw (B, 1, ny, nx) float32 intensities -> dict of (B,) predictions."""
        mu, log_sigma, logit = self.standardised(x)
        mean = self.target_mean + self.target_std * mu
        sigma = self.sigma_scale * self.target_std * torch.exp(log_sigma)
        result = {"skin_logit": logit}
        for k, name in enumerate(self.targets):
            result[name] = mean[:, k]
            result[f"{name}_sigma"] = sigma[:, k]
        return result
