"""The RMSE / sigma_CRB ratio on synthetic numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from upclens.ladder.bound import choose_points, rmse_to_crb


def test_ratio_by_hand_with_excluded_points() -> None:
    truth = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    sigma = np.array([0.01, 0.02, np.nan, 0.2, 0.03])  # nan: undefined; 0.2 >= 0.3 / 4
    pred = truth + np.array([0.02, -0.01, 5.0, 9.0, 0.03])
    r = rmse_to_crb(truth, pred, sigma, width=0.3)
    rmse = math.sqrt((0.02**2 + 0.01**2 + 0.03**2) / 3)
    rms = math.sqrt((0.01**2 + 0.02**2 + 0.03**2) / 3)
    assert r["n_used"] == 3
    assert r["n_undefined"] == 1
    assert r["rmse"] == pytest.approx(rmse)
    assert r["sigma_rms"] == pytest.approx(rms)
    assert r["ratio"] == pytest.approx(rmse / rms)


def test_efficient_estimator_has_ratio_one() -> None:
    """Errors drawn with exactly sigma_CRB give a ratio 1 within its sampling error: for n
    points the mean of z^2 sigma^2 has relative sd sqrt(2 sum s^4) / sum s^2 ~ sqrt(2 / n), so
    the ratio (its square root) is within ~ 4 / sqrt(2n) at 4 sd."""
    rng = np.random.default_rng(5)
    n = 4000
    sigma = rng.uniform(0.005, 0.05, n)
    truth = rng.uniform(0.0, 0.3, n)
    pred = truth + sigma * rng.standard_normal(n)
    r = rmse_to_crb(truth, pred, sigma, width=0.3)
    assert r["n_used"] == n
    assert abs(r["ratio"] - 1.0) < 4.0 / math.sqrt(2 * n)
    r2 = rmse_to_crb(truth, truth + 2 * (pred - truth), sigma, width=0.3)
    assert r2["ratio"] == pytest.approx(2 * r["ratio"])


def test_no_usable_points() -> None:
    r = rmse_to_crb(np.zeros(3), np.ones(3), np.array([np.nan, 1.0, 2.0]), width=0.3)
    assert r["ratio"] is None
    assert r["n_used"] == 0
    assert r["n_undefined"] == 1


def test_choose_points_is_a_seeded_sorted_subsample() -> None:
    a = choose_points(100, 10, seed=3)
    assert a.size == 10
    assert np.all(np.diff(a) > 0)
    assert a.max() < 100
    assert np.array_equal(a, choose_points(100, 10, seed=3))
    assert not np.array_equal(a, choose_points(100, 10, seed=4))
    assert np.array_equal(choose_points(5, 10, seed=3), np.arange(5))
