"""Correlation and least-squares slopes with their standard errors (NumPy only).

Constant inputs give NaN correlations rather than warnings; slopes need at least p + 2 points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from upclens.errors import ParameterError


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two (n,) arrays; NaN if either is constant."""
    x = np.asarray(x, dtype=float) - np.mean(x)
    y = np.asarray(y, dtype=float) - np.mean(y)
    den = float(np.sqrt(np.sum(x * x) * np.sum(y * y)))
    return float(np.sum(x * y) / den) if den > 0 else float("nan")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (Pearson of average ranks); NaN if either is constant."""
    return pearson(rankdata(x), rankdata(y))


def min_points(p: int) -> int:
    """Fewest points for a least-squares fit of ``p`` slopes and an intercept that leaves one
    degree of freedom for the residual scatter (and so for the errors): p + 2."""
    return p + 2


@dataclass(frozen=True)
class LinearFit:
    """y = intercept + sum_j slopes[j] x_j, with standard errors from the residual scatter.

    slopes, errors: (p,).  residual_sd: sqrt(SSR / (n - p - 1)), the scatter of y at fixed x.
    """

    intercept: float
    slopes: np.ndarray
    errors: np.ndarray
    residual_sd: float
    n: int


def linear_fit(x: np.ndarray, y: np.ndarray) -> LinearFit:
    """Ordinary least squares of y (n,) on the columns of x (n, p) plus an intercept.

    Standard errors: sqrt(diag(s^2 (X^T X)^-1)) with s^2 = SSR / (n - p - 1) (homoscedastic).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    y = np.asarray(y, dtype=float)
    n, p = x.shape
    if n < min_points(p):
        raise ParameterError("dataset size", n,
                             f"must be at least {min_points(p)} images for {p} slopes")
    design = np.column_stack([np.ones(n), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    dof = n - p - 1
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.pinv(design.T @ design)
    errors = np.sqrt(np.clip(np.diag(cov)[1:], 0.0, None))
    return LinearFit(float(coef[0]), coef[1:], errors, float(np.sqrt(s2)), n)
