"""The coherent Pb208 |t| spectrum at 5.02 TeV against ALICE (PLB 817 (2021) 136280)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2 as chi2_dist

from support import SHARED_REAL_DATA
from upclens.compare import (
    ALICE_COHERENT_PB,
    bin_averages,
    fit_alice_coherent_pb,
    read_alice_coherent,
)
from upclens.physics.nucleus import Nucleus
from upclens.physics.settings import ModelSwitches
from upclens.physics.tspectrum import coherent_tspectrum, minimum_t


def test_shipped_data_equal_the_shared_measurement():
    shared = SHARED_REAL_DATA / ALICE_COHERENT_PB
    if not shared.exists():
        pytest.skip(f"{shared} not present beside the repository")
    a, b = read_alice_coherent(), read_alice_coherent(shared)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_shipped_table_is_read_from_the_package():
    """The table ships with the package (no copy beside the checkout is needed)."""
    data = read_alice_coherent()
    assert data["t_low_GeV2"].size == 6
    assert data["t_high_GeV2"][-1] == pytest.approx(0.0121)


def test_bin_average_of_a_step_at_t_min_is_exact():
    """An exponential switched on at t_min: the bin average is [e^(-B t0) - e^(-B t1)] /
    (B (t1 - t0_bin)), whatever the bin's lower edge; bins wholly below t_min are zero."""
    slope, t_min = 400.0, 3.3e-7
    lo, hi = np.array([0.0, 1e-4, 0.0]), np.array([7.2e-4, 2e-3, 1e-7])

    def spectrum(t):
        return np.where(t >= t_min, np.exp(-slope * t), 0.0)

    start = np.maximum(lo, t_min)
    exact = np.where(hi > t_min, (np.exp(-slope * start) - np.exp(-slope * hi)) / slope, 0.0)
    got = bin_averages(spectrum, lo, hi, t_min, points_per_bin=16)
    np.testing.assert_allclose(got, exact / (hi - lo), rtol=1e-12, atol=0.0)


def test_first_alice_bin_is_averaged_over_its_physical_part():
    """The fit's model in each bin against an independent fine trapezoid over [max(t_low,
    t_min), t_high]; its error, h^2/12 * (400 GeV^-2)^2 with h = 7.2e-4/4000 GeV^2, is 1e-9 of
    the value.  A rule with a node at |t| = 0 < t_min loses about half a node spacing of the
    first bin (0.8 % with 64 nodes)."""
    pb = Nucleus.from_preset("Pb208")
    fit = fit_alice_coherent_pb(pb)
    t_min = minimum_t(5020.0, 0.0)
    assert 3.0e-7 < t_min < 3.6e-7  # (M_J/psi / 2 gamma)^2 at y = 0: 0.05 % of the first bin
    for i, (a, b) in enumerate(zip(fit.t_low, fit.t_high, strict=True)):
        t = np.linspace(max(a, t_min), b, 4001)
        ref = np.trapezoid(coherent_tspectrum(pb, t, 5020.0, 0.0), t) / (b - a)
        assert fit.model[i] == pytest.approx(ref, rel=1e-6), i


def test_glauber_shape_against_alice():
    """Reported chi2/ndf without skin (docs/physics.md); the Glauber non-linearity must
    describe the shape better than the linear model, and the fit scale is the suppression
    factor seen at the LHC (data below Glauber by ~0.6)."""
    glauber = fit_alice_coherent_pb()
    linear = fit_alice_coherent_pb(switches=ModelSwitches(glauber=False))
    print(f"ALICE Pb208 coherent: chi2/ndf = {glauber.chi2:.2f}/{glauber.ndf} "
          f"(linear {linear.chi2:.2f}/{linear.ndf}), scale {glauber.scale:.3f}")
    assert glauber.ndf == 5
    assert glauber.chi2 < linear.chi2
    assert 0.4 < glauber.scale < 0.8
    assert chi2_dist.sf(glauber.chi2, glauber.ndf) > 0.005


def test_measured_neutron_skin_describes_alice_shape():
    """With the PREX-II skin of 208Pb (0.283 fm) the shape fit is good (p > 0.05) and better
    than without skin."""
    skin = fit_alice_coherent_pb(Nucleus.from_preset("Pb208", delta_rnp=0.283, skin_type="skin"))
    none = fit_alice_coherent_pb()
    assert skin.chi2 < none.chi2
    assert chi2_dist.sf(skin.chi2, skin.ndf) > 0.05


def test_t_min_is_the_mesons_own():
    """q_z = M / (2 gamma) at y = 0, so t_min scales as M^2; the rho0 spectrum reaches the
    rapidities where a J/psi would be below threshold (|y| = 5.3 at 200 GeV, STAR's rho0
    cross section integrates to y_beam) and starts at the rho0's own t_min."""
    from upclens.physics.mesons import meson
    from upclens.physics.numerics import Numerics

    ratio = minimum_t(200.0, 0.0, "rho0") / minimum_t(200.0, 0.0, "jpsi")
    assert ratio == pytest.approx((meson("rho0").mass / meson("jpsi").mass) ** 2, rel=1e-12)
    t_min = minimum_t(200.0, -5.3, "rho0")
    t = np.array([0.5 * t_min, t_min + 1e-4, t_min + 1e-3])  # t_min ~ 0.5 GeV^2 here
    coarse = Numerics(dx=0.7, n_orient_cos=8, n_orient_azimuth=16)
    spec = coherent_tspectrum(Nucleus.from_preset("Au197"), t, 200.0, -5.3, numerics=coarse,
                              meson="rho0")
    assert spec[0] == 0.0
    assert np.all(spec[1:] > 0)
