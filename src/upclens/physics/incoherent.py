"""Incoherent (target-breaking) J/psi photoproduction from Good-Walker over nucleon configurations.

A configuration Omega places the A nucleons at sampled positions b_i (transverse, fm) of the
Woods-Saxon matter density (physics/nucleus.py; independent nucleons, a random orientation per
configuration for a deformed nucleus).  Each nucleon carries a Gaussian gluon thickness
    T_p(x) = exp(-x^2 / 2B) / (2 pi B),   B = B_G (hbar c)^2  (fm^2),
optionally split into ``hotspots`` Gaussians of width B_q whose centres scatter by B_qc about the
nucleon (Mantysaari & Schenke, PRL 117 (2016) 052301: 3 hot spots, B_q = 0.7, B_qc = 3.3
GeV^-2).  The amplitude profile is the quantum
Glauber form of physics/profile.py applied to T_Omega = sum_i T_p(x - b_i):
    Gamma_Omega(x) = 2 [1 - exp(-sigma_VN T_Omega / 2)] / sigma_VN,
    A_Omega(Delta) = int d^2x exp(-i Delta.x / hbar c) Gamma_Omega(x)   (dimensionless),
and (Good-Walker; Miettinen & Pumplin, PRD 18 (1978) 1696)
    d sigma_coh / d|t| = S |<A>|^2,   d sigma_inc / d|t| = S (<|A|^2> - |<A>|^2),
with S = d sigma(gamma p -> J/psi p)/dt|_{t=0} (the forward gamma-p amplitude squared of
physics/kinematics.py), |t| = Delta^2.  Units: mb/GeV^2.  The longitudinal momentum transfer is
neglected (t_min = 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from upclens.errors import ParameterError, check_range
from upclens.physics.constants import HBARC, JPSI_SLOPE_GEV2
from upclens.physics.kinematics import TargetKinematics
from upclens.physics.nucleus import DensityProfile, Nucleus, density_profile, species_density
from upclens.physics.numerics import Numerics
from upclens.physics.profile import amplitude_profile
from upclens.physics.settings import ModelSwitches

NB_TO_MB = 1.0e-6


@dataclass(frozen=True)
class IncoherentSettings:
    """Good-Walker ensemble and its numerics.

    n_configurations: sampled nucleon configurations.  gluon_width: B_G of a nucleon (GeV^-2; the
    J/psi slope b_V = 4 GeV^-2 makes the single-nucleon dsigma/dt = S exp(-B_G |t|)).
    hotspots: Gaussians per nucleon (0: one smooth Gaussian); hotspot_width B_q and hotspot_spread
    B_qc (GeV^-2).  dx: transverse grid step (fm).  n_directions: directions of Delta per
    configuration (in [0, pi)).  seed: of the configurations.
    """

    n_configurations: int = 400
    gluon_width: float = JPSI_SLOPE_GEV2
    hotspots: int = 0
    hotspot_width: float = 0.7
    hotspot_spread: float = 3.3
    dx: float = 0.125
    n_directions: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        check_range("n_configurations", self.n_configurations, 2, 1_000_000)
        check_range("gluon_width", self.gluon_width, 0.5, 20.0)
        check_range("hotspots", self.hotspots, 0, 20)
        check_range("hotspot_width", self.hotspot_width, 0.05, 20.0)
        check_range("hotspot_spread", self.hotspot_spread, 0.0, 20.0)
        check_range("dx", self.dx, 0.02, 0.5)
        check_range("n_directions", self.n_directions, 1, 64)
        for name in ("n_configurations", "hotspots", "n_directions", "seed"):
            value = getattr(self, name)
            if int(value) != value or value < 0:
                raise ParameterError(name, value, "must be a non-negative integer")


@dataclass(frozen=True)
class GoodWalkerSpectrum:
    """Coherent and incoherent d sigma/d|t| (mb/GeV^2) at ``t`` (GeV^2) from one ensemble.

    ``incoherent_error``: Monte-Carlo standard error of the incoherent estimate.
    """

    t: np.ndarray
    coherent: np.ndarray
    incoherent: np.ndarray
    incoherent_error: np.ndarray
    n_configurations: int


def _random_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` rotation matrices (n, 3, 3) whose third column (the body z' axis) is isotropic."""
    cos_b = 1.0 - 2.0 * rng.random(n)
    alpha = 2.0 * math.pi * rng.random(n)
    sin_b = np.sqrt(1.0 - cos_b**2)
    ca, sa = np.cos(alpha), np.sin(alpha)
    # R = Rz(alpha) Ry(beta): columns e1, e2, n
    rot = np.empty((n, 3, 3))
    rot[:, :, 0] = np.stack([ca * cos_b, sa * cos_b, -sin_b], axis=1)
    rot[:, :, 1] = np.stack([-sa, ca, np.zeros(n)], axis=1)
    rot[:, :, 2] = np.stack([ca * sin_b, sa * sin_b, cos_b], axis=1)
    return rot


def sample_nucleons(profile: DensityProfile, n_configurations: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Transverse nucleon positions (n_configurations, A, 2) in fm.

    Independent draws from the recentred matter density by rejection from a uniform ball of
    radius r_max (the end of the density table); deformed nuclei get a random orientation per
    configuration.
    """
    nucleus = profile.nucleus
    a_count = int(nucleus.A)
    total = n_configurations * a_count
    r_max = float(profile.r[-1])
    c_grid = np.linspace(-1.0, 1.0, 201)
    r_grid = np.linspace(0.0, r_max, 801)
    rho_max = 1.05 * float(np.max(species_density(profile, "m", r_grid[:, None],
                                                  c_grid[None, :])))
    points = np.empty((0, 3))
    while points.shape[0] < total:
        need = total - points.shape[0]
        n_try = int(1.3 * need / 0.15) + 64  # acceptance ~ (R / r_max)^3 ~ 0.15-0.3
        xyz = rng.uniform(-r_max, r_max, size=(n_try, 3))
        r = np.linalg.norm(xyz, axis=1)
        inside = r < r_max
        xyz, r = xyz[inside], r[inside]
        c = np.where(r > 0.0, xyz[:, 2] / np.maximum(r, 1e-300), 1.0)
        keep = rng.random(r.size) * rho_max < species_density(profile, "m", r, c)
        points = np.concatenate([points, xyz[keep]])
    points = points[:total].reshape(n_configurations, a_count, 3)
    if nucleus.beta2 or nucleus.beta3 or nucleus.beta4:
        points = np.einsum("cij,caj->cai", _random_rotations(rng, n_configurations), points)
    return points[:, :, :2]


def _emitters(nucleons: np.ndarray, settings: IncoherentSettings,
              rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Gaussian centres (n_conf, A * n_spots, 2) fm and their common width B (fm^2), each of
    weight 1 / n_spots so that every nucleon carries unit thickness."""
    if settings.hotspots == 0:
        return nucleons, settings.gluon_width * HBARC**2
    n_conf, a_count, _ = nucleons.shape
    spread = math.sqrt(settings.hotspot_spread) * HBARC
    offsets = rng.normal(0.0, spread, size=(n_conf, a_count, settings.hotspots, 2))
    centres = (nucleons[:, :, None, :] + offsets).reshape(n_conf, -1, 2)
    return centres, settings.hotspot_width * HBARC**2


class GoodWalker:
    """Nucleon-level Good-Walker ensemble of one nucleus at one photon energy."""

    def __init__(self, nucleus: Nucleus, sqrt_snn: float = 5020.0, rapidity: float = 0.0,
                 switches: ModelSwitches | None = None, settings: IncoherentSettings | None = None,
                 numerics: Numerics | None = None) -> None:
        self.nucleus = nucleus
        self.switches = switches or ModelSwitches()
        self.settings = settings or IncoherentSettings()
        self.profile = density_profile(nucleus, numerics or Numerics())
        self.kinematics = TargetKinematics.build(sqrt_snn, rapidity, +1,
                                                 self.switches.sigma_vn_scale)
        half = float(self.profile.r[-1]) + 3.0
        n = 2 * math.ceil(half / self.settings.dx)
        self.x = (np.arange(n) - (n - 1) / 2.0) * self.settings.dx

    def amplitudes(self, t: np.ndarray, rng: np.random.Generator | None = None,
                   centres: np.ndarray | None = None, width_fm2: float | None = None,
                   batch: int = 16) -> np.ndarray:
        """A_Omega(Delta) per configuration and direction, shape (n_conf, n_directions, Nt).

        Without ``centres`` the configurations are sampled (seeded by settings.seed, or ``rng``);
        ``centres`` (n_conf, n_gauss, 2) fm with ``width_fm2`` give explicit configurations whose
        Gaussians each carry thickness A / n_gauss.
        """
        s = self.settings
        if centres is None:
            rng = rng or np.random.default_rng(s.seed)
            nucleons = sample_nucleons(self.profile, s.n_configurations, rng)
            centres, width_fm2 = _emitters(nucleons, s, rng)
        elif width_fm2 is None:
            raise ParameterError("width_fm2", None, "must be given with explicit centres")
        weight = self.nucleus.A / centres.shape[1]
        q = np.sqrt(np.clip(np.asarray(t, dtype=float), 0.0, None)) / HBARC  # fm^-1
        phi = math.pi * np.arange(s.n_directions) / s.n_directions
        dx = self.settings.dx
        # exp(-i q (cos phi x + sin phi y)) dx, per direction: (n_dir, Nt, Nx)
        ex = np.exp(-1j * np.cos(phi)[:, None, None] * np.outer(q, self.x)[None]) * dx
        ey = np.exp(-1j * np.sin(phi)[:, None, None] * np.outer(q, self.x)[None]) * dx
        norm = 1.0 / math.sqrt(2.0 * math.pi * width_fm2)
        out = np.empty((centres.shape[0], s.n_directions, q.size), dtype=complex)
        sigma = self.kinematics.sigma_vn
        for i0 in range(0, centres.shape[0], batch):
            c = centres[i0:i0 + batch]
            # separable Gaussians: T[iy, ix] = sum_g gy[g, iy] gx[g, ix]
            gx = norm * np.exp(-0.5 * (self.x[None, None, :] - c[:, :, 0, None]) ** 2 / width_fm2)
            gy = norm * np.exp(-0.5 * (self.x[None, None, :] - c[:, :, 1, None]) ** 2 / width_fm2)
            thickness = weight * np.einsum("cgy,cgx->cyx", gy, gx, optimize=True)
            gamma_x = amplitude_profile(thickness, sigma, self.switches.glauber)
            # A[c, d, k] = sum_{y,x} ey[d, k, y] Gamma[c, y, x] ex[d, k, x]
            inner = np.einsum("cyx,dkx->cdky", gamma_x, ex, optimize=True)
            out[i0:i0 + batch] = np.einsum("cdky,dky->cdk", inner, ey, optimize=True)
        return out

    def spectrum(self, t: np.ndarray, rng: np.random.Generator | None = None) -> GoodWalkerSpectrum:
        """Coherent and incoherent d sigma/d|t| (mb/GeV^2) at |t| values ``t`` (GeV^2)."""
        t = np.asarray(t, dtype=float)
        amp = self.amplitudes(t, rng)
        return spectrum_from_amplitudes(t, amp, self.kinematics.amplitude_scale**2 * NB_TO_MB)


def spectrum_from_amplitudes(t: np.ndarray, amp: np.ndarray, scale: float) -> GoodWalkerSpectrum:
    """Good-Walker moments of amplitudes (n_conf, n_dir, Nt): |<A>|^2 and the unbiased variance
    n/(n-1) (<|A|^2> - |<A>|^2) over configurations, averaged over directions, times ``scale``."""
    n = amp.shape[0]
    mean = amp.mean(axis=0)  # (n_dir, Nt)
    dev2 = np.abs(amp - mean) ** 2  # (n_conf, n_dir, Nt)
    variance = dev2.mean(axis=(0, 1)) * n / (n - 1)
    coherent = (np.abs(mean) ** 2).mean(axis=0) - variance / n  # |<A>|^2 without its 1/n bias
    per_conf = dev2.mean(axis=1)  # directions of one configuration are correlated
    error = per_conf.std(axis=0, ddof=1) / math.sqrt(n)
    return GoodWalkerSpectrum(t=t, coherent=scale * coherent, incoherent=scale * variance,
                              incoherent_error=scale * error, n_configurations=n)


def linear_incoherent_closed_form(profile: DensityProfile, t: np.ndarray,
                                  gluon_width: float = JPSI_SLOPE_GEV2) -> np.ndarray:
    """<|A|^2> - |<A>|^2 of the linear model (Gamma = T) for A independent nucleons of a
    spherical nucleus: A exp(-B_G |t|) (1 - |F(t)|^2), F the normalised form factor of the
    density.  Dimensionless (multiply by S for mb/GeV^2)."""
    from upclens.physics.impact import spherical_form_factor

    t = np.asarray(t, dtype=float)
    a_count = profile.nucleus.A
    form = spherical_form_factor(profile, np.sqrt(np.clip(t, 0.0, None)) / HBARC) / a_count
    return a_count * np.exp(-gluon_width * t) * (1.0 - form**2)


# -- the events' background ------------------------------------------------------------------------
EVENT_BACKGROUND = IncoherentSettings(n_configurations=200, hotspots=3, seed=0)
"""The ensemble of the events' incoherent background, read by the event generator
(``data/eventgen.py``) and by the event bound (``information/event_fisher.py``) alike: nucleons
of 3 hot spots, the shape that matches ALICE (docs/physics.md section 11)."""
BACKGROUND_STEP = 0.0025
"""Spacing (GeV) of the pT nodes on which the generator tabulates the background."""


def pt_spectrum(nucleus: Nucleus, sqrt_snn: float, pt: np.ndarray,
                settings: IncoherentSettings = EVENT_BACKGROUND
                ) -> tuple[np.ndarray, np.ndarray]:
    """(incoherent, coherent) d sigma/d pT = 2 pT d sigma/d|t| (mb/GeV) at pair pT ``pt``
    (GeV), y = 0, from one Good-Walker ensemble (the same configurations at every pT)."""
    pt = np.asarray(pt, dtype=float)
    spec = GoodWalker(nucleus, sqrt_snn=sqrt_snn, settings=settings).spectrum(pt ** 2)
    return 2.0 * pt * spec.incoherent, 2.0 * pt * spec.coherent


@lru_cache(maxsize=16)
def background_table(nucleus: Nucleus, sqrt_snn: float, pt_max: float,
                     settings: IncoherentSettings = EVENT_BACKGROUND
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(pT nodes (GeV) every ``BACKGROUND_STEP`` from 0 to ``pt_max``, incoherent d sigma/d pT
    there): the background's pT density inside the window, for ``sample_background``
    (read-only arrays, computed once per process for each argument set: ~4 CPU s at 0.5 GeV)."""
    check_range("pt_max", pt_max, BACKGROUND_STEP, 2.0)
    pt = np.linspace(0.0, pt_max, max(2, round(pt_max / BACKGROUND_STEP) + 1))
    density = np.clip(pt_spectrum(nucleus, sqrt_snn, pt, settings)[0], 0.0, None)
    pt.setflags(write=False)
    density.setflags(write=False)
    return pt, density


def sample_background(n: int, rng: np.random.Generator, pt: np.ndarray, density: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """px, py (GeV) of ``n`` incoherent mesons: |pT| from ``density`` at the nodes ``pt``
    (linear between nodes, inverted exactly), azimuth uniform (the pair pT of a broken-up
    nucleus does not follow b)."""
    pt, f = np.asarray(pt, dtype=float), np.asarray(density, dtype=float)
    h = np.diff(pt)
    mass = 0.5 * h * (f[:-1] + f[1:])
    if not np.all(np.isfinite(mass)) or mass.sum() <= 0.0:
        raise ParameterError("density", "zero", "must be positive somewhere in the window")
    cum = np.concatenate([[0.0], np.cumsum(mass)]) / mass.sum()
    u = rng.random(n)
    i = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, h.size - 1)
    r = (u - cum[i]) * mass.sum()  # the segment's mass still to cover
    f0, slope = f[i], (f[i + 1] - f[i]) / h[i]
    # f0 x + slope x^2 / 2 = r on [0, h]
    with np.errstate(invalid="ignore", divide="ignore"):
        quad = 2.0 * r / (f0 + np.sqrt(np.maximum(f0 ** 2 + 2.0 * slope * r, 0.0)))
    x = np.where(f0 + np.abs(slope) * h[i] > 0.0, quad, 0.0)
    p = pt[i] + np.clip(x, 0.0, h[i])
    ang = rng.uniform(0.0, 2.0 * math.pi, n)
    return p * np.cos(ang), p * np.sin(ang)
