"""Double-slit images: closed form vs grid, fringes, Friedel symmetry, sampling noise, Parseval."""

from __future__ import annotations

import math

import numpy as np
import pytest

from support import weighted_l1
from upclens.physics.constants import HBARC
from upclens.physics.image import DoubleSlit, isotropic_axes, simulate_image
from upclens.physics.nucleus import Nucleus
from upclens.physics.settings import Collision, ImageGrid, ModelSwitches

LINEAR_UNIFORM = ModelSwitches(glauber=False, flux="uniform")


@pytest.mark.parametrize(
    ("beta2", "beta3", "delta", "collision"),
    [(0.0, 0.0, 0.0, Collision()), (0.1, 0.2, 0.0, Collision()), (0.3, 0.3, 0.0, Collision()),
     (0.06, 0.2, 0.2, Collision()), (0.25, 0.05, 0.1, Collision(b=12.0)),
     (0.1, 0.2, 0.0, Collision(b_direction="random")),
     (0.2, 0.1, 0.1, Collision(b_magnitude="upc"))],
)
def test_grid_path_agrees_with_closed_multipole_form(beta2, beta3, delta, collision):
    """Two independent evaluations of the linear uniform-flux exact average: rotated
    thickness + 2D DFT + orientation quadrature, versus 1D Hankel transforms of the
    multipoles.  Required: < 0.5 % weighted L1."""
    nucleus = Nucleus.from_preset("Zr96", beta2=beta2, beta3=beta3, delta_rnp=delta)
    sim = DoubleSlit(nucleus, collision, LINEAR_UNIFORM)
    grid_image = sim.image(method="grid").intensity
    closed_image = sim.image(method="closed").intensity
    assert weighted_l1(grid_image, closed_image) < 5e-3


def _fringe_grid_and_b() -> tuple[ImageGrid, float, int]:
    """A 64-pixel grid and a b that puts the first dark fringe p_x b = 2 pi hbar c on a
    pixel column."""
    grid = ImageGrid(64, 0.2)
    column = 45
    b = 2.0 * math.pi * HBARC / grid.centres[column]
    return grid, b, column


@pytest.mark.parametrize("glauber", [True, False])
def test_sphere_has_dark_fringes_at_p_dot_b_2_pi_n(glauber):
    grid, b, column = _fringe_grid_and_b()
    nucleus = Nucleus.from_preset("Zr96", beta2=0.0, beta3=0.0)
    sim = DoubleSlit(nucleus, Collision(b=b), ModelSwitches(glauber=glauber, flux="uniform"),
                     grid)
    image = sim.image(method="grid").intensity
    # 4 |F|^2 sin^2(p.b / 2): zero on the whole column p_x = 2 pi hbar c / b, and at p_x = 0.
    assert image[:, column].max() < 1e-12 * image.max()
    mirror = grid.pixels - 1 - column
    assert image[:, mirror].max() < 1e-12 * image.max()
    # Closed form of the slide: I / I_max follows sin^2(p_x b / 2 hbar c) on the p_y = 0 row.
    f2 = image[grid.pixels // 2] / np.maximum(np.sin(grid.centres * b / (2 * HBARC)) ** 2, 1e-30)
    inner = np.abs(grid.centres) < 0.06
    spread = f2[inner & (np.abs(np.sin(grid.centres * b / (2 * HBARC))) > 0.3)]
    assert spread.std() / spread.mean() < 0.2  # |F|^2 varies slowly inside 0.06 GeV


def test_pointwise_flux_fills_the_fringes_of_a_sphere():
    """The flux gradient breaks the F exp(i p.b/2) factorisation: fringes no longer vanish."""
    grid, b, column = _fringe_grid_and_b()
    nucleus = Nucleus.from_preset("Zr96", beta2=0.0, beta3=0.0)
    image = DoubleSlit(nucleus, Collision(b=b), ModelSwitches(), grid).image().intensity
    assert image[grid.pixels // 2, column] > 1e-4 * image.max()


@pytest.mark.parametrize("orientations", [None, 1, 16])
def test_images_are_even_under_p_to_minus_p_without_qz(orientations):
    """Friedel's law: a real x-space amplitude gives I(p) = I(-p) event by event."""
    nucleus = Nucleus.from_preset("Zr96", beta2=0.1, beta3=0.3)
    image = simulate_image(nucleus, orientations=orientations, seed=3).intensity
    assert np.abs(image - image[::-1, ::-1]).max() < 1e-12 * image.max()
    px = np.broadcast_to(np.arange(64) - 31.5, image.shape)
    py = px.T
    phi = np.arctan2(py, px)
    for n in (1, 3):
        assert abs(np.sum(image * np.cos(n * phi)) / image.sum()) < 1e-12


def test_coherence_phase_breaks_friedel_symmetry_of_single_events():
    nucleus = Nucleus.from_preset("Zr96", beta2=0.1, beta3=0.3)
    image = simulate_image(nucleus, switches=ModelSwitches(coherence_phase=True),
                           orientations=1, seed=3).intensity
    # The phase q_z z spans ~0.7 rad over the nucleus: a percent-level odd part.
    asym = np.abs(image - image[::-1, ::-1]).max() / image.max()
    assert 1e-3 < asym < 0.2


def test_sampled_average_converges_to_exact_as_inverse_sqrt_n():
    nucleus = Nucleus.from_preset("Zr96", beta2=0.2, beta3=0.2)
    grid = ImageGrid(32, 0.2)
    sim = DoubleSlit(nucleus, grid=grid)
    exact = sim.image().intensity
    sizes = np.array([8, 32, 128])
    seeds = range(6)
    rms = [np.sqrt(np.mean([np.mean((sim.image(int(n), seed=s).intensity - exact) ** 2)
                            for s in seeds])) for n in sizes]
    slope = np.polyfit(np.log(sizes), np.log(rms), 1)[0]
    # Each seed-averaged rms carries ~1/sqrt(2 * 6 * 1024 pixels) relative noise; the slope of
    # three points a factor 4 apart is -0.5 within a few hundredths.
    assert slope == pytest.approx(-0.5, abs=0.08)


def test_parseval_for_one_orientation():
    """sum |G(p)|^2 dp^2 / (2 pi)^2 = sum |A(x)|^2 dx^2 over one period of the sampled
    transform, |p| < pi hbar c / dx: exact for the rectangle rule when the p step resolves
    the grid extent (2 pi / step > 2 x_max), so equal to rounding."""
    nucleus = Nucleus.from_preset("Zr96", beta2=0.3, beta3=0.2)
    sim = DoubleSlit(nucleus, grid=ImageGrid(128, math.pi * HBARC / 0.5))
    amp = sim.amplitude(1)
    axes = isotropic_axes(np.random.default_rng(5), 2)
    field = amp.field((-15.0, 0.0))
    a = amp.profiles(axes)[:, None] * field
    g = amp.amplitudes(amp.profiles(axes), field)
    p_step = sim.grid.step / HBARC  # fm^-1
    lhs = np.sum(np.abs(g) ** 2, axis=(1, 2, 3)) * p_step**2 / (2 * math.pi) ** 2
    rhs = np.sum(np.abs(a) ** 2, axis=(1, 2, 3)) * amp.grid.dx**2
    assert 2 * math.pi / p_step > 2 * amp.grid.x.max()
    assert np.allclose(lhs, rhs, rtol=1e-10)


def test_vector_field_with_uniform_flux_equals_scalar():
    nucleus = Nucleus.from_preset("Zr96", beta2=0.1, beta3=0.2)
    scalar = simulate_image(nucleus, switches=ModelSwitches(flux="uniform")).intensity
    vector = simulate_image(nucleus, switches=ModelSwitches(flux="uniform",
                                                            polarization="vector")).intensity
    assert weighted_l1(vector, scalar) < 1e-10


def test_vector_correction_falls_with_b():
    """The field components perpendicular to b are odd in the transverse offset: an
    O((R/b)^2) change of the image."""
    nucleus = Nucleus.from_preset("Zr96", beta2=0.1, beta3=0.2)
    diffs = []
    for b in (15.0, 30.0):
        col = Collision(b=b)
        s = simulate_image(nucleus, col).intensity
        v = simulate_image(nucleus, col, ModelSwitches(polarization="vector")).intensity
        diffs.append(weighted_l1(v, s))
    assert diffs[1] < 0.5 * diffs[0]


def test_random_b_direction_average_matches_brute_force_over_angles():
    """The exact random-direction image (one image, rotated and averaged by cubic-spline
    interpolation) against 64 exact images with b at evenly spaced angles.  Cubic
    interpolation of fringes 6.6 pixels apart errs by about (2 pi / 6.6)^4 / 384 ~ 2e-3."""
    nucleus = Nucleus.from_preset("Zr96", beta2=0.1, beta3=0.2)
    grid = ImageGrid(32, 0.2)
    exact = DoubleSlit(nucleus, Collision(b_direction="random"), grid=grid).image().intensity
    n = 64
    brute = sum(DoubleSlit(nucleus, Collision(b_angle=(k + 0.5) * 2 * math.pi / n - math.pi),
                           grid=grid).exact_intensity() for k in range(n))
    brute = brute / (brute.sum() * grid.step**2)
    assert weighted_l1(exact, brute) < 2e-3
    sampled = DoubleSlit(nucleus, Collision(b_direction="random"), grid=grid).image(
        1024, seed=3).intensity
    assert weighted_l1(sampled, brute) < 0.05  # 1024 random directions: slow, noisy


def test_rapidity_asymmetry_breaks_source_symmetry():
    """At y != 0 the two photon energies differ: the image is no longer even in p_x."""
    nucleus = Nucleus.from_preset("Zr96", beta2=0.0, beta3=0.0)
    grid = ImageGrid(32, 0.2)
    sym = simulate_image(nucleus, Collision(rapidity=0.0), grid=grid).intensity
    asym = simulate_image(nucleus, Collision(rapidity=2.0), grid=grid).intensity
    assert np.abs(sym - sym[:, ::-1]).max() < 1e-10 * sym.max()
    assert np.abs(asym - asym[::-1, ::-1]).max() < 1e-10 * asym.max()  # still real amplitudes
    assert weighted_l1(asym, sym) > 1e-3
