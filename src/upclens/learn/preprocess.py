"""Input preprocessing inside the model: raw intensities in, standardised features out.

Every image is first scaled to unit sum, so a density image (GeV^-2) and a histogram of N J/psi
(counts) of the same parent distribution give the same input: the network never sees the absolute
scale.  Then, by mode,
    raw:        z = (npix * I / sum I - m) / s            (m, s: global scalars),
    log_global: z = (log(I / sum I + eps / npix) - m) / s,
    log_pixel:  z = (log(I / sum I + eps / npix) - m_ij) / s_ij   (per-pixel mean and std),
with m, s fitted on the training images and stored as buffers.  A network *told* the event count
(``count_feature``) also gets the standardised log(sum I), which is N for a histogram of N J/psi.
"""

from __future__ import annotations

import torch
from torch import nn

from upclens.learn.settings import PREPROCESS_MODES

_STD_FLOOR = 1.0e-6


class Preprocess(nn.Module):
    """Scale-free standardisation of (B, 1, ny, nx) raw intensities; shapes are preserved."""

    def __init__(self, mode: str, eps: float, shape: tuple[int, int]) -> None:
        super().__init__()
        if mode not in PREPROCESS_MODES:
            raise ValueError(f"preprocess mode {mode!r} not in {PREPROCESS_MODES}")
        self.mode = mode
        self.eps = float(eps)
        self.shape = (int(shape[0]), int(shape[1]))
        stat_shape = (1, 1, *self.shape) if mode == "log_pixel" else (1, 1, 1, 1)
        self.register_buffer("mean", torch.zeros(stat_shape))
        self.register_buffer("std", torch.ones(stat_shape))
        # Standardisation of log(sum I): the image's total (N J/psi for a histogram).
        self.register_buffer("total_mean", torch.zeros(()))
        self.register_buffer("total_std", torch.ones(()))

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """The unstandardised feature: unit-sum image (times npix) or its log."""
        npix = x.shape[-1] * x.shape[-2]
        total = x.sum(dim=(-1, -2), keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
        unit = x / total
        if self.mode == "raw":
            return unit * npix
        return torch.log(unit.clamp_min(0.0) + self.eps / npix)

    def total_feature(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1): standardised log of each image's total (the event count of a histogram)."""
        total = x.sum(dim=(-1, -2)).clamp_min(torch.finfo(x.dtype).tiny)
        return (torch.log(total) - self.total_mean) / self.total_std

    @torch.no_grad()
    def fit(self, images: torch.Tensor, batch: int = 1024) -> None:
        """Set mean and std from training images (n, 1, ny, nx), in float64 sums."""
        n = images.shape[0]
        s1 = torch.zeros(self.shape, dtype=torch.float64)
        s2 = torch.zeros(self.shape, dtype=torch.float64)
        for i0 in range(0, n, batch):
            f = self.transform(images[i0:i0 + batch]).to(torch.float64)[:, 0]
            s1 += f.sum(0)
            s2 += (f * f).sum(0)
        if self.mode == "log_pixel":
            mean = s1 / n
            var = s2 / n - mean**2
        else:
            count = n * self.shape[0] * self.shape[1]
            mean = s1.sum() / count
            var = s2.sum() / count - mean**2
        std = var.clamp_min(0.0).sqrt().clamp_min(_STD_FLOOR)
        log_total = torch.log(images.sum(dim=(-1, -2)).to(torch.float64).clamp_min(1e-300))
        self.total_mean.copy_(log_total.mean().to(torch.float32))
        self.total_std.copy_(log_total.std(unbiased=False).clamp_min(_STD_FLOOR).to(torch.float32))
        self.mean.copy_(mean.to(torch.float32).reshape(self.mean.shape))
        self.std.copy_(std.to(torch.float32).reshape(self.std.shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, ny, nx) raw intensities -> standardised features of the same shape."""
        return (self.transform(x) - self.mean) / self.std
