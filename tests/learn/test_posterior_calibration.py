"""The cross-fitted calibration of the posterior flows: the inflation that brings held-out
central intervals to their nominal coverage, and the quantile map that mends their shape,
checked where they are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from upclens.errors import ParameterError  # noqa: E402
from upclens.learn.coverage import LEVELS, interval_coverage  # noqa: E402
from upclens.learn.posterior import (  # noqa: E402
    QUANTILE_KNOTS,
    calibrated,
    fit_inflation,
    fit_quantile_map,
    identity_map,
    inflate,
    interval_coverage_inflated,
    recalibrate,
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


def test_quantile_map_of_a_gaussian_is_its_closed_form() -> None:
    """Truths scattering sigma = 1.3 times the width: the ranks are Phi(sigma z), so
    H^-1(p) = Phi(sigma Phi^-1(p)).  Tolerance 0.03: the p-quantile of 4000 ranks has sd
    sqrt(p (1 - p) / n) / h <= 0.011 (h = 1 / sigma at p = 1/2, larger in the tails)."""
    from scipy.stats import norm

    s, t = _gaussian_case((1.3,), n=4000, s=400, seed=5)
    qmap = fit_quantile_map(s, t)[0]
    p = QUANTILE_KNOTS
    inner = (p > 0.02) & (p < 0.98)
    exact = norm.cdf(1.3 * norm.ppf(p[inner]))
    assert np.allclose(qmap[inner], exact, atol=0.03), np.abs(qmap[inner] - exact).max()
    assert qmap[0] == 0.0
    assert qmap[-1] == 1.0
    assert np.all(np.diff(qmap) > 0)


def test_the_quantile_map_mends_a_shape_one_factor_cannot() -> None:
    """Truths with heavier tails than the posterior (Student t, 3 dof, scale 0.8: its core
    narrower and its tails wider than the unit Gaussian): the best single factor leaves the 50
    and 95 % coverage off by > 5 binomial sd of 4000 sets, the factor and the map (fitted on
    other sets of the same kind) bring every level within 3 sd (+ 0.01 for the finite map)."""
    def case(seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        centre = rng.normal(0.0, 3.0, (4000, 1))
        samples = centre[:, None, :] + rng.standard_normal((4000, 200, 1))
        return samples, centre + 0.8 * rng.standard_t(3, (4000, 1))

    s, t = case(6)
    factor = fit_inflation(s, t)
    qmap = fit_quantile_map(s, t, factor)
    s2, t2 = case(7)
    u = torch.from_numpy(s2.transpose(1, 0, 2).copy())
    wide = inflate(u, torch.from_numpy(factor))
    mended = recalibrate(wide, torch.from_numpy(qmap), torch.from_numpy(QUANTILE_KNOTS))
    lv = np.asarray(LEVELS)
    sd = np.sqrt(lv * (1 - lv) / len(t2))
    one = interval_coverage(wide.permute(1, 0, 2).numpy(), t2)[0]
    both = interval_coverage(mended.permute(1, 0, 2).numpy(), t2)[0]
    assert np.abs(one - lv).max() > 5 * sd[np.argmax(np.abs(one - lv) / sd)], one
    assert np.all(np.abs(both - lv) < 3 * sd + 0.01), both


def test_recalibrate_keeps_each_marginals_order_and_the_identity() -> None:
    """A monotone map per marginal: the samples' order in every parameter, hence their joint
    dependence, is kept; the identity map returns the samples unchanged."""
    rng = np.random.default_rng(8)
    u = torch.from_numpy(rng.normal(size=(300, 5, 3)))
    same = recalibrate(u, torch.from_numpy(identity_map()), torch.from_numpy(QUANTILE_KNOTS))
    assert torch.allclose(same, u, rtol=0, atol=1e-12)
    k = QUANTILE_KNOTS  # q = p + 0.05 sin(2 pi p) / 2 pi: monotone, inside the samples' range
    qmap = np.tile(k + 0.05 * np.sin(2 * np.pi * k) / (2 * np.pi), (3, 1))
    moved = recalibrate(u, torch.from_numpy(qmap), torch.from_numpy(QUANTILE_KNOTS))
    assert torch.equal(moved.argsort(dim=0), u.argsort(dim=0))
    assert not torch.allclose(moved, u)
    with pytest.raises(ParameterError, match="quantile map"):
        calibrated(u, {"inflation": [1.0] * 3, "calibration_method": "inflation"}, "quantile")
