"""Detector presets, acceptance and smearing against closed forms; the event-level incoherent
background against its Gaussian limit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from meson_batches import hand_batch
from upclens.errors import ParameterError
from upclens.physics.decays import decay, pdg_mass
from upclens.physics.detector import (
    DETECTORS,
    acceptance_fraction,
    accepted,
    check_reachable,
    detector,
    pseudorapidity,
    smear,
)

N = 100_000


def test_star_acceptance_of_unpolarised_jpsi_at_rest_is_the_closed_form(rng):
    # J/psi at rest, y = 0, unpolarised (rho = 1/2): W ~ 1 + beta^2 cos^2 t - (1 - beta^2) ...
    # for beta -> 1: W ~ 1 + cos^2 t; |eta| < 1 <-> |cos t| < tanh 1, pT = M/2 sin t > 0.2.
    rho = np.broadcast_to(np.eye(2) / 2, (N, 2, 2)).astype(complex)
    d = decay(hand_batch(N, rng, rho=rho, y_range=(0.0, 0.0)), "ee", rng)
    c = math.tanh(1.0)
    expected = (c + c**3 / 3) / (4.0 / 3.0)
    frac = accepted(detector("star"), d.p1, d.p2).mean()
    assert abs(frac - expected) < 5 * math.sqrt(expected * (1 - expected) / N)


def test_pseudorapidity_of_massless_daughters_is_the_rapidity(rng):
    d = decay(hand_batch(1000, rng, pt_max=0.3, y_range=(-4, 4)), "ee", rng)
    p = d.p1
    y = 0.5 * np.log((p[:, 0] + p[:, 3]) / (p[:, 0] - p[:, 3]))
    pt2 = p[:, 1] ** 2 + p[:, 2] ** 2
    # eta - y = O(m^2 / pT^2) for m << pT
    assert np.all(np.abs(pseudorapidity(p) - y) <= pdg_mass(11) ** 2 / pt2)


def test_smearing_has_the_stated_relative_width(rng):
    det = detector("star")
    p = np.zeros((N, 4))
    p[:, 1] = 1.0  # pT = 1 GeV: sigma = sqrt(0.01^2 + 0.005^2)
    m = pdg_mass(11)
    p[:, 0] = math.hypot(1.0, m)
    out = smear(det, p, m, rng)
    ratio = out[:, 1]
    sigma = math.hypot(det.res_const, det.res_slope)
    assert abs(ratio.mean() - 1.0) < 5 * sigma / math.sqrt(N)
    assert abs(ratio.std() / sigma - 1.0) < 5 / math.sqrt(2 * N)
    np.testing.assert_allclose(out[:, 0] ** 2 - np.sum(out[:, 1:] ** 2, axis=1), m * m,
                               atol=1e-12)
    np.testing.assert_array_equal(smear(detector("none"), p, m, rng), p)


def test_every_preset_accepts_its_own_channel(rng):
    # forward detectors look at forward rapidity
    where = {"alice-muon": (-4.0, -2.5), "lhcb": (2.0, 4.5), "cms": (-2.0, 2.0)}
    for name in DETECTORS:
        frac = acceptance_fraction(detector(name), 443, 3.0969, "mumu",
                                   where.get(name, (-0.5, 0.5)), 0.3, 20_000, rng)
        assert frac > 0.05, name


def test_cuts_replace_the_preset_values():
    det = detector("star", pt_min=0.5)
    assert det.pt_min == 0.5
    assert det.eta_max == 1.0
    assert det.name == "star+cuts"


def test_refusals():
    with pytest.raises(ParameterError, match=r"detector = 'atlas'.*star"):
        detector("atlas")
    with pytest.raises(ParameterError, match="cut = 'y_min'"):
        detector("star", y_min=1.0)
    with pytest.raises(ParameterError, match="empty acceptance"):
        detector("star", eta_min=1.0)
    with pytest.raises(ParameterError, match=r"pt_min = 2\.0.*empty acceptance"):
        check_reachable(detector("star", pt_min=2.0), 3.0969, pdg_mass(11), 0.3, 1.0)
    with pytest.raises(ParameterError, match="p_min"):
        check_reachable(detector("cms", p_min=100.0), 3.0969, pdg_mass(13), 0.3, 2.0)


