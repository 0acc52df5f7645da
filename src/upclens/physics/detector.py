"""What a detector records of the decay products: acceptance, momentum resolution, and the
incoherent background that it cannot tell apart from coherent events.

Acceptance is per daughter (both must pass): eta_min < eta < eta_max, pT > pt_min,
|p| > p_min.  Resolution: each daughter's momentum is scaled by 1 + sigma N(0, 1) with the
relative width sigma(pT) = sqrt(res_const^2 + (res_slope pT)^2) (tracker curvature resolution;
directions are kept, the energy follows from the PDG mass).  The preset numbers and their
sources are in docs/physics.md (section "Decays, detectors").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from upclens.errors import ParameterError, check_range


@dataclass(frozen=True)
class Detector:
    """Acceptance and resolution of one detector (GeV; sigma relative, slope per GeV)."""

    name: str = "custom"
    eta_min: float = -math.inf
    eta_max: float = math.inf
    pt_min: float = 0.0
    p_min: float = 0.0
    res_const: float = 0.0
    res_slope: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("eta_min", "eta_max"):
            v = getattr(self, name)
            if not (math.isinf(v) or abs(v) <= 10.0):
                check_range(name, v, -10.0, 10.0)
        check_range("pt_min", self.pt_min, 0.0, 100.0)
        check_range("p_min", self.p_min, 0.0, 1000.0)
        check_range("res_const", self.res_const, 0.0, 0.5)
        check_range("res_slope", self.res_slope, 0.0, 0.5)
        if not self.eta_min < self.eta_max:
            raise ParameterError("eta range", (self.eta_min, self.eta_max),
                                 "empty acceptance: eta_min must be below eta_max")


DETECTORS: dict[str, Detector] = {
    d.name: d
    for d in (
        Detector("none", source="no cuts, no smearing (generator level)"),
        Detector("star", -1.0, 1.0, pt_min=0.2, res_const=0.01, res_slope=0.005,
                 source="STAR TPC: |eta| < 1, tracks pT > 0.2 GeV; dpT/pT ~ 1 % at 1 GeV "
                        "(NIM A 499 (2003) 659)"),
        Detector("alice-barrel", -0.9, 0.9, pt_min=0.15, res_const=0.008, res_slope=0.002,
                 source="ALICE ITS+TPC: |eta| < 0.9, pT > 0.15 GeV; dpT/pT ~ 1 % at 1 GeV "
                        "(IJMPA 29 (2014) 1430044)"),
        Detector("alice-muon", -4.0, -2.5, p_min=4.0, pt_min=0.5, res_const=0.03,
                 source="ALICE muon arm: -4 < eta < -2.5, p > 4 GeV (absorber), pT > 0.5 GeV "
                        "(trigger); dp/p ~ 3 %, the ~70 MeV J/psi peak width (EPJC 81 (2021) "
                        "712)"),
        Detector("cms", -2.4, 2.4, p_min=2.9, res_const=0.015,
                 source="CMS muons: |eta| < 2.4, p > 2.9 GeV to reach the muon stations; "
                        "dpT/pT ~ 1.5 % (PLB 772 (2017) 489)"),
        Detector("lhcb", 2.0, 4.5, pt_min=0.5, res_const=0.005,
                 source="LHCb: 2 < eta < 4.5, pT > 0.5 GeV; dp/p = 0.5 % at low p "
                        "(IJMPA 30 (2015) 1530022)"),
    )
}


def detector(name: str = "none", **cuts: float) -> Detector:
    """The preset ``name`` with any of its cuts or resolutions replaced by ``cuts`` (eta_min,
    eta_max, pt_min, p_min, res_const, res_slope).  ParameterError for an unknown preset or cut
    and for an empty eta window."""
    key = str(name).lower()
    if key not in DETECTORS:
        raise ParameterError("detector", name, "must be one of " + ", ".join(DETECTORS))
    known = {"eta_min", "eta_max", "pt_min", "p_min", "res_const", "res_slope"}
    for k in cuts:
        if k not in known:
            raise ParameterError("cut", k, "must be one of " + ", ".join(sorted(known)))
    given = {k: float(v) for k, v in cuts.items() if v is not None}
    base = DETECTORS[key]
    return replace(base, name=base.name if not given else f"{base.name}+cuts", **given)


def pseudorapidity(p: np.ndarray) -> np.ndarray:
    """eta = asinh(pz / pT) of (N, 4) four-momenta (E, px, py, pz)."""
    return np.arcsinh(p[:, 3] / np.hypot(p[:, 1], p[:, 2]))


def accepted(det: Detector, *momenta: np.ndarray) -> np.ndarray:
    """(N,) bool: every one of the (N, 4) four-momenta ``momenta`` inside the acceptance."""
    keep = np.ones(momenta[0].shape[0], dtype=bool)
    for p in momenta:
        pt = np.hypot(p[:, 1], p[:, 2])
        eta = pseudorapidity(p)
        keep &= (eta > det.eta_min) & (eta < det.eta_max) & (pt > det.pt_min)
        keep &= np.linalg.norm(p[:, 1:], axis=1) > det.p_min
    return keep


def smear(det: Detector, p: np.ndarray, mass: float, rng: np.random.Generator) -> np.ndarray:
    """Measured (N, 4) four-momenta: |p| scaled by 1 + sigma(pT) N(0, 1), direction kept, the
    energy from ``mass`` (GeV).  No resolution: the input is returned as a copy."""
    pt = np.hypot(p[:, 1], p[:, 2])
    sigma = np.hypot(det.res_const, det.res_slope * pt)
    scale = 1.0 + sigma * rng.standard_normal(p.shape[0])
    out = np.empty_like(p)
    out[:, 1:] = p[:, 1:] * scale[:, None]
    out[:, 0] = np.sqrt(mass**2 + np.sum(out[:, 1:] ** 2, axis=1))
    return out


def daughter_reach(mass: float, daughter_mass: float, pt_max: float, y_max: float
                   ) -> tuple[float, float]:
    """Largest daughter pT and |p| (GeV) of a two-body decay of a meson of ``mass`` with
    pT <= pt_max and |y| <= y_max: the rest-frame momentum boosted along the meson's velocity."""
    e_star = 0.5 * mass
    p_star = math.sqrt(max(e_star**2 - daughter_mass**2, 0.0))
    mt = math.hypot(mass, pt_max)
    # transverse: gamma_T (p* + beta_T E*); total: gamma (p* + beta E*)
    pt_reach = (mt * p_star + pt_max * e_star) / mass
    e = mt * math.cosh(y_max)
    p = math.sqrt(e * e - mass * mass)
    return pt_reach, (e * p_star + p * e_star) / mass


def check_reachable(det: Detector, mass: float, daughter_mass: float, pt_max: float,
                    y_max: float) -> None:
    """ParameterError (empty acceptance) when no daughter can pass the pT or |p| cut."""
    pt_reach, p_reach = daughter_reach(mass, daughter_mass, pt_max, y_max)
    if det.pt_min >= pt_reach:
        raise ParameterError("pt_min", det.pt_min, f"empty acceptance: the daughters reach "
                                                   f"pT {pt_reach:.3g} GeV at most")
    if det.p_min >= p_reach:
        raise ParameterError("p_min", det.p_min, f"empty acceptance: the daughters reach "
                                                 f"|p| {p_reach:.3g} GeV at most")


def acceptance_fraction(det: Detector, meson_pdg: int, mass: float, channel: str,
                        rapidity: tuple[float, float], pt_max: float, n: int,
                        rng: np.random.Generator) -> float:
    """Fraction of ``n`` unpolarised trial decays (pT uniform in [0, pt_max], y uniform in
    ``rapidity``) inside the acceptance: a quick look whether the cuts leave anything."""
    from upclens.physics.decays import decay_mesons

    pt = pt_max * rng.random(n)
    ang = rng.uniform(0.0, 2.0 * np.pi, n)
    rho = np.broadcast_to(np.eye(2) / 2.0, (n, 2, 2)).astype(complex)
    d = decay_mesons(pt * np.cos(ang), pt * np.sin(ang), rng.uniform(*rapidity, n),
                     np.full(n, mass), rho, meson_pdg, channel, rng)
    return float(np.mean(accepted(det, d.p1, d.p2)))
