"""The per-event density p(pT, Delta phi, y, class | theta) of measured J/psi (Fisher matrix).

Each event comes from its own collision: the direction of b is uniform and never seen, |b| follows
the UPC weight times the probability of the event's forward-neutron class.  What is observed is the
pair pT, the azimuth Delta phi of the positive daughter relative to the pair pT (in the meson rest
frame, which the two measured daughters fix), the rapidity y and the neutron class.

The physics is the event engine's: :class:`upclens.physics.production.EventSampler` tables of the
two sources' moments at each |b| node, combined with the interference phase exp(i p_x b), with rho
the meson's transverse spin density matrix in the frame of b.  :func:`pixel_densities` integrates
that model over |b| exactly as ``EventSampler.pixel_density`` does (same |b| cells, weights and
pixel-averaged phase), but for several |b| weights at once and node by node: the tables are linear
in the interpolation weights, so int db w(b) rho(p; b) reduces to per-node and per-node-pair kernels
(no loop over pixels times |b| cells; tested equal to ``pixel_density``).

Integrating the direction of b leaves, per pT ring (b frame, rho rotated into the frame of the pair
pT at each pixel), three moments: I = sum tr rho, D = sum (rho'_xx - rho'_yy), X = sum Re rho'_xy.
The decay angle then enters linearly: integrated over the daughter's polar angle,
    leptons (velocity beta):  p(Delta phi) = [I - k (D cos 2 Dphi + 2 X sin 2 Dphi)] / 2 pi,
                              k = beta^2 / (3 - beta^2)   (1/2 for beta -> 1),
    pions:                    p(Delta phi) = [I + (D cos 2 Dphi + 2 X sin 2 Dphi)] / 2 pi,
from W ~ sum rho_ij (delta_ij - beta^2 n_i n_j) and W ~ sum rho_ij n_i n_j (physics/decays.py).
With a detector, the polar-angle integral carries the acceptance: see :func:`angular_factors`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from upclens.errors import ParameterError, check_choice, check_range
from upclens.physics.constants import HBARC
from upclens.physics.image import SECOND_SOURCE_SIGN
from upclens.physics.nucleus import Nucleus
from upclens.physics.numerics import Numerics
from upclens.physics.settings import ModelSwitches

CLASSES = ("0n0n", "0nXn", "XnXn")
"""The forward-neutron classes analysed together (a complete partition of the events)."""
CHANNELS = ("none", "ee", "mumu")
"""Decay channels of J/psi read: 'none' uses the pT only."""
RING_WIDTH = 0.01
"""Width (GeV) of the pT rings of the density (pixel centres assigned to rings)."""
N_PHI = 32
"""Delta phi nodes: the periodic trapezoid rule integrates the information exactly up to
terms of order a^32 (a <= 0.5 the modulation amplitude)."""
N_COS_THETA = 256
"""Midpoint nodes in the daughter's polar angle for the acceptance integral."""
DENSITY_KEYS = ("beta2", "beta3", "delta_rnp", "R", "a", "sigma_vn_scale")


@dataclass(frozen=True)
class EngineSettings:
    """The production side shared by every analysis: nucleus, energy, the widest pT window and
    rapidity range, the model switches (vector polarisation and pointwise flux by default)."""

    nucleus: str = "Zr96"
    skin_type: str = "halo"
    sqrt_snn: float = 200.0
    pt_max: float = 0.2
    y_max: float = 0.0
    polarization: str = "vector"
    flux: str = "pointwise"
    numerics: Numerics = field(default_factory=Numerics)

    def __post_init__(self) -> None:
        check_choice("skin_type", self.skin_type, ("halo", "skin"))
        check_range("pt_max", self.pt_max, 0.02, 1.0)
        check_range("y_max", self.y_max, 0.0, 3.0)
        check_choice("polarization", self.polarization, ("scalar", "vector"))
        check_choice("flux", self.flux, ("pointwise", "uniform"))
        Nucleus.from_preset(self.nucleus)


@dataclass(frozen=True)
class EventDensity:
    """The density at one parameter point.

    y: (n_y,) rapidity nodes, y_weight: (n_y,) their trapezoid weights.  rings: (n_y, 4, n_rings, 3)
    moments (I, D, X) per y node, class ('any', '0n0n', '0nXn', 'XnXn') and pT ring (relative
    units shared by all y and classes).  ring_edges: (n_rings + 1,) GeV.  pixels: (n_pix,) tr rho
    at y = 0 (the node nearest), class 'any', b frame, with centres px, py (GeV).
    """

    y: np.ndarray
    y_weight: np.ndarray
    rings: np.ndarray
    ring_edges: np.ndarray
    pixels: np.ndarray
    px: np.ndarray
    py: np.ndarray


def nucleus_at(point: Mapping[str, float], engine: EngineSettings) -> Nucleus:
    """The nucleus of a parameter point (missing values from the preset)."""
    return Nucleus.from_preset(engine.nucleus, beta2=point.get("beta2"),
                               beta3=point.get("beta3"), delta_rnp=point.get("delta_rnp", 0.0),
                               R=point.get("R"), a=point.get("a"), skin_type=engine.skin_type)


def make_sampler(point: Mapping[str, float], engine: EngineSettings):
    """The engine's EventSampler at ``point`` (|b| weight 1: class 'any')."""
    from upclens.physics.production import EventSampler

    switches = ModelSwitches(polarization=engine.polarization, flux=engine.flux,
                             sigma_vn_scale=float(point.get("sigma_vn_scale", 1.0)))
    return EventSampler(nucleus_at(point, engine), sqrt_snn=engine.sqrt_snn,
                        rapidity=(-engine.y_max, engine.y_max), pt_max=engine.pt_max,
                        switches=switches, numerics=engine.numerics)


def pixel_densities(sampler, y: float, weights: np.ndarray) -> np.ndarray:
    """int db 2 pi b P_noHad(b) w_c(b) int_pixel rho(p; b, y) d^2p for every |b| weight w_c.

    sampler: an ``EventSampler`` (class 'any'); y: one of its rapidity nodes; weights (n_w, n_cells)
    on its |b| cells.  Returns (n_w, n_pix, 2, 2) complex (b frame; a scalar model gives the
    photon polarised along b: rho = I x x^T), in the units of ``EventSampler.pixel_density``.
    """
    s = sampler
    b = s._b_cells
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    if weights.shape[1] != b.size:
        raise ParameterError("weights", weights.shape, f"must have {b.size} |b| cells per row")
    nc = s._nc
    step = s.grid.step
    widths = s._b_widths
    geo = s._b_geo * widths * step**2  # as pixel_density
    yy = np.full(b.size, float(y))
    (i1, w1, ly1), (i2, w2, ly2) = (s._node_weights(b, yy, src) for src in (0, 1))
    n1, n2 = np.exp(ly1), np.exp(ly2)
    n_tab = s._tab.shape[0]
    n_w = weights.shape[0]
    wb = weights * geo  # (n_w, n_cells)
    # -- S = S_1 + conj(S_2): per-node scalar weights
    c1 = np.zeros((n_w, n_tab))
    c2 = np.zeros((n_w, n_tab))
    for k in range(4):
        for c in range(n_w):
            np.add.at(c1[c], i1[:, k], wb[c] * w1[:, k] * n1)
            np.add.at(c2[c], i2[:, k], wb[c] * w2[:, k] * n2)
    used1, used2 = np.flatnonzero(c1.any(0)), np.flatnonzero(c2.any(0))
    sq1, m1 = _unpack(s._tab[used1], nc)  # (u, n_pix, nc, nc), (u, n_pix, nc)
    sq2, m2 = _unpack(s._tab[used2], nc)
    total = (np.einsum("cu,upij->cpij", c1[:, used1], sq1)
             + np.conj(np.einsum("cu,upij->cpij", c2[:, used2], sq2)))
    # -- P = SIGN sqrt(N1 N2) sum_ab w1_a w2_b m1[a] m2[b]^T, times the pixel-averaged phase
    pair = (i1[:, :, None] * n_tab + i2[:, None, :]).reshape(-1)
    pw = ((w1[:, :, None] * w2[:, None, :]) * np.sqrt(n1 * n2)[:, None, None]).reshape(-1)
    cell = np.repeat(np.arange(b.size), 16)
    live = pw != 0.0
    pair, pw, cell = pair[live], pw[live], cell[live]
    keys, inverse = np.unique(pair, return_inverse=True)
    cols, col_of_pix = np.unique(np.round(2.0 * s._cx / step).astype(int), return_inverse=True)
    px_cols = 0.5 * step * cols
    # exact over the pixel (in p_x) and over the |b| cell (in b), as pixel_density
    phase = (np.exp(1j * np.outer(b, px_cols) / HBARC)
             * np.sinc(b * step / (2 * math.pi * HBARC))[:, None]
             * np.sinc(np.outer(widths, px_cols) / (2 * math.pi * HBARC)))  # (n_cells, n_cols)
    k1, k2 = np.divmod(keys, n_tab)
    pos1 = np.searchsorted(used1, k1)
    pos2 = np.searchsorted(used2, k2)
    for c in range(n_w):
        kern = np.zeros((keys.size, b.size))
        np.add.at(kern, (inverse, cell), pw * wb[c][cell])
        big = kern @ phase  # (n_pairs, n_cols)
        per_pix = big[:, col_of_pix]  # (n_pairs, n_pix)
        term = SECOND_SOURCE_SIGN * np.einsum("qp,qpi,qpj->pij", per_pix, m1[pos1], m2[pos2])
        total[c] += term + np.conj(np.swapaxes(term, -1, -2))
    if nc == 1:
        out = np.zeros((n_w, total.shape[1], 2, 2), complex)
        out[:, :, 0, 0] = total[:, :, 0, 0]
        return out
    return total


def _unpack(tab: np.ndarray, nc: int) -> tuple[np.ndarray, np.ndarray]:
    """The engine's packed table columns -> (S (..., nc, nc), m (..., nc))."""
    from upclens.physics.production import _unpack as unpack

    return unpack(tab, nc)


def class_weights(sampler, engine: EngineSettings) -> np.ndarray:
    """(4, n_cells): 1 ('any') and P(class | b) of 0n0n, 0nXn, XnXn on the sampler's |b| cells."""
    from upclens.physics.neutrons import class_probability

    nuc = Nucleus.from_preset(engine.nucleus)
    b = sampler._b_cells
    rows = [np.ones(b.size)] + [class_probability(b, c, Z=nuc.Z, A=nuc.A,
                                                  sqrt_snn=engine.sqrt_snn) for c in CLASSES]
    return np.stack(rows)


def ring_moments(rho: np.ndarray, px: np.ndarray, py: np.ndarray, edges: np.ndarray
                 ) -> np.ndarray:
    """(..., n_rings, 3) moments I, D, X of pixel rho (..., n_pix, 2, 2) (b frame): rho rotated
    into the frame of the pixel's pT, summed over the pixels whose centre lies in each ring."""
    phi = np.arctan2(py, px)
    c2, s2 = np.cos(2 * phi), np.sin(2 * phi)
    xx, yy, xy = rho[..., 0, 0].real, rho[..., 1, 1].real, rho[..., 0, 1].real
    tr = xx + yy
    d = (xx - yy) * c2 + 2.0 * xy * s2
    x = -0.5 * (xx - yy) * s2 + xy * c2
    ring = np.searchsorted(edges, np.hypot(px, py), side="right") - 1
    inside = (ring >= 0) & (ring < edges.size - 1)
    out = np.zeros((*rho.shape[:-3], edges.size - 1, 3))
    for j, v in enumerate((tr, d, x)):
        flat = v[..., inside].reshape(-1, int(inside.sum()))
        acc = np.zeros((flat.shape[0], edges.size - 1))
        for r in range(flat.shape[0]):
            acc[r] = np.bincount(ring[inside], weights=flat[r], minlength=edges.size - 1)
        out[..., j] = acc.reshape(*rho.shape[:-3], edges.size - 1)
    return out


def event_density(point: Mapping[str, float], engine: EngineSettings) -> EventDensity:
    """The density of events at ``point`` (one EventSampler set-up, then the |b| integrals)."""
    sampler = make_sampler(point, engine)
    weights = class_weights(sampler, engine)
    edges = np.arange(0.0, engine.pt_max + 0.5 * RING_WIDTH, RING_WIDTH)
    edges[-1] = engine.pt_max
    px, py = sampler.pixel_centres
    y = sampler.y_nodes
    wy = _trapezoid_weights(y)
    rings = []
    pixels = None
    i0 = int(np.argmin(np.abs(y)))
    for i, v in enumerate(y):
        rho = pixel_densities(sampler, float(v), weights)
        rings.append(ring_moments(rho, px, py, edges))
        if i == i0:
            pixels = np.real(rho[0, :, 0, 0] + rho[0, :, 1, 1])
    return EventDensity(y=y, y_weight=wy, rings=np.stack(rings), ring_edges=edges,
                        pixels=pixels, px=px, py=py)


def _trapezoid_weights(y: np.ndarray) -> np.ndarray:
    if y.size == 1:
        return np.ones(1)
    w = np.zeros(y.size)
    d = np.diff(y)
    w[:-1] += 0.5 * d
    w[1:] += 0.5 * d
    return w


class DensityCache:
    """Event densities by parameter point (only the production parameters matter)."""

    def __init__(self, engine: EngineSettings | None = None, size: int = 64) -> None:
        self.engine = engine or EngineSettings()
        self.size = int(size)
        self._cache: OrderedDict[tuple, EventDensity] = OrderedDict()

    def __call__(self, point: Mapping[str, float]) -> EventDensity:
        key = tuple((k, round(float(point[k]), 12)) for k in DENSITY_KEYS if k in point)
        if key not in self._cache:
            self._cache[key] = event_density(point, self.engine)
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]


# -- the decay angle ----------------------------------------------------------------------------
def kappa(channel: str, mass: float = 3.0969) -> float:
    """Strength of the cos 2 Delta phi modulation per unit D/I after the polar-angle integral:
    beta^2 / (3 - beta^2) for two spin-1/2 daughters of velocity beta (sign -), 1 for two spin-0
    daughters (sign +); returned with its sign (p ~ 1 + kappa D/I cos 2 Delta phi)."""
    from upclens.physics.decays import CHANNELS as DECAYS
    from upclens.physics.decays import channel_ids, pdg_mass

    spin = DECAYS[channel][1]
    md = pdg_mass(abs(channel_ids(channel)[0]))
    if spin == 0.0:
        return 1.0
    beta2 = 1.0 - (2.0 * md / mass) ** 2
    return -beta2 / (3.0 - beta2)


def angular_factors(channel: str, phi: np.ndarray, pt: np.ndarray | None = None,
                    y: np.ndarray | None = None, detector: str | None = None,
                    mass: float = 3.0969) -> np.ndarray:
    """(3, ..., n_phi) factors (a_I, a_D, a_X) with p(Delta phi) = a_I I + a_D D + a_X X.

    Without a detector, the closed form (1/2 pi)(1, kappa cos 2 phi, 2 kappa sin 2 phi).  With a
    detector preset: the polar-angle integral of W(theta, phi) times the acceptance of both
    daughters, for a meson at pT along +x (``pt`` (n_pt,) GeV) and rapidity ``y`` (n_y,):
    shape (3, n_y, n_pt, n_phi), per unit d phi.
    """
    phi = np.asarray(phi, dtype=float)
    if detector is None or detector == "none":
        k = kappa(channel, mass)
        return np.stack([np.full(phi.shape, 1.0), k * np.cos(2 * phi),
                         2 * k * np.sin(2 * phi)]) / (2 * math.pi)
    from upclens.physics.decays import CHANNELS as DECAYS
    from upclens.physics.decays import boost, channel_ids, meson_four_momentum, pdg_mass
    from upclens.physics.detector import accepted
    from upclens.physics.detector import detector as get_detector

    det = get_detector(detector)
    md = pdg_mass(abs(channel_ids(channel)[0]))
    spin = DECAYS[channel][1]
    e_star = 0.5 * mass
    p_star = math.sqrt(e_star**2 - md**2)
    beta2 = (p_star / e_star) ** 2
    cos_t = -1.0 + (np.arange(N_COS_THETA) + 0.5) * 2.0 / N_COS_THETA
    sin2 = 1.0 - cos_t**2
    pt = np.atleast_1d(np.asarray(pt, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    yy, pp, ff, cc = np.meshgrid(y, pt, phi, cos_t, indexing="ij")
    shape = yy.shape
    yy, pp, ff, cc = yy.ravel(), pp.ravel(), ff.ravel(), cc.ravel()
    st = np.sqrt(1.0 - cc**2)
    n = np.stack([st * np.cos(ff), st * np.sin(ff), cc], axis=1)
    parent = meson_four_momentum(pp, np.zeros_like(pp), yy, np.full(pp.shape, mass))
    e = np.full((pp.size, 1), e_star)
    d1 = boost(np.concatenate([e, p_star * n], axis=1), parent)
    d2 = boost(np.concatenate([e, -p_star * n], axis=1), parent)
    acc = accepted(det, d1, d2).reshape(shape).astype(float)
    dcos = 2.0 / N_COS_THETA
    c2, s2 = np.cos(2 * phi), np.sin(2 * phi)
    if spin == 0.0:  # W = sin^2 theta (1/2 + D/2 cos 2 phi + X sin 2 phi) / (4 pi / 3)
        base = sin2 / (4 * math.pi / 3)
        g_i, g_p = 0.5 * base, base
    else:  # W = [1 - beta^2 sin^2 (1/2 + D/2 cos 2 phi + X sin 2 phi)] / (4 pi (1 - beta^2/3))
        norm = 4 * math.pi * (1 - beta2 / 3)
        g_i, g_p = (1 - 0.5 * beta2 * sin2) / norm, -beta2 * sin2 / norm
    a_i = np.sum(acc * g_i, axis=-1) * dcos
    a_p = np.sum(acc * g_p, axis=-1) * dcos
    return np.stack([a_i, 0.5 * a_p * c2, a_p * s2])
