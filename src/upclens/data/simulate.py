"""One dataset item from (config, seed, index), and a chunk of consecutive items.

Item k depends only on (config, seed, k): ``np.random.SeedSequence([seed, k])`` (the seed of
``np.random.default_rng([seed, k])``) is split into three independent streams, for the labels,
the orientation pairs and the finite events, so that changing one prior does not change the
orientations of an image.
"""

from __future__ import annotations

import numpy as np

from upclens.data.config import DatasetConfig
from upclens.data.engine import engine_settings
from upclens.data.priors import draw_labels
from upclens.data.threads import single_blas_thread


def item_streams(seed: int, index: int) -> tuple[np.random.Generator, int, np.random.Generator]:
    """(label generator, orientation seed, event generator) of item ``index``."""
    labels_ss, image_ss, events_ss = np.random.SeedSequence([seed, index]).spawn(3)
    image_seed = int(image_ss.generate_state(1, np.uint64)[0] >> np.uint64(1))
    return np.random.default_rng(labels_ss), image_seed, np.random.default_rng(events_ss)


def _render(cfg: DatasetConfig, labels: dict[str, float], image_seed: int,
            events_rng: np.random.Generator) -> np.ndarray:
    """The (ny, nx) float64 image of one set of labels."""
    from upclens.physics.events import event_image, expected_image
    from upclens.physics.image import DoubleSlit

    eng = engine_settings(cfg, labels)
    grid = eng.grid
    sim = DoubleSlit(eng.nucleus_at(labels), eng.collision, eng.switches, grid)
    orientations = eng.orientations
    image = sim.image(orientations, seed=image_seed if orientations else None)
    if eng.n_events > 0:
        return event_image(image.intensity, grid, eng.n_events, events_rng,
                           eng.incoherent_fraction, eng.smearing, sim.profile,
                           poisson=eng.poisson_events)
    if eng.incoherent_fraction > 0.0 or eng.smearing > 0.0:
        area = grid.step**2
        prob = expected_image(image.intensity * area, grid, eng.incoherent_fraction,
                              eng.smearing, sim.profile)
        return prob / area
    return image.intensity


def simulate_item(cfg: DatasetConfig, seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Item ``index`` alone: image (ny, nx) float32 (GeV^-2 with unit integral over the window,
    or counts when ``image.n_events`` > 0) and labels (K,) float32 in ``cfg.columns`` order."""
    labels_rng, image_seed, events_rng = item_streams(seed, index)
    labels = draw_labels(cfg, labels_rng)
    with single_blas_thread():
        image = _render(cfg, labels, image_seed, events_rng)
    row = np.array([labels[c] for c in cfg.columns], dtype=np.float32)
    return image.astype(np.float32), row


def simulate_chunk(cfg: DatasetConfig, seed: int, chunk: int, start: int,
                   stop: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Items start..stop-1: (chunk, images (m, ny, nx) float32, labels (m, K) float32)."""
    images = np.empty((stop - start, cfg.image.pixels, cfg.image.pixels), dtype=np.float32)
    labels = np.empty((stop - start, len(cfg.columns)), dtype=np.float32)
    for i, k in enumerate(range(start, stop)):
        images[i], labels[i] = simulate_item(cfg, seed, k)
    return chunk, images, labels
