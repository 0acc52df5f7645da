"""Forward-neutron classes from mutual Coulomb excitation: limits, a closed form, and published
numbers (STAR rho0 median impact parameters, ALICE mutual electromagnetic dissociation)."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.physics.constants import ALPHA_EM
from upclens.physics.flux import point_charge_flux
from upclens.physics.impact import ImpactParameterDistribution
from upclens.physics.kinematics import lorentz_gamma, sigma_nn_inelastic_fm2
from upclens.physics.neutrons import (
    NEUTRON_CLASSES,
    class_probability,
    class_summaries,
    dissociation_cross_sections_b,
    gdr_cross_section_mb,
    giant_dipole,
    mean_excitations,
    mean_excitations_direct,
    photoabsorption_mb,
)
from upclens.physics.nucleus import Nucleus, density_profile

AU = {"Z": 79, "A": 197, "sqrt_snn": 200.0}
PB = {"Z": 82, "A": 208, "sqrt_snn": 5020.0}
M_RHO = 0.7753  # GeV, PDG rho(770) mass: the photon energy of a rho0 at y = 0 is M / 2


@pytest.mark.parametrize("system", [AU, PB, {"Z": 40, "A": 96, "sqrt_snn": 200.0}])
def test_classes_are_probabilities_that_sum_to_one(system):
    b = np.geomspace(1.0, 5.0e3, 400)
    p = {c: class_probability(b, c, **system) for c in NEUTRON_CLASSES}
    for c in NEUTRON_CLASSES:
        assert np.all((p[c] >= 0.0) & (p[c] <= 1.0))
    np.testing.assert_allclose(p["any"], 1.0)
    np.testing.assert_allclose(p["0n0n"] + p["0nXn"] + p["XnXn"], 1.0, atol=1e-14)
    # 0nXn counts both beam sides: twice the probability that one given nucleus alone breaks up
    m = mean_excitations(b, **system)
    px = -np.expm1(-m)
    np.testing.assert_allclose(p["0nXn"], 2.0 * px * np.exp(-m), rtol=1e-12)
    # with the same field strength on both sides the classes are symmetric in the two nuclei:
    # P(XnXn) = P(Xn)^2 and P(0n0n) = P(0n)^2
    np.testing.assert_allclose(p["XnXn"], px**2, rtol=1e-12)


def test_breakup_is_certain_at_small_b_and_falls_like_inverse_b_squared():
    b = np.array([1.0, 3.0])
    assert np.all(class_probability(b, "XnXn", **AU) > 1.0 - 1e-6)  # m(3 fm) ~ 20
    # At large b, P_Xn ~ m and b^2 m varies only through the log of the high-energy cutoff
    # gamma_t hbar c / b (<= 45 % of m; a doubling of b removes ln 2 of a >= 5 unit log range).
    b = np.geomspace(50.0, 400.0, 4)
    m = mean_excitations(b, **AU)
    px = -np.expm1(-m)
    np.testing.assert_allclose(px / m, 1.0, atol=float(m.max()))  # 1 - e^-m = m (1 - m/2 + ...)
    ratio = 4.0 * m[1:] / m[:-1]  # (2b)^2 m(2b) / (b^2 m(b))
    assert np.all((ratio > 0.9) & (ratio <= 1.0))


def _lorentzian_log_integral(gdr, e_lo: float, e_hi: float) -> float:
    """int sigma_GDR(E) dE / E (mb) in closed form: u = E^2 turns it into int du / quadratic."""
    g2, e02 = gdr.width**2, gdr.energy**2
    root = math.sqrt(g2 * (4.0 * e02 - g2))

    def primitive(e: float) -> float:
        return math.atan((2.0 * e * e - (2.0 * e02 - g2)) / root)

    return gdr.peak * g2 / root * (primitive(e_hi) - primitive(e_lo))


@pytest.mark.parametrize(("Z", "A"), [(82, 208), (40, 96)])
def test_giant_dipole_part_matches_its_closed_form(Z, A):
    # For b << gamma_t hbar c / E the flux is Z^2 alpha / (pi^2 E b^2) (x K1(x) -> 1, corrections
    # ~ x^2 ln x ~ 1e-13 here), so b^2 m_GDR = Z^2 alpha / pi^2 int sigma dE / E.
    gdr = giant_dipole(Z, A)
    b = np.array([20.0])
    def sigma(e, z, a):
        return gdr_cross_section_mb(e, giant_dipole(z, a))

    m = mean_excitations_direct(b, Z, A, 5020.0, sigma_mb=sigma)
    expected = Z**2 * ALPHA_EM / math.pi**2 * _lorentzian_log_integral(gdr, gdr.threshold, 25.0)
    assert float(m[0] * b[0] ** 2) == pytest.approx(expected * 0.1, rel=1e-8)  # mb -> fm^2


def test_table_interpolation_matches_direct_quadrature():
    b = np.array([0.5, 2.3, 17.7, 63.1, 950.0, 2.0e5])
    direct = mean_excitations_direct(b, 82, 208, 5020.0)
    np.testing.assert_allclose(mean_excitations(b, **PB), direct, rtol=1e-5)


def test_contract_partial_and_bad_input():
    weight = functools.partial(class_probability, neutron_class="XnXn", Z=79, A=197,
                               sqrt_snn=200.0)
    assert weight(np.array([20.0, 40.0])).shape == (2,)
    with pytest.raises(ParameterError, match="neutron_class"):
        class_probability(np.array([20.0]), "1n1n", **AU)
    with pytest.raises(ParameterError, match="b_fm"):
        class_probability(np.array([-1.0]), "XnXn", **AU)
    with pytest.raises(ParameterError, match="sqrt_snn"):
        class_probability(np.array([20.0]), "XnXn", Z=79, A=197, sqrt_snn=1.0)
    # scalars keep their shape; b = 0 is the limit of certain breakup
    assert np.shape(class_probability(20.0, "0n0n", **AU)) == ()
    assert class_probability(0.0, "XnXn", **AU) == 1.0


def test_mutual_electromagnetic_dissociation_of_lead_matches_alice():
    # ALICE, PRL 109 (2012) 252302 (arXiv:1203.2436): mutual EMD with neutron emission in Pb-Pb
    # at 2.76 TeV, 5.7 +- 0.1 (stat) +- 0.4 (syst) b; the model must lie within 2 sigma.
    profile = density_profile(Nucleus.from_preset("Pb208"))
    _, mutual = dissociation_cross_sections_b(profile, 2760.0, sigma_nn_inelastic_fm2(2760.0))
    assert abs(mutual - 5.7) < 2.0 * math.hypot(0.1, 0.4)


def test_rho0_median_impact_parameters_match_star():
    # STAR, PRL 102 (2009) 112301: rho0 in Au+Au at 200 GeV, median b of 20 fm for the XnXn
    # (minimum-bias) sample and 40 fm for the topology sample (no neutron requirement, mostly
    # 0n0n). Both are quoted to the nearest 10 fm (from STARlight), hence +-5 fm.
    nucleus = Nucleus.from_preset("Au197")
    dist = ImpactParameterDistribution.build(density_profile(nucleus),
                                             sigma_nn_inelastic_fm2(200.0), 0.5 * M_RHO,
                                             lorentz_gamma(200.0), b_max=400.0)
    s = class_summaries(dist, **AU)
    assert abs(s["XnXn"].median_b - 20.0) < 5.0
    assert abs(s["0n0n"].median_b - 40.0) < 5.0
    assert s["XnXn"].median_b < s["0nXn"].median_b < s["any"].median_b < s["0n0n"].median_b
    assert sum(s[c].fraction for c in ("0n0n", "0nXn", "XnXn")) == pytest.approx(1.0, abs=1e-9)


# Photo-absorption of Pb as compiled in STARlight (beambeamsystem.cpp): Lepretre et al., NPA 367
# (1981) 237 (mb per nucleus), Carlos et al., NPA 431 (1984) 573 (mb per nucleus), Michalowski et
# al. / Caldwell et al. (mb per nucleon, shadowed).
LEPRETRE = ([26, 30, 34, 38, 44, 50, 55, 62, 69, 76, 82, 92, 103],
            [30.0, 22.5, 17.5, 14.5, 17.5, 20.0, 17.5, 15.5, 15.5, 18.0, 15.5, 13.0, 12.0])
CARLOS = ([103, 119, 132, 171, 199, 235, 280, 320, 333, 390, 440],
          [12.0, 12.0, 15.0, 28.0, 33.0, 60.0, 76.0, 86.0, 89.0, 76.0, 61.0])
HIGH = ([2000, 3270, 4810, 6210, 7790, 9510, 13600, 16400],
        [0.1266, 0.1080, 0.1017, 0.0942, 0.0841, 0.0827, 0.0626, 0.0740])


@pytest.mark.parametrize(("table", "per_nucleon"), [(LEPRETRE, False), (CARLOS, False),
                                                   (HIGH, True)])
def test_photoabsorption_of_lead_matches_data_where_it_enters_m(table, per_nucleon):
    # For b << gamma_t hbar c / E, m(b) b^2 = Z^2 alpha / pi^2 int sigma dE / E: the mismatch of
    # the parameterisation's log-integral with the data's over each data range must move m(20 fm)
    # by less than 3 % (three ranges: together inside the 10 % uncertainty quoted for m).
    e, sigma = (np.array(v, dtype=float) for v in table)
    data = np.trapezoid(sigma / e, e) * (208 if per_nucleon else 1)
    fine = np.geomspace(e[0], e[-1], 4000)
    model = np.trapezoid(photoabsorption_mb(fine, 82, 208) / fine, fine)
    total_mb = float(mean_excitations(np.array([20.0]), **PB)[0]) * 400.0 / 0.1 \
        * math.pi**2 / (82**2 * ALPHA_EM)
    assert abs(model - data) < 0.03 * total_mb


def test_flux_agrees_with_the_image_flux_in_the_target_frame():
    # Two implementations of the equivalent-photon flux: m(b) by quadrature against the point-
    # charge flux of physics/flux.py with the target-frame Lorentz factor (b beyond the emitter).
    b = 25.0
    e = np.geomspace(7.4, 1.0e9, 20001)  # MeV
    gamma_t = 2.0 * lorentz_gamma(5020.0) ** 2 - 1.0
    flux = point_charge_flux(e * 1.0e-3, np.full(1, b), gamma_t, 82, 7.0)  # GeV^-1 fm^-2
    m = np.trapezoid(flux * photoabsorption_mb(e, 82, 208) * 0.1, e * 1.0e-3)
    assert float(mean_excitations(np.array([b]), **PB)[0]) == pytest.approx(m, rel=2e-3)


def test_jpsi_0nxn_fraction_matches_the_cms_model_ratio():
    # CMS, PLB 772 (2017) 489: coherent J/psi in Pb-Pb at 2.76 TeV, 1.8 < |y| < 2.3,
    # d sigma(Xn0n)/dy = 0.36 mb measured and d sigma/dy = 1.82 mb total from it with a model
    # (STARlight) ratio whose uncertainty CMS gives as 0.19 mb (10 %): 0nXn / all = 0.198 +- 10 %.
    # At |y| = 2.05 the two sources differ: each is weighted by its photon number omega n(omega, b)
    # P_noHad(b) and its photonuclear cross section (physics/tspectrum.py).
    from upclens.physics.flux import point_charge_flux
    from upclens.physics.impact import nuclear_overlap
    from upclens.physics.kinematics import photon_energy
    from upclens.physics.tspectrum import coherent_tspectrum

    nucleus = Nucleus.from_preset("Pb208")
    profile = density_profile(nucleus)
    sqrt_snn, y = 2760.0, 2.05
    b = np.geomspace(5.0, 5.0e4, 4000)
    p_nohad = np.exp(-sigma_nn_inelastic_fm2(sqrt_snn) * nuclear_overlap(profile, profile, b))
    p_class = class_probability(b, "0nXn", Z=82, A=208, sqrt_snn=sqrt_snn)
    t = np.linspace(0.0, 0.1, 2001)
    tagged = total = 0.0
    for sign in (+1, -1):
        omega = photon_energy(y, sign)
        sigma = np.trapezoid(coherent_tspectrum(nucleus, t, sqrt_snn, sign * y), t)
        # photons per unit rapidity and d ln b: omega n(omega, b) P_noHad b^2 (times 2 pi)
        photons = omega * b * b * p_nohad * point_charge_flux(omega, b, lorentz_gamma(sqrt_snn),
                                                              82, profile.R_p)
        tagged += sigma * np.trapezoid(photons * p_class, np.log(b))
        total += sigma * np.trapezoid(photons, np.log(b))
    assert tagged / total == pytest.approx(0.36 / 1.82, rel=0.10)
