"""Statistical uncertainties of image observables made of finite event counts.

Pixel counts n_i of one experiment are independent Poisson numbers (or multinomial at fixed total:
both give the same first-order variance for the scale-free ratios used here).

- Ratios of weighted sums, v = sum_i n_i w_i a_i / sum_i n_i w_i (mean pT, the low-pT ratio, v_n):
  first-order (delta-method) propagation gives

      var(v) = sum_i n_i w_i^2 (a_i - v)^2 / (sum_i n_i w_i)^2,

  e.g. var(v_n) = (<cos^2 n phi> - v_n^2) / N_window for 0/1 weights.
- Observables that are not smooth in the counts (the pixel count above half maximum, the mean of
  the lowest pixels): a parametric bootstrap, n_i* ~ Poisson(n_i), from an explicit seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from upclens.errors import ParameterError


def weighted_ratio(counts: np.ndarray, weights: np.ndarray, values: np.ndarray) -> float:
    """sum n w a / sum n w; NaN when the weighted count is zero."""
    den = float(np.sum(counts * weights))
    if den <= 0.0:
        return float("nan")
    return float(np.sum(counts * weights * values) / den)


def weighted_ratio_error(counts: np.ndarray, weights: np.ndarray, values: np.ndarray) -> float:
    """Delta-method standard error of :func:`weighted_ratio` for Poisson counts ``counts``."""
    den = float(np.sum(counts * weights))
    if den <= 0.0:
        return float("nan")
    v = float(np.sum(counts * weights * values) / den)
    return float(np.sqrt(np.sum(counts * weights**2 * (values - v) ** 2)) / den)


def poisson_bootstrap(statistic: Callable[[np.ndarray], np.ndarray], counts: np.ndarray,
                      n_boot: int, seed: int) -> np.ndarray:
    """Standard deviation of ``statistic`` over ``n_boot`` Poisson resamplings of ``counts``.

    ``statistic`` maps a stack of images (B, ny, nx) to values (B, K); returns (K,).  The
    resamplings come from ``np.random.default_rng([seed, 0])`` in batches of at most 64 images.
    """
    if n_boot < 2:
        raise ParameterError("n_boot", n_boot, "must be an integer >= 2")
    rng = np.random.default_rng([int(seed), 0])
    out = []
    for start in range(0, n_boot, 64):
        b = min(64, n_boot - start)
        sample = rng.poisson(np.broadcast_to(counts, (b, *counts.shape))).astype(float)
        out.append(np.atleast_2d(statistic(sample)))
    values = np.concatenate(out, axis=0)
    return np.std(values, axis=0, ddof=1)
