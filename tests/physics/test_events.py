"""Finite event counts, incoherent background and smearing."""

from __future__ import annotations

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.physics.events import (
    event_image,
    expected_image,
    fold_background_smearing,
    histogram_events,
    incoherent_image,
    sample_events,
    smearing_matrix,
)
from upclens.physics.image import DoubleSlit
from upclens.physics.nucleus import Nucleus
from upclens.physics.settings import ImageGrid


@pytest.fixture(scope="module")
def coherent():
    sim = DoubleSlit(Nucleus.from_preset("Zr96"), grid=ImageGrid(32, 0.2))
    image = sim.image()
    return image.intensity / image.intensity.sum(), sim


def test_event_images_are_poisson_around_the_expectation(coherent, rng):
    prob, sim = coherent
    n = 200_000
    counts = event_image(prob, sim.grid, n, rng, 0.2, 0.005, sim.profile)
    expected = n * expected_image(prob, sim.grid, 0.2, 0.005, sim.profile)
    keep = expected > 20
    chi2 = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
    ndf = keep.sum()
    # Pearson chi2 of multinomial counts: mean ~ndf, sd sqrt(2 ndf); 5 sd allowed.
    assert abs(chi2 - ndf) < 5 * np.sqrt(2 * ndf)


def test_without_smearing_counts_keep_every_event(coherent, rng):
    prob, sim = coherent
    counts = event_image(prob, sim.grid, 5000, rng)
    assert counts.sum() == 5000


def test_incoherent_fraction_is_the_share_of_events(coherent, rng):
    prob, sim = coherent
    px, py = sample_events(prob, sim.grid, 100_000, rng, incoherent_fraction=0.3,
                           profile=sim.profile)
    assert px.size == 100_000
    inc = incoherent_image(sim.grid, sim.profile)
    assert inc.sum() == pytest.approx(1.0)
    # The incoherent spectrum is suppressed at pT -> 0 by 1 - |F|^2.
    centre = sim.grid.pixels // 2
    assert inc[centre, centre] < 0.05 * inc.max()
    counts = histogram_events(px, py, sim.grid)
    assert counts.sum() == 100_000


def test_bad_event_settings_are_rejected(coherent, rng):
    prob, sim = coherent
    with pytest.raises(ParameterError, match="incoherent_fraction"):
        event_image(prob, sim.grid, 10, rng, incoherent_fraction=1.5)
    with pytest.raises(ParameterError, match="smearing"):
        event_image(prob, sim.grid, 10, rng, smearing=-0.1)


def test_the_fold_conserves_events_and_is_linear(coherent):
    """Without smearing the fold keeps the sum (a mixture of two distributions); smearing only
    loses events over the window's edge, the more the wider it is; the map is linear in the
    coherent part (a yield-scaled input stays scaled) and nothing changes without effects."""
    prob, sim = coherent
    grid, profile = sim.grid, sim.profile
    np.testing.assert_array_equal(fold_background_smearing(prob, grid), prob)
    mixed = fold_background_smearing(prob, grid, 0.3, 0.0, profile)
    assert mixed.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(mixed, 0.7 * prob + 0.3 * incoherent_image(grid, profile),
                               rtol=1e-14)
    narrow = fold_background_smearing(prob, grid, 0.0, 0.005).sum()
    wide = fold_background_smearing(prob, grid, 0.0, 0.05).sum()
    assert wide < narrow < 1.0
    folded = fold_background_smearing(2.5 * prob, grid, 0.0, 0.01)
    np.testing.assert_allclose(folded, 2.5 * fold_background_smearing(prob, grid, 0.0, 0.01),
                               rtol=1e-13)


def test_smearing_matrix_is_symmetric_and_a_narrow_gaussian_stays_put():
    """Equal pixels and a translation-invariant kernel: P(i -> j) = P(j -> i); a resolution
    well below the pixel width (but above the matrix's sub-pixel spacing, step / 64) moves
    2 sigma / (step sqrt(2 pi)) of a pixel's events out of it: the Gaussian tail beyond either
    edge, averaged over the pixel."""
    grid = ImageGrid(16, 0.2)
    k = smearing_matrix(grid, 0.01)
    np.testing.assert_allclose(k, k.T, atol=1e-15)
    assert not k.flags.writeable
    sigma = 0.08 * grid.step  # five sub-pixel points per sigma: midpoint rule to < 1e-3
    lost = 2 * sigma / (grid.step * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(1.0 - np.diag(smearing_matrix(grid, sigma)), lost, rtol=0.01)
