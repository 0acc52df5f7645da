"""Finite event counts, incoherent background and detector smearing.

The incoherent component (target break-up) does not interfere: dN/d^2p ~ exp(-B pT^2)
[1 - |F(pT)|^2] with B the gamma-p slope and F the normalised coherent form factor (the coherent
part of the break-up spectrum is removed).  ``incoherent_fraction`` is the incoherent share of the
events inside the image window.  Smearing is Gaussian with width ``smearing`` (GeV) on px and py.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import ndtr

from upclens.errors import check_range
from upclens.physics.constants import HBARC, INCOHERENT_SLOPE_GEV2
from upclens.physics.impact import spherical_form_factor
from upclens.physics.nucleus import DensityProfile
from upclens.physics.settings import ImageGrid


def incoherent_image(grid: ImageGrid, profile: DensityProfile | None = None,
                     slope: float = INCOHERENT_SLOPE_GEV2) -> np.ndarray:
    """Incoherent pixel probabilities (sum 1 over the window), shape (pixels, pixels)."""
    c = grid.centres
    pt2 = c[None, :] ** 2 + c[:, None] ** 2
    shape = np.exp(-slope * pt2)
    if profile is not None:
        pt = np.sqrt(pt2)
        ff = spherical_form_factor(profile, pt.ravel() / HBARC).reshape(pt.shape)
        shape = shape * (1.0 - (ff / profile.nucleus.A) ** 2)
    return shape / shape.sum()


def fold_background_smearing(coherent: np.ndarray, grid: ImageGrid,
                             incoherent_fraction: float = 0.0, smearing: float = 0.0,
                             profile: DensityProfile | None = None) -> np.ndarray:
    """The detector-level expectation of a coherent pixel distribution: a share
    ``incoherent_fraction`` replaced by the incoherent background (:func:`incoherent_image` of
    ``profile``), then Gaussian smearing of width ``smearing`` (GeV) on px and py.

    ``coherent`` (pixels, pixels) is taken as given (not renormalised): the map is linear in
    it, so a coherent part scaled by its yield (the Fisher matrix's Poisson likelihood) stays
    scaled.  The sum drops below the input's where smearing moves events out of the window.
    This is the one implementation of the fold, used by the event generator
    (:func:`expected_image`) and by the information limit.
    """
    check_range("incoherent_fraction", incoherent_fraction, 0.0, 1.0, hi_open=True)
    check_range("smearing", smearing, 0.0, 1.0)
    m = np.asarray(coherent, dtype=float)
    if incoherent_fraction > 0.0:
        m = (1.0 - incoherent_fraction) * m + incoherent_fraction * incoherent_image(grid,
                                                                                    profile)
    if smearing > 0.0:
        k = smearing_matrix(grid, smearing)
        m = k @ m @ k.T
    return m


def expected_image(probabilities: np.ndarray, grid: ImageGrid, incoherent_fraction: float = 0.0,
                   smearing: float = 0.0, profile: DensityProfile | None = None) -> np.ndarray:
    """Expected pixel probabilities after adding background and smearing (sum <= 1: events
    smeared out of the window are lost).  ``probabilities``: coherent pixel probabilities
    (normalised here to sum 1)."""
    p = np.asarray(probabilities, dtype=float)
    return fold_background_smearing(p / p.sum(), grid, incoherent_fraction, smearing, profile)


@lru_cache(maxsize=16)
def smearing_matrix(grid: ImageGrid, smearing: float, sub: int = 64) -> np.ndarray:
    """Pixel transfer matrix K[j, i] = P(event uniform in pixel i lands in pixel j) for a
    Gaussian resolution ``smearing`` (GeV) on one axis; columns sum to < 1 near the edges.
    Cached per (grid, smearing, sub); the returned array is read-only."""
    edges = grid.edges
    offsets = (np.arange(sub) + 0.5) / sub * grid.step
    source = (edges[:-1, None] + offsets[None, :]).ravel()  # sub-points of every pixel
    cdf = ndtr((edges[:, None] - source[None, :]) / smearing)  # (npix + 1, npix * sub)
    land = (cdf[1:] - cdf[:-1]).reshape(grid.pixels, grid.pixels, sub)
    out = land.mean(axis=2)
    out.flags.writeable = False
    return out


def sample_events(probabilities: np.ndarray, grid: ImageGrid, n_events: int,
                  rng: np.random.Generator, incoherent_fraction: float = 0.0,
                  smearing: float = 0.0,
                  profile: DensityProfile | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_events`` J/psi momenta (px, py in GeV) before the window cut after smearing.

    Coherent and incoherent counts are binomial; each event is placed uniformly inside its pixel
    (the pixel distribution is the parent), then smeared.
    """
    check_range("n_events", n_events, 0, 1e10)
    check_range("incoherent_fraction", incoherent_fraction, 0.0, 1.0, hi_open=True)
    check_range("smearing", smearing, 0.0, 1.0)
    n_inc = rng.binomial(int(n_events), incoherent_fraction) if incoherent_fraction > 0 else 0
    coh = np.asarray(probabilities, dtype=float).ravel()
    parts = [(int(n_events) - n_inc, coh / coh.sum())]
    if n_inc:
        parts.append((n_inc, incoherent_image(grid, profile).ravel()))
    px_all, py_all = [], []
    edges = grid.edges
    for n, prob in parts:
        counts = rng.multinomial(n, prob)
        idx = np.repeat(np.arange(prob.size), counts)
        iy, ix = np.divmod(idx, grid.pixels)
        px_all.append(edges[ix] + grid.step * rng.random(idx.size))
        py_all.append(edges[iy] + grid.step * rng.random(idx.size))
    px = np.concatenate(px_all)
    py = np.concatenate(py_all)
    if smearing > 0.0:
        px = px + rng.normal(0.0, smearing, px.size)
        py = py + rng.normal(0.0, smearing, py.size)
    return px, py


def histogram_events(px: np.ndarray, py: np.ndarray, grid: ImageGrid) -> np.ndarray:
    """Counts per pixel, indexed [iy, ix]; events outside the window are dropped."""
    counts, _, _ = np.histogram2d(py, px, bins=[grid.edges, grid.edges])
    return counts


def event_image(probabilities: np.ndarray, grid: ImageGrid, n_events: int,
                rng: np.random.Generator, incoherent_fraction: float = 0.0,
                smearing: float = 0.0, profile: DensityProfile | None = None,
                poisson: bool = False) -> np.ndarray:
    """Histogram of a finite sample; with ``poisson`` the event count itself is Poisson(n)."""
    n = rng.poisson(n_events) if poisson else int(n_events)
    px, py = sample_events(probabilities, grid, n, rng, incoherent_fraction, smearing, profile)
    return histogram_events(px, py, grid)
