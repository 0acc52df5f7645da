"""The cross-fitted calibration of the posterior flows: the inflation that brings held-out
central intervals to their nominal coverage, checked where it is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from upclens.errors import ParameterError  # noqa: E402
from upclens.learn.coverage import LEVELS  # noqa: E402
from upclens.learn.posterior import (  # noqa: E402
    fit_inflation,
    inflate,
    interval_coverage_inflated,
)


def _gaussian_case(sigmas: tuple[float, ...], n: int = 2000, s: int = 200, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """n sets: samples N(c, 1) about a random centre c per set and parameter, truths
    c + sigma z.  The posterior's width is off by sigma, so the exact inflation is sigma."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(0.0, 3.0, (n, len(sigmas)))
    samples = centre[:, None, :] + rng.standard_normal((n, s, len(sigmas)))
    truth = centre + np.asarray(sigmas) * rng.standard_normal((n, len(sigmas)))
    return samples, truth


def test_inflation_recovers_the_width_error_of_a_gaussian() -> None:
    """Over-confident by 2, calibrated, and under-confident by 1/0.7: the factor is sigma.
    Tolerance 0.1: the coverage of 2000 sets has sd 0.010 (68 %) and 0.005 (95 %), and the
    slope of the coverage in the factor is 2 phi(z) z / sigma (0.24 at 68 %, 0.11 at 95 % for
    sigma = 2), so each level pins sigma to ~0.04-0.05 and the three together to ~0.03."""
    sigmas = (2.0, 1.0, 0.7)
    factor = fit_inflation(*_gaussian_case(sigmas))
    assert np.allclose(factor, sigmas, atol=0.1), factor


def test_the_inflated_intervals_cover_at_their_levels() -> None:
    """After widening by the fitted factor the held-out coverage is within 3 binomial sd of
    each level (on new sets of the same kind: the factor is not fitted to the noise)."""
    factor = fit_inflation(*_gaussian_case((1.6,), seed=1))[0]
    s, t = _gaussian_case((1.6,), seed=2)
    cov = interval_coverage_inflated(s[:, :, 0], t[:, 0], factor)
    sd = np.sqrt(np.asarray(LEVELS) * (1 - np.asarray(LEVELS)) / len(t))
    assert np.all(np.abs(cov - LEVELS) < 3 * sd + 0.01), cov
    raw = interval_coverage_inflated(s[:, :, 0], t[:, 0], 1.0)
    assert np.all(raw < np.asarray(LEVELS) - 5 * sd), raw  # without it: over-confident


def test_inflating_by_f_is_ranking_the_truth_pulled_in_by_f() -> None:
    """The coverage of the widened samples, computed by widening them, equals the closed
    form that moves the truth instead (the rank of t among m + f (s - m) is that of
    m + (t - m) / f among s)."""
    s, t = _gaussian_case((1.3,), n=300, s=101, seed=3)
    f = 1.7
    u = torch.from_numpy(s[:, :, 0].T.copy())[:, :, None]  # (S, n, 1)
    wide = inflate(u, torch.tensor([f], dtype=torch.float64))[:, :, 0].T.numpy()
    direct = interval_coverage_inflated(wide, t[:, 0], 1.0)
    assert np.array_equal(direct, interval_coverage_inflated(s[:, :, 0], t[:, 0], f))


def test_inflate_keeps_the_median_and_scales_the_spread() -> None:
    rng = np.random.default_rng(4)
    u = torch.from_numpy(rng.normal(1.0, 0.5, (501, 7, 3)))
    f = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    w = inflate(u, f)
    assert torch.allclose(w.median(dim=0).values, u.median(dim=0).values)
    ratio = (w.std(dim=0) / u.std(dim=0)).mean(dim=0)
    assert torch.allclose(ratio, f, rtol=1e-9)


def test_fit_inflation_refuses_mismatched_shapes() -> None:
    with pytest.raises(ParameterError, match="must be"):
        fit_inflation(np.zeros((10, 50, 3)), np.zeros((10, 2)))
