"""Absolute coherent cross sections of ultra-peripheral collisions (mb).

Photonuclear: sigma_gammaA(omega) = int d|t| d sigma/d|t| (physics/tspectrum.py, with the
coherence phase, so that t_min = (M^2 / (4 gamma omega))^2 cuts coherence off at low photon
energy).  Ultra-peripheral, one source per beam (eta = -y for target 1, +y for target 2):
    d sigma/dy = sum_{omega_i = (M/2) e^{-+y}} int d^2b P_noHad(b) P_class(b) omega_i n(omega_i, b)
                 sigma_gammaA(omega_i),
with n the point-charge flux at the target centre (physics/flux.py), P_noHad = exp(-sigma_NN T_AA)
(physics/impact.py) and P_class the forward-neutron class probability (physics/neutrons.py).
This is the uniform-flux (target-centre) approximation of the image model; the two-source cross
term integrates to a vanishing share of the cross section for b > 2 R_A and is left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from upclens.physics.flux import point_charge_flux
from upclens.physics.impact import nuclear_overlap
from upclens.physics.kinematics import (
    gamma_proton_energy,
    lorentz_gamma,
    photon_energy,
    sigma_gamma_p_nb,
    sigma_nn_inelastic_fm2,
)
from upclens.physics.mesons import meson as get_meson
from upclens.physics.neutrons import class_probability
from upclens.physics.nucleus import Nucleus, density_profile
from upclens.physics.settings import ModelSwitches
from upclens.physics.tspectrum import coherent_tspectrum

FM2_TO_MB = 10.0
N_PT = 240  # pT nodes of the |t| integral
B_NODES = np.geomspace(1.0, 2.0e5, 1601)  # fm, log-uniform |b| quadrature


def photonuclear_cross_section(nucleus: Nucleus, omega: float, sqrt_snn: float,
                               meson: str = "jpsi", switches: ModelSwitches | None = None,
                               glauber: bool | None = None) -> float:
    """Coherent sigma(gamma A -> V A) in mb at photon energy ``omega`` (GeV, collider frame);
    0 below the meson's threshold.  ``glauber`` overrides ``switches.glauber`` (False: the
    impulse approximation, d sigma/dt(gamma p) |F(t)|^2)."""
    sw = switches or ModelSwitches()
    sw = ModelSwitches(glauber=sw.glauber if glauber is None else glauber, flux="uniform",
                       polarization="scalar", coherence_phase=True,
                       sigma_vn_scale=sw.sigma_vn_scale)
    m = get_meson(meson)
    if sigma_gamma_p_nb(gamma_proton_energy(omega, sqrt_snn), m) <= 0.0:
        return 0.0
    y = math.log(2.0 * omega / m.mass)  # target 2 sees omega = (M/2) e^{+y}
    gamma = lorentz_gamma(sqrt_snn)
    t_min = (m.mass**2 / (4.0 * gamma * omega)) ** 2
    # |t| = t_min + pT^2; d|t| = 2 pT dpT, the form factor is negligible beyond 12 / R (GeV)
    pt = np.linspace(0.0, 12.0 * 0.1973 / nucleus.R, N_PT)
    dsdt = coherent_tspectrum(nucleus, t_min + pt**2, sqrt_snn, y, sw, meson=meson)
    return float(np.trapezoid(2.0 * pt * dsdt, pt))


@dataclass(frozen=True)
class UpcCrossSection:
    """d sigma/dy (mb) at rapidities ``y`` and the two sources' photon energies (GeV)."""

    y: np.ndarray
    dsigma_dy: np.ndarray
    omega_1: np.ndarray
    omega_2: np.ndarray


class UpcNormalisation:
    """Coherent UPC d sigma/dy of one symmetric system, meson and neutron class.

    sigma_gammaA is computed on ``n_omega`` photon energies log-uniform over the range the
    rapidities need and interpolated log-linearly (it varies slowly with omega).
    """

    def __init__(self, nucleus: Nucleus, sqrt_snn: float, meson: str = "jpsi",
                 neutron_class: str = "any", switches: ModelSwitches | None = None,
                 sigma_nn_mb: float | None = None) -> None:
        self.nucleus = nucleus
        self.sqrt_snn = float(sqrt_snn)
        self.meson = get_meson(meson)
        self.switches = switches or ModelSwitches()
        self.gamma = lorentz_gamma(self.sqrt_snn)
        profile = density_profile(nucleus)
        sigma_nn = (sigma_nn_mb / FM2_TO_MB if sigma_nn_mb is not None
                    else sigma_nn_inelastic_fm2(self.sqrt_snn))
        b = B_NODES
        p_nohad = np.exp(-sigma_nn * nuclear_overlap(profile, profile, b))
        p_class = class_probability(b, neutron_class, Z=nucleus.Z, A=nucleus.A,
                                    sqrt_snn=self.sqrt_snn)
        self._b = b
        self._weight = 2.0 * math.pi * b * b * p_nohad * p_class  # d^2b = 2 pi b^2 d ln b
        self._r_emitter = profile.R_p
        self._sigma_cache: dict[float, float] = {}

    def sigma_gamma_a(self, omega: float) -> float:
        """sigma_gammaA (mb) at ``omega`` (GeV), cached per value."""
        key = round(float(omega), 12)
        if key not in self._sigma_cache:
            self._sigma_cache[key] = photonuclear_cross_section(
                self.nucleus, key, self.sqrt_snn, self.meson.name, self.switches)
        return self._sigma_cache[key]

    def photons(self, omega: float) -> float:
        """int d^2b P_noHad P_class omega n(omega, b): photons per unit rapidity (no unit)."""
        n = point_charge_flux(omega, self._b, self.gamma, self.nucleus.Z, self._r_emitter)
        return float(np.trapezoid(self._weight * omega * n, np.log(self._b)))

    def dsigma_dy(self, y: np.ndarray, n_omega: int = 13) -> UpcCrossSection:
        """d sigma/dy (mb) at ``y`` (both sources)."""
        y = np.atleast_1d(np.asarray(y, dtype=float))
        w1 = np.array([photon_energy(v, -1, self.meson.mass) for v in y])
        w2 = np.array([photon_energy(v, +1, self.meson.mass) for v in y])
        allw = np.concatenate([w1, w2])
        nodes = np.geomspace(allw.min(), allw.max(), n_omega) if np.ptp(allw) > 0 else allw[:1]
        sig = np.array([self.sigma_gamma_a(w) for w in nodes])

        def interp(w: float) -> float:
            if nodes.size == 1:
                return float(sig[0])
            pos = sig > 0
            if not np.any(pos):
                return 0.0
            val = np.interp(math.log(w), np.log(nodes[pos]), np.log(sig[pos]))
            below = w < nodes[pos][0] * (1 - 1e-12)
            return 0.0 if below else float(math.exp(val))

        ds = np.array([self.photons(a) * interp(a) + self.photons(c) * interp(c)
                       for a, c in zip(w1, w2, strict=True)])
        return UpcCrossSection(y=y, dsigma_dy=ds, omega_1=w1, omega_2=w2)

    def total(self, y_max: float | None = None, step: float = 0.25) -> float:
        """sigma = int d sigma/dy dy (mb) over |y| < y_max (default: the beam rapidity),
        by the trapezoid rule on y >= 0 (d sigma/dy is even in y for a symmetric system)."""
        y_beam = math.acosh(self.gamma)
        y_max = y_beam if y_max is None else min(float(y_max), y_beam)
        y = np.linspace(0.0, y_max, max(2, math.ceil(y_max / step) + 1))
        return 2.0 * float(np.trapezoid(self.dsigma_dy(y).dsigma_dy, y))
