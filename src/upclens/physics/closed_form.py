"""Closed multipole form of the linear, uniform-flux, scalar orientation average.

With Gamma = T, a uniform flux and rho(r, c) = sum_l rho_l(r) P_l(c):
    <F>(k) = rho~_0(k),   <|F|^2>(k) = sum_l rho~_l(k)^2 / (2l + 1),
    rho~_l(k) = 4 pi int r^2 rho_l(r) j_l(k r) dr,   k = |(p / hbar c, q_z)|,
    <I>(p) = 2 sum_l rho~_l^2 / (2l + 1) - 2 rho~_0^2 cos(p.b / hbar c).
A random b direction turns cos(p.b) into J0(|p| b); a UPC |b| averages it over the b quadrature.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import j0, spherical_jn

from upclens.physics.constants import HBARC
from upclens.physics.nucleus import DensityProfile, radial_stride, trapezoid_weights


@lru_cache(maxsize=16)
def _bessel_table(r_key: tuple[float, float, int], k_key: bytes, l_max: int) -> np.ndarray:
    """Quadrature matrix 4 pi r^2 j_l(k r) w_r, shape (L+1, Nk, Nr), cached per grid.

    The trapezoid rule is used on purpose: the integrand r^2 rho_l(r) j_l(k r) is even in r
    and vanishes at the far end, so its error falls like exp(-2 pi^2 a / h) for a surface of
    diffuseness a (see :func:`upclens.physics.nucleus.radial_stride`).
    """
    r = np.linspace(*r_key)
    k = np.frombuffer(k_key)
    w = trapezoid_weights(r)
    kr = np.outer(k, r)
    return np.stack([4.0 * math.pi * r**2 * w * spherical_jn(l, kr) for l in range(l_max + 1)])


def multipole_transforms(profile: DensityProfile, k: np.ndarray) -> np.ndarray:
    """rho~_l(k) for l = 0..l_max at wave numbers ``k`` (fm^-1), shape (L+1, Nk)."""
    stride = radial_stride(profile.r, min(profile.a_p, profile.a_n))
    r = profile.r[::stride]
    k = np.ascontiguousarray(np.asarray(k, dtype=float).ravel())
    table = _bessel_table((float(r[0]), float(r[-1]), r.size), k.tobytes(), profile.l_max)
    return np.matmul(table, profile.multipoles[:, ::stride, None])[..., 0]


@lru_cache(maxsize=16)
def _radial_index(px_key: bytes, py_key: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Meshgrid of (px, py), the distinct |p| of the pixels and the map back, cached per grid."""
    pxx, pyy = np.meshgrid(np.frombuffer(px_key), np.frombuffer(py_key))
    radii, inverse = np.unique(np.round(np.hypot(pxx, pyy), 12), return_inverse=True)
    return pxx, radii, inverse.reshape(pxx.shape)


def closed_form_intensity(profile: DensityProfile, px: np.ndarray, py: np.ndarray,
                          b_values: np.ndarray, b_weights: np.ndarray, qz: float = 0.0,
                          random_direction: bool = False) -> np.ndarray:
    """Unnormalised <I>(px, py) (b along x), averaged over |b| nodes with weights summing to 1."""
    pxx, radii, inverse = _radial_index(np.asarray(px, float).tobytes(),
                                        np.asarray(py, float).tobytes())
    pt = radii[inverse]
    k = np.sqrt((radii / HBARC) ** 2 + qz**2)
    rt = multipole_transforms(profile, k)
    ells = np.arange(rt.shape[0])[:, None]
    incoherent_sum = np.sum(rt**2 / (2 * ells + 1), axis=0)[inverse]
    mean2 = (rt[0] ** 2)[inverse]
    interference = np.zeros_like(pt)
    for b, w in zip(np.atleast_1d(b_values), np.atleast_1d(b_weights), strict=True):
        if random_direction:
            interference += w * j0(pt * b / HBARC)
        else:
            interference += w * np.cos(pxx * b / HBARC)
    return 2.0 * incoherent_sum - 2.0 * mean2 * interference
