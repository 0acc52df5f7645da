"""The Fisher / Cramer-Rao machinery on models whose information is known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from upclens.errors import ParameterError
from upclens.information.fisher import (
    Parameter,
    add_priors,
    crb_sigma,
    fisher_from_model,
    information_per_event,
    sigma_fixed,
    sigma_versus_n,
    stencil,
)


def gaussian_spot(s: float, edges: np.ndarray) -> np.ndarray:
    """Pixel probabilities (normalised over the window) of a 2D Gaussian of width s."""
    axis = np.diff(ndtr(edges / s))
    p = np.outer(axis, axis)
    return p / p.sum()


def gaussian_spot_derivative(s: float, edges: np.ndarray) -> np.ndarray:
    """d p / d s in closed form (d Phi(e/s)/ds = -phi(e/s) e / s^2), normalisation included."""
    phi = np.exp(-0.5 * (edges / s) ** 2) / math.sqrt(2 * math.pi)
    axis = np.diff(ndtr(edges / s))
    daxis = np.diff(-phi * edges / s**2)
    q = np.outer(axis, axis)
    dq = np.outer(daxis, axis) + np.outer(axis, daxis)
    return dq / q.sum() - q * dq.sum() / q.sum() ** 2


def test_pixelised_gaussian_width_matches_the_closed_form():
    edges = np.linspace(-3.0, 3.0, 33)
    s0, n = 0.8, 5000.0
    res = fisher_from_model(lambda pt: gaussian_spot(pt["s"], edges), {"s": s0},
                            [Parameter("s", 0.02, 0.0)], n)
    p, dp = gaussian_spot(s0, edges), gaussian_spot_derivative(s0, edges)
    exact = n * np.sum(dp**2 / p)
    # Central differences with h/2 = 0.01: relative error ~ (h/2)^2 p'''/(6 p') ~ 1e-4.
    assert res.matrix[0, 0] == pytest.approx(exact, rel=3e-4)
    assert res.sigma_crb["s"] == pytest.approx(1 / math.sqrt(exact), rel=2e-4)
    assert res.converged


def test_fine_pixels_reach_the_unbinned_information_of_a_gaussian_width():
    # Unbinned: score r^2/s^3 - 2/s with r^2/s^2 ~ chi2(2), so I = 4 / s^2 per event.
    edges = np.linspace(-8.0, 8.0, 321)  # pixel 0.05 s, window +-8 s
    res = fisher_from_model(lambda pt: gaussian_spot(pt["s"], edges), {"s": 1.0},
                            [Parameter("s", 0.02, 0.0)], 1.0)
    # Binning loses ~ (pixel/s)^2 / 12 of it.
    assert res.per_event[0, 0] == pytest.approx(4.0, rel=2e-3)


def test_linear_mixture_two_parameters_closed_form_and_likelihoods_agree(rng):
    a, b, c = (rng.random(50) + 0.1 for _ in range(3))
    a, b, c = a / a.sum(), b / b.sum(), c / c.sum()

    def model(pt):
        return a + pt["t1"] * (b - a) + pt["t2"] * (c - a)

    point = {"t1": 0.3, "t2": 0.2}
    pars = [Parameter("t1", 0.05, 0, 1), Parameter("t2", 0.05, 0, 1)]
    p = model(point)
    d = np.stack([b - a, c - a])
    exact = (d / p) @ d.T
    multi = fisher_from_model(model, point, pars, 1.0)
    pois = fisher_from_model(model, point, pars, 1.0, likelihood="poisson")
    np.testing.assert_allclose(multi.per_event, exact, rtol=1e-9)
    # sum(m) is constant, so the extended likelihood adds nothing.
    np.testing.assert_allclose(pois.per_event, exact, rtol=1e-9)
    cov = np.linalg.inv(exact)
    assert multi.sigma_crb["t2"] == pytest.approx(math.sqrt(cov[1, 1]), rel=1e-9)


def test_pure_yield_parameter_informs_only_the_extended_likelihood():
    shape = np.array([0.2, 0.3, 0.5])

    def model(pt):
        return pt["s"] * shape

    pars = [Parameter("s", 0.01, 0.0)]
    pois = fisher_from_model(model, {"s": 2.0}, pars, 100.0, likelihood="poisson")
    assert pois.matrix[0, 0] == pytest.approx(100.0 / 2.0, rel=1e-9)  # Poisson: N / s
    multi = fisher_from_model(model, {"s": 2.0}, pars, 100.0)
    assert multi.matrix[0, 0] == pytest.approx(0.0, abs=1e-9)
    assert math.isinf(multi.sigma_crb["s"])


def test_sigma_scales_as_one_over_sqrt_n(rng):
    a, b = rng.random(20) + 0.1, rng.random(20) + 0.1
    res = fisher_from_model(lambda pt: a + pt["t"] * b, {"t": 0.5},
                            [Parameter("t", 0.01)], 100.0)
    curve = sigma_versus_n(res, [1e2, 1e4, 1e6])["t"]
    np.testing.assert_allclose(curve * np.sqrt([1e2, 1e4, 1e6]), curve[0] * 10, rtol=1e-12)
    assert curve[0] == pytest.approx(res.sigma_crb["t"])


def test_step_error_falls_as_h_squared():
    edges = np.linspace(-3.0, 3.0, 17)
    exact = np.sum(gaussian_spot_derivative(0.7, edges) ** 2 / gaussian_spot(0.7, edges))
    errors = []
    for h in (0.04, 0.02, 0.01):  # derivatives with h / 2
        res = fisher_from_model(lambda pt: gaussian_spot(pt["s"], edges), {"s": 0.7},
                                [Parameter("s", h, 0.0)], 1.0, check_step=False)
        errors.append(abs(res.per_event[0, 0] - exact))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    np.testing.assert_allclose(ratios, 4.0, rtol=0.1)
    # The reported step change is the h -> h/2 change of sigma: ~ 3/4 of the error at h,
    # since I ~ sigma^-2.
    res = fisher_from_model(lambda pt: gaussian_spot(pt["s"], edges), {"s": 0.7},
                            [Parameter("s", 0.02, 0.0)], 1.0)  # h / 2 and h: errors[1], [0]
    predicted = 0.5 * (errors[0] - errors[1]) / exact
    assert res.step_change["s"] == pytest.approx(predicted, rel=0.05)


def test_stencils_are_second_order_and_stay_inside_the_bounds():
    f = np.polynomial.Polynomial([0.3, -1.0, 2.0])  # quadratic: every stencil is exact
    for x, lo, hi in ((0.5, 0.0, 1.0), (0.01, 0.0, 1.0), (0.99, 0.0, 1.0)):
        off, w = stencil(x, 0.05, lo, hi)
        assert np.all(x + off >= lo)
        assert np.all(x + off <= hi)
        assert np.dot(w, f(x + off)) == pytest.approx(f.deriv()(x), rel=1e-12)
    with pytest.raises(ParameterError, match="step"):
        stencil(0.5, 0.6, 0.0, 1.0)


def test_even_parameter_at_zero_reports_the_bound_on_its_square(rng):
    a, b = rng.random(30) + 0.1, rng.random(30)

    def model(pt):
        if pt["t"] < 0:
            raise AssertionError("evaluated outside the allowed range")
        return a + pt["t"] ** 2 * b

    par = [Parameter("t", 0.02, 0.0, 1.0, even=True)]
    res = fisher_from_model(model, {"t": 0.0}, par, 1e4)
    exact_u = 1e4 * np.sum(b**2 / a / a.sum()) - 1e4 * b.sum() ** 2 / a.sum() ** 2
    assert res.names == ["t_squared"]
    assert math.isinf(res.sigma_crb["t"])
    assert res.sigma_crb["t_squared"] == pytest.approx(exact_u**-0.5, rel=1e-6)
    assert res.notes
    # Just off the boundary the bound on t exists: sigma_t ~ sigma_u / (2 t).
    near = fisher_from_model(model, {"t": 0.01}, par, 1e4)
    assert near.sigma_crb["t"] == pytest.approx(res.sigma_crb["t_squared"] / 0.02, rel=0.01)


def _random_fisher(rng, k):
    m = rng.normal(size=(k, k))
    return m @ m.T + 0.1 * np.eye(k)


def test_nuisance_priors_bracket_the_bound(rng):
    for _ in range(20):
        f = _random_fisher(rng, 4)
        known = crb_sigma(f[:3, :3])
        free = crb_sigma(f)  # infinitely wide prior on the nuisance
        assert np.all(free[:3] >= known * (1 - 1e-12))
        tight = crb_sigma(add_priors(f, ["x", "y", "z", "n"], 1.0, {"n": 1e-7}))
        np.testing.assert_allclose(tight[:3], known, rtol=1e-6)
        loose = crb_sigma(add_priors(f, ["x", "y", "z", "n"], 1.0, {"n": 1e7}))
        np.testing.assert_allclose(loose[:3], free[:3], rtol=1e-6)
        mid = crb_sigma(add_priors(f, ["x", "y", "z", "n"], 1.0, {"n": 0.3}))
        assert np.all(mid[:3] <= free[:3] * (1 + 1e-12))
        assert np.all(mid[:3] >= known * (1 - 1e-12))


def test_zero_width_prior_returns_the_no_nuisance_answer(rng):
    a, b, c = rng.random(40) + 0.1, rng.random(40), rng.random(40)

    def model(pt):
        return a + pt["t"] * b + pt["n"] * c + 0.3 * pt["t"] * pt["n"] * b

    pars = [Parameter("t", 0.01), Parameter("n", 0.01)]
    point = {"t": 0.2, "n": 0.4}
    without = fisher_from_model(model, point, pars[:1], 1e3)
    fixed = fisher_from_model(model, point, pars, 1e3, priors={"n": 0.0})
    free = fisher_from_model(model, point, pars, 1e3, priors={"n": math.inf})
    assert fixed.names == ["t"]
    assert fixed.sigma_crb["t"] == without.sigma_crb["t"]
    assert free.sigma_crb["t"] >= without.sigma_crb["t"]
    assert sigma_fixed(free, ["n"])["t"] == pytest.approx(without.sigma_crb["t"], rel=1e-12)


def test_degenerate_parameters_without_prior_are_rejected():
    shape = np.array([0.2, 0.3, 0.5])
    d = np.array([1.0, -1.0, 0.0])
    pars = [Parameter("t", 0.01), Parameter("u", 0.01)]
    with pytest.raises(ParameterError, match="degenerate"):
        fisher_from_model(lambda pt: shape + (pt["t"] + pt["u"]) * 0.01 * d,
                          {"t": 0.0, "u": 0.0}, pars, 10.0)
    with pytest.raises(ParameterError, match="prior width"):
        fisher_from_model(lambda pt: shape, {"t": 0.0}, pars[:1], 10.0, priors={"t": -1.0})
    with pytest.raises(ParameterError, match="n_events"):
        fisher_from_model(lambda pt: shape, {"t": 0.0}, pars[:1], -1.0)
    with pytest.raises(ParameterError, match="must give u"):
        fisher_from_model(lambda pt: shape, {"t": 0.0}, pars, 10.0)


def test_information_per_event_ignores_empty_pixels():
    m0 = np.array([0.5, 0.5, 0.0])
    d = np.array([0.1, -0.1, 0.0])
    assert information_per_event(m0, [d])[0, 0] == pytest.approx(2 * 0.1**2 / 0.5)


def test_maximum_likelihood_variance_reaches_the_bound():
    """Binned ML fits of a Gaussian width on multinomial event images: their variance is the
    CRB within the sampling error of a variance estimate, sqrt(2 / (R - 1))."""
    edges = np.linspace(-2.5, 2.5, 13)
    s0, n_events, n_rep = 0.9, 2000, 1000
    crb = fisher_from_model(lambda pt: gaussian_spot(pt["s"], edges), {"s": s0},
                            [Parameter("s", 0.02, 0.0)], n_events).sigma_crb["s"]
    p0 = gaussian_spot(s0, edges).ravel()
    fits = []
    for rep in range(n_rep):
        counts = np.random.default_rng([7, rep]).multinomial(n_events, p0)

        def nll(s, counts=counts):
            return -np.sum(counts * np.log(gaussian_spot(s, edges).ravel()))

        fits.append(minimize_scalar(nll, bounds=(0.5, 1.5), method="bounded",
                                    options={"xatol": 1e-7}).x)
    fits = np.asarray(fits)
    rel = np.var(fits, ddof=1) / crb**2
    assert abs(rel - 1.0) < 3.0 * math.sqrt(2.0 / (n_rep - 1))  # 3 sigma: +-0.13
    assert abs(fits.mean() - s0) < 4.0 * crb / math.sqrt(n_rep)  # ML bias is O(1/N)
