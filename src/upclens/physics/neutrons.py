"""Forward-neutron classes from mutual Coulomb excitation of the two beam nuclei.

The mean number of photo-excitations of one nucleus by the field of the other at impact parameter
b (Baltz, Chasman & White, NIM A 417 (1998) 1, eq. 3; Baltz, Klein & Nystrand, PRL 89 (2002)
012301):
    m(b) = int dE n_t(E, b) sigma_gammaA(E),
    n_t(E, b) = Z^2 alpha / (pi^2 E b^2) x^2 K1(x)^2,   x = E b / (gamma_t hbar c),
with E the photon energy in the rest frame of the excited nucleus, gamma_t = 2 gamma^2 - 1 the
Lorentz factor of the emitter in that frame and sigma_gammaA the photo-absorption cross section
above the neutron emission threshold (every absorption is taken to emit at least one neutron).
Excitations are Poisson distributed: P_Xn(b) = 1 - exp(-m(b)).  The two nuclei are excited
independently, so
    P(0n0n) = e^{-2m},  P(0nXn) = 2 e^{-m} (1 - e^{-m}) (either side),  P(XnXn) = (1 - e^{-m})^2.
Units: b in fm, E in MeV, cross sections in mb (1 mb = 0.1 fm^2).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import k1e

from upclens.errors import ParameterError, check_choice, check_range
from upclens.physics.constants import ALPHA_EM, HBARC, MB_TO_FM2
from upclens.physics.impact import ImpactParameterDistribution, nuclear_overlap
from upclens.physics.kinematics import lorentz_gamma
from upclens.physics.nucleus import DensityProfile

NEUTRON_CLASSES = ("any", "0n0n", "0nXn", "XnXn")  # 0nXn: either beam side (both orders)

HBARC_MEV_FM = HBARC * 1.0e3

# Upper end of the giant-dipole Lorentzian and start of the quasi-deuteron region (MeV), as in
# the photo-absorption compilation of Baltz, Rhoades-Brown & Weneser, PRE 54 (1996) 4233.
GDR_TOP_MEV = 25.0
# Pion-production threshold on a nucleon (MeV): the quasi-deuteron term ends, the nucleon
# resonance and Regge terms begin.
PION_THRESHOLD_MEV = 140.0
# Nucleon-level photo-absorption above the pion threshold, per nucleon (mb, MeV):
# Delta(1232) in nuclei, a Lorentzian at 330 MeV with 180 MeV FWHM and 0.28 mb peak on top of
# the Regge background, which opens over 100 MeV above threshold; together they follow the
# "universal curve" sigma_gammaA / A of Pb (Carlos et al., NPA 431 (1984) 573; Armstrong et al.,
# PRD 5 (1972) 1640) to ~15 % between 0.15 and 2 GeV.
DELTA_PEAK_MB = 0.28
DELTA_ENERGY_MEV = 330.0
DELTA_FWHM_MEV = 180.0
REGGE_RAMP_MEV = 100.0
# Donnachie-Landshoff sigma(gamma p) = X s^eps + Y s^-eta (mb, s in GeV^2), as in STARlight.
REGGE_X_MB, REGGE_EPS = 0.0677, 0.0808
REGGE_Y_MB, REGGE_ETA = 0.129, 0.4525
# Nuclear shadowing of the high-energy cross section: A_eff / A = 0.65 asymptotically (STARlight),
# approached over SHADOWING_SCALE_MEV (sigma/A of Pb: 0.127 mb at 2 GeV, 0.074 mb at 16 GeV).
SHADOWING_ASYMPTOTE = 0.65
SHADOWING_SCALE_MEV = 6000.0
# Levinger quasi-deuteron model (Chadwick et al., PRC 44 (1991) 814): L = 6.5, D = 60 MeV,
# sigma_d(E) = 61.2 (E - 2.224)^{3/2} / E^3 mb.
LEVINGER_L = 6.5
LEVINGER_D_MEV = 60.0
DEUTERON_BINDING_MEV = 2.224
M_NUCLEON_GEV = 0.938


@dataclass(frozen=True)
class GiantDipole:
    """Lorentzian GDR: sigma(E) = peak E^2 width^2 / ((energy^2 - E^2)^2 + E^2 width^2) (mb),
    from ``threshold`` (MeV, the neutron separation energy) to GDR_TOP_MEV."""

    energy: float  # MeV
    width: float  # MeV
    peak: float  # mb
    threshold: float  # MeV
    source: str


# Measured GDR fits to (gamma, Xn) data, Veyssiere et al., NPA 159 (1970) 561 (the values
# STARlight uses); thresholds are the neutron separation energies.
MEASURED_GDR: dict[tuple[int, int], GiantDipole] = {
    (79, 197): GiantDipole(13.70, 4.75, 540.0, 8.1, "Veyssiere et al., NPA 159 (1970) 561"),
    (82, 208): GiantDipole(13.42, 4.05, 640.0, 7.4, "Veyssiere et al., NPA 159 (1970) 561"),
}
# Other nuclei: Berman-Fultz systematics for the peak energy (Rev. Mod. Phys. 47 (1975) 713),
# E0 = 31.2 A^-1/3 + 20.6 A^-1/6 MeV, width 5 MeV, and a Lorentzian integral of 1.4 times the
# Thomas-Reiche-Kuhn sum 60 N Z / A mb MeV (the ratio of the measured Au and Pb fits: 1.42, 1.37).
GDR_TRK_FACTOR = 1.4
GDR_GENERIC_WIDTH_MEV = 5.0
GDR_GENERIC_THRESHOLD_MEV = 8.0


def giant_dipole(Z: int, A: int) -> GiantDipole:
    """GDR parameters of nucleus (Z, A): measured where tabulated, systematics otherwise."""
    if (Z, A) in MEASURED_GDR:
        return MEASURED_GDR[(Z, A)]
    energy = 31.2 * A ** (-1.0 / 3.0) + 20.6 * A ** (-1.0 / 6.0)
    trk = 60.0 * (A - Z) * Z / A
    peak = GDR_TRK_FACTOR * trk / (0.5 * math.pi * GDR_GENERIC_WIDTH_MEV)
    return GiantDipole(energy, GDR_GENERIC_WIDTH_MEV, peak, GDR_GENERIC_THRESHOLD_MEV,
                       "Berman-Fultz systematics, 1.4 x TRK sum rule")


def gdr_cross_section_mb(e_mev: np.ndarray, gdr: GiantDipole) -> np.ndarray:
    """The GDR Lorentzian (mb) at photon energies ``e_mev``, zero outside [threshold, 25 MeV)."""
    e = np.asarray(e_mev, dtype=float)
    e2 = e * e
    sigma = gdr.peak * e2 * gdr.width**2 / ((gdr.energy**2 - e2) ** 2 + e2 * gdr.width**2)
    return np.where((e >= gdr.threshold) & (e < GDR_TOP_MEV), sigma, 0.0)


def quasi_deuteron_mb(e_mev: np.ndarray, Z: int, A: int) -> np.ndarray:
    """Levinger quasi-deuteron cross section (mb), L N Z / A sigma_d(E) exp(-D / E)."""
    e = np.maximum(np.asarray(e_mev, dtype=float), DEUTERON_BINDING_MEV)
    sigma_d = 61.2 * (e - DEUTERON_BINDING_MEV) ** 1.5 / e**3
    return LEVINGER_L * (A - Z) * Z / A * sigma_d * np.exp(-LEVINGER_D_MEV / e)


def nucleon_cross_section_mb(e_mev: np.ndarray) -> np.ndarray:
    """Photo-absorption per bound nucleon above the pion threshold (mb), before shadowing."""
    e = np.asarray(e_mev, dtype=float)
    s = M_NUCLEON_GEV**2 + 2.0 * M_NUCLEON_GEV * e * 1.0e-3  # GeV^2
    regge = REGGE_X_MB * s**REGGE_EPS + REGGE_Y_MB * s ** (-REGGE_ETA)
    ramp = -np.expm1(-np.maximum(e - PION_THRESHOLD_MEV, 0.0) / REGGE_RAMP_MEV)
    half = 0.5 * DELTA_FWHM_MEV
    delta = DELTA_PEAK_MB * half**2 / ((e - DELTA_ENERGY_MEV) ** 2 + half**2)
    return ramp * regge + delta


def shadowing(e_mev: np.ndarray) -> np.ndarray:
    """A_eff / A of the high-energy photo-absorption cross section."""
    e = np.asarray(e_mev, dtype=float)
    return SHADOWING_ASYMPTOTE + (1.0 - SHADOWING_ASYMPTOTE) * np.exp(-e / SHADOWING_SCALE_MEV)


def photoabsorption_mb(e_mev: np.ndarray, Z: int, A: int) -> np.ndarray:
    """sigma(gamma A -> A* -> Xn) (mb) at target-frame photon energies ``e_mev`` (MeV)."""
    e = np.asarray(e_mev, dtype=float)
    gdr = gdr_cross_section_mb(e, giant_dipole(Z, A))
    qd = np.where((e >= GDR_TOP_MEV) & (e < PION_THRESHOLD_MEV), quasi_deuteron_mb(e, Z, A), 0.0)
    high = np.where(e >= PION_THRESHOLD_MEV, A * shadowing(e) * nucleon_cross_section_mb(e), 0.0)
    return gdr + qd + high


def _energy_nodes(e_lo: float, e_hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights in ln E on each smooth piece of sigma (MeV, d ln E)."""
    breaks = [e_lo, GDR_TOP_MEV, PION_THRESHOLD_MEV, 2.0e3, 1.0e5, 1.0e7, 1.0e9, 1.0e11, 1.0e13]
    edges = sorted({e for e in breaks if e_lo <= e < e_hi} | {e_hi})
    u, w = np.polynomial.legendre.leggauss(48)
    nodes, weights = [], []
    for a, b in itertools.pairwise(edges):
        la, lb = math.log(a), math.log(b)
        nodes.append(np.exp(0.5 * (lb - la) * u + 0.5 * (lb + la)))
        weights.append(0.5 * (lb - la) * w)
    return np.concatenate(nodes), np.concatenate(weights)


def target_frame_gamma(sqrt_snn: float) -> float:
    """Lorentz factor of one beam nucleus in the rest frame of the other, 2 gamma^2 - 1."""
    gamma = lorentz_gamma(sqrt_snn)
    return 2.0 * gamma * gamma - 1.0


def mean_excitations_direct(b_fm: np.ndarray, Z: int, A: int, sqrt_snn: float,
                            sigma_mb: Callable[[np.ndarray, int, int], np.ndarray]
                            = photoabsorption_mb) -> np.ndarray:
    """m(b), the mean number of photo-excitations of one nucleus (by quadrature, no table).

    ``sigma_mb(e_mev, Z, A)`` is the photo-absorption cross section; b in fm, shape kept.
    """
    b = np.asarray(b_fm, dtype=float)
    gamma_t = target_frame_gamma(sqrt_snn)
    threshold = giant_dipole(Z, A).threshold
    # x = E b / (gamma_t hbar c) > 40 contributes < e^-80: the grid ends there for the smallest b.
    e_top = 40.0 * gamma_t * HBARC_MEV_FM / max(float(np.min(b)), 1e-3)
    if e_top <= threshold:
        return np.zeros_like(b)
    e, w = _energy_nodes(threshold, e_top)
    weighted = w * sigma_mb(e, Z, A) * MB_TO_FM2  # fm^2 per d ln E
    flat = b.ravel()
    out = np.empty(flat.size)
    for i0 in range(0, flat.size, 512):
        bb = flat[i0:i0 + 512, None]
        x = e[None, :] * bb / (gamma_t * HBARC_MEV_FM)
        xk1 = x * k1e(x) * np.exp(-x)  # x K1(x), without overflow at small x
        out[i0:i0 + 512] = (xk1**2) @ weighted / bb[:, 0] ** 2
    return Z**2 * ALPHA_EM / math.pi**2 * out.reshape(b.shape)


# The table spans the impact parameters of any collision: below 1 fm and above 1e5 fm m(b) is
# computed directly.
_TABLE_B = (1.0, 1.0e5, 801)


@lru_cache(maxsize=32)
def _log_table(Z: int, A: int, sqrt_snn: float) -> tuple[np.ndarray, np.ndarray]:
    """ln b and ln(b^2 m(b)) on a log grid (the latter is smooth and slowly varying)."""
    b = np.geomspace(*_TABLE_B)
    m = mean_excitations_direct(b, Z, A, sqrt_snn)
    return np.log(b), np.log(np.maximum(b * b * m, 1e-300))


def _check_system(Z: int, A: int, sqrt_snn: float) -> None:
    check_range("A", A, 2, 300)
    check_range("Z", Z, 1, A)
    if int(A) != A or int(Z) != Z:
        raise ParameterError("A, Z", (Z, A), "must be integers")
    check_range("sqrt_snn", sqrt_snn, 10.0, 1.0e5)


def mean_excitations(b_fm: np.ndarray, *, Z: int, A: int, sqrt_snn: float) -> np.ndarray:
    """m(b): mean number of photo-excitations of one nucleus at impact parameter b (fm).

    Interpolated in ln b from a cached table of ln(b^2 m) (relative error < 1e-5).
    """
    _check_system(Z, A, sqrt_snn)
    given = np.asarray(b_fm, dtype=float)
    if np.any(~np.isfinite(given)) or np.any(given < 0.0):
        raise ParameterError("b_fm", "negative or non-finite values", "must be finite and >= 0 fm")
    # b -> 0: m grows like 1/b^2; below 1e-3 fm (m > 1e7) every excitation probability is 1.
    b = np.maximum(np.atleast_1d(given), 1.0e-3)
    lb, lm = _log_table(int(Z), int(A), float(sqrt_snn))
    logb = np.log(b)
    out = np.exp(np.interp(logb, lb, lm)) / (b * b)
    outside = (logb < lb[0]) | (logb > lb[-1])
    if np.any(outside):
        out[outside] = mean_excitations_direct(b[outside], int(Z), int(A), float(sqrt_snn))
    return out.reshape(given.shape)


def class_probabilities_from_m(m: np.ndarray, neutron_class: str) -> np.ndarray:
    """P(class) for independent Poisson excitation of both nuclei with mean ``m`` each."""
    check_choice("neutron_class", neutron_class, NEUTRON_CLASSES)
    m = np.asarray(m, dtype=float)
    p0 = np.exp(-m)
    px = -np.expm1(-m)
    if neutron_class == "any":
        return np.ones_like(m)
    if neutron_class == "0n0n":
        return p0 * p0
    if neutron_class == "0nXn":
        return 2.0 * p0 * px
    return px * px


def class_probability(b_fm: np.ndarray, neutron_class: str, *, Z: int, A: int,
                      sqrt_snn: float) -> np.ndarray:
    """P(class | b) in [0, 1] for a symmetric collision of nuclei (Z, A) at sqrt(sNN) (GeV).

    ``neutron_class`` is one of NEUTRON_CLASSES; b in fm, any shape.
    """
    check_choice("neutron_class", neutron_class, NEUTRON_CLASSES)
    m = mean_excitations(b_fm, Z=Z, A=A, sqrt_snn=sqrt_snn)
    return class_probabilities_from_m(m, neutron_class)


def lowest_order_gdr(b_fm: np.ndarray, Z: int, A: int) -> np.ndarray:
    """Baltz-Klein-Nystrand lowest-order GDR excitation probability 5.45e-5 Z^3 N / (A^2/3 b^2)
    (b in fm): the Thomas-Reiche-Kuhn sum at E_GDR = 80 A^-1/3 MeV, x K1(x) -> 1."""
    b = np.asarray(b_fm, dtype=float)
    return 5.45e-5 * Z**3 * (A - Z) / (A ** (2.0 / 3.0) * b * b)


@dataclass(frozen=True)
class ClassSummary:
    """One neutron class under a UPC |b| distribution: its fraction of all events and its
    median |b| (fm)."""

    neutron_class: str
    fraction: float
    median_b: float


def class_summaries(dist: ImpactParameterDistribution, *, Z: int, A: int,
                    sqrt_snn: float) -> dict[str, ClassSummary]:
    """Fraction and median |b| of every class for the |b| distribution ``dist``
    (e.g. ``DoubleSlit.b_distribution``), weighting its pdf by P(class | b)."""
    out = {}
    for name in NEUTRON_CLASSES:
        w = dist.pdf * class_probability(dist.b, name, Z=Z, A=A, sqrt_snn=sqrt_snn)
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(dist.b))])
        total = float(cdf[-1] / (dist.cdf[-1] - dist.cdf[0]))
        median = float(np.interp(0.5 * cdf[-1], cdf, dist.b))
        out[name] = ClassSummary(name, total, median)
    return out


def dissociation_cross_sections_b(profile: DensityProfile, sqrt_snn: float,
                                  sigma_nn_fm2: float) -> tuple[float, float]:
    """Electromagnetic dissociation cross sections (barn) of a symmetric collision:
    single (a given nucleus emits neutrons) = int d^2b P_noHad (1 - e^-m) and mutual (both do)
    = int d^2b P_noHad (1 - e^-m)^2, with P_noHad = exp(-sigma_NN T_AA(b))."""
    nucleus = profile.nucleus
    b = np.geomspace(1.0, 1.0e6, 6001)
    p_nohad = np.exp(-sigma_nn_fm2 * nuclear_overlap(profile, profile, b))
    px = -np.expm1(-mean_excitations(b, Z=nucleus.Z, A=nucleus.A, sqrt_snn=sqrt_snn))
    w = 2.0 * math.pi * b * b * p_nohad  # d^2b = 2 pi b^2 d ln b (fm^2)
    fm2_to_barn = 1.0e-2
    single = float(np.trapezoid(w * px, np.log(b))) * fm2_to_barn
    mutual = float(np.trapezoid(w * px * px, np.log(b))) * fm2_to_barn
    return single, mutual
