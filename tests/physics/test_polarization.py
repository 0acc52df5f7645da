"""The meson's transverse spin density matrix rho_ij(p) = <A_i A_j*> and the rapidity weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from support import weighted_l1
from upclens.physics import flux as flux_module
from upclens.physics.constants import HBARC
from upclens.physics.flux import point_charge_flux
from upclens.physics.image import DoubleSlit
from upclens.physics.impact import spherical_form_factor
from upclens.physics.kinematics import forward_gamma_p_dsdt
from upclens.physics.nucleus import Nucleus
from upclens.physics.settings import Collision, ImageGrid, ModelSwitches

VECTOR = ModelSwitches(polarization="vector")
GRID = ImageGrid(32, 0.2)


def _sim(collision: Collision, switches: ModelSwitches = VECTOR, **kw) -> DoubleSlit:
    nucleus = Nucleus.from_preset("Zr96", beta2=0.15, beta3=0.2, delta_rnp=0.1)
    return DoubleSlit(nucleus, collision, switches, GRID, **kw)


@pytest.mark.parametrize("collision", [Collision(), Collision(b=12.0, b_angle=0.7),
                                       Collision(b_magnitude="upc"),
                                       Collision(rapidity=1.0, b_magnitude="upc")])
def test_exact_trace_is_the_unpolarised_image(collision):
    """tr rho = sum_c <|A_c|^2>: the same orientation and |b| sums, kept apart by component."""
    sim = _sim(collision)
    rho = sim.exact_density_matrix()
    image = sim.exact_intensity()
    assert rho.shape == (2, 2, 32, 32)
    assert np.abs(np.trace(rho).real - image).max() < 1e-12 * image.max()
    assert np.abs(np.trace(rho).imag).max() < 1e-12 * image.max()


@pytest.mark.parametrize("collision", [Collision(), Collision(b_magnitude="upc",
                                                              b_direction="random")])
def test_sampled_trace_is_the_sampled_image(collision):
    sim = _sim(collision)
    rho = sim.sampled_density_matrix(40, np.random.default_rng(5))
    image = sim.sampled_intensity(40, np.random.default_rng(5))
    assert np.abs(np.trace(rho).real - image).max() < 1e-12 * image.max()


@pytest.mark.parametrize("collision", [Collision(b_magnitude="upc"), Collision(b_angle=0.4)])
def test_density_matrix_is_hermitian_and_positive(collision):
    """An average of outer products A A^dagger with positive weights."""
    rho = np.moveaxis(_sim(collision).exact_density_matrix(), (0, 1), (-2, -1))
    scale = np.trace(rho, axis1=-2, axis2=-1).real.max()
    assert np.abs(rho - np.conj(np.swapaxes(rho, -1, -2))).max() < 1e-13 * scale
    assert np.linalg.eigvalsh(rho).min() > -1e-12 * scale


def test_rotating_b_rotates_the_density_matrix():
    """b at 90 degrees: rho'(p) = R rho(R^-1 p) R^T.  b along x takes the mirrored quadrature
    (with the component parities), b along y does not: two different evaluations."""
    along_x = _sim(Collision(b_magnitude="upc")).exact_density_matrix()
    along_y = _sim(Collision(b_magnitude="upc", b_angle=math.pi / 2)).exact_density_matrix()
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    # p' = R p: image index [iy, ix] of along_y at (x', y') = (-y, x) is along_x at (x, y)
    moved = np.rot90(along_x, k=1, axes=(2, 3))
    expected = np.einsum("ia,abxy,jb->ijxy", rot, moved, rot)
    assert np.abs(along_y - expected).max() < 1e-6 * np.abs(along_x).max()


@pytest.mark.parametrize("b_angle", [0.0, 0.9])
def test_uniform_flux_polarises_every_meson_along_b(b_angle):
    """A uniform field along b: A_i = b_i A, so rho = b b^T |A|^2 exactly, exact and sampled."""
    sw = ModelSwitches(flux="uniform", polarization="vector")
    sim = _sim(Collision(b_angle=b_angle), sw)
    bhat = np.array([math.cos(b_angle), math.sin(b_angle)])
    for rho in (sim.exact_density_matrix(),
                sim.sampled_density_matrix(16, np.random.default_rng(1))):
        image = np.trace(rho).real
        expected = np.outer(bhat, bhat)[:, :, None, None] * image
        assert np.abs(rho - expected).max() < 1e-12 * image.max()


def _closed_form_image(y: float, b: float, grid: ImageGrid, old_weight: bool = False):
    """Linear, uniform-flux, scalar, spherical: G_i = a_i F(p) with F the form factor,
    a_i^2 = omega_i n(omega_i, b) dsigma/dt(W_i), and <I> = F^2 (a1^2 + a2^2 - 2 a1 a2 cos p.b)."""
    nucleus = Nucleus.from_preset("Zr96", beta2=0.0, beta3=0.0, beta4=0.0)
    sim = DoubleSlit(nucleus, Collision(b=b, rapidity=y),
                     ModelSwitches(glauber=False, flux="uniform"), grid)
    a = []
    for kin in (sim.kin1, sim.kin2):
        n = point_charge_flux(kin.omega, np.array([b]), sim.gamma, nucleus.Z, sim.profile.R_p)[0]
        a.append(math.sqrt((1.0 if old_weight else kin.omega) * n * forward_gamma_p_dsdt(kin.w)))
    c = grid.centres
    pt = np.hypot(c[None, :], c[:, None])
    ff = spherical_form_factor(sim.profile, pt.ravel() / HBARC).reshape(pt.shape)
    cos = np.cos(c[None, :] * b / HBARC)
    image = ff**2 * (a[0] ** 2 + a[1] ** 2 - 2 * a[0] * a[1] * cos)
    return sim, image / (image.sum() * grid.step**2), a


@pytest.mark.parametrize("y", [0.0, 1.0, -1.5])
def test_fringe_contrast_at_y_follows_the_source_amplitudes(y):
    """At y != 0 the sources have their own omega n(omega) and gamma-p amplitude: the contrast
    falls to 2 a1 a2 / (a1^2 + a2^2).  The grid path against the closed form with the two
    weights (the grid-vs-Hankel agreement of the existing tests is 0.5 %)."""
    grid = ImageGrid(48, 0.15)
    sim, expected, a = _closed_form_image(y, 15.0, grid)
    image = sim.image(method="grid").intensity
    assert weighted_l1(image, expected) < 5e-3
    if y != 0.0:
        _, old, _ = _closed_form_image(y, 15.0, grid, old_weight=True)
        assert weighted_l1(image, old) > 5 * weighted_l1(image, expected)
    # low-pT ratio with / without interference: (a1 - a2)^2 / (a1^2 + a2^2)
    ratio = (a[0] - a[1]) ** 2 / (a[0] ** 2 + a[1] ** 2)
    if y == 1.0:
        assert 0.005 < ratio < 1.0  # the sources differ: a real test of the weights


def test_y0_images_do_not_depend_on_the_rapidity_weight(monkeypatch):
    """omega n(omega) instead of n multiplies both sources by the same omega at y = 0: the
    normalised image is unchanged to round-off (and it changes at y != 0)."""
    nucleus = Nucleus.from_preset("Zr96", beta2=0.1, beta3=0.2)
    images = {}
    for label in ("new", "old"):
        if label == "old":
            monkeypatch.setattr(flux_module, "rapidity_flux",
                                lambda omega, d, *a: point_charge_flux(omega, d, *a))
        for y in (0.0, 1.0):
            images[label, y] = DoubleSlit(nucleus, Collision(rapidity=y), VECTOR,
                                          GRID).image().intensity
    assert weighted_l1(images["new", 0.0], images["old", 0.0]) < 1e-12
    assert weighted_l1(images["new", 1.0], images["old", 1.0]) > 1e-3
