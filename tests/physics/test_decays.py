"""Decays against closed forms: the azimuthal moments of a linearly polarised meson, the polar
distributions of an unpolarised one, and four-momentum conservation."""

from __future__ import annotations

import numpy as np
import pytest

from meson_batches import hand_batch, linear_rho
from upclens.errors import ParameterError
from upclens.physics.decays import decay, pdg_mass, sample_directions

N = 200_000
M_RHO = 0.7753


def _mean_within(x: np.ndarray, expected: float, n_sd: float = 5.0) -> None:
    """Sample mean of x equal to ``expected`` within n_sd standard errors."""
    se = x.std(ddof=1) / np.sqrt(x.size)
    assert abs(x.mean() - expected) < n_sd * se, (x.mean(), expected, se)


def _lab_azimuth(p: np.ndarray) -> np.ndarray:
    return np.arctan2(p[:, 2], p[:, 1])


# rho = polarisation along x.  Spin 0: W ~ sin^2(t) cos^2(phi) -> <cos 2 phi> = 1/2,
# <cos 4 phi> = 0.  Spin 1/2: W ~ 1 - beta^2 sin^2(t) cos^2(phi) ->
# <cos 2 phi> = -beta^2 / (6 - 2 beta^2) (-1/4 for massless leptons), <cos 4 phi> = 0.
def test_pions_of_an_x_polarised_rho_follow_cos2phi_plus_one_half(rng):
    batch = hand_batch(N, rng, pdg_id=113, mass=M_RHO, y_range=(-3.0, 3.0))
    d = decay(batch, "pipi", rng)
    phi = _lab_azimuth(d.p1)  # pT = 0: a longitudinal boost keeps the azimuth
    np.testing.assert_allclose(phi, d.phi, atol=1e-9)
    _mean_within(np.cos(2 * phi), 0.5)
    _mean_within(np.cos(4 * phi), 0.0)
    _mean_within(np.sin(2 * phi), 0.0)


def test_electrons_of_an_x_polarised_jpsi_have_the_opposite_sign(rng):
    d = decay(hand_batch(N, rng), "ee", rng)
    beta2 = 1.0 - 4 * pdg_mass(11) ** 2 / 3.0969**2
    phi = _lab_azimuth(d.p1)
    _mean_within(np.cos(2 * phi), -beta2 / (6 - 2 * beta2))
    _mean_within(np.cos(4 * phi), 0.0)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_the_lepton_modulation_shrinks_with_the_velocity(rng, beta):
    n = sample_directions(linear_rho(0.0, N), 0.5, beta, rng)
    _mean_within(np.cos(2 * np.arctan2(n[:, 1], n[:, 0])), -beta**2 / (6 - 2 * beta**2))


@pytest.mark.parametrize("spin", [0.0, 0.5])
def test_a_rotated_polarisation_rotates_the_pattern(rng, spin):
    alpha = 0.7
    n = sample_directions(linear_rho(alpha, N), spin, 1.0, rng)
    rel = np.arctan2(n[:, 1], n[:, 0]) - alpha
    _mean_within(np.cos(2 * rel), 0.5 if spin == 0.0 else -0.25)
    _mean_within(np.sin(2 * rel), 0.0)


def test_unpolarised_mesons_give_the_textbook_polar_distributions(rng):
    rho = np.broadcast_to(np.eye(2) / 2, (N, 2, 2)).astype(complex)
    # spin 0: W ~ sin^2 t -> <cos^2 t> = 1/5; spin 1/2, beta = 1: W ~ 1 + cos^2 t -> 2/5
    pions = sample_directions(rho, 0.0, 1.0, rng)
    leptons = sample_directions(rho, 0.5, 1.0, rng)
    _mean_within(pions[:, 2] ** 2, 0.2)
    _mean_within(leptons[:, 2] ** 2, 0.4)
    _mean_within(np.cos(2 * np.arctan2(pions[:, 1], pions[:, 0])), 0.0)


def test_circular_polarisation_leaves_the_azimuth_flat(rng):
    e = np.array([1.0, 1.0j]) / np.sqrt(2)
    rho = np.broadcast_to(np.outer(e, e.conj()), (N, 2, 2))
    n = sample_directions(rho, 0.0, 1.0, rng)
    _mean_within(np.cos(2 * np.arctan2(n[:, 1], n[:, 0])), 0.0)


@pytest.mark.parametrize(("pdg", "mass", "channel"),
                         [(443, 3.0969, "ee"), (443, 3.0969, "mumu"), (100443, 3.6861, "mumu"),
                          (113, M_RHO, "pipi")])
def test_four_momentum_and_masses_are_conserved(rng, pdg, mass, channel):
    batch = hand_batch(20_000, rng, pdg_id=pdg, mass=mass, pt_max=1.0, y_range=(-5.0, 5.0))
    d = decay(batch, channel, rng)
    e, px, py, pz = (d.p1 + d.p2).T
    mt = np.sqrt(mass**2 + batch.px**2 + batch.py**2)
    np.testing.assert_allclose(px, batch.px, atol=1e-9, rtol=0)
    np.testing.assert_allclose(py, batch.py, atol=1e-9, rtol=0)
    np.testing.assert_allclose(e, mt * np.cosh(batch.rapidity), atol=1e-9, rtol=0)
    np.testing.assert_allclose(pz, mt * np.sinh(batch.rapidity), atol=1e-9, rtol=0)
    pair_mass = np.sqrt(e**2 - px**2 - py**2 - pz**2)
    np.testing.assert_allclose(pair_mass, mass, rtol=1e-9)
    m_d = pdg_mass(abs(d.pdg_ids[0]))
    for p in (d.p1, d.p2):
        m2 = p[:, 0] ** 2 - np.sum(p[:, 1:] ** 2, axis=1)
        np.testing.assert_allclose(m2, m_d**2, atol=1e-9 * p[:, 0].max())
    assert d.pdg_ids[0] == -d.pdg_ids[1]


def test_pdg_masses_are_the_tabulated_ones():
    assert pdg_mass(11) == pytest.approx(0.000511, rel=1e-3)
    assert pdg_mass(13) == pytest.approx(0.105658, rel=1e-5)
    assert pdg_mass(211) == pytest.approx(0.139570, rel=1e-5)


def test_refusals_name_the_value(rng):
    with pytest.raises(ParameterError, match=r"channel = 'ee'.*pipi for rho0"):
        decay(hand_batch(10, rng, pdg_id=113, mass=M_RHO), "ee", rng)
    with pytest.raises(ParameterError, match="channel = 'tautau'"):
        decay(hand_batch(10, rng), "tautau", rng)
    with pytest.raises(ParameterError, match="threshold"):
        decay(hand_batch(10, rng, pdg_id=113, mass=0.25), "pipi", rng)


@pytest.mark.parametrize(("meson", "channel", "sign"),
                         [("jpsi", "ee", -1.0), ("rho0", "pipi", 1.0)])
def test_sampled_collisions_give_the_measured_signs(rng, meson, channel, sign):
    # The engine's events (one collision each, random b direction, vector photon field): the
    # daughters' cos 2(Delta phi) at pair pT < 40 MeV is negative for J/psi -> e+e- and
    # positive for rho0 -> pi+pi- (STAR), by many standard errors.
    from upclens.observables.events import cos_n_delta_phi
    from upclens.physics.nucleus import Nucleus
    from upclens.physics.production import EventSampler

    sampler = EventSampler(Nucleus.from_preset("Zr96"), meson=meson, rapidity=(0.0, 0.0))
    d = decay(sampler.sample(40_000, rng), channel, rng)
    r = cos_n_delta_phi(d.p1, d.p2, [0.0, 0.04])
    assert sign * r.value[0] > 5 * r.error[0]
