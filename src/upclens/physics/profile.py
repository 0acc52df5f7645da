"""Thickness function T(x; n) of a rotated nucleus and the quantum-Glauber amplitude profile.

For an axially symmetric body with matter multipoles rho_l(r), the addition theorem gives, for a
symmetry axis n = (sin b cos a, sin b sin a, cos b),
    T(x_perp; n) = sum_{l,m} 4pi/(2l+1) eps_m y_lm(b) [cos(m a) C_lm(x) + sin(m a) S_lm(x)],
    C_lm = cos(m phi_x) t_lm(|x|),  S_lm = sin(m phi_x) t_lm(|x|),
    t_lm(rho) = int dz rho_l(sqrt(rho^2 + z^2)) y_lm(theta_z) exp(i q_z z),
with y_lm the normalised associated Legendre functions (Y_lm = y_lm e^{i m phi}), eps_0 = 1 and
eps_m = 2.  The orientation-independent basis is built once per nucleus; T for a batch of
orientations is a single matrix product.  Without the coherence phase only l + m even survive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import sph_legendre_p

from upclens.physics.nucleus import DensityProfile
from upclens.physics.numerics import Numerics


@dataclass(frozen=True)
class LocalGrid:
    """Square transverse grid centred on a target nucleus: nodes ``x`` (fm), step ``dx`` (fm)."""

    x: np.ndarray
    dx: float

    @classmethod
    def for_profile(cls, profile: DensityProfile, numerics: Numerics) -> LocalGrid:
        """Grid reaching ``grid_tail`` diffusenesses beyond the largest surface radius."""
        half = profile.r_surface_max + numerics.grid_tail * max(profile.a_p, profile.a_n)
        n = 2 * math.ceil(half / numerics.dx)
        x = (np.arange(n) - (n - 1) / 2.0) * numerics.dx
        return cls(x=x, dx=numerics.dx)


class ThicknessBasis:
    """T(x; n) = coefficients(n) @ basis on a LocalGrid, for one nucleus and one q_z (fm^-1)."""

    def __init__(self, profile: DensityProfile, grid: LocalGrid, qz: float,
                 numerics: Numerics) -> None:
        self.grid = grid
        self.qz = float(qz)
        self.l_max = profile.l_max
        x = grid.x
        xx, yy = np.meshgrid(x, x)  # [iy, ix]
        rho = np.hypot(xx, yy)
        phi = np.arctan2(yy, xx)
        radii, inverse = np.unique(np.round(rho, 12), return_inverse=True)
        z_max = profile.r[-1]
        nz = math.ceil(z_max / numerics.dz) + 1
        z = np.linspace(0.0, z_max, nz)
        wz = np.full(nz, z[1] - z[0])
        wz[0] *= 0.5
        wz[-1] *= 0.5
        r3 = np.sqrt(radii[:, None] ** 2 + z[None, :] ** 2)
        theta = np.arccos(np.clip(z[None, :] / np.maximum(r3, 1e-300), -1.0, 1.0))
        rho_l = np.nan_to_num(profile.spline()(r3), nan=0.0)  # (L+1, Nu, Nz)
        even_phase = 2.0 * np.cos(self.qz * z) * wz
        odd_phase = 2.0j * np.sin(self.qz * z) * wz
        complex_basis = self.qz != 0.0

        terms: list[tuple[int, int, str]] = []
        columns: list[np.ndarray] = []
        for l in range(self.l_max + 1):
            for m in range(l + 1):
                even = (l + m) % 2 == 0
                if not even and not complex_basis:
                    continue
                ylm = sph_legendre_p(l, m, theta)[0]
                t_lm = (rho_l[l] * ylm) @ (even_phase if even else odd_phase)  # (Nu,)
                t_grid = t_lm[inverse].reshape(rho.shape)
                terms.append((l, m, "c"))
                columns.append((np.cos(m * phi) * t_grid).ravel())
                if m > 0:
                    terms.append((l, m, "s"))
                    columns.append((np.sin(m * phi) * t_grid).ravel())
        self.terms = terms
        self.basis = np.array(columns)  # (n_terms, Nx*Nx)
        self._l = np.array([t[0] for t in terms])
        self._m = np.array([t[1] for t in terms])
        self._is_sin = np.array([t[2] == "s" for t in terms])
        self._prefactor = 4.0 * np.pi / (2 * self._l + 1) * np.where(self._m > 0, 2.0, 1.0)

    def coefficients(self, nhat: np.ndarray) -> np.ndarray:
        """Expansion coefficients, shape (N, n_terms), for unit axes ``nhat`` (N, 3)."""
        nhat = np.atleast_2d(nhat)
        beta = np.arccos(np.clip(nhat[:, 2], -1.0, 1.0))
        alpha = np.arctan2(nhat[:, 1], nhat[:, 0])
        coef = np.empty((len(nhat), len(self.terms)))
        cache: dict[tuple[int, int], np.ndarray] = {}
        for k, (l, m, kind) in enumerate(self.terms):
            if (l, m) not in cache:
                cache[(l, m)] = sph_legendre_p(l, m, beta)[0]
            trig = np.sin(m * alpha) if kind == "s" else np.cos(m * alpha)
            coef[:, k] = self._prefactor[k] * cache[(l, m)] * trig
        return coef

    def thickness(self, nhat: np.ndarray) -> np.ndarray:
        """T(x; n) in fm^-2, shape (N, Nx, Nx) indexed [n, iy, ix] (complex with q_z)."""
        n = self.grid.x.size
        return (self.coefficients(nhat) @ self.basis).reshape(-1, n, n)


def amplitude_profile(thickness: np.ndarray, sigma_vn: float, glauber: bool) -> np.ndarray:
    """Gamma(x) = 2 [1 - exp(-sigma T / 2)] / sigma (fm^-2), or T itself when not ``glauber``."""
    if not glauber or sigma_vn == 0.0:
        return thickness
    return -2.0 * np.expm1(-0.5 * sigma_vn * thickness) / sigma_vn
