"""Event observables against closed forms: cos 2(Delta phi) of mesons polarised along or across
their pT, daughter symmetry, and error estimates against the spread of repeated samples."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from meson_batches import hand_batch, linear_rho
from upclens.errors import ParameterError
from upclens.observables.events import (
    cos_n_delta_phi,
    delta_phi,
    pt_spectrum,
    spectra_by_class,
    spectrum_ratio,
)
from upclens.physics.decays import decay, pdg_mass

N = 100_000


def _decays(rng, pdg, mass, channel, along: bool, n=N):
    """Mesons of pT = 10 MeV in random directions psi, polarised along psi (or across it)."""
    b = hand_batch(n, rng, pdg_id=pdg, mass=mass, pt_max=0.0)
    psi = rng.uniform(-np.pi, np.pi, n)
    pt = 0.01
    pol = psi if along else psi + np.pi / 2
    b = replace(b, px=pt * np.cos(psi), py=pt * np.sin(psi), rho=linear_rho(pol, n))
    return decay(b, channel, rng)


@pytest.mark.parametrize("along", [True, False])
def test_cos2_of_pions_and_electrons_has_the_closed_form_size_and_sign(rng, along):
    # Polarisation along the pair pT: <cos 2 dphi> = +1/2 (pions), -beta^2/(6 - 2 beta^2)
    # (electrons); across it both flip sign.  Corrections O((pT/M)^2) < 2e-4.
    sign = 1.0 if along else -1.0
    pions = _decays(rng, 113, 0.7753, "pipi", along)
    electrons = _decays(rng, 443, 3.0969, "ee", along)
    beta2 = 1 - 4 * pdg_mass(11) ** 2 / 3.0969**2
    for d, expected in ((pions, 0.5), (electrons, -beta2 / (6 - 2 * beta2))):
        r = cos_n_delta_phi(d.p1, d.p2, [0.0, 0.02])
        assert abs(r.value[0] - sign * expected) < 5 * r.error[0] + 2e-4
        r4 = cos_n_delta_phi(d.p1, d.p2, [0.0, 0.02], n=4)
        assert abs(r4.value[0]) < 5 * r4.error[0]


def test_even_harmonics_do_not_depend_on_the_daughter_order(rng):
    d = _decays(rng, 113, 0.7753, "pipi", True, n=1000)
    a, b = delta_phi(d.p1, d.p2), delta_phi(d.p2, d.p1)
    np.testing.assert_allclose(np.cos(2 * a), np.cos(2 * b), atol=1e-12)
    np.testing.assert_allclose(np.cos(4 * a), np.cos(4 * b), atol=1e-12)


def test_errors_match_the_spread_of_repeated_samples(rng):
    means, errs = [], []
    for _ in range(200):
        d = _decays(rng, 113, 0.7753, "pipi", True, n=400)
        r = cos_n_delta_phi(d.p1, d.p2, [0.0, 0.02])
        means.append(r.value[0])
        errs.append(r.error[0])
    # the sd of 200 means is known to 1/sqrt(2 * 199) = 5 %; 4 sd allowed
    assert np.std(means, ddof=1) / np.mean(errs) == pytest.approx(1.0, abs=0.2)


def test_spectra_per_class_and_their_ratio(rng):
    edges = np.linspace(0.0, 0.3, 7)
    pt_a = np.hypot(*rng.normal(0, 0.05, (2, 40_000)))
    classes = np.where(rng.random(pt_a.size) < 0.3, "XnXn", "0n0n")
    spec = spectra_by_class(pt_a, classes, edges)
    assert set(spec) == {"0n0n", "XnXn"}
    for s in spec.values():
        assert np.sum(s.value * np.diff(edges)) == pytest.approx(1.0)
    # two samples of one distribution: the ratio is 1 within the stated errors (chi2 test)
    ratios, errs = [], []
    for _ in range(100):
        a = pt_spectrum(np.hypot(*rng.normal(0, 0.05, (2, 5000))), edges)
        b = pt_spectrum(np.hypot(*rng.normal(0, 0.05, (2, 8000))), edges)
        r = spectrum_ratio(a, b)
        ratios.append(r.value)
        errs.append(r.error)
    ratios, errs = np.array(ratios), np.array(errs)
    keep = np.all(np.isfinite(ratios), axis=0)
    spread = ratios[:, keep].std(axis=0, ddof=1) / errs[:, keep].mean(axis=0)
    np.testing.assert_allclose(spread, 1.0, atol=0.35)  # sd of 100 samples: 7 %, 5 sd


def test_refusals():
    p = np.zeros((3, 4))
    with pytest.raises(ParameterError, match="pt edges"):
        cos_n_delta_phi(p, p, [0.1, 0.05])
    with pytest.raises(ParameterError, match="reference"):
        delta_phi(p, p, "negative")
    a = pt_spectrum(np.array([0.1]), [0.0, 0.2])
    with pytest.raises(ParameterError, match="edges"):
        spectrum_ratio(a, pt_spectrum(np.array([0.1]), [0.0, 0.3]))
