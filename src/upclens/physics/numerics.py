"""Accuracy knobs of the simulator, kept apart from the physics (all lengths in fm).

The defaults were chosen by the convergence tests in tests/physics/test_convergence.py: halving
each step or doubling each node count changes a 64x64 image by less than 1e-3 (weighted L1).
"""

from __future__ import annotations

from dataclasses import dataclass

from upclens.errors import check_range


@dataclass(frozen=True)
class Numerics:
    """Grids and quadratures.

    radial_step: density tables (fm). n_cos: Gauss-Legendre nodes in cos(theta') for the
    multipole projection. l_max: highest multipole of the density. density_tail: the grids reach
    this many diffusenesses beyond the largest surface radius. dx: transverse grid step (fm).
    dz: longitudinal step of the thickness integral (fm). n_orient_cos, n_orient_azimuth: nodes of
    the exact orientation average (Gauss-Legendre in cos beta, uniform in alpha). n_b: Gauss nodes
    of the |b| average. n_b_moments: |b| values (Chebyshev nodes in 1/b) at which the orientation
    moments are computed and interpolated to the n_b nodes (0: computed at every node).
    n_b_angle: angles of the b-direction average. batch: orientations per block.
    """

    radial_step: float = 0.05
    n_cos: int = 48
    l_max: int = 16
    density_tail: float = 12.0
    dx: float = 0.5
    dz: float = 0.25
    grid_tail: float = 9.0
    n_orient_cos: int = 16
    n_orient_azimuth: int = 32
    n_b: int = 64
    n_b_moments: int = 8
    n_b_angle: int = 180
    batch: int = 64

    def __post_init__(self) -> None:
        check_range("radial_step", self.radial_step, 1e-4, 0.2)
        check_range("n_cos", self.n_cos, 8, 512)
        check_range("l_max", self.l_max, 0, 40)
        check_range("density_tail", self.density_tail, 4, 40)
        check_range("dx", self.dx, 0.02, 1.5)
        check_range("dz", self.dz, 0.01, 1.0)
        check_range("grid_tail", self.grid_tail, 3, 40)
        check_range("n_orient_cos", self.n_orient_cos, 2, 256)
        check_range("n_orient_azimuth", self.n_orient_azimuth, 2, 512)
        check_range("n_b", self.n_b, 2, 256)
        if self.n_b_moments != 0:
            check_range("n_b_moments", self.n_b_moments, 3, 256)
        check_range("n_b_angle", self.n_b_angle, 8, 4096)
        check_range("batch", self.batch, 1, 100000)
        if self.n_orient_cos % 2 or self.n_orient_azimuth % 2:
            from upclens.errors import ParameterError

            raise ParameterError("n_orient_cos, n_orient_azimuth",
                                 (self.n_orient_cos, self.n_orient_azimuth), "must both be even")
