"""Collision kinematics of coherent vector-meson photoproduction and the VMD cross sections.

Every function takes the produced meson (physics/mesons.py); the default is the J/psi.

Units: GeV for energies, fm^2 for cross sections unless a name says otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from upclens.errors import ParameterError, check_range
from upclens.physics.constants import (
    ALPHA_EM,
    HBARC,
    M_NUCLEON_AMU,
    M_PROTON,
    MB_TO_FM2,
    NB_TO_FM2,
    SIGMA_NN_A_MB,
    SIGMA_NN_B_MB,
    SIGMA_NN_POWER,
)
from upclens.physics.mesons import MESONS, Meson

JPSI = MESONS["jpsi"]


def lorentz_gamma(sqrt_snn: float) -> float:
    """Beam Lorentz factor gamma = sqrt(sNN) / (2 m_N), m_N = 1 amu."""
    return sqrt_snn / (2.0 * M_NUCLEON_AMU)


def photon_energy(rapidity: float, sign: int, mass: float = JPSI.mass) -> float:
    """Photon energy omega = (M / 2) exp(sign * y) in the collider frame (GeV) for a meson of
    mass ``mass`` (GeV) at rapidity y."""
    return 0.5 * mass * math.exp(sign * rapidity)


def gamma_proton_energy(omega: float, sqrt_snn: float) -> float:
    """gamma-p centre-of-mass energy W = [2 omega (E_p + p_p) + m_p^2]^(1/2) (GeV)."""
    e_p = 0.5 * sqrt_snn
    p_p = math.sqrt(max(e_p**2 - M_PROTON**2, 0.0))
    return math.sqrt(2.0 * omega * (e_p + p_p) + M_PROTON**2)


def sigma_gamma_p_nb(w: float, meson: Meson = JPSI) -> float:
    """sigma(gamma p -> V p) in nb (STARlight parameterisation, physics/mesons.py)."""
    return meson.sigma_gamma_p_nb(w)


def sigma_vn_fm2(w: float, meson: Meson = JPSI) -> float:
    """V-nucleon cross section from VMD + optical theorem (fm^2); J/psi: 0.187 fm^2 at
    W = 24.9 GeV.

    sigma_VN = [16 pi (f_V^2/4pi) b_V sigma(gamma p -> V p) / alpha]^(1/2), b_V converted to fm^2.
    """
    slope_fm2 = meson.slope_gev2 * HBARC**2
    return math.sqrt(16.0 * math.pi * meson.fv2_over_4pi * slope_fm2
                     * sigma_gamma_p_nb(w, meson) * NB_TO_FM2 / ALPHA_EM)


def forward_gamma_p_dsdt(w: float, meson: Meson = JPSI) -> float:
    """d sigma(gamma p -> V p)/dt at t = 0 in nb/GeV^2 (= b_V sigma)."""
    return meson.slope_gev2 * sigma_gamma_p_nb(w, meson)


def sigma_nn_inelastic_fm2(sqrt_snn: float) -> float:
    """Inelastic NN cross section (fm^2): A + B ln(s)^n mb, 41.3 mb at 200 GeV."""
    s = sqrt_snn**2
    return (SIGMA_NN_A_MB + SIGMA_NN_B_MB * math.log(s) ** SIGMA_NN_POWER) * MB_TO_FM2


@dataclass(frozen=True)
class TargetKinematics:
    """What one target nucleus sees: photon energy omega (GeV), W (GeV), sigma_VN (fm^2),
    longitudinal momentum transfer q_z (fm^-1) and the forward gamma-p amplitude sqrt(dsigma/dt),
    for the meson of mass ``mass`` (GeV)."""

    omega: float
    w: float
    sigma_vn: float
    qz: float
    amplitude_scale: float
    mass: float = JPSI.mass

    @classmethod
    def build(cls, sqrt_snn: float, rapidity: float, sign: int,
              sigma_vn_scale: float = 1.0, meson: Meson = JPSI) -> TargetKinematics:
        """Kinematics of the target hit by the photon of energy (M/2) exp(sign * y)."""
        check_range("sqrt_snn", sqrt_snn, 10.0, 1.0e5)
        check_range("rapidity", rapidity, -6.0, 6.0)
        check_range("sigma_vn_scale", sigma_vn_scale, 0.0, 5.0)
        omega = photon_energy(rapidity, sign, meson.mass)
        w = gamma_proton_energy(omega, sqrt_snn)
        if sigma_gamma_p_nb(w, meson) <= 0.0:
            raise ParameterError("sqrt_snn, rapidity", (sqrt_snn, rapidity),
                                 f"the gamma-p energy W is below the {meson.name} threshold")
        gamma = lorentz_gamma(sqrt_snn)
        qz = meson.mass**2 / (4.0 * gamma * omega) / HBARC
        return cls(omega=omega, w=w, sigma_vn=sigma_vn_scale * sigma_vn_fm2(w, meson), qz=qz,
                   amplitude_scale=math.sqrt(forward_gamma_p_dsdt(w, meson)), mass=meson.mass)
