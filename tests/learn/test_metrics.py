"""Metrics against closed forms and brute force; coverage of calibrated and overconfident
predictors (the tractable linear-Gaussian twin)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from upclens.learn.metrics import (
    class_metrics,
    coverage,
    coverage_curve,
    coverage_spread,
    regression_metrics,
    reliability,
    roc_auc,
)


def test_regression_metrics_closed_forms() -> None:
    true = np.array([0.0, 1.0, 2.0, 3.0])
    assert regression_metrics(true, true) == {"r2": 1.0, "mae": 0.0, "rmse": 0.0}
    mean_only = regression_metrics(np.full(4, 1.5), true)
    assert mean_only["r2"] == pytest.approx(0.0, abs=1e-15)
    shifted = regression_metrics(true + 0.5, true)  # SS_res = 4 * 0.25, SS_tot = 5
    assert shifted["r2"] == pytest.approx(1 - 1.0 / 5.0)
    assert shifted["mae"] == pytest.approx(0.5)
    assert shifted["rmse"] == pytest.approx(0.5)
    assert regression_metrics(np.ones(3), np.full(3, 0.2))["r2"] is None


def test_roc_auc_equals_pair_count(rng: np.random.Generator) -> None:
    labels = rng.random(300) < 0.4
    scores = np.round(rng.normal(labels * 0.8, 1.0), 1)  # rounded: many ties
    pos, neg = scores[labels], scores[~labels]
    brute = (np.sum(pos[:, None] > neg[None, :]) + 0.5 * np.sum(pos[:, None] == neg[None, :]))
    assert roc_auc(scores, labels) == pytest.approx(brute / (pos.size * neg.size), rel=1e-12)
    assert roc_auc(np.arange(4.0), np.array([0, 0, 1, 1])) == 1.0
    assert roc_auc(np.zeros(4), np.array([0, 1, 0, 1])) == 0.5
    assert roc_auc(np.zeros(3), np.ones(3)) is None


def test_class_metrics_confusion() -> None:
    m = class_metrics(np.array([-1.0, 2.0, -3.0, 4.0, 0.5]), np.array([0, 0, 1, 1, 1]))
    assert m["confusion"] == [[1, 1], [1, 2]]
    assert m["accuracy"] == pytest.approx(3 / 5)


@pytest.mark.parametrize(("scale", "expected68"), [(1.0, 0.6827), (0.5, math.erf(0.5 / 2**0.5))])
def test_coverage_calibrated_and_overconfident(rng: np.random.Generator, scale: float,
                                               expected68: float) -> None:
    """Truth ~ N(mu, sigma): the calibrated sigma covers 68.27 %, a halved sigma 38.3 %.
    Tolerance: 5 binomial standard deviations for n = 20000 (about 0.017)."""
    n = 20_000
    mu, sigma = rng.uniform(-1, 1, n), rng.uniform(0.1, 2.0, n)
    true = mu + sigma * rng.standard_normal(n)
    tol = 5 * math.sqrt(0.25 / n)
    assert coverage(mu, scale * sigma, true, 0.6827) == pytest.approx(expected68, abs=tol)
    levels, observed = coverage_curve(mu, scale * sigma, true)
    z = norm.ppf(0.5 * (1 + levels))
    expected = 2 * norm.cdf(scale * z) - 1  # P(|Z| <= scale z_level)
    np.testing.assert_allclose(observed, expected, atol=tol)


@pytest.mark.parametrize(("n_cal", "n_test"), [(600, 600), (1600, 1600), (None, 800)])
def test_coverage_spread_matches_calibrate_then_test(rng: np.random.Generator,
                                                     n_cal: int | None, n_test: int) -> None:
    """Scale sigma to the 68.27 % quantile of |z| on n_cal cases, score n_test others, repeat:
    the coverages scatter by coverage_spread whatever the shape of z (here Student t, 3 dof,
    and misscaled by 1.7).  Tolerances: 5 standard errors of the sampled mean and of the
    sampled standard deviation (relative error 1 / sqrt(2 reps))."""
    reps, p = 4000, 0.6827
    z_test = np.abs(rng.standard_t(3, (reps, n_test))) * 1.7
    if n_cal is None:
        scale = np.full(reps, 1.7 * float(np.quantile(np.abs(rng.standard_t(3, 2_000_000)), p)))
    else:
        scale = np.quantile(np.abs(rng.standard_t(3, (reps, n_cal))) * 1.7, p, axis=1)
    observed = np.mean(z_test <= scale[:, None], axis=1)
    spread = coverage_spread(p, n_test, n_cal)
    assert observed.mean() == pytest.approx(p, abs=5 * spread / math.sqrt(reps))
    assert observed.std(ddof=1) == pytest.approx(spread, rel=5 / math.sqrt(2 * reps))
    if n_cal is not None:  # the calibration doubles the variance of equal splits
        assert spread > math.sqrt(p * (1 - p) / n_test) * 1.3


def test_reliability_of_calibrated_probabilities(rng: np.random.Generator) -> None:
    n = 40_000
    p = rng.random(n)
    labels = (rng.random(n) < p).astype(float)
    mean_p, frac, count = reliability(np.log(p / (1 - p)), labels)
    assert count.sum() == n
    np.testing.assert_allclose(frac, mean_p, atol=5 * math.sqrt(0.25 / count.min()))
