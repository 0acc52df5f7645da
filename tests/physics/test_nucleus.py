"""Densities: normalisation, skin definition, recentring, reference numbers, input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.physics.nucleus import Nucleus, density_profile, species_density


def _cartesian_moments(profile, species: str) -> tuple[float, np.ndarray, float]:
    """Number, centre and <r^2> by brute force on a 3D Cartesian grid (independent of the
    (r, cos) quadrature used inside the package)."""
    h = 0.15
    x = np.arange(-13.0, 13.0 + h / 2, h)
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    r = np.sqrt(X**2 + Y**2 + Z**2)
    c = np.divide(Z, r, out=np.ones_like(r), where=r > 0)
    rho = species_density(profile, species, r, c)
    n = rho.sum() * h**3
    centre = np.array([(rho * X).sum(), (rho * Y).sum(), (rho * Z).sum()]) * h**3 / n
    r2 = (rho * r**2).sum() * h**3 / n
    return n, centre, r2


@pytest.mark.parametrize(("beta2", "beta3", "delta"), [(0.0, 0.0, 0.0), (0.06, 0.2, 0.2),
                                                       (0.3, 0.3, 0.1)])
def test_densities_integrate_to_z_and_n_and_are_recentred(beta2, beta3, delta):
    nucleus = Nucleus.from_preset("Zr96", beta2=beta2, beta3=beta3, delta_rnp=delta)
    prof = density_profile(nucleus)
    n_p, c_p, r2_p = _cartesian_moments(prof, "p")
    n_n, c_n, r2_n = _cartesian_moments(prof, "n")
    # A 0.15 fm trapezoid grid on a WS edge of width 0.46 fm is accurate to ~1e-5 relative.
    assert n_p == pytest.approx(40, rel=1e-4)
    assert n_n == pytest.approx(56, rel=1e-4)
    matter_centre = (n_p * c_p + n_n * c_n) / (n_p + n_n)
    assert np.abs(matter_centre).max() < 2e-4
    # Delta r_np is the difference of rms radii, here measured independently.
    assert math.sqrt(r2_n) - math.sqrt(r2_p) == pytest.approx(delta, abs=2e-4)
    assert prof.delta_rnp == pytest.approx(delta, abs=1e-8)


def test_reference_numbers_of_zr96():
    """Section 2 of the physics model: rho0, r_rms and T(0) for Zr96 (5.02, 0.52)."""
    prof = density_profile(Nucleus.from_preset("Zr96", beta2=0.0, beta3=0.0, a=0.52))
    assert prof.rho0_p + prof.rho0_n == pytest.approx(0.1638, abs=5e-5)
    assert prof.rms_m == pytest.approx(4.342, abs=5e-4)
    t0 = 2.0 * np.trapezoid(prof.multipoles[0], prof.r)  # T at the centre (fm^-2)
    assert t0 == pytest.approx(1.645, abs=5e-4)


@pytest.mark.parametrize(("beta2", "beta3", "shift"), [(0.06, 0.2, 0.022), (0.3, 0.3, 0.17)])
def test_centre_of_mass_shift_of_octupole_shapes(beta2, beta3, shift):
    prof = density_profile(Nucleus.from_preset("Zr96", beta2=beta2, beta3=beta3, a=0.52))
    assert prof.com_shift == pytest.approx(shift, abs=0.005)


@pytest.mark.parametrize("skin_type", ["halo", "skin"])
def test_skin_parameter_matches_the_rms_formula(skin_type):
    """r_rms^2 = 3/5 R^2 + 7/5 pi^2 a^2 holds to 0.1 % for these shapes; solved exactly for
    Delta r_np = 0.2 fm it gives da (halo) or dR (skin).  0.1 % of r^2 is 0.002 fm of r_rms,
    i.e. about 0.002 fm of da and 0.004 fm of dR."""
    R, a, target = 5.02, 0.52, 0.2
    r_p = math.sqrt(0.6 * R**2 + 1.4 * math.pi**2 * a**2)
    r_n2 = (r_p + target) ** 2
    if skin_type == "halo":
        expected, tol = math.sqrt((r_n2 - 0.6 * R**2) / (1.4 * math.pi**2)) - a, 0.002
    else:
        expected, tol = math.sqrt((r_n2 - 1.4 * math.pi**2 * a**2) / 0.6) - R, 0.004
    prof = density_profile(Nucleus.from_preset("Zr96", beta2=0.0, beta3=0.0, R=R, a=a,
                                                delta_rnp=target, skin_type=skin_type))
    change = prof.a_n - prof.a_p if skin_type == "halo" else prof.R_n - prof.R_p
    assert change == pytest.approx(expected, abs=tol)
    # The physics model's rounded linear estimates: da = 0.12 fm, dR = 0.29 fm.
    assert change == pytest.approx(0.12 if skin_type == "halo" else 0.29, rel=0.1)


def test_multipoles_reconstruct_the_density():
    nucleus = Nucleus.from_preset("Zr96", beta2=0.2, beta3=0.2)
    prof = density_profile(nucleus)
    r = np.array([3.0, 5.0, 5.5, 6.0])
    c = np.array([-0.7, 0.1, 0.5, 0.95])
    legendre = np.polynomial.legendre.legvander(c, prof.l_max)  # (4, L+1)
    series = np.einsum("il,li->i", legendre, prof.spline()(r))
    assert np.allclose(series, species_density(prof, "m", r, c), rtol=0, atol=2e-5)


@pytest.mark.parametrize(
    ("overrides", "name"),
    [({"beta2": 0.9}, "beta2"), ({"beta2": -0.8}, "beta2"), ({"beta3": -0.1}, "beta3"),
     ({"delta_rnp": float("nan")}, "delta_rnp"), ({"a": 0.0}, "diffuseness"),
     ({"R": 50.0}, "radius"), ({"skin_type": "thick"}, "skin_type")],
)
def test_bad_nuclei_are_rejected_with_the_parameter_named(overrides, name):
    with pytest.raises(ParameterError, match=name):
        Nucleus.from_preset("Zr96", **overrides)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ParameterError, match="Zr96, Ru96, Au197, Pb208, U238"):
        Nucleus.from_preset("Xe129")
