"""Event-by-event vector-meson production: one collision per event, with the meson's spin density.

Each event is one collision: |b| from the UPC weight 2 pi b P_noHad(b) times ``b_weight(b)``, the
direction of b uniform, the rapidity y from d sigma/dy over the requested range, and the meson
momentum from that collision's orientation-averaged intensity I(p; b, y) = tr rho(p; b, y)
(orientations are not observed and independent per event), rotated by the direction of b.  The
meson carries rho(p)/tr rho(p) in the lab (x, y) basis (physics/image.py, ``exact_density_matrix``).

Set-up (per nucleus), in the frame where b lies along +x: each production source is a target hit by
a photon of energy omega = (M/2) e^eta (eta = -y for target 1, +y for target 2).  For every eta
node the single-source moments <G_i> and <G_i G_j*> are computed on the pixel centres of a square
momentum grid of step ``EVENT_P_STEP`` covering |p| < pt_max, at ``N_B_CHEBYSHEV`` Chebyshev nodes
in 1/b (flux-normalised moments: 6 nodes leave 3e-4 of the largest moment, as 8 do), and
interpolated to ``N_B_TABLE`` nodes uniform in log b.  They are stored divided by the source's
yield N(eta, b) = int tr <G G^dagger> d^2p (so <G>/sqrt(N), <G G^dagger>/N).  Cost: without the
coherence phase one thickness projection T(x; n) serves every eta node; a real amplitude has
G(-p) = G(p)*, so only p_y >= 0 is transformed; the eta nodes run on ``SETUP_THREADS`` threads
(NumPy's BLAS releases the GIL), each filling its own rows.  An event combines its
two sources exactly, at its own b and y, with weights N_1, N_2 and the phase e = exp(i p_x b):
    rho = S_1 + S_2 + P e + (P e)^dagger,   S_1 = <G_1 G_1^dagger>,  S_2 = conj(<G_1' G_1'^dagger>),
    P = <G_1> <G_2>^dagger,  <G_2> = -conj(<G_1'>)  (G_1': target-1 amplitude, target-2 photon);
only each source's smooth normalised moments are interpolated (linearly in log b and eta, the
yield log-linearly).

Sampling by rejection: (b, y) from 2 pi b P_noHad w(b) (N_1 + N_2) (tabulated on |b| cells of
0.05 fm up to 120 fm and 1 fm beyond, to 6 gamma hbar c / omega of the softest photon),
then a source (probability N_i / (N_1 + N_2)), a table node from the interpolation weights, a pixel
from that node's tr S and a uniform point inside it; accepted with probability I / (2 T) <= 1,
T = tr S_1 + tr S_2 (Cauchy-Schwarz: |<G_1>.<G_2>*| <= T / 2), exact for the interpolated model.
About half the proposals are accepted.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import BarycentricInterpolator

from upclens.errors import ParameterError, check_range
from upclens.physics.constants import HBARC
from upclens.physics.flux import point_charge_flux, rapidity_flux
from upclens.physics.image import SECOND_SOURCE_SIGN, DoubleSlit, orientation_quadrature
from upclens.physics.kinematics import lorentz_gamma
from upclens.physics.mesons import meson as get_meson
from upclens.physics.nucleus import Nucleus
from upclens.physics.numerics import Numerics
from upclens.physics.profile import amplitude_profile
from upclens.physics.settings import Collision, ImageGrid, ModelSwitches

EVENT_P_STEP = 0.0075  # GeV: pixel of the production tables
N_B_TABLE = 32  # least |b| nodes of the tables, uniform in log b
B_TABLE_LOG_STEP = 0.09  # largest step of the |b| nodes in log b
B_TAIL_X = 6.0  # |b| reaches B_TAIL_X gamma hbar c / omega of the softest photon
Y_NODE_STEP = 0.5  # largest spacing of the rapidity nodes
N_B_CHEBYSHEV = 6  # |b| nodes (Chebyshev in 1/b) at which the moments are computed
B_PROBABILITY_FLOOR = 1e-7  # |b| cells whose UPC weight is below this fraction of the peak are cut
ORIENTATION_CHUNK = 34  # orientations per transform batch of the set-up (a quarter of 136)
SETUP_THREADS = 2  # threads over the photon-energy nodes of the set-up (NumPy's BLAS drops the GIL)


@dataclass(frozen=True)
class MesonBatch:
    """Produced vector mesons, one row per event, lab frame."""

    px: np.ndarray  # (N,) GeV
    py: np.ndarray  # (N,) GeV
    rapidity: np.ndarray  # (N,)
    mass: np.ndarray  # (N,) GeV (line shape for rho0; the pole mass otherwise)
    rho: np.ndarray  # (N, 2, 2) complex: transverse spin density matrix of the meson in
    # the lab (x, y) basis, Hermitian, trace 1 (photon linear polarisation)
    b: np.ndarray  # (N,) fm, |b| of the event's collision (hidden truth)
    b_phi: np.ndarray  # (N,) rad, direction of b in the lab (hidden truth)
    pdg_id: int  # meson PDG id

    def __len__(self) -> int:
        return int(self.px.size)


class EventSampler:
    """Precomputed per nuclear configuration (<= 1 s set-up), then fast sampling."""

    def __init__(self, nucleus: Nucleus, *, meson: str = "jpsi", sqrt_snn: float = 200.0,
                 rapidity: tuple[float, float] = (0.0, 0.0),
                 b_weight: Callable[[np.ndarray], np.ndarray] | None = None,
                 pt_max: float = 0.3, switches: ModelSwitches | None = None,
                 numerics: Numerics | None = None) -> None:
        self.meson = get_meson(meson)
        self.switches = switches or ModelSwitches(polarization="vector")
        self.numerics = numerics or Numerics()
        check_range("sqrt_snn", sqrt_snn, 10.0, 1.0e5)
        self.pt_max = check_range("pt_max", pt_max, 0.0, 2.0, lo_open=True)
        lo, hi = (float(v) for v in rapidity)
        y_beam = math.acosh(lorentz_gamma(sqrt_snn))
        for v in (lo, hi):
            check_range("rapidity", v, -y_beam, y_beam)
        if hi < lo:
            raise ParameterError("rapidity", rapidity, "must be an interval (lo, hi) with lo <= hi")
        self.rapidity = (lo, hi)
        n_y = 1 if hi == lo else max(2, math.ceil((hi - lo) / Y_NODE_STEP - 1e-9) + 1)
        self.y_nodes = np.linspace(lo, hi, n_y)
        # eta = -y (target 1) and +y (target 2): one table per distinct photon energy
        eta = np.round(np.concatenate([-self.y_nodes, self.y_nodes]), 12)
        self.eta_nodes, inverse = np.unique(eta, return_inverse=True)
        self._eta_index = inverse.reshape(2, n_y)  # [source, y node] -> eta table

        k = math.ceil(self.pt_max / EVENT_P_STEP - 1e-9)
        self.grid = ImageGrid(pixels=2 * k, pmax=k * EVENT_P_STEP)
        step = self.grid.step
        c = self.grid.centres
        cx, cy = np.meshgrid(c, c)  # [iy, ix]
        inside = np.hypot(cx, cy).ravel() < self.pt_max + step / math.sqrt(2.0)
        self._pix = np.flatnonzero(inside)
        self._cx = cx.ravel()[self._pix]
        self._cy = cy.ravel()[self._pix]

        # DoubleSlit at rapidity eta: its target-2 amplitude has omega = (M/2) e^eta.
        sims = [DoubleSlit(nucleus, Collision(sqrt_snn=sqrt_snn, rapidity=float(e)),
                           self.switches, self.grid, self.numerics, meson=meson)
                for e in self.eta_nodes]
        self._b_table(sims[0], b_weight)
        self._tables(sims)
        self._proposal_table()
        self._dsdy: np.ndarray | None = None

    # -- set-up --------------------------------------------------------------------------------
    def _b_table(self, sim: DoubleSlit, b_weight: Callable[[np.ndarray], np.ndarray] | None
                 ) -> None:
        """Geometric |b| weight 2 pi b P_noHad(b) w(b) on cells (0.05 fm up to the image
        engine's 120 fm, 1 fm beyond, where P_noHad = 1, up to 6 gamma hbar c / omega_min, past
        which the flux of the softest photon has fallen by e^-12), and the table nodes."""
        dist = sim.b_distribution
        omega_min = 0.5 * self.meson.mass * math.exp(-max(abs(v) for v in self.rapidity))
        b_max = B_TAIL_X * sim.gamma * HBARC / omega_min
        width = np.full(dist.b.size, float(dist.b[1] - dist.b[0]))
        b, p_nohad = dist.b, dist.p_no_hadronic()
        if b_max > dist.b[-1] + 1.0:
            tail = np.arange(dist.b[-1] + width[-1] / 2 + 0.5, b_max, 1.0)
            b = np.concatenate([b, tail])
            p_nohad = np.concatenate([p_nohad, np.ones(tail.size)])
            width = np.concatenate([width, np.ones(tail.size)])
        geo = 2.0 * math.pi * b * p_nohad
        if b_weight is not None:
            w = np.asarray(b_weight(b), dtype=float)
            if w.shape != b.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ParameterError("b_weight", "callable", "must return finite weights >= 0, "
                                     "one per |b|")
            geo = geo * w
        # The UPC weight with the softest photon's flux, to find where events can come from.
        ref = geo * width * point_charge_flux(omega_min, b, sim.gamma, sim.nucleus.Z,
                                              sim.profile.R_p)
        if not np.any(ref > 0):
            raise ParameterError("b_weight", "callable", "gives no |b| with non-zero weight")
        keep = slice(*np.flatnonzero(ref > B_PROBABILITY_FLOOR * ref.max())[[0, -1]] + [0, 1])
        self._b_cells = b[keep]
        self._b_widths = width[keep]
        self._b_geo = _round32(geo[keep])
        b_lo = max(self._b_cells[0] - 0.5 * self._b_widths[0], 1e-3)
        b_hi = self._b_cells[-1] + 0.5 * self._b_widths[-1]
        n_nodes = max(N_B_TABLE, math.ceil(math.log(b_hi / b_lo) / B_TABLE_LOG_STEP) + 1)
        self.b_nodes = np.exp(np.linspace(math.log(b_lo), math.log(b_hi), n_nodes))

    def _tables(self, sims: list[DoubleSlit]) -> None:
        """Normalised single-source tables per (eta node, b node, pixel) and the yields N."""
        nc = 1 if self.switches.polarization == "scalar" else 2
        self._nc = nc
        n_e, n_b, n_pix = len(sims), self.b_nodes.size, self._pix.size
        tab = np.empty((n_e, n_b, n_pix, nc * nc + 2 * nc))
        yields = np.empty((n_e, n_b))
        step2 = self.grid.step**2
        nodes, weights = orientation_quadrature(
            self.numerics, z_symmetric=not self.switches.coherence_phase, mirror=True)
        # Without the coherence phase the thickness T(x; n) does not depend on the photon energy:
        # one projection serves every eta node, which differ only in sigma_VN, the forward
        # amplitude and the photon field.
        amp0 = sims[0].amplitude(2)
        shared = None if self.switches.coherence_phase else amp0.basis.thickness(nodes)

        def node(e: int) -> tuple[np.ndarray, np.ndarray]:
            sim = sims[e]
            if shared is None:
                amp = sim.amplitude(2)
                gamma_x = amp.profiles(nodes)
            else:
                amp = copy.copy(amp0)  # the same grid, DFT tables and basis; this photon energy
                amp.kinematics = sim.kin2
                gamma_x = (amplitude_profile(shared, sim.kin2.sigma_vn, self.switches.glauber)
                           * sim.kin2.amplitude_scale)
            moments = _moments_on_nodes(sim, amp, gamma_x, weights, self.b_nodes, self._pix,
                                        N_B_CHEBYSHEV)
            m = np.moveaxis(moments[:, :nc], 0, 1).reshape(nc, -1)  # (nc, n_b n_pix)
            sq = _psd_covariance(
                m, np.moveaxis(moments[:, nc:], 0, 1).reshape(nc, nc, -1))
            ylds = np.real(np.trace(sq)).reshape(n_b, n_pix).sum(axis=1) * step2
            total = np.repeat(ylds, n_pix)
            part = _pack(sq / total, m / np.sqrt(total), nc).T.reshape(n_b, n_pix, -1)
            # Rounded to single precision (the tables are accurate to ~3e-4): the last bits of
            # the BLAS products depend on memory alignment, and events must not, so that every
            # process that builds this sampler draws the same events from the same seed.
            part = _round32(part)
            return part, ylds

        # The eta nodes are independent: each thread fills its own rows, so the tables do not
        # depend on the number of threads (and are rounded below against BLAS alignment bits).
        workers = max(1, min(SETUP_THREADS, n_e, os.cpu_count() or 1))
        if workers == 1:
            parts = [node(e) for e in range(n_e)]
        else:
            with ThreadPoolExecutor(workers) as pool:
                parts = list(pool.map(node, range(n_e)))
        for e, (part, ylds) in enumerate(parts):
            tab[e] = part
            yields[e] = ylds
        self._tab = tab.reshape(n_e * n_b, n_pix, -1)  # rounded to single precision per node
        log_yield = np.log(yields)
        self._log_yield = _round32(log_yield - log_yield.max())
        t_hat = _trace_s(self._tab, nc) * step2
        cdf = np.cumsum(t_hat, axis=-1)
        cdf /= cdf[..., -1:]
        cdf[..., -1] = 1.0
        self._cdf_flat = (cdf + np.arange(n_e * n_b)[:, None]).ravel()

    def _node_weights(self, b: np.ndarray, y: np.ndarray, source: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Table nodes (n, 4) of ``source`` (0: target 1, 1: target 2) at (b, y), their linear
        weights in (log b, eta) (n, 4) and the source's log-linear log yield (n,)."""
        lb = np.log(self.b_nodes)
        t = (np.log(b) - lb[0]) / (lb[1] - lb[0])
        kb = np.clip(np.floor(t).astype(int), 0, lb.size - 2)
        t = np.clip(t - kb, 0.0, 1.0)
        n_y = self.y_nodes.size
        if n_y == 1:
            ky = np.zeros(b.size, dtype=int)
            s = np.zeros(b.size)
            ky1 = ky
        else:
            sy = (y - self.y_nodes[0]) / (self.y_nodes[1] - self.y_nodes[0])
            ky = np.clip(np.floor(sy).astype(int), 0, n_y - 2)
            s = np.clip(sy - ky, 0.0, 1.0)
            ky1 = ky + 1
        e0, e1 = self._eta_index[source][ky], self._eta_index[source][ky1]
        n_b = lb.size
        idx = np.stack([e0 * n_b + kb, e0 * n_b + kb + 1, e1 * n_b + kb, e1 * n_b + kb + 1],
                       axis=1)
        w = np.stack([(1 - s) * (1 - t), (1 - s) * t, s * (1 - t), s * t], axis=1)
        log_yield = np.sum(w * self._log_yield.ravel()[idx], axis=1)
        return idx, w, log_yield

    def _proposal_table(self) -> None:
        """Cumulative (b, y) cell table of 2 pi b P_noHad w(b) (N_1 + N_2)(b, y)."""
        if self.y_nodes.size == 1:
            self._y_cells = self.y_nodes.copy()
            self._y_step = 0.0
        else:
            n_cells = 8 * (self.y_nodes.size - 1)
            edges = np.linspace(self.y_nodes[0], self.y_nodes[-1], n_cells + 1)
            self._y_cells = 0.5 * (edges[1:] + edges[:-1])
            self._y_step = float(edges[1] - edges[0])
        bb, yy = np.meshgrid(self._b_cells, self._y_cells)  # [iy, ib]
        total = sum(np.exp(self._node_weights(bb.ravel(), yy.ravel(), src)[2])
                    for src in (0, 1))
        dens = np.broadcast_to(self._b_geo * self._b_widths, bb.shape).ravel() * total
        cdf = np.cumsum(dens)
        self._cell_cdf = cdf / cdf[-1]

    # -- the model at given (b, y, p) ----------------------------------------------------------
    def _sources(self, b: np.ndarray, y: np.ndarray, pix: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """S = S_1 + S_2 and P = <G_1> <G_2>^dagger for events at (b, y) (n,) on the table pixels
        ``pix`` (n,): shapes (n, nc, nc); with ``pix`` None on every pixel: (n, n_pix, nc, nc).
        Also the two yields (n, 2)."""
        nc = self._nc
        parts = []
        yields = []
        for src in (0, 1):
            idx, w, log_yield = self._node_weights(b, y, src)
            if pix is None:
                mix = np.einsum("nk,nkpc->npc", w, self._tab[idx])
                n_src = np.exp(log_yield)[:, None]
            else:
                mix = np.einsum("nk,nkc->nc", w, self._tab[idx, pix[:, None]])
                n_src = np.exp(log_yield)
            sq, m = _unpack(mix, nc)
            yields.append(np.exp(log_yield))
            parts.append((sq * n_src[..., None, None], m * np.sqrt(n_src)[..., None]))
        (s1, m1), (s2, m2) = parts
        mean2 = SECOND_SOURCE_SIGN * np.conj(m2)
        return (s1 + np.conj(s2), m1[..., :, None] * np.conj(mean2)[..., None, :],
                np.stack(yields, axis=1))

    # -- sampling ------------------------------------------------------------------------------
    def _propose(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` proposals; returns the accepted ones (b-frame momenta, rho, b, y)."""
        cell = np.searchsorted(self._cell_cdf, rng.random(n), side="right")
        cell = np.minimum(cell, self._cell_cdf.size - 1)
        iy, ib = np.divmod(cell, self._b_cells.size)
        b = self._b_cells[ib] + (rng.random(n) - 0.5) * self._b_widths[ib]
        y = self._y_cells[iy] + (rng.random(n) - 0.5) * self._y_step
        (idx1, w1, ly1), (idx2, w2, ly2) = (self._node_weights(b, y, src) for src in (0, 1))
        second = rng.random(n) * (1.0 + np.exp(ly1 - ly2)) < 1.0  # P(source 2) = N2/(N1+N2)
        idx = np.where(second[:, None], idx2, idx1)
        w = np.where(second[:, None], w2, w1)
        pick = np.minimum(np.sum(np.cumsum(w, axis=1) <= rng.random(n)[:, None], axis=1), 3)
        node = idx[np.arange(n), pick]
        n_pix = self._pix.size
        flat = np.searchsorted(self._cdf_flat, node + rng.random(n), side="right")
        pix = np.clip(flat - node * n_pix, 0, n_pix - 1)
        step = self.grid.step
        px = self._cx[pix] + (rng.random(n) - 0.5) * step
        py = self._cy[pix] + (rng.random(n) - 0.5) * step
        u = rng.random(n)
        ok = np.flatnonzero(np.hypot(px, py) < self.pt_max)
        s, pm, _ = self._sources(b[ok], y[ok], pix[ok])
        term = pm * np.exp(1j * px[ok] * b[ok] / HBARC)[:, None, None]
        rho = s + term + np.conj(np.swapaxes(term, 1, 2))
        trace_s = np.real(np.trace(s, axis1=1, axis2=2))
        inten = np.real(np.trace(rho, axis1=1, axis2=2))
        acc = u[ok] * 2.0 * trace_s < inten
        keep = ok[acc]
        return {"px": px[keep], "py": py[keep], "b": b[keep], "y": y[keep],
                "rho": rho[acc] / inten[acc, None, None]}

    def sample(self, n: int, rng: np.random.Generator) -> MesonBatch:
        """``n`` events (lab frame), reproducible from ``rng``."""
        n = int(check_range("n", n, 0, 1e9))
        parts: list[dict[str, np.ndarray]] = []
        got = 0
        while got < n:
            batch = self._propose(min(int(2.2 * (n - got)) + 64, 1 << 20), rng)
            parts.append(batch)
            got += batch["px"].size
        cat = {key: np.concatenate([p[key] for p in parts])[:n] if parts else np.empty(0)
               for key in ("px", "py", "b", "y")}
        rho_b = (np.concatenate([p["rho"] for p in parts])[:n] if parts
                 else np.empty((0, self._nc, self._nc), complex))
        phi = 2.0 * math.pi * rng.random(n)
        cos, sin = np.cos(phi), np.sin(phi)
        px = cos * cat["px"] - sin * cat["py"]
        py = sin * cat["px"] + cos * cat["py"]
        if self._nc == 1:  # scalar model: the photon is polarised along b
            rho_b = np.zeros((n, 2, 2), complex)
            rho_b[:, 0, 0] = 1.0
        rot = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # (n, 2, 2)
        rho = rot @ rho_b @ np.swapaxes(rot, 1, 2)
        return MesonBatch(px=px, py=py, rapidity=cat["y"], mass=self.meson.sample_mass(rng, n),
                          rho=rho, b=cat["b"], b_phi=phi, pdg_id=self.meson.pdg_id)

    # -- rapidity spectrum ---------------------------------------------------------------------
    def dsigma_dy(self, y: np.ndarray) -> np.ndarray:
        """Relative d sigma/dy (same units for every y of this sampler) inside the rapidity range,
        including the interference integrated over |p| < pt_max; linear between the y nodes."""
        y = np.asarray(y, dtype=float)
        lo, hi = self.rapidity
        if np.any((y < lo - 1e-12) | (y > hi + 1e-12)):
            raise ParameterError("y", y.tolist(), f"must lie inside the rapidity range "
                                 f"[{lo:g}, {hi:g}] of this sampler")
        if self._dsdy is None:
            inside = np.hypot(self._cx, self._cy) < self.pt_max
            self._dsdy = np.array([np.real(np.trace(self.pixel_density(float(v))))[inside].sum()
                                   for v in self.y_nodes])
        if self.y_nodes.size == 1:
            return np.full(y.shape, self._dsdy[0])
        return np.interp(y, self.y_nodes, self._dsdy)

    def pixel_density(self, y: float, interference: bool = True) -> np.ndarray:
        """The model's rho integrated over each table pixel and over |b| (frame of b, b along
        +x): int db 2 pi b P_noHad w(b) int_pixel rho(p; b, y) d^2p, shape (nc, nc, n_pix) for
        the pixels ``pixel_centres``; the phase exp(i p_x b) is integrated exactly over the
        pixel (a sinc).  Relative units, shared with ``dsigma_dy``.  ``interference=False``
        drops the two-source cross term (the sum of the two sources' intensities)."""
        b = self._b_cells
        n_pix = self._pix.size
        step = self.grid.step
        weight = self._b_geo * self._b_widths * step**2
        total = np.zeros((n_pix, self._nc, self._nc), complex)
        for i0 in range(0, b.size, 16):
            bb = b[i0:i0 + 16]
            s, pm, _ = self._sources(bb, np.full(bb.size, float(y)), None)
            # exact over the pixel (in p_x) and over the |b| cell (in b), each a sinc
            phase = (np.exp(1j * np.outer(bb, self._cx) / HBARC)
                     * np.sinc(bb * step / (2 * math.pi * HBARC))[:, None]
                     * np.sinc(np.outer(self._b_widths[i0:i0 + 16], self._cx)
                               / (2 * math.pi * HBARC)))
            term = pm * phase[:, :, None, None] * float(interference)
            rho = s + term + np.conj(np.swapaxes(term, -1, -2))
            total += np.einsum("n,npij->pij", weight[i0:i0 + 16], rho)
        return np.moveaxis(total, 0, -1)

    @property
    def pixel_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(px, py) centres (GeV) of the table pixels, frame of b."""
        return self._cx.copy(), self._cy.copy()


def _moments_on_nodes(sim: DoubleSlit, amp, gamma_x: np.ndarray, weights: np.ndarray,
                      b_nodes: np.ndarray, pix: np.ndarray, n_cheb: int) -> np.ndarray:
    """Single-source moments (<G> (nc), <G_i G_j*> (nc^2)) of ``amp`` with the emitter at
    (-b, 0) on the pixels ``pix``, at every |b| of ``b_nodes``: (n_b, nc + nc^2, n_pix) complex.

    Computed at ``n_cheb`` Chebyshev-Lobatto nodes in 1/b and interpolated (barycentric) after
    dividing by the centre flux (sqrt for <G>, linear for <G G*>): the flux falls by orders of
    magnitude over the |b| range while the ratio is smooth in 1/b.
    """
    nc = amp.n_components

    half = _HalfPlaneDFT.build(amp, gamma_x)

    def at(b: float) -> np.ndarray:
        if half is None:
            m, sq = sim._ensemble(amp, gamma_x, weights, (-b, 0.0), True, matrix=True)
        else:
            m, sq = half.moments(amp.field((-b, 0.0)), weights)
        flux = float(rapidity_flux(amp.kinematics.omega, np.array([b]), amp.gamma,
                                   amp.emitter_charge, amp.emitter_radius)[0])
        flat = np.concatenate([m.reshape(nc, -1)[:, pix] / math.sqrt(flux),
                               sq.reshape(nc * nc, -1)[:, pix] / flux])
        return flat, flux

    u_lo, u_hi = 1.0 / b_nodes.max(), 1.0 / b_nodes.min()
    u = 0.5 * (u_lo + u_hi) + 0.5 * (u_hi - u_lo) * np.cos(
        math.pi * np.arange(n_cheb) / (n_cheb - 1))
    interp = BarycentricInterpolator(u, np.stack([at(1.0 / v)[0] for v in u]), axis=0)
    flux = rapidity_flux(amp.kinematics.omega, b_nodes, amp.gamma, amp.emitter_charge,
                         amp.emitter_radius)
    scale = np.concatenate([np.repeat(np.sqrt(flux)[:, None], nc, axis=1),
                            np.repeat(flux[:, None], nc * nc, axis=1)], axis=1)
    return interp(1.0 / b_nodes) * scale[:, :, None]


class _HalfPlaneDFT:
    """Orientation moments of real x-space amplitudes Gamma(x; n) E_c(x) with the emitter on the
    x axis, as ``DoubleSlit._ensemble(..., mirror=True, matrix=True)`` computes them, at under
    half the cost.  The transform runs over y first (real, onto p_y > 0 only), then over x (onto
    p_x > 0 only, cos and sin interleaved and viewed as complex): with C, S the cos and sin
    transforms in y (real), G(p_x, p_y) = F[C](p_x) + i F[S](p_x) and, since F of a real input
    has F(-p_x) = F(p_x)*, G(-p_x, p_y) = F[C]* + i F[S]*.  The p_y < 0 half, needed for the
    mirror nodes, is G(-p) = G(p)*."""

    def __init__(self, gamma_t: np.ndarray, dy: np.ndarray, wx: np.ndarray) -> None:
        self.gamma_t = gamma_t  # (Nx [y], N, Nx [x]) real
        self.dy = dy  # (2 h, Nx): cos, then sin, of p_y y for the h momenta p_y > 0, times dx
        self.wx = wx  # (Nx, 2 h): cos and sin of p_x x interleaved for p_x > 0, times dx

    @classmethod
    def build(cls, amp, gamma_x: np.ndarray) -> _HalfPlaneDFT | None:
        """For ``amp``'s grids and profiles (N, Nx, Nx); None where the shortcut does not apply
        (complex profiles, a momentum axis not symmetric about 0 with an even size)."""
        p = amp.p_axis
        symmetric = np.allclose(p, -p[::-1], rtol=0.0, atol=1e-12 * np.abs(p).max())
        if np.iscomplexobj(gamma_x) or p.size % 2 or not symmetric:
            return None
        x, dx = amp.grid.x, amp.grid.dx
        h = p.size // 2
        phase = np.outer(p[h:], x) / HBARC  # (h, Nx)
        dy = np.concatenate([np.cos(phase), np.sin(phase)]) * dx
        wx = np.empty((x.size, 2 * h))
        wx[:, 0::2] = np.cos(phase).T * dx
        wx[:, 1::2] = np.sin(phase).T * dx
        return cls(np.ascontiguousarray(gamma_x.transpose(1, 0, 2)), dy, wx)

    def moments(self, field: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """<G_c> (nc, Np, Np) and <G_i G_j*> (nc, nc, Np, Np) [.., iy, ix] for the photon field
        (nc, Nx, Nx) [c, iy, ix], mirror nodes included (weights of the half-azimuth set)."""
        nc = field.shape[0]
        ny, n, nx = self.gamma_t.shape
        h = self.dy.shape[0] // 2
        ft = field.transpose(1, 0, 2)[:, :, None, :]
        mean = np.zeros((h, nc, 2 * h), complex)
        sq = np.zeros((nc, nc, h, 2 * h), complex)
        for i0 in range(0, n, ORIENTATION_CHUNK):  # chunks small enough for the CPU caches
            gam = self.gamma_t[:, i0:i0 + ORIENTATION_CHUNK]
            w = weights[i0:i0 + ORIENTATION_CHUNK]
            k = gam.shape[1]
            a = ft * gam[:, None, :, :]  # (y, c, n, x)
            ya = (self.dy @ a.reshape(ny, -1)).reshape(-1, nx)  # (2h nc k, Nx)
            z = (ya @ self.wx).view(complex).reshape(2, h, nc, k, h)
            g = np.empty((h, nc, k, 2 * h), complex)  # G [p_y > 0, c, n, p_x]
            np.add(z[0], 1j * z[1], out=g[..., h:])
            np.add(np.conj(z[0]), 1j * np.conj(z[1]), out=g[..., h - 1::-1])
            mean += np.matmul(w, g)
            for i in range(nc):
                gi = g[:, i]
                sq[i, i] += np.matmul(w, gi.real**2 + gi.imag**2)
                for j in range(i + 1, nc):
                    sq[i, j] += np.matmul(w, gi * np.conj(g[:, j]))
        for i in range(nc):
            for j in range(i + 1, nc):
                sq[j, i] = np.conj(sq[i, j])
        mean = mean.transpose(1, 0, 2)  # (nc, h, Np)
        mean = np.concatenate([np.conj(mean[:, ::-1, ::-1]), mean], axis=1)
        sq = np.concatenate([np.conj(sq[:, :, ::-1, ::-1]), sq], axis=2)
        # mirror y -> -y of every node: G_c(px, py) -> parity_c G_c(px, -py)
        parity = np.array([1.0, -1.0])[:nc]
        mean = 0.5 * (mean + parity[:, None, None] * mean[:, ::-1, :])
        pp = np.outer(parity, parity)[:, :, None, None]
        sq = 0.5 * (sq + pp * sq[:, :, ::-1, :])
        return mean, sq


def _psd_covariance(m: np.ndarray, sq: np.ndarray) -> np.ndarray:
    """Second moments (nc, nc, n) whose orientation covariance C = <G G^dagger> - <G><G>^dagger
    is made positive semi-definite by clipping its negative eigenvalue (the |b| interpolation
    leaves ~3e-4 of the largest moment where C is nearly singular, at low p); returns
    <G><G>^dagger + C+.  This keeps every event's rho positive and I <= 2 T."""
    outer = m[:, None] * np.conj(m)[None, :]
    cov = sq - outer
    if m.shape[0] == 1:
        return outer + np.maximum(cov.real, 0.0)
    a, d, c = cov[0, 0].real, cov[1, 1].real, cov[0, 1]
    half = 0.5 * (a + d)
    root = np.sqrt(0.25 * (a - d) ** 2 + np.abs(c) ** 2)
    lo, hi = half - root, half + root
    # C+ = C - lo P_lo with P_lo = (C - hi I) / (lo - hi) when lo < 0; 0 when hi < 0 too
    gap = np.where(root > 0, lo - hi, -1.0)
    eye = np.eye(2)[:, :, None]
    fixed = cov - np.where(lo < 0, lo / gap, 0.0) * (cov - hi * eye)
    fixed = np.where(hi < 0, 0.0, fixed)
    fixed = 0.5 * (fixed + np.conj(np.swapaxes(fixed, 0, 1)))
    return outer + fixed


def _round32(a: np.ndarray) -> np.ndarray:
    """``a`` rounded to single precision, kept in double."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def _pack(s: np.ndarray, m: np.ndarray, nc: int) -> np.ndarray:
    """(S (nc, nc, n), m (nc, n)) -> (nc^2 + 2 nc, n) reals: the upper triangle of the Hermitian S
    (diagonal real, off-diagonal real and imaginary parts), then Re m, Im m."""
    rows = []
    for i in range(nc):
        rows.append(s[i, i].real)
        for j in range(i + 1, nc):
            rows.extend([s[i, j].real, s[i, j].imag])
    rows.extend(m.real)
    rows.extend(m.imag)
    return np.array(rows)


def _unpack(cols: np.ndarray, nc: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of ``_pack`` on the last axis: (..., nc^2 + 2 nc) -> S (..., nc, nc), m (..., nc)."""
    lead = cols.shape[:-1]
    s = np.zeros((*lead, nc, nc), complex)
    c = 0
    for i in range(nc):
        s[..., i, i] = cols[..., c]
        c += 1
        for j in range(i + 1, nc):
            s[..., i, j] = cols[..., c] + 1j * cols[..., c + 1]
            s[..., j, i] = cols[..., c] - 1j * cols[..., c + 1]
            c += 2
    return s, cols[..., c:c + nc] + 1j * cols[..., c + nc:c + 2 * nc]


def _trace_s(tab: np.ndarray, nc: int) -> np.ndarray:
    """tr S from packed columns (..., nc^2 + 2 nc)."""
    return tab[..., 0] if nc == 1 else tab[..., 0] + tab[..., 3]
