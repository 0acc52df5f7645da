"""Production constants of the coherently photoproduced vector mesons (J/psi, psi(2S), rho0).

Values and parameterisations are STARlight's (src/inputParameters.cpp for masses and widths,
src/photonNucleusCrossSection.cpp for f_V^2/4pi, the forward slope b_V and sigma(gamma p -> V p));
docs/physics.md lists them with the choices made.  The J/psi numbers are the package's J/psi
constants (physics/constants.py), so that J/psi images are unchanged.

    sigma(gamma p -> V p) = [A W^a + B W^-c] (1 - (M + m_p)^2 / W^2)^2   nb  (threshold factor
                                                                           for heavy mesons only)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from upclens.errors import ParameterError
from upclens.physics.constants import (
    JPSI_FV2_OVER_4PI,
    JPSI_SLOPE_GEV2,
    M_JPSI,
    M_PROTON,
    SIGMA_GP_NORM_NB,
    SIGMA_GP_POWER,
)

M_PION_CHARGED = 0.13957  # GeV (STARlight pionChargedMass)


@dataclass(frozen=True)
class Meson:
    """Production constants of one vector meson.

    name: 'jpsi', 'psi2s' or 'rho0'.  pdg_id: PDG code.  mass, width: pole mass and total width
    (GeV).  fv2_over_4pi: photon coupling f_V^2/4pi.  slope_gev2: forward slope b_V of
    gamma p -> V p (GeV^-2).  sigma_a_nb, sigma_a_power, sigma_b_nb, sigma_b_power: the
    gamma-p cross section A W^a + B W^-c in nb (W in GeV).  threshold: apply the
    (1 - (M + m_p)^2/W^2)^2 factor.  wide: a broad resonance whose mass is drawn per event
    from ``line_shape`` over [mass_min, mass_max] (GeV).  soding_b: non-resonant pi+pi-
    amplitude relative to the resonant one (Soding; 0: a pure relativistic Breit-Wigner).
    """

    name: str
    pdg_id: int
    mass: float
    width: float
    fv2_over_4pi: float
    slope_gev2: float
    sigma_a_nb: float
    sigma_a_power: float
    sigma_b_nb: float = 0.0
    sigma_b_power: float = 0.0
    threshold: bool = True
    wide: bool = False
    mass_min: float = 0.0
    mass_max: float = 0.0
    soding_b: float = 0.0

    def sigma_gamma_p_nb(self, w: float) -> float:
        """sigma(gamma p -> V p) in nb at gamma-p energy ``w`` (GeV); 0 below threshold."""
        factor = 1.0
        if self.threshold:
            thr = (self.mass + M_PROTON) ** 2
            if w**2 <= thr:
                return 0.0
            factor = (1.0 - thr / w**2) ** 2
        return factor * (self.sigma_a_nb * w**self.sigma_a_power
                         + self.sigma_b_nb * w ** (-self.sigma_b_power))

    def line_shape(self, m: np.ndarray) -> np.ndarray:
        """Unnormalised dN/dm of the pi+pi- mass ``m`` (GeV) for a wide meson (STARlight RHO):
        |A sqrt(M Gamma(m) m) / (m^2 - M^2 + i M Gamma(m)) + B|^2 with the p-wave width
        Gamma(m) = Gamma_0 (M/m) (q/q_0)^3, q the pion momentum in the pair frame (Jackson)."""
        m = np.asarray(m, dtype=float)
        q = np.sqrt(np.clip(0.25 * m**2 - M_PION_CHARGED**2, 0.0, None))
        q0 = math.sqrt(0.25 * self.mass**2 - M_PION_CHARGED**2)
        gam = self.width * (self.mass / np.maximum(m, 1e-12)) * (q / q0) ** 3
        denom = m**2 - self.mass**2 + 1j * self.mass * gam
        amp = np.sqrt(self.mass * gam * m) / denom + self.soding_b
        return np.where(m > 2.0 * M_PION_CHARGED, np.abs(amp) ** 2, 0.0)

    def sample_mass(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` masses (GeV): the pole mass for a narrow meson, else drawn from the line shape
        by inverse CDF on a 0.1 MeV table over [mass_min, mass_max]."""
        if not self.wide:
            return np.full(n, self.mass)
        m = np.arange(self.mass_min, self.mass_max + 1e-4, 1e-4)
        pdf = self.line_shape(m)
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(m))])
        return np.interp(rng.random(n) * cdf[-1], cdf, m)


RHO0_MASS = 0.769
RHO0_WIDTH = 0.1517

MESONS: dict[str, Meson] = {
    "jpsi": Meson(name="jpsi", pdg_id=443, mass=M_JPSI, width=0.0000929,
                  fv2_over_4pi=JPSI_FV2_OVER_4PI, slope_gev2=JPSI_SLOPE_GEV2,
                  sigma_a_nb=SIGMA_GP_NORM_NB, sigma_a_power=SIGMA_GP_POWER),
    "psi2s": Meson(name="psi2s", pdg_id=100443, mass=3.686109, width=0.000299,
                   fv2_over_4pi=26.39, slope_gev2=4.3,
                   sigma_a_nb=0.166 * SIGMA_GP_NORM_NB, sigma_a_power=SIGMA_GP_POWER),
    "rho0": Meson(name="rho0", pdg_id=113, mass=RHO0_MASS, width=RHO0_WIDTH,
                  fv2_over_4pi=2.02, slope_gev2=11.0,
                  sigma_a_nb=5000.0, sigma_a_power=0.22, sigma_b_nb=26000.0, sigma_b_power=1.23,
                  threshold=False, wide=True, mass_min=2.0 * M_PION_CHARGED,
                  mass_max=RHO0_MASS + 5.0 * RHO0_WIDTH),
}


def meson(name: str) -> Meson:
    """The constants of meson ``name``; ParameterError naming the allowed names otherwise."""
    if name not in MESONS:
        raise ParameterError("meson", name, "must be one of " + ", ".join(MESONS))
    return MESONS[name]
