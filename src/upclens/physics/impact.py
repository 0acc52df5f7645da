"""Impact-parameter distribution of coherent photoproduction in UPCs.

    P_noHad(b) = exp[-sigma_NN T_AA(b)],  T_AA(b) = int d^2s T_A(s) T_B(s - b)   (fm^-2),
    dP/db  ~  2 pi b P_noHad(b) n(omega, b)                                         (fm^-1),
with T the orientation-averaged matter thickness and n the point-charge flux at the target centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import simpson
from scipy.special import j0

from upclens.physics.flux import point_charge_flux
from upclens.physics.nucleus import DensityProfile


def spherical_form_factor(profile: DensityProfile, k: np.ndarray) -> np.ndarray:
    """rho~_0(k) = 4 pi int r^2 rho_0(r) j0(k r) dr: 3D transform of the monopole density.

    k in fm^-1; rho~_0(0) = A.  Equals the 2D transform of the orientation-averaged thickness.
    """
    r = profile.r
    kr = np.outer(np.atleast_1d(k), r)
    # j0(x) = sin(x)/x = sinc(x/pi).  Simpson (O(h^4)): T_AA at large b is a 1e-4 remainder of
    # cancelling terms.
    return 4.0 * math.pi * simpson(r**2 * profile.multipoles[0] * np.sinc(kr / math.pi), x=r,
                                   axis=-1)


def nuclear_overlap(profile_a: DensityProfile, profile_b: DensityProfile,
                    b: np.ndarray) -> np.ndarray:
    """T_AB(b) in fm^-2 by Hankel transform: (1/2pi) int k dk T~_A(k) T~_B(k) J0(k b).

    The density tables end at radius r_max, so T_AB is exactly zero for b >= r_max,A + r_max,B
    (there the transform would return only its quadrature noise).
    """
    k = np.linspace(0.0, 12.0, 6001)
    ta = spherical_form_factor(profile_a, k)
    tt = ta * (ta if profile_b is profile_a else spherical_form_factor(profile_b, k))
    b = np.atleast_1d(np.asarray(b, dtype=float))
    out = np.zeros_like(b)
    inside = np.flatnonzero(b < profile_a.r[-1] + profile_b.r[-1])
    for i0 in range(0, inside.size, 256):
        idx = inside[i0:i0 + 256]
        out[idx] = simpson(k * tt * j0(np.outer(b[idx], k)), x=k, axis=-1) / (2 * math.pi)
    return out


@dataclass(frozen=True)
class ImpactParameterDistribution:
    """Tabulated UPC |b| distribution.

    ``b`` (fm), ``pdf`` (fm^-1), ``cdf`` and the centre flux ``flux`` = n(omega, b).
    """

    b: np.ndarray
    pdf: np.ndarray
    cdf: np.ndarray
    flux: np.ndarray

    @classmethod
    def build(cls, profile: DensityProfile, sigma_nn_fm2: float, omega: float, gamma: float,
              b_max: float = 120.0, step: float = 0.05) -> ImpactParameterDistribution:
        """Tabulate 2 pi b P_noHad(b) n(omega, b) on [0, b_max] fm for identical nuclei."""
        b = np.arange(step, b_max + step, step)
        p_nohad = np.exp(-sigma_nn_fm2 * nuclear_overlap(profile, profile, b))
        flux = point_charge_flux(omega, b, gamma, profile.nucleus.Z, profile.R_p)
        pdf = 2.0 * math.pi * b * p_nohad * flux
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * step)])
        norm = cdf[-1]
        return cls(b=b, pdf=pdf / norm, cdf=cdf / norm, flux=flux)

    def p_no_hadronic(self) -> np.ndarray:
        """P_noHad on the table's b values (recovered from the stored pdf and flux)."""
        raw = self.pdf / (2.0 * math.pi * self.b * self.flux)
        return raw / raw[-1]

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF: |b| (fm) at probabilities u in [0, 1]."""
        return np.interp(u, self.cdf, self.b)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values of |b| (fm)."""
        return self.quantile(rng.random(size))

    def quadrature(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes |b| (fm) and weights (sum 1): Gauss-Legendre in the probability variable."""
        u, w = np.polynomial.legendre.leggauss(n)
        return self.quantile(0.5 * (u + 1.0)), 0.5 * w

    def flux_at(self, b: np.ndarray) -> np.ndarray:
        """Centre flux n(omega, b) (GeV^-1 fm^-2), interpolated in log."""
        return np.exp(np.interp(b, self.b, np.log(self.flux)))
