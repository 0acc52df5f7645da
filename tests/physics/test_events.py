"""Finite event counts, incoherent background and smearing."""

from __future__ import annotations

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.physics.events import (
    event_image,
    expected_image,
    histogram_events,
    incoherent_image,
    sample_events,
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
