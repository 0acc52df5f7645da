"""Bright-spot edge and dark-fringe regions of a (px, py) image, and attribution shares in them.

Definitions (on a reference image, normally the data set's mean image I(p)):

- envelope E(p): the bright-fringe envelope as a function of pT = |p|.  The image is cut into
  rings one pixel wide in pT; E of a ring is the largest intensity in that ring or any ring
  further out (a running maximum from outside in), so E falls monotonically from the centre.
  For a sphere with a flat flux, I = 4|F|^2 sin^2(p.b/2) and E = 4|F|^2.
- bright-spot edge: pixels where E falls from ``edge_high`` (50 %, the half-maximum boundary of
  the seed's "HWHM" spot area) to ``edge_low`` (2 %) of its maximum -- the flank of the spot
  down to the first diffraction minimum ("butterfly wings", pT ~ 0.07-0.155 GeV for 96Zr),
  without the dark-fringe pixels.
- dark fringes: pixels inside the bright spot (E >= ``edge_low`` max E) darker than
  ``fringe_level`` (25 %) of the local envelope: the interference minima p.b = 2 pi n hbar c.
  With a random b direction the image is azimuthally symmetric and this region is empty.
- other: the rest -- the bright fringes inside the half maximum, and beyond the edge the first
  diffraction minimum (which deformation also fills) and everything outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from upclens.errors import ParameterError, check_range

REGIONS = ("edge", "fringe", "other")


@dataclass(frozen=True)
class Regions:
    """Boolean masks (ny, nx) ``edge`` and ``fringe`` (disjoint), the ``envelope`` (ny, nx) in
    the image's units, and the thresholds used."""

    edge: np.ndarray
    fringe: np.ndarray
    envelope: np.ndarray
    edge_low: float
    edge_high: float
    fringe_level: float

    @property
    def other(self) -> np.ndarray:
        """Pixels in neither region."""
        return ~(self.edge | self.fringe)

    def mask(self, name: str) -> np.ndarray:
        """The mask called ``name`` (edge, fringe or other)."""
        if name not in REGIONS:
            raise ParameterError("region", name, "must be one of " + ", ".join(REGIONS))
        return getattr(self, name)


def envelope(image: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Bright-fringe envelope E (ny, nx) of ``image`` (ny, nx) on bin centres px, py (GeV)."""
    image = np.asarray(image, dtype=np.float64)
    if image.shape != (len(py), len(px)):
        raise ParameterError("image", f"shape {image.shape}", f"must be ({len(py)}, {len(px)})")
    step = min(abs(px[1] - px[0]), abs(py[1] - py[0]))
    pt = np.hypot(np.asarray(px)[None, :], np.asarray(py)[:, None])
    ring = np.floor(pt / step).astype(np.int64)
    ring_max = np.full(ring.max() + 1, -np.inf)
    np.maximum.at(ring_max, ring.ravel(), image.ravel())
    outer_max = np.maximum.accumulate(ring_max[::-1])[::-1]
    return outer_max[ring]


def region_masks(image: np.ndarray, px: np.ndarray, py: np.ndarray, edge_low: float = 0.02,
                 edge_high: float = 0.5, fringe_level: float = 0.25) -> Regions:
    """Edge and fringe regions of ``image`` (ny, nx) on bin centres ``px``, ``py`` (GeV)."""
    check_range("edge_low", edge_low, 0.0, 1.0, lo_open=True, hi_open=True)
    check_range("edge_high", edge_high, edge_low, 1.0, lo_open=True)
    check_range("fringe_level", fringe_level, 0.0, 1.0, lo_open=True, hi_open=True)
    env = envelope(image, px, py)
    top = env.max()
    if not top > 0:
        raise ParameterError("image", "max <= 0", "must have a positive maximum")
    inside = env >= edge_low * top
    fringe = inside & (np.asarray(image) < fringe_level * env)
    edge = inside & (env <= edge_high * top) & ~fringe
    return Regions(edge, fringe, env, float(edge_low), float(edge_high), float(fringe_level))


def region_shares(heatmap: np.ndarray, regions: Regions) -> dict[str, float]:
    """Fraction of sum |heatmap| in each region (``edge``, ``fringe``, ``other``; they add to 1),
    the area fraction of each (``edge_area`` ...) and the enrichment share / area
    (``edge_enrichment`` ...: 1 for attribution spread evenly)."""
    h = np.abs(np.asarray(heatmap, dtype=np.float64))
    if h.shape != regions.edge.shape:
        raise ParameterError("heatmap", f"shape {h.shape}", f"must be {regions.edge.shape}")
    total = h.sum()
    out: dict[str, float] = {}
    for name in REGIONS:
        m = regions.mask(name)
        share = float(h[m].sum() / total) if total > 0 else float("nan")
        area = float(m.mean())
        out[name] = share
        out[f"{name}_area"] = area
        out[f"{name}_enrichment"] = share / area if area > 0 else float("nan")
    return out
