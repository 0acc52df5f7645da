"""The tractable twin of the learning tests: images whose labels are known functions of the
pixels, written as dataset files in the data layer's format."""


from __future__ import annotations

from pathlib import Path

import numpy as np

from upclens.data import store

PIXELS = 16
PMAX = 0.2
COLUMNS = ["beta2", "beta3", "delta_rnp", "skin"]


def axis(pixels: int = PIXELS, pmax: float = PMAX) -> np.ndarray:
    """Bin centres (GeV)."""
    step = 2 * pmax / pixels
    return (np.arange(pixels) + 0.5 - pixels / 2) * step


def twin_images(labels: np.ndarray, pixels: int = PIXELS) -> np.ndarray:
    """(n, pixels, pixels) float32 unit-integral images for labels (n, 4)."""
    p = axis(pixels)
    px, py = p[None, None, :], p[None, :, None]
    b2, b3, skin = labels[:, 0, None, None], labels[:, 1, None, None], labels[:, 2, None, None]
    sx = 0.05 * (1 + 2 * b2) * (1 + skin)
    sy = 0.05 * (1 + 2 * b3) * (1 + skin)
    img = np.exp(-0.5 * ((px / sx) ** 2 + (py / sy) ** 2)) * (1.2 + np.cos(px / 0.02))
    return (img / img.sum(axis=(1, 2), keepdims=True)).astype(np.float32)


def twin_labels(n: int, seed: int) -> np.ndarray:
    """(n, 4): beta2, beta3 uniform [0, 0.3], half with a 0.2 fm skin, the skin class."""
    rng = np.random.default_rng([seed, n])
    skin = (np.arange(n) % 2).astype(float)
    return np.stack([rng.uniform(0, 0.3, n), rng.uniform(0, 0.3, n), 0.2 * skin, skin],
                    axis=1).astype(np.float32)


def write_dataset(path: Path, images: np.ndarray, labels: np.ndarray,
                  columns: list[str] | None = None, pmax: float = PMAX,
                  config: dict | None = None) -> Path:
    """Write images (n, ny, nx) and labels (n, K) as a dataset file of the data layer."""
    ny, nx = images.shape[1:]
    n = images.shape[0]
    chunks = [(c, images[i0:i0 + 64].astype(np.float32), labels[i0:i0 + 64].astype(np.float32))
              for c, i0 in enumerate(range(0, n, 64))]
    config = config or {"kind": "tractable twin", "pixels": nx}
    return store.write_dataset(path, config, seed=0, n=n, chunk_size=64,
                               columns=columns or COLUMNS, px=axis(nx, pmax),
                               py=axis(ny, pmax), chunks=chunks)


def twin_dataset(path: Path, n: int, seed: int) -> Path:
    """A twin dataset of ``n`` images."""
    labels = twin_labels(n, seed)
    return write_dataset(path, twin_images(labels), labels)


