"""Samplers of window contents for Prediction Difference Analysis (Zintgraf et al. 2017).

A sampler replaces the k x k pixels of each window by plausible values:

- :class:`MarginalSampler`: the window of a random image of the data set, p(x_w) (section 3.1 of
  the paper, jointly over the window).
- :class:`ConditionalSampler`: a multivariate Gaussian of the window given the frame of
  ``padding`` pixels around it, p(x_w | x_frame), fitted on the data set separately for every
  window position (the images are not translation invariant: the bright spot is always at p = 0).
  The Gaussian lives in linear intensity or in log(I + floor); the log space keeps samples
  positive over the decades an image spans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from upclens.errors import ParameterError, check_choice, check_range
from upclens.explain.windows import Windows

SPACES = ("log", "linear")


def _flat(data: np.ndarray) -> np.ndarray:
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 3 or data.shape[0] < 2:
        raise ParameterError("data", f"shape {data.shape}", "must be (N >= 2, ny, nx) images")
    return data.reshape(data.shape[0], -1)


class MarginalSampler:
    """Window contents taken jointly from random images of a data set (N, ny, nx)."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = _flat(data)

    def draw(self, image: np.ndarray, windows: Windows, n_samples: int,
             rng: np.random.Generator) -> np.ndarray:
        """Values for every window and sample: (P, n_samples, k*k); ``image`` is ignored."""
        del image
        idx = rng.integers(0, self.data.shape[0], size=(windows.count, n_samples))
        return self.data[idx[:, :, None], windows.flat[:, None, :]]


@dataclass
class _Group:
    """Windows that share a frame size m, stacked for batched conditioning."""

    members: np.ndarray          # (G,) window indices
    frame: np.ndarray            # (G, m) flat frame indices
    mean_w: np.ndarray           # (G, k2)
    mean_o: np.ndarray           # (G, m)
    gain: np.ndarray             # (G, k2, m) = C_wo C_oo^-1
    root: np.ndarray             # (G, k2, k2) L with L L^T = conditional covariance


@dataclass
class ConditionalSampler:
    """Gaussian p(x_w | x_frame) per window position, fitted on a data set.

    ``space``: 'log' (Gaussian in log(I + floor), floor = ``floor_fraction`` x the maximum of the
    mean image) or 'linear'.  ``shrinkage`` in [0, 1]: covariance (1 - s) C + s diag(C), which
    keeps it positive definite when the data set has fewer images than frame pixels.
    """

    windows: Windows
    padding: int
    space: str
    floor: float
    groups: list[_Group] = field(default_factory=list)

    @classmethod
    def fit(cls, data: np.ndarray, windows: Windows, padding: int = 2, space: str = "log",
            shrinkage: float = 0.05, floor_fraction: float = 1e-3) -> ConditionalSampler:
        """Fit one Gaussian of (window, frame) pixels per window of ``windows`` on ``data``."""
        flat = _flat(data)
        if flat.shape[1] != windows.shape[0] * windows.shape[1]:
            raise ParameterError("data", f"image shape {np.shape(data)[1:]}",
                                 f"must match the windows' image shape {windows.shape}")
        if int(padding) != padding or padding < 1:
            raise ParameterError("padding", padding, "must be an integer >= 1")
        check_choice("space", space, SPACES)
        check_range("shrinkage", shrinkage, 0.0, 1.0)
        check_range("floor_fraction", floor_fraction, 0.0, 1.0, lo_open=True)
        floor = float(floor_fraction * max(flat.mean(axis=0).max(), 1e-300))
        sampler = cls(windows, int(padding), space, floor)
        z = sampler.forward(flat)
        by_size: dict[int, list[tuple[int, np.ndarray]]] = {}
        for p in range(windows.count):
            frame = windows.frame(p, int(padding))
            by_size.setdefault(frame.size, []).append((p, frame))
        for items in by_size.values():
            parts = [_condition(z, windows.flat[p], frame, shrinkage) for p, frame in items]
            sampler.groups.append(_Group(
                members=np.array([p for p, _ in items]),
                frame=np.stack([f for _, f in items]),
                **{key: np.stack([part[key] for part in parts]) for key in parts[0]}))
        return sampler

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Intensities to the space of the Gaussian."""
        return np.log(np.maximum(x, 0.0) + self.floor) if self.space == "log" else x

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Back from the space of the Gaussian to intensities (clipped at 0 in log space)."""
        return np.maximum(np.exp(z) - self.floor, 0.0) if self.space == "log" else z

    def conditional(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Conditional means (P, k*k) and covariance square roots L (P, k*k, k*k), L L^T = cov,
        of every window given the frame of ``image`` (ny, nx), in the space of the Gaussian."""
        z = self.forward(np.asarray(image, dtype=np.float64).ravel())
        k2 = self.windows.flat.shape[1]
        means = np.empty((self.windows.count, k2))
        roots = np.empty((self.windows.count, k2, k2))
        for g in self.groups:
            dev = z[g.frame] - g.mean_o
            means[g.members] = g.mean_w + np.einsum("gwm,gm->gw", g.gain, dev)
            roots[g.members] = g.root
        return means, roots

    def draw(self, image: np.ndarray, windows: Windows, n_samples: int,
             rng: np.random.Generator) -> np.ndarray:
        """Samples of every window given its frame in ``image``: (P, n_samples, k*k)."""
        if windows is not self.windows and not np.array_equal(windows.flat, self.windows.flat):
            raise ParameterError("windows", f"window={windows.window}, stride={windows.stride}",
                                 "must be those the conditional sampler was fitted with")
        means, roots = self.conditional(image)
        noise = rng.standard_normal((windows.count, n_samples, means.shape[1]))
        return self.inverse(means[:, None, :] + np.einsum("pij,psj->psi", roots, noise))


def _condition(z: np.ndarray, window: np.ndarray, frame: np.ndarray,
               shrinkage: float) -> dict[str, np.ndarray]:
    """Gaussian conditioning of the window pixels on the frame pixels of data ``z`` (N, npix)."""
    cols = np.concatenate([window, frame])
    x = z[:, cols]
    mean = x.mean(axis=0)
    cov = np.cov(x, rowvar=False)
    cov = (1.0 - shrinkage) * cov + shrinkage * np.diag(np.diag(cov))
    k2 = window.size
    c_ww, c_wo, c_oo = cov[:k2, :k2], cov[:k2, k2:], cov[k2:, k2:]
    jitter = 1e-10 * max(float(np.trace(cov)) / cov.shape[0], 1e-300)
    gain = np.linalg.solve(c_oo + jitter * np.eye(frame.size), c_wo.T).T
    cond = c_ww - gain @ c_wo.T
    cond = 0.5 * (cond + cond.T) + jitter * np.eye(k2)
    w, v = np.linalg.eigh(cond)
    root = v * np.sqrt(np.clip(w, 0.0, None))  # a square root L with L L^T = cond
    return {"mean_w": mean[:k2], "mean_o": mean[k2:], "gain": gain, "root": root}
