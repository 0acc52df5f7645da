"""SBC and TARP on a linear-Gaussian twin whose exact posterior is known."""

from __future__ import annotations

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.learn.coverage import (
    LEVELS,
    coverage_report,
    interval_coverage,
    sbc_ranks,
    tarp_ecp,
    tolerance,
)

N_SIMS, N_SAMPLES = 600, 400


def linear_gaussian(rng: np.random.Generator, shrink: float = 1.0, shift: float = 0.0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """theta ~ N(0, I_3), x = A theta + N(0, S); posterior N(m(x), C) exactly; samples drawn
    with the covariance multiplied by shrink^2 and the mean moved by shift posterior sd."""
    a = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, -0.7], [0.3, 0.0, 1.0]])
    s = np.diag([0.4, 0.8, 0.6]) ** 2
    theta = rng.normal(size=(N_SIMS, 3))
    x = theta @ a.T + rng.multivariate_normal(np.zeros(3), s, size=N_SIMS)
    prec = np.eye(3) + a.T @ np.linalg.solve(s, a)
    cov = np.linalg.inv(prec)
    mean = (cov @ a.T @ np.linalg.solve(s, x.T)).T + shift * np.sqrt(np.diag(cov))
    chol = np.linalg.cholesky(cov) * shrink
    z = rng.normal(size=(N_SIMS, N_SAMPLES, 3))
    return mean[:, None, :] + z @ chol.T, theta


def test_exact_posterior_passes(rng: np.random.Generator) -> None:
    samples, theta = linear_gaussian(rng)
    rep = coverage_report(samples, theta, ("t1", "t2", "t3"), rng,
                          bounds=np.array([[-3.0, 3.0]] * 3))
    assert rep.passed, rep.to_dict()
    ranks = sbc_ranks(samples, theta)
    # ranks uniform: mean N_SAMPLES / 2 within 4 standard errors
    se = N_SAMPLES / np.sqrt(12 * N_SIMS)
    assert np.all(np.abs(ranks.mean(axis=0) - N_SAMPLES / 2) < 4 * se)


@pytest.mark.parametrize(("shrink", "shift"), [(0.5, 0.0), (1.0, 1.0)])
def test_overconfident_or_biased_posterior_fails(rng: np.random.Generator, shrink: float,
                                                 shift: float) -> None:
    """Half the true width: the 68 % intervals cover 38 % (erf(0.5/sqrt 2)); a bias of one sd:
    coverage of the 68 % interval about 48 %; both far outside 2 binomial sd (2.6 points)."""
    samples, theta = linear_gaussian(rng, shrink, shift)
    rep = coverage_report(samples, theta, ("t1", "t2", "t3"), rng,
                          bounds=np.array([[-3.0, 3.0]] * 3))
    assert not rep.passed
    cov68 = interval_coverage(samples, theta)[:, 1]
    assert np.all(cov68 < 0.6827 - 3 * tolerance(0.6827, N_SIMS, N_SAMPLES, 1.0))


def test_tarp_flags_joint_overconfidence_and_agrees_with_the_tarp_package(
        rng: np.random.Generator) -> None:
    samples, theta = linear_gaussian(rng)
    bad, theta_bad = linear_gaussian(rng, shrink=0.6)
    a, ecp = tarp_ecp(samples, theta, np.random.default_rng(1))
    _, ecp_bad = tarp_ecp(bad, theta_bad, np.random.default_rng(1))
    assert np.max(np.abs(ecp - a)) < 0.07  # Kolmogorov-like band for 600 simulations
    assert np.max(np.abs(ecp_bad - a)) > 0.15
    tarp = pytest.importorskip("tarp")
    ref_rng = np.random.default_rng(5)
    lo, hi = theta.min(axis=0), theta.max(axis=0)
    ref = lo + (hi - lo) * ref_rng.random(theta.shape)
    # the package in its units: the same references, scaled to the box, Euclidean
    w = hi - lo
    ecp_pkg, alpha_pkg = tarp.get_tarp_coverage(np.moveaxis(samples / w, 1, 0), theta / w,
                                                references=ref / w, metric="euclidean")
    _, ecp_own = tarp_ecp(samples, theta, np.random.default_rng(5), alphas=alpha_pkg)
    assert np.max(np.abs(ecp_own - ecp_pkg)) <= 1.0 / N_SIMS * 3 + 1e-12


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ParameterError, match="samples"):
        coverage_report(np.zeros((3, 5)), np.zeros((3, 2)), ("a", "b"),
                        np.random.default_rng(0))
    with pytest.raises(ParameterError, match="samples"):
        sbc_ranks(np.zeros((3, 1, 2)), np.zeros((3, 2)))
    assert len(LEVELS) == 3
