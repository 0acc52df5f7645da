"""Two-body decays of the produced vector mesons with the spin structure of their polarisation.

Frame: the meson rest frame reached from the lab by the rotation-free boost along the meson's
velocity; its axes are parallel to the lab's (z = beam axis = quantisation axis, x and y in the
transverse plane), so the transverse spin density matrix ``rho`` of the batch (lab x, y basis)
is used there as it is.  Angular distributions of the unit direction n of the first daughter:

    two spin-0 daughters (rho0 -> pi+ pi-):        W(n) ~ sum_ij rho_ij n_i n_j
    two spin-1/2 daughters of velocity beta:       W(n) ~ sum_ij rho_ij (delta_ij - beta^2 n_i n_j)

(i, j over x, y; a transverse photon leaves the z row and column of rho empty).  Masses and PDG
ids of the daughters come from the ``particle`` package (PDG tables).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from upclens.errors import ParameterError

if TYPE_CHECKING:
    from upclens.physics.production import MesonBatch

# channel -> (PDG id of the positive daughter, spin of the daughters); the second daughter is
# the antiparticle.  Channels each meson (by PDG id) may decay to:
CHANNELS: dict[str, tuple[int, float]] = {"ee": (-11, 0.5), "mumu": (-13, 0.5), "pipi": (211, 0.0)}
MESON_CHANNELS: dict[int, tuple[str, ...]] = {443: ("ee", "mumu"), 100443: ("ee", "mumu"),
                                              113: ("pipi",)}
MESON_NAMES: dict[int, str] = {443: "jpsi", 100443: "psi2s", 113: "rho0"}


@cache
def pdg_mass(pdg_id: int) -> float:
    """Mass (GeV) of a particle from the PDG tables of the ``particle`` package."""
    from particle import Particle

    mass_mev = Particle.from_pdgid(pdg_id).mass
    if mass_mev is None:
        raise ParameterError("pdg_id", pdg_id, "must be a particle with a tabulated mass")
    return float(mass_mev) / 1000.0


def channel_ids(channel: str) -> tuple[int, int]:
    """(PDG id of daughter 1, PDG id of daughter 2): the positive one first (e+, mu+, pi+)."""
    check_channel(channel)
    pid = CHANNELS[channel][0]
    return pid, -pid


def check_channel(channel: str, meson_pdg: int | None = None) -> str:
    """Return ``channel`` if it is known (and open to the meson ``meson_pdg`` when given)."""
    allowed = tuple(CHANNELS) if meson_pdg is None else MESON_CHANNELS.get(meson_pdg, ())
    if channel not in allowed:
        where = "" if meson_pdg is None else f" for {MESON_NAMES.get(meson_pdg, meson_pdg)}"
        raise ParameterError("channel", channel, f"must be one of {', '.join(allowed)}{where}")
    return channel


@dataclass(frozen=True)
class Daughters:
    """The two decay products, lab frame, one row per event.

    p1, p2: (N, 4) four-momenta (E, px, py, pz) in GeV; p1 is the positive daughter.
    pdg_ids: (id1, id2).  cos_theta, phi: (N,) direction of daughter 1 in the meson rest frame
    (polar angle from the beam axis, azimuth from x).
    """

    p1: np.ndarray
    p2: np.ndarray
    pdg_ids: tuple[int, int]
    cos_theta: np.ndarray
    phi: np.ndarray


def meson_four_momentum(px: np.ndarray, py: np.ndarray, rapidity: np.ndarray,
                        mass: np.ndarray) -> np.ndarray:
    """(N, 4) four-momenta (E, px, py, pz) in GeV from px, py (GeV), rapidity and mass (GeV)."""
    px, py = np.asarray(px, dtype=float), np.asarray(py, dtype=float)
    y, m = np.asarray(rapidity, dtype=float), np.asarray(mass, dtype=float)
    mt = np.sqrt(m * m + px * px + py * py)
    return np.stack([mt * np.cosh(y), px, py, mt * np.sinh(y)], axis=-1)


def boost(p_rest: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Boost (N, 4) rest-frame four-momenta to the frame where the parent has the (N, 4)
    four-momentum ``parent`` (the rotation-free boost along the parent's velocity)."""
    e_par = parent[:, 0]
    m_par = np.sqrt(np.maximum(e_par**2 - np.sum(parent[:, 1:] ** 2, axis=1), 0.0))
    beta = parent[:, 1:] / e_par[:, None]
    gamma = e_par / m_par
    bp = np.sum(beta * p_rest[:, 1:], axis=1)
    # (gamma - 1) / beta^2 = gamma^2 / (gamma + 1): finite at rest
    coef = gamma**2 / (gamma + 1.0) * bp + gamma * p_rest[:, 0]
    out = np.empty_like(p_rest)
    out[:, 0] = gamma * (p_rest[:, 0] + bp)
    out[:, 1:] = p_rest[:, 1:] + coef[:, None] * beta
    return out


def _transverse_rho(rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rho_xx, rho_yy (real) and Re rho_xy of (N, 2, 2) Hermitian matrices, normalised to
    trace 1."""
    rho = np.asarray(rho)
    if rho.ndim != 3 or rho.shape[1:] != (2, 2):
        raise ParameterError("rho", rho.shape, "must have shape (N, 2, 2)")
    xx, yy = rho[:, 0, 0].real, rho[:, 1, 1].real
    tr = xx + yy
    if np.any(~np.isfinite(tr)) or np.any(tr <= 0.0):
        raise ParameterError("rho", "trace <= 0", "every spin density matrix needs trace > 0")
    # n real: sum rho_ij n_i n_j = xx nx^2 + yy ny^2 + 2 Re(rho_xy) nx ny (Hermitian rho)
    return xx / tr, yy / tr, rho[:, 0, 1].real / tr


def sample_directions(rho: np.ndarray, spin: float, beta: np.ndarray | float,
                      rng: np.random.Generator) -> np.ndarray:
    """(N, 3) unit vectors n drawn from W(n) of ``rho`` (N, 2, 2) by acceptance-rejection.

    spin 0: W = n.rho.n, bounded by the larger eigenvalue of rho; spin 1/2: W = 1 - beta^2
    n.rho.n, bounded by 1 (reached along the beam axis).  Draws uniform directions and keeps
    each with probability W / bound until every event has one.
    """
    xx, yy, xy = _transverse_rho(rho)
    n_ev = xx.size
    beta2 = np.broadcast_to(np.asarray(beta, dtype=float) ** 2, (n_ev,))
    # the larger eigenvalue of the trace-1 rho bounds n.rho.n; 1 - beta^2 n.rho.n <= 1
    bound = (0.5 * (1.0 + np.sqrt((xx - yy) ** 2 + 4.0 * xy**2)) if spin == 0.0
             else np.ones(n_ev))
    out = np.empty((n_ev, 3))
    todo = np.arange(n_ev)
    while todo.size:
        cos_t = rng.uniform(-1.0, 1.0, todo.size)
        phi = rng.uniform(0.0, 2.0 * np.pi, todo.size)
        u = rng.random(todo.size)
        sin_t = np.sqrt(1.0 - cos_t**2)
        n = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)
        q = (xx[todo] * n[:, 0] ** 2 + yy[todo] * n[:, 1] ** 2
             + 2.0 * xy[todo] * n[:, 0] * n[:, 1])
        w = q if spin == 0.0 else 1.0 - beta2[todo] * q
        keep = u * bound[todo] < w
        out[todo[keep]] = n[keep]
        todo = todo[~keep]
    return out


def decay(batch: MesonBatch, channel: str, rng: np.random.Generator) -> Daughters:
    """Decay every meson of ``batch`` into ``channel`` ('ee', 'mumu' or 'pipi').

    Uses the batch's px, py, rapidity, mass (N,), spin density matrix rho (N, 2, 2) and PDG id.
    """
    return decay_mesons(batch.px, batch.py, batch.rapidity, batch.mass, batch.rho,
                        int(batch.pdg_id), channel, rng)


def decay_mesons(px: np.ndarray, py: np.ndarray, rapidity: np.ndarray, mass: np.ndarray,
                 rho: np.ndarray, pdg_id: int, channel: str, rng: np.random.Generator
                 ) -> Daughters:
    """Decay mesons given as arrays: px, py (N,) GeV, rapidity (N,), mass (N,) GeV, rho
    (N, 2, 2), meson PDG id; the daughter masses are the PDG values.  Raises ParameterError for
    a channel the meson does not have or a meson mass below the two-daughter threshold."""
    check_channel(channel, pdg_id)
    id1, id2 = channel_ids(channel)
    m_d = pdg_mass(abs(id1))
    mass = np.asarray(mass, dtype=float)
    if mass.size and np.min(mass) <= 2.0 * m_d:
        raise ParameterError("mass", float(np.min(mass)),
                             f"must exceed the {channel} threshold {2.0 * m_d:.6g} GeV")
    e_star = 0.5 * mass
    p_star = np.sqrt(e_star**2 - m_d**2)
    n = sample_directions(rho, CHANNELS[channel][1], p_star / e_star, rng)
    parent = meson_four_momentum(px, py, rapidity, mass)
    rest1 = np.concatenate([e_star[:, None], p_star[:, None] * n], axis=1)
    rest2 = np.concatenate([e_star[:, None], -p_star[:, None] * n], axis=1)
    return Daughters(p1=boost(rest1, parent), p2=boost(rest2, parent), pdg_ids=(id1, id2),
                     cos_theta=n[:, 2], phi=np.arctan2(n[:, 1], n[:, 0]))
