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
from functools import lru_cache

import numpy as np
from scipy.special import sph_legendre_p_all

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
        # Whole multiples of 2 fm: nuclei of one family share the grid and its cached tables.
        half = 2.0 * math.ceil(half / 2.0)
        n = 2 * math.ceil(half / numerics.dx)
        x = (np.arange(n) - (n - 1) / 2.0) * numerics.dx
        return cls(x=x, dx=numerics.dx)


@dataclass(frozen=True)
class _Geometry:
    """Orientation- and nucleus-independent tables of one projection grid (cached)."""

    terms: tuple[tuple[int, int, str], ...]
    inverse: np.ndarray  # grid point -> index of its radius, (Nx*Nx,)
    trig: np.ndarray  # cos(m phi) or sin(m phi) per term, (n_terms, Nx*Nx)
    r3: np.ndarray  # sqrt(rho^2 + z^2) at (unique radius, z), (Nu, Nz)
    ylm: np.ndarray  # y_lm(theta) per term, (n_terms, Nu, Nz)
    z: np.ndarray  # longitudinal nodes z >= 0 (fm), (Nz,)
    wz: np.ndarray  # trapezoid weights, (Nz,)


@lru_cache(maxsize=8)
def _geometry(nx: int, dx: float, z_max: float, dz: float, l_max: int,
              odd_terms: bool) -> _Geometry:
    x = (np.arange(nx) - (nx - 1) / 2.0) * dx
    xx, yy = np.meshgrid(x, x)  # [iy, ix]
    rho = np.hypot(xx, yy).ravel()
    phi = np.arctan2(yy, xx).ravel()
    radii, inverse = np.unique(np.round(rho, 12), return_inverse=True)
    nz = math.ceil(z_max / dz) + 1
    z = np.linspace(0.0, z_max, nz)
    wz = np.full(nz, z[1] - z[0])
    wz[0] *= 0.5
    wz[-1] *= 0.5
    r3 = np.sqrt(radii[:, None] ** 2 + z[None, :] ** 2)
    theta = np.arccos(np.clip(z[None, :] / np.maximum(r3, 1e-300), -1.0, 1.0))
    ylm_all = sph_legendre_p_all(l_max, l_max, theta)[0]  # (L+1, 2L+1, Nu, Nz)
    terms, trig, ylm = [], [], []
    for l in range(l_max + 1):
        for m in range(l + 1):
            if (l + m) % 2 and not odd_terms:
                continue
            kinds = ("c", "s") if m > 0 else ("c",)
            for kind in kinds:
                terms.append((l, m, kind))
                trig.append(np.cos(m * phi) if kind == "c" else np.sin(m * phi))
                ylm.append(ylm_all[l, m])
    return _Geometry(terms=tuple(terms), inverse=np.ravel(inverse), trig=np.array(trig),
                     r3=r3, ylm=np.array(ylm), z=z, wz=wz)


class ThicknessBasis:
    """T(x; n) = coefficients(n) @ basis on a LocalGrid, for one nucleus and one q_z (fm^-1)."""

    def __init__(self, profile: DensityProfile, grid: LocalGrid, qz: float,
                 numerics: Numerics) -> None:
        self.grid = grid
        self.qz = float(qz)
        self.l_max = profile.l_max
        geo = _geometry(grid.x.size, grid.dx, float(profile.r[-1]), numerics.dz, self.l_max,
                        self.qz != 0.0)
        self.terms = geo.terms
        ells = np.array([t[0] for t in geo.terms])
        ems = np.array([t[1] for t in geo.terms])
        even = (ells + ems) % 2 == 0
        rho_l = np.nan_to_num(profile.spline()(geo.r3), nan=0.0)  # (L+1, Nu, Nz)
        # t_lm(rho) = 2 int_0^zmax dz rho_l y_lm {cos(q z) (l+m even), i sin(q z) (odd)}
        phase = np.where(even[:, None], 2.0 * np.cos(self.qz * geo.z),
                         2.0j * np.sin(self.qz * geo.z)) * geo.wz
        if self.qz == 0.0:
            phase = phase.real
        t_lm = np.einsum("kuz,kuz,kz->ku", rho_l[ells], geo.ylm, phase, optimize=True)
        self.basis = t_lm[:, geo.inverse] * geo.trig  # (n_terms, Nx*Nx)
        self._l, self._m = ells, ems
        self._is_sin = np.array([t[2] == "s" for t in geo.terms])
        self._prefactor = 4.0 * np.pi / (2 * ells + 1) * np.where(ems > 0, 2.0, 1.0)

    def coefficients(self, nhat: np.ndarray) -> np.ndarray:
        """Expansion coefficients, shape (N, n_terms), for unit axes ``nhat`` (N, 3)."""
        nhat = np.atleast_2d(nhat)
        beta = np.arccos(np.clip(nhat[:, 2], -1.0, 1.0))
        alpha = np.arctan2(nhat[:, 1], nhat[:, 0])
        ylm = sph_legendre_p_all(self.l_max, self.l_max, beta)[0]  # (L+1, 2L+1, N)
        angle = self._m[None, :] * alpha[:, None]
        trig = np.where(self._is_sin[None, :], np.sin(angle), np.cos(angle))
        return self._prefactor * ylm[self._l, self._m].T * trig

    def thickness(self, nhat: np.ndarray) -> np.ndarray:
        """T(x; n) in fm^-2, shape (N, Nx, Nx) indexed [n, iy, ix] (complex with q_z)."""
        n = self.grid.x.size
        return (self.coefficients(nhat) @ self.basis).reshape(-1, n, n)


def amplitude_profile(thickness: np.ndarray, sigma_vn: float, glauber: bool) -> np.ndarray:
    """Gamma(x) = 2 [1 - exp(-sigma T / 2)] / sigma (fm^-2), or T itself when not ``glauber``."""
    if not glauber or sigma_vn == 0.0:
        return thickness
    return -2.0 * np.expm1(-0.5 * sigma_vn * thickness) / sigma_vn
