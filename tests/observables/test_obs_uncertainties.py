"""Closed-form (delta-method) and bootstrap uncertainties against a Monte Carlo of experiments."""

from __future__ import annotations

import numpy as np
import pytest

from upclens.observables import ImageMeasurer, ObservableSettings, measure
from upclens.observables.uncertainties import (
    poisson_bootstrap,
    weighted_ratio,
    weighted_ratio_error,
)

PIXELS = 24
AXIS = (np.arange(PIXELS) + 0.5 - PIXELS / 2) * 0.4 / PIXELS
N_EVENTS = 4000
N_EXPERIMENTS = 400
SMOOTH = ("mean_pt", "low_pt_ratio", "v1[0-0.05]", "v2[0-0.05]", "v3[0-0.05]",
          "v2[0.14-0.16]", "v3[0.14-0.16]", "v4[0.14-0.16]")


@pytest.fixture(scope="module")
def parent() -> np.ndarray:
    """An anisotropic spot with v2 and v3 (so that no error is trivially symmetric)."""
    px, py = np.meshgrid(AXIS, AXIS)
    pt, phi = np.hypot(px, py), np.arctan2(py, px)
    return np.exp(-(pt**2) / (2 * 0.06**2)) * (1 + 0.4 * np.cos(2 * phi) + 0.2 * np.cos(3 * phi))


@pytest.fixture(scope="module")
def experiments(parent: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Observables of independent N-event experiments drawn from ``parent``, and the errors each
    experiment quotes from its own counts (first 40 experiments)."""
    rng = np.random.default_rng([20261201, 5])
    prob = (parent / parent.sum()).ravel()
    measurer = ImageMeasurer(AXIS, AXIS)
    values: dict[str, list[float]] = {}
    errors: dict[str, list[float]] = {}
    for k in range(N_EXPERIMENTS):
        counts = rng.multinomial(N_EVENTS, prob).reshape(parent.shape).astype(float)
        obs = measurer(counts, counts=k < 40)
        for name, m in obs.items():
            values.setdefault(name, []).append(m.value)
            if m.error is not None:
                errors.setdefault(name, []).append(m.error)
    return ({k: np.array(v) for k, v in values.items()},
            {k: np.array(v) for k, v in errors.items()})


# The Monte Carlo spread of 400 experiments is known to 1/sqrt(2 * 399) = 3.5 %; the delta method
# is first order (corrections O(1/N_window) ~ 1 % here): 15 % is a > 4 sigma band.
@pytest.mark.parametrize("name", SMOOTH)
def test_delta_method_matches_the_spread_of_experiments(parent, experiments, name) -> None:
    values, errors = experiments
    spread = values[name].std(ddof=1)
    expected = measure(parent, AXIS, AXIS, n_events=N_EVENTS)[name].error
    assert expected == pytest.approx(spread, rel=0.15)
    assert errors[name].mean() == pytest.approx(spread, rel=0.15)


@pytest.mark.parametrize("name", ["bright_area", "dark_fringe"])
def test_bootstrap_of_expected_counts_matches_the_spread(parent, experiments, name) -> None:
    # 200 bootstrap images (5 %) and 400 experiments (3.5 %): 20 % is a > 3 sigma band.
    values, _ = experiments
    spread = values[name].std(ddof=1)
    assert measure(parent, AXIS, AXIS, n_events=N_EVENTS)[name].error == pytest.approx(
        spread, rel=0.2)


def test_bootstrap_and_delta_method_agree_on_a_smooth_statistic(parent) -> None:
    counts = np.round(parent / parent.sum() * 5000)
    pt = np.hypot(*np.meshgrid(AXIS, AXIS))
    ones = np.ones_like(pt)

    def mean_pt(stack: np.ndarray) -> np.ndarray:
        return (np.sum(stack * pt, axis=(1, 2)) / np.sum(stack, axis=(1, 2)))[:, None]

    boot = poisson_bootstrap(mean_pt, counts, n_boot=800, seed=4)[0]
    # 800 resamplings: std known to 2.5 %; 10 % is 4 sigma.
    assert boot == pytest.approx(weighted_ratio_error(counts, ones, pt), rel=0.1)
    assert mean_pt(counts[None])[0, 0] == pytest.approx(weighted_ratio(counts, ones, pt))


def test_vn_noise_floor_is_one_over_sqrt_two_n() -> None:
    """An isotropic image, pixel centres with 0/1 weights: var(v3) = <cos^2 3 phi> / N_window, and
    <cos^2 3 phi> = (1 + <cos 6 phi>) / 2 = 1/2 exactly, since cos 6 phi changes sign under the
    90-degree rotation that maps the pixel set of a square grid onto itself."""
    axis = (np.arange(64) + 0.5 - 32) * 0.4 / 64
    pt = np.hypot(*np.meshgrid(axis, axis))
    image = np.exp(-(pt**2) / (2 * 0.06**2))
    centres = measure(image, axis, axis, n_events=1e6, settings=ObservableSettings(subpixels=1))
    for label in ("0-0.05", "0.14-0.16"):
        floor = np.sqrt(0.5 / centres.n_window[label])
        assert centres[f"v3[{label}]"].error == pytest.approx(floor, rel=1e-9)
        # area weights: events of a split pixel count fractionally, so the error is at most the
        # floor of the same (weighted) count
        cells = measure(image, axis, axis, n_events=1e6)
        assert cells[f"v3[{label}]"].error < np.sqrt(0.5 / cells.n_window[label])


def test_bootstrap_is_reproducible_from_its_seed(parent) -> None:
    counts = np.round(parent / parent.sum() * 3000)
    a = measure(counts, AXIS, AXIS, counts=True)["bright_area"].error
    b = measure(counts, AXIS, AXIS, counts=True)["bright_area"].error
    assert a == b


def test_dark_fringe_error_is_undetermined_when_the_darkest_pixels_are_empty() -> None:
    """Observed zero counts resample to zero: the bootstrap would quote a too small error."""
    px, py = np.meshgrid(AXIS, AXIS)
    parent = np.exp(-(px**2 + py**2) / (2 * 0.03**2))
    rng = np.random.default_rng([9, 0])
    sparse = rng.poisson(2000 * parent / parent.sum())
    obs = measure(sparse.astype(float), AXIS, AXIS, counts=True)
    assert np.isnan(obs["dark_fringe"].error)
    assert obs["bright_area"].error > 0
    wide = np.exp(-(px**2 + py**2) / (2 * 0.08**2))
    rich = np.round(wide / wide.min() * 20)  # >= 20 counts in every pixel
    assert np.isfinite(measure(rich, AXIS, AXIS, counts=True)["dark_fringe"].error)
