"""Meson batches made by hand (the engine's MesonBatch with chosen momenta and polarisations)
for closed-form decay, observable and file tests."""

from __future__ import annotations

import numpy as np

from upclens.physics.production import MesonBatch


def linear_rho(angle: np.ndarray | float, n: int) -> np.ndarray:
    """(n, 2, 2) pure linear polarisation along ``angle`` (rad from x)."""
    e = np.stack(np.broadcast_arrays(np.cos(angle), np.sin(angle)), axis=-1)
    e = np.broadcast_to(e, (n, 2))
    return (e[:, :, None] * e[:, None, :]).astype(complex)


def hand_batch(n: int, rng: np.random.Generator, *, pdg_id: int = 443, mass: float = 3.0969,
               rho: np.ndarray | None = None, pt_max: float = 0.0,
               y_range: tuple[float, float] = (-1.0, 1.0)) -> MesonBatch:
    """``n`` mesons with |pT| uniform in [0, pt_max], uniform azimuth and rapidity, rho given
    (default: linear polarisation along x)."""
    pt = pt_max * rng.random(n)
    ang = rng.uniform(0.0, 2 * np.pi, n)
    return MesonBatch(px=pt * np.cos(ang), py=pt * np.sin(ang),
                      rapidity=rng.uniform(*y_range, n), mass=np.full(n, mass),
                      rho=linear_rho(0.0, n) if rho is None else rho,
                      b=rng.uniform(10.0, 40.0, n), b_phi=rng.uniform(-np.pi, np.pi, n),
                      pdg_id=pdg_id)
