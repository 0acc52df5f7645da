"""Observables on analytic images with known answers, symmetric simulated images, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from upclens.errors import ParameterError
from upclens.observables import ImageMeasurer, ObservableSettings, measure

PIXELS, PMAX = 64, 0.2
STEP = 2 * PMAX / PIXELS
AXIS = (np.arange(PIXELS) + 0.5 - PIXELS / 2) * STEP


def polar() -> tuple[np.ndarray, np.ndarray]:
    px, py = np.meshgrid(AXIS, AXIS)
    return np.hypot(px, py), np.arctan2(py, px)


def gaussian(sigma: float) -> np.ndarray:
    pt, _ = polar()
    return np.exp(-(pt**2) / (2 * sigma**2))


def test_gaussian_spot_area_mean_pt_and_low_pt_ratio() -> None:
    sigma = 0.03
    obs = measure(gaussian(sigma), AXIS, AXIS)
    # I > max/2 inside r^2 < 2 ln2 sigma^2.  Counting pixels misplaces at most the pixels the
    # circle crosses (~ perimeter / step of them, each with half its area on average): bound
    # perimeter * step / 2.
    r_half = sigma * math.sqrt(2 * math.log(2))
    exact_area = math.pi * r_half**2
    assert obs["bright_area"].value == pytest.approx(exact_area, abs=math.pi * r_half * STEP)
    # Midpoint rule inside a pixel: relative error ~ (step / sigma)^2 / 24 = 1.8e-3; the window
    # cut at 0.2 GeV = 6.7 sigma is negligible.
    assert obs["mean_pt"].value == pytest.approx(sigma * math.sqrt(math.pi / 2), rel=5e-3)
    cut = 0.05
    assert obs["low_pt_ratio"].value == pytest.approx(1 - math.exp(-(cut**2) / (2 * sigma**2)),
                                                      abs=5e-3)
    assert obs["bright_area"].error is None  # exact image: no statistical error


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_pure_harmonic_modulation_gives_vn(order: int) -> None:
    """I = G(pT) (1 + 2 a cos n phi): v_n = a, every other harmonic 0 in the continuum."""
    a = 0.1
    _, phi = polar()
    image = gaussian(0.06) * (1 + 2 * a * np.cos(order * phi))
    obs = measure(image, AXIS, AXIS)
    for lo, hi in ((0.0, 0.05), (0.14, 0.16)):
        for n in (1, 2, 3, 4):
            value = obs[f"v{n}[{lo:g}-{hi:g}]"].value
            # Area-weighted pixels with the intensity at the pixel centre: a few % relative
            # smoothing of v_n in the 8-pixel-radius central window, ~2e-3 leakage into the other
            # even harmonics from the square lattice (see docs/observables.md).
            expected = a if n == order else 0.0
            assert value == pytest.approx(expected, abs=0.05 * a + 2e-3), (n, lo)
            if n % 2 == 1 and order % 2 == 0:  # image even under p -> -p: odd v_n exactly 0
                assert abs(value) < 1e-12


def test_phi_is_measured_from_b() -> None:
    psi = 0.7
    _, phi = polar()
    image = gaussian(0.06) * (1 + 0.2 * np.cos(2 * (phi - psi)))
    along_b = measure(image, AXIS, AXIS, b_angle=psi)["v2[0.14-0.16]"].value
    along_x = measure(image, AXIS, AXIS, b_angle=0.0)["v2[0.14-0.16]"].value
    assert along_b == pytest.approx(0.1, abs=5e-3)
    assert along_x == pytest.approx(0.1 * math.cos(2 * psi), abs=5e-3)


def test_subpixel_weights_remove_the_lattice_v4() -> None:
    """An isotropic image on a square grid: pixel centres give a spurious v4 of the lattice,
    area-weighted sub-cells suppress it by more than 10x."""
    image = gaussian(0.05)
    centres = measure(image, AXIS, AXIS, settings=ObservableSettings(subpixels=1))
    cells = measure(image, AXIS, AXIS, settings=ObservableSettings(subpixels=8))
    for key in ("v4[0-0.05]", "v4[0.14-0.16]"):
        assert abs(cells[key].value) < abs(centres[key].value) / 10
        assert abs(centres[key].value) > 1e-3


def test_v1_v3_vanish_on_symmetric_simulated_images() -> None:
    from upclens.physics.image import simulate_image
    from upclens.physics.nucleus import Nucleus
    from upclens.physics.settings import Collision, ImageGrid

    zr = Nucleus.from_preset("Zr96", beta2=0.1, beta3=0.3)
    grid = ImageGrid(24, 0.2)
    for orientations in (None, 4):
        img = simulate_image(zr, Collision(b=15.0, b_angle=0.3), grid=grid,
                             orientations=orientations, seed=1)
        obs = measure(img.intensity, img.px, img.py, b_angle=0.3)
        for key in ("v1[0-0.05]", "v3[0-0.05]", "v1[0.14-0.16]", "v3[0.14-0.16]"):
            assert abs(obs[key].value) < 1e-12, key
        assert abs(obs["v2[0-0.05]"].value) > 0.01


def test_dark_fringe_is_the_mean_of_the_lowest_pixels_over_the_region_mean() -> None:
    rng = np.random.default_rng(3)
    image = rng.random((PIXELS, PIXELS)) + 1.0
    settings = ObservableSettings(dark_fraction=0.05, dark_region=(0.0, 0.15))
    pt, _ = polar()
    region = image[pt < 0.15]
    k = math.ceil(0.05 * region.size)
    expected = np.sort(region)[:k].mean() / region.mean()
    got = measure(image, AXIS, AXIS, settings=settings)["dark_fringe"].value
    assert got == pytest.approx(expected, rel=1e-12)


def test_measurer_matches_measure_and_scaling_invariance() -> None:
    image = gaussian(0.04) * (1 + 0.3 * np.cos(2 * polar()[1]))
    one = measure(image, AXIS, AXIS).value_dict()
    many = ImageMeasurer(AXIS, AXIS)(7.5 * image).value_dict()
    assert one == pytest.approx(many, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"intensity": np.ones((8, 9))}, "intensity"),
        ({"intensity": -np.ones((PIXELS, PIXELS))}, "intensity"),
        ({"intensity": np.full((PIXELS, PIXELS), np.nan)}, "intensity"),
        ({"px": np.r_[AXIS[:-1], 1.0]}, "px"),
        ({"n_events": -5.0}, "n_events"),
        ({"counts": True}, "intensity"),
        ({"windows": ((0.1, 0.05),)}, "window high edge"),
        ({"b_angle": 10.0}, "b_angle"),
    ],
)
def test_bad_input_is_rejected(kwargs: dict, match: str) -> None:
    args = {"intensity": gaussian(0.04) * 1.3, "px": AXIS, "py": AXIS} | kwargs
    with pytest.raises(ParameterError, match=match):
        measure(**args)


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ParameterError, match="dark_fraction"):
        ObservableSettings(dark_fraction=0.0)
    with pytest.raises(ParameterError, match="subpixels"):
        ObservableSettings(subpixels=2.5)
    with pytest.raises(ParameterError, match="dark_region"):
        ImageMeasurer(AXIS, AXIS, settings=ObservableSettings(dark_region=(0.5, 0.6)))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), b_angle=st.floats(-3.0, 3.0),
       subpixels=st.sampled_from([1, 3, 8]), pixels=st.sampled_from([16, 17, 24]))
def test_any_image_even_under_p_to_minus_p_has_no_odd_harmonics(seed, b_angle, subpixels,
                                                                pixels) -> None:
    axis = (np.arange(pixels) + 0.5 - pixels / 2) * 0.4 / pixels
    raw = np.random.default_rng([seed, 0]).random((pixels, pixels))
    even = raw + raw[::-1, ::-1]
    obs = measure(even, axis, axis, b_angle=b_angle,
                  settings=ObservableSettings(subpixels=subpixels))
    for key in ("v1[0-0.05]", "v3[0-0.05]", "v1[0.14-0.16]", "v3[0.14-0.16]"):
        assert abs(obs[key].value) < 1e-12, key
    assert 0.0 <= obs["low_pt_ratio"].value <= 1.0
    assert 0.0 <= obs["dark_fringe"].value <= 1.0
