"""Sliding k x k windows over an image and the pixel frame around each of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from upclens.errors import ParameterError


def _starts(n: int, k: int, stride: int) -> np.ndarray:
    """Window starts 0, stride, ... along an axis of ``n`` pixels; the last start is n - k so
    that every pixel is covered."""
    starts = list(range(0, n - k + 1, stride))
    if starts[-1] != n - k:
        starts.append(n - k)
    return np.asarray(starts, dtype=np.int64)


@dataclass(frozen=True)
class Windows:
    """All k x k windows of an (ny, nx) image with a given stride.

    ``starts`` (P, 2): (y0, x0) of each window.  ``flat`` (P, k*k): flat pixel indices
    (iy * nx + ix) of each window, row-major inside the window.
    """

    shape: tuple[int, int]
    window: int
    stride: int
    starts: np.ndarray
    flat: np.ndarray

    @classmethod
    def build(cls, shape: tuple[int, int], window: int, stride: int) -> Windows:
        """Windows of size ``window`` (pixels) every ``stride`` pixels over ``shape`` (ny, nx)."""
        ny, nx = (int(s) for s in shape)
        if int(window) != window or not 1 <= window <= min(ny, nx):
            raise ParameterError("window", window, f"must be an integer in [1, {min(ny, nx)}]")
        if int(stride) != stride or not 1 <= stride <= window:
            raise ParameterError("stride", stride, f"must be an integer in [1, window={window}]")
        k = int(window)
        ys, xs = _starts(ny, k, int(stride)), _starts(nx, k, int(stride))
        y0, x0 = (a.ravel() for a in np.meshgrid(ys, xs, indexing="ij"))
        dy, dx = (a.ravel() for a in np.meshgrid(np.arange(k), np.arange(k), indexing="ij"))
        flat = (y0[:, None] + dy[None, :]) * nx + (x0[:, None] + dx[None, :])
        return cls((ny, nx), k, int(stride), np.stack([y0, x0], axis=1), flat)

    @property
    def count(self) -> int:
        """Number of windows P."""
        return int(self.starts.shape[0])

    def coverage(self) -> np.ndarray:
        """(ny, nx): how many windows cover each pixel (>= 1 everywhere)."""
        counts = np.bincount(self.flat.ravel(), minlength=self.shape[0] * self.shape[1])
        return counts.reshape(self.shape).astype(np.float64)

    def spread(self, values: np.ndarray) -> np.ndarray:
        """Per-pixel average of per-window ``values`` (P,) over the windows covering each pixel,
        as in Zintgraf et al. (2017), eq. (8): (ny, nx)."""
        values = np.asarray(values, dtype=np.float64)
        sums = np.bincount(self.flat.ravel(), weights=np.repeat(values, self.flat.shape[1]),
                           minlength=self.shape[0] * self.shape[1])
        return sums.reshape(self.shape) / self.coverage()

    def frame(self, index: int, padding: int) -> np.ndarray:
        """Flat indices of the frame of ``padding`` pixels around window ``index``, clipped at the
        image border (window pixels excluded): (m,)."""
        ny, nx = self.shape
        y0, x0 = (int(v) for v in self.starts[index])
        k = self.window
        ylo, yhi = max(0, y0 - padding), min(ny, y0 + k + padding)
        xlo, xhi = max(0, x0 - padding), min(nx, x0 + k + padding)
        yy, xx = np.meshgrid(np.arange(ylo, yhi), np.arange(xlo, xhi), indexing="ij")
        inside = (yy >= y0) & (yy < y0 + k) & (xx >= x0) & (xx < x0 + k)
        return (yy * nx + xx)[~inside]
