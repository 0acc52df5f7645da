"""Toy models with known attributions and small data sets in the shared HDF5 layout."""


from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


class LinearModel(torch.nn.Module):
    """Every output linear in the raw pixels: out[task] = sum(w_task * x) + c_task.

    ``weights``: task output key -> (ny, nx) array; biases 0.1 x index.
    """

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.keys = list(weights)
        self.w = torch.nn.Parameter(torch.as_tensor(np.stack(list(weights.values())),
                                                    dtype=torch.float32), requires_grad=False)
        self.c = torch.arange(len(weights), dtype=torch.float32) * 0.1

    def forward(self, x):
        out = torch.einsum("bij,tij->bt", x[:, 0].double(), self.w.double()) + self.c.double()
        return {key: out[:, n].float() for n, key in enumerate(self.keys)}


def write_dataset(path: Path, images: np.ndarray, labels: dict[str, np.ndarray],
                  pmax: float = 0.2) -> Path:
    """An HDF5 data set written by the project's store (checksummed chunks of 4 images)."""
    from upclens.data.store import write_dataset as store

    n, ny, nx = images.shape
    axis = (np.arange(nx) + 0.5 - nx / 2) * (2 * pmax / nx)
    cols = list(labels)
    lab = np.stack([labels[c] for c in cols], 1).astype(np.float32)
    chunks = ((c, images[c * 4:(c + 1) * 4].astype(np.float32), lab[c * 4:(c + 1) * 4])
              for c in range(-(-n // 4)))
    return store(path, {"pixels": nx, "pmax": pmax}, seed=1, n=n, chunk_size=4, columns=cols,
                 px=axis, py=axis[:ny], chunks=chunks)


def double_slit_images(n: int, pixels: int, rng: np.random.Generator,
                       pmax: float = 0.2) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Analytic double-slit images 4 exp(-p^2/s^2) sin^2(p_x b / 2 hbar c) + floor with a random
    spot size s (GeV) and fringe floor; labels follow them."""
    step = 2 * pmax / pixels
    axis = (np.arange(pixels) + 0.5 - pixels / 2) * step
    pxx, pyy = np.meshgrid(axis, axis)
    s = rng.uniform(0.07, 0.09, n)
    floor = rng.uniform(0.0, 0.3, n)
    b_over_hc = 15.0 / 0.1973
    env = np.exp(-(pxx**2 + pyy**2)[None] / s[:, None, None] ** 2)
    img = env * (4 * np.sin(pxx * b_over_hc / 2) ** 2 + floor[:, None, None])
    img += 0.01 * rng.random(img.shape)
    labels = {"beta2": floor, "beta3": 0.5 * floor, "delta_rnp": (s - 0.08) * 10,
              "skin": (s < 0.08).astype(float)}
    return img.astype(np.float32), labels
