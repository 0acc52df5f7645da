"""Metrics of predictions against truth (NumPy only): regression, class, interval coverage."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import erf
from scipy.stats import norm, rankdata

#: Central-interval levels whose coverage is reported; 0.6827 is +-1 sigma.
COVERAGE_LEVELS = (0.6827, 0.95)


def regression_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float | None]:
    """R^2 = 1 - SS_res / SS_tot (None for a constant truth), MAE and RMSE (units of the input)."""
    pred, true = np.asarray(pred, float), np.asarray(true, float)
    res = pred - true
    ss_tot = float(np.sum((true - true.mean()) ** 2))
    r2 = None if ss_tot <= 1e-12 * max(1.0, float(np.sum(true**2))) else (
        1.0 - float(np.sum(res**2)) / ss_tot)
    return {"r2": r2, "mae": float(np.mean(np.abs(res))), "rmse": float(np.sqrt(np.mean(res**2)))}


def coverage(pred: np.ndarray, sigma: np.ndarray, true: np.ndarray,
             level: float) -> float:
    """Fraction of cases whose truth lies in the central Gaussian interval of probability
    ``level`` (mean +- z sigma with z = Phi^-1((1 + level) / 2))."""
    z = float(norm.ppf(0.5 * (1.0 + level)))
    return float(np.mean(np.abs(np.asarray(true) - pred) <= z * np.asarray(sigma)))


def coverage_spread(level: float, n_test: int, n_calibration: int | None = None) -> float:
    """Standard deviation of the observed coverage of the ``level`` interval on ``n_test``
    cases, when the interval's width was calibrated to ``level`` on ``n_calibration`` other
    cases (None: no calibration, only the test count's binomial spread).

    Distribution-free: the calibrated quantile of |z| is an order statistic, so the fraction
    F of the parent it covers is Beta-distributed with var(F) = p (1 - p) / (n_cal + 2); the
    test count is binomial around F, so var = p (1 - p) / n_test + (1 - 1 / n_test) var(F).
    """
    p = float(level)
    var_f = 0.0 if n_calibration is None else p * (1.0 - p) / (n_calibration + 2.0)
    return math.sqrt(p * (1.0 - p) / n_test + (1.0 - 1.0 / n_test) * var_f)


def coverage_curve(pred: np.ndarray, sigma: np.ndarray, true: np.ndarray,
                   levels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Observed against nominal coverage of the central intervals (for calibration plots)."""
    levels = np.linspace(0.05, 0.99, 20) if levels is None else np.asarray(levels)
    z = np.abs(np.asarray(true) - pred) / np.maximum(np.asarray(sigma), 1e-300)
    observed = erf(z / math.sqrt(2.0))  # the level at which each case is just covered
    return levels, np.array([float(np.mean(observed <= lv)) for lv in levels])


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties); None for one class."""
    labels = np.asarray(labels) > 0.5
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(np.asarray(scores, float))
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def class_metrics(logits: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Accuracy at P = 0.5, ROC AUC and the confusion matrix [[TN, FP], [FN, TP]]."""
    labels = np.asarray(labels) > 0.5
    guess = np.asarray(logits) > 0.0
    confusion = [[int(np.sum(~labels & ~guess)), int(np.sum(~labels & guess))],
                 [int(np.sum(labels & ~guess)), int(np.sum(labels & guess))]]
    return {"accuracy": float(np.mean(guess == labels)), "roc_auc": roc_auc(logits, labels),
            "confusion": confusion}


def reliability(logits: np.ndarray, labels: np.ndarray,
                bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean predicted P(skin), observed fraction and count per probability bin (empty: NaN)."""
    p = 1.0 / (1.0 + np.exp(-np.asarray(logits, float)))
    labels = np.asarray(labels, float)
    k = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(k, minlength=bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(k, weights=p, minlength=bins) / count
        frac = np.bincount(k, weights=labels, minlength=bins) / count
    return mean_p, frac, count
