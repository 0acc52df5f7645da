"""Nucleon-level Good-Walker incoherent production: positivity, no fluctuations -> no incoherent
cross section, the closed form of the linear model, the large-|t| limit, and ALICE."""

from __future__ import annotations

import numpy as np
import pytest

from upclens.compare_incoherent import compare_alice_incoherent
from upclens.errors import ParameterError
from upclens.physics.constants import JPSI_SLOPE_GEV2
from upclens.physics.incoherent import (
    GoodWalker,
    IncoherentSettings,
    background_table,
    linear_incoherent_closed_form,
    pt_spectrum,
    sample_background,
    spectrum_from_amplitudes,
)
from upclens.physics.nucleus import Nucleus
from upclens.physics.settings import ModelSwitches

T = np.array([0.002, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4, 0.7, 1.0])


def _walker(glauber: bool, n: int = 300, deformed: bool = False, **kw) -> GoodWalker:
    nucleus = Nucleus.from_preset("Zr96")
    return GoodWalker(nucleus if deformed else nucleus.spherical(), 5020.0, 0.0,
                      ModelSwitches(glauber=glauber), IncoherentSettings(n_configurations=n, **kw))


def test_variance_is_non_negative():
    spec = _walker(True).spectrum(T)
    assert np.all(spec.incoherent >= 0.0)
    assert np.all(spec.incoherent_error > 0.0)


@pytest.mark.parametrize("glauber", [False, True])
def test_no_fluctuations_no_incoherent_cross_section(glauber):
    gw = _walker(glauber, n=4)
    rng = np.random.default_rng(3)
    one = rng.normal(0.0, 3.0, size=(1, 96, 2))
    amp = gw.amplitudes(T, centres=np.repeat(one, 5, axis=0), width_fm2=0.16)
    spec = spectrum_from_amplitudes(T, amp, 1.0)
    np.testing.assert_allclose(spec.incoherent, 0.0, atol=1e-20)
    np.testing.assert_allclose(spec.coherent, np.mean(np.abs(amp[0]) ** 2, axis=0), rtol=1e-12)


def test_linear_model_matches_independent_nucleon_closed_form():
    # Gamma = T, A independent nucleons of a spherical nucleus:
    # Var A(Delta) = A exp(-B_G |t|) (1 - |F(t)|^2) exactly.
    # 600 configurations: each point within 4 Monte-Carlo standard errors (9 points, seeded).
    gw = _walker(False, n=600)
    spec = gw.spectrum(T)
    scale = gw.kinematics.amplitude_scale**2 * 1.0e-6
    exact = linear_incoherent_closed_form(gw.profile, T) * scale
    assert np.all(np.abs(spec.incoherent - exact) < 4.0 * spec.incoherent_error)
    # at large |t| (F -> 0) that is A times the single-nucleon cross section S exp(-B_G |t|)
    big = T >= 0.4
    np.testing.assert_allclose(exact[big] / (96 * scale * np.exp(-JPSI_SLOPE_GEV2 * T[big])), 1.0,
                               atol=1e-3)


def test_glauber_large_t_falls_with_the_nucleon_slope_and_is_shadowed():
    gw = _walker(True, n=300)
    spec = gw.spectrum(np.array([0.6, 1.0]))
    slope = np.log(spec.incoherent[0] / spec.incoherent[1]) / 0.4
    # single scattering dominates at large |t|; the statistical error of the slope is ~3 %
    assert slope == pytest.approx(JPSI_SLOPE_GEV2, rel=0.12)
    single = 96 * gw.kinematics.amplitude_scale**2 * 1.0e-6 * np.exp(-JPSI_SLOPE_GEV2 * 1.0)
    assert 0.3 < spec.incoherent[1] / single < 1.0  # absorption: fewer nucleons are seen


def test_orientation_fluctuations_add_incoherent_production_near_the_first_minimum():
    # 96Zr with (beta2, beta3) = (0.06, 0.20): near the first zero of the form factor
    # (|t| ~ 0.03 GeV^2) the orientation fluctuations add to the nucleon fluctuations.
    t = np.array([0.03])
    deformed = _walker(False, n=600, deformed=True).spectrum(t)
    spherical = _walker(False, n=600).spectrum(t)
    diff = deformed.incoherent - spherical.incoherent
    assert diff[0] > 4.0 * np.hypot(deformed.incoherent_error, spherical.incoherent_error)[0]


def test_hotspots_that_coincide_with_the_nucleon_reproduce_it():
    base = _walker(True, n=8).amplitudes(T)
    same = _walker(True, n=8, hotspots=3, hotspot_width=JPSI_SLOPE_GEV2,
                   hotspot_spread=0.0).amplitudes(T)
    np.testing.assert_allclose(same, base, rtol=1e-9, atol=1e-12)


def test_alice_incoherent_needs_subnucleon_fluctuations():
    # Smooth nucleons (B_G = 4 GeV^-2) fall too steeply against ALICE; nucleons of three hot spots
    # (Mantysaari-Schenke parameters, not fitted) give the measured shape, and their size relative
    # to the coherent cross section matches the data within its uncertainty (2 sigma).
    smooth = compare_alice_incoherent(IncoherentSettings(n_configurations=200))
    assert smooth.slope_model - smooth.slope_data > 3.0 * smooth.slope_data_error
    spots = compare_alice_incoherent(IncoherentSettings(n_configurations=200, hotspots=3))
    assert spots.chi2_shape < 9.49  # 95 % quantile of chi2 with 4 degrees of freedom
    assert abs(spots.ratio_model - spots.ratio_data) < 2.0 * spots.ratio_data_error
    # the normalisation data/model of the incoherent spectrum agrees with the coherent one
    assert abs(spots.scale - spots.coherent_scale) < 3.0 * spots.scale_error


def test_seeded_and_bad_settings_refused():
    a = _walker(True, n=6).spectrum(T)
    b = _walker(True, n=6).spectrum(T)
    c = _walker(True, n=6, seed=1).spectrum(T)
    np.testing.assert_array_equal(a.incoherent, b.incoherent)
    assert not np.allclose(a.incoherent, c.incoherent)
    with pytest.raises(ParameterError, match="hotspots"):
        IncoherentSettings(hotspots=2.5)
    with pytest.raises(ParameterError, match="n_configurations"):
        IncoherentSettings(n_configurations=1)


def test_background_sampler_inverts_a_piecewise_linear_density():
    """|pT| drawn from a density linear between nodes: the counts in sub-bins follow the
    exact trapezoid integrals (chi2 within 5 sd of its mean), nothing leaves the window, the
    azimuth is uniform (first and second harmonics zero within 5 sd)."""
    pt = np.array([0.0, 0.1, 0.2, 0.3])
    f = np.array([0.0, 2.0, 1.0, 3.0])
    n = 200_000
    px, py = sample_background(n, np.random.default_rng(3), pt, f)
    p = np.hypot(px, py)
    assert p.min() >= 0.0
    assert p.max() <= 0.3
    edges = np.linspace(0.0, 0.3, 13)
    dens = np.interp(edges, pt, f)
    mass = 0.5 * np.diff(edges) * (dens[:-1] + dens[1:])  # exact: the density is linear inside
    expected = n * mass / mass.sum()
    counts = np.histogram(p, edges)[0]
    ndf = edges.size - 2
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < ndf + 5 * np.sqrt(2 * ndf), chi2
    phi = np.arctan2(py, px)
    for k in (1, 2):
        for harmonic in (np.cos(k * phi), np.sin(k * phi)):
            assert abs(harmonic.mean()) < 5 * np.sqrt(0.5 / n)
    with pytest.raises(ParameterError, match="density"):
        sample_background(10, np.random.default_rng(0), pt, np.zeros(4))


def test_background_table_is_the_spectrum_in_the_window():
    """The generator's table is 2 pT d sigma_inc/d|t| of the events' ensemble on nodes that
    span the window; it vanishes at pT = 0 and is the same ensemble at every pT."""
    nucleus = Nucleus.from_preset("Zr96")
    pt, dens = background_table(nucleus, 200.0, 0.05)
    assert pt[0] == 0.0
    assert pt[-1] == pytest.approx(0.05)
    assert pt.size == 21
    assert dens[0] == 0.0
    assert np.all(dens[1:] > 0.0)
    inc, _ = pt_spectrum(nucleus, 200.0, pt[[4, 20]])
    assert np.allclose(inc, dens[[4, 20]], rtol=1e-12)
