"""Equivalent-photon flux of a fast nucleus, evaluated point by point over the target.

Point-charge form (STARlight beam.cpp):
    n(omega, d) = Z^2 alpha / (pi^2 omega d^2) X^2 K1(X)^2,   X = omega d / (gamma hbar c),
in GeV^-1 fm^-2.  Inside the emitter (d < R_e) the field is that of the enclosed charge of a
uniform sphere, n -> n * q(d)^2 with q(d) = 1 - (1 - d^2/R_e^2)^(3/2): a regulator that only
matters for b < R_1 + R_2, where hadronic interactions remove the event anyway.

A production source's amplitude carries the square root of the photons per unit *rapidity* of the
produced meson, omega n(omega, d) (dimensionless per fm^2), not of n itself: dN/dy = omega dN/domega
(``rapidity_flux``, the one source weight of the package).  At y = 0 both sources share omega and
the factor cancels from normalised images; at y != 0 it sets the relative weight of the sources.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import k1

from upclens.physics.constants import ALPHA_EM, HBARC


def point_charge_flux(omega: float, d: np.ndarray, gamma: float, Z: int,
                      r_emitter: float) -> np.ndarray:
    """Photon flux n(omega, d) (GeV^-1 fm^-2) at transverse distance d (fm) from the emitter."""
    d = np.maximum(np.asarray(d, dtype=float), 1e-6)
    x = omega * d / (gamma * HBARC)
    n = Z**2 * ALPHA_EM / (math.pi**2 * omega * d**2) * (x * k1(x)) ** 2
    inside = d < r_emitter
    if np.any(inside):
        q = 1.0 - (1.0 - (d[inside] / r_emitter) ** 2) ** 1.5
        n[inside] *= q**2
    return n


def rapidity_flux(omega: float, d: np.ndarray, gamma: float, Z: int,
                  r_emitter: float) -> np.ndarray:
    """Photons per unit rapidity and area, omega n(omega, d) (fm^-2), at distance d (fm)."""
    return omega * point_charge_flux(omega, d, gamma, Z, r_emitter)


def field_components(x: np.ndarray, y: np.ndarray, emitter: tuple[float, float], omega: float,
                     gamma: float, Z: int, r_emitter: float, *, pointwise: bool,
                     polarization: str) -> np.ndarray:
    """Photon field over a target grid, shape (ncomp, len(y), len(x)).

    The emitter sits at ``emitter`` = (ex, ey) fm in the target's local frame.  Vector form:
    E = sqrt(omega n) (r - r_e)/|r - r_e| (components x, y).  Scalar form: the component along the
    emitter-to-target direction, sqrt(omega n); both with the sign fixed by that geometry, which is
    the one source of the relative minus sign between the two production sources.  The magnitude
    is sqrt(omega n(omega, d)) (``rapidity_flux``), so the field is in fm^-1.
    With ``pointwise=False`` the magnitude is the flux at the target centre (uniform flux).
    """
    ex, ey = emitter
    dx = x[None, :] - ex
    dy = y[:, None] - ey
    d = np.hypot(dx, dy)
    d0 = math.hypot(ex, ey)
    if pointwise:
        mag = np.sqrt(rapidity_flux(omega, d, gamma, Z, r_emitter))
    else:
        mag = np.full(d.shape, math.sqrt(rapidity_flux(omega, np.array([d0]), gamma, Z,
                                                       r_emitter)[0]))
    if polarization == "scalar":
        return mag[None]
    if pointwise:
        ux, uy = dx / np.maximum(d, 1e-12), dy / np.maximum(d, 1e-12)
    else:
        ux, uy = np.full(d.shape, -ex / d0), np.full(d.shape, -ey / d0)
    return np.stack([mag * ux, mag * uy])
