"""Numerical convergence: refining every grid and quadrature changes an image by < 0.1 %."""

from __future__ import annotations

from dataclasses import replace

import pytest

from support import weighted_l1
from upclens.physics.image import simulate_image
from upclens.physics.nucleus import Nucleus
from upclens.physics.numerics import Numerics
from upclens.physics.settings import ModelSwitches

REFINEMENTS = {
    "dx": {"dx": 0.25},
    "dz": {"dz": 0.125},
    "radial_step": {"radial_step": 0.025},
    "l_max": {"l_max": 24},
    "n_cos": {"n_cos": 96},
    "grid_tail": {"grid_tail": 14.0},
    "density_tail": {"density_tail": 18.0},
    "orientations": {"n_orient_cos": 24, "n_orient_azimuth": 48},
}


@pytest.mark.parametrize("knob", sorted(REFINEMENTS))
@pytest.mark.parametrize(("beta2", "beta3", "delta"), [(0.3, 0.3, 0.0), (0.06, 0.2, 0.2)])
def test_refining_numerics_changes_image_by_less_than_a_permille(knob, beta2, beta3, delta):
    nucleus = Nucleus.from_preset("Zr96", beta2=beta2, beta3=beta3, delta_rnp=delta)
    switches = ModelSwitches(coherence_phase=True)  # the full complex path
    base = simulate_image(nucleus, switches=switches).intensity
    fine = simulate_image(nucleus, switches=switches,
                          numerics=replace(Numerics(), **REFINEMENTS[knob])).intensity
    assert weighted_l1(fine, base) < 1e-3


@pytest.mark.parametrize(("beta2", "beta3", "delta"), [(0.3, 0.3, 0.2), (0.0, 0.0, 0.0)])
def test_coarse_radial_transforms_match_full_grid_simpson(beta2, beta3, delta):
    """The closed form's Bessel transforms use the trapezoid rule on every s-th radial node
    (aliasing error ~ exp(-2 pi^2 a / h) ~ 1e-20 at h = 0.2 fm); an independent Simpson rule on
    the full 0.05 fm grid has its own error ~ (h/a)^4 / 180 ~ 1e-6, which sets the tolerance."""
    import math

    import numpy as np
    from scipy.integrate import simpson
    from scipy.special import spherical_jn

    from upclens.physics.closed_form import multipole_transforms
    from upclens.physics.nucleus import density_profile, radial_stride

    prof = density_profile(Nucleus.from_preset("Zr96", beta2=beta2, beta3=beta3,
                                               delta_rnp=delta))
    assert radial_stride(prof.r, prof.a_p) > 1
    k = np.linspace(0.0, 1.5, 61)
    ours = multipole_transforms(prof, k)
    r = prof.r
    ref = np.array([4 * math.pi * simpson(r**2 * prof.multipoles[l]
                                          * spherical_jn(l, np.outer(k, r)), x=r, axis=-1)
                    for l in range(prof.l_max + 1)])
    scale = np.abs(ref[0]).max()
    assert np.abs(ours - ref).max() < 1e-5 * scale


UPC_COLLISION = {"b_magnitude": "upc", "b_direction": "random"}


def test_upc_b_average_converged_in_its_node_count():
    """The |b| average integrates exp(i p.b), which oscillates over the UPC |b| range: doubling
    the Gauss nodes must change the image by < 1e-3 like every other knob."""
    from upclens.physics.settings import Collision

    nucleus = Nucleus.from_preset("Zr96", beta2=0.25, beta3=0.2, delta_rnp=0.2)
    collision = Collision(sqrt_snn=200.0, **UPC_COLLISION)
    base = simulate_image(nucleus, collision).intensity
    fine = simulate_image(nucleus, collision,
                          numerics=replace(Numerics(), n_b=2 * Numerics().n_b)).intensity
    assert weighted_l1(fine, base) < 1e-3


@pytest.mark.parametrize("direction", ["fixed", "random"])
def test_interpolated_b_moments_match_moments_at_every_node(direction):
    """Orientation moments interpolated in 1/b from 8 Chebyshev nodes against the moments
    computed at each of 16 |b| nodes.  The field of the emitter is analytic in 1/b up to the
    nucleus' edge; the nearest singularity (b ~ 6.5 fm against nodes in 12-60 fm) bounds the
    Chebyshev error by ~rho^-8 with rho ~ 5, i.e. ~1e-6; the tolerance, 1e-4, is a tenth of the
    convergence criterion."""
    from upclens.physics.settings import Collision

    nucleus = Nucleus.from_preset("Zr96", beta2=0.3, beta3=0.1, delta_rnp=0.1)
    collision = Collision(sqrt_snn=200.0, b_magnitude="upc", b_direction=direction)
    every = simulate_image(nucleus, collision,
                           numerics=replace(Numerics(), n_b=16, n_b_moments=0)).intensity
    interpolated = simulate_image(nucleus, collision,
                                  numerics=replace(Numerics(), n_b=16, n_b_moments=8)).intensity
    assert 0.0 < weighted_l1(interpolated, every) < 1e-4
