"""Momentum-space production amplitude of one target nucleus, for batches of orientations.

In the target's local frame (target centre at the origin, photon emitter at ``emitter``):
    G_c(p; n) = int d^2x Gamma(x; n) E_c(x) exp(i p.x / hbar c)      (c: field component)
evaluated on the image's bin centres by a separable matrix DFT, G = E_y A E_x^T.
"""

from __future__ import annotations

import numpy as np

from upclens.physics.constants import HBARC
from upclens.physics.flux import field_components
from upclens.physics.kinematics import TargetKinematics
from upclens.physics.nucleus import DensityProfile
from upclens.physics.numerics import Numerics
from upclens.physics.profile import LocalGrid, ThicknessBasis, amplitude_profile
from upclens.physics.settings import ModelSwitches


class TargetAmplitude:
    """G(p; n) of one target for orientation batches, on momenta ``p_axis`` (GeV) x ``p_axis``.

    ``emitter_charge`` and ``emitter_radius`` (fm) describe the photon source; ``gamma`` is the
    beam Lorentz factor.
    """

    def __init__(self, profile: DensityProfile, kinematics: TargetKinematics,
                 switches: ModelSwitches, gamma: float, emitter_charge: int,
                 emitter_radius: float, p_axis: np.ndarray, numerics: Numerics) -> None:
        self.kinematics = kinematics
        self.switches = switches
        self.gamma = gamma
        self.emitter_charge = emitter_charge
        self.emitter_radius = emitter_radius
        self.numerics = numerics
        self.grid = LocalGrid.for_profile(profile, numerics)
        qz = kinematics.qz if switches.coherence_phase else 0.0
        self.basis = ThicknessBasis(profile, self.grid, qz, numerics)
        self.p_axis = np.asarray(p_axis, dtype=float)
        phase = np.outer(self.p_axis, self.grid.x) / HBARC  # (Np, Nx)
        self._cos = np.cos(phase) * self.grid.dx
        self._sin = np.sin(phase) * self.grid.dx
        self._dft = self._cos + 1j * self._sin
        self.n_components = 1 if switches.polarization == "scalar" else 2

    def profiles(self, nhat: np.ndarray) -> np.ndarray:
        """Gamma(x; n) (fm^-2) times the forward gamma-p amplitude, shape (N, Nx, Nx)."""
        gamma_x = amplitude_profile(self.basis.thickness(nhat), self.kinematics.sigma_vn,
                                    self.switches.glauber)
        return gamma_x * self.kinematics.amplitude_scale

    def field(self, emitter: tuple[float, float]) -> np.ndarray:
        """Photon field over the local grid, shape (ncomp, Nx, Nx), emitter at (ex, ey) fm."""
        return field_components(
            self.grid.x, self.grid.x, emitter, self.kinematics.omega, self.gamma,
            self.emitter_charge, self.emitter_radius,
            pointwise=self.switches.flux == "pointwise", polarization=self.switches.polarization)

    def transform(self, a: np.ndarray) -> np.ndarray:
        """Matrix DFT of x-space amplitudes (..., Nx, Nx) [iy, ix] -> (..., Np, Np) [iy, ix]."""
        lead = a.shape[:-2]
        nx = self.grid.x.size
        npix = self.p_axis.size
        flat = a.reshape(-1, nx)  # rows: (..., iy), columns: jx
        if np.isrealobj(flat):
            step1 = (flat @ self._cos.T) + 1j * (flat @ self._sin.T)
        else:
            step1 = flat @ self._dft.T
        step1 = step1.reshape(-1, nx, npix).transpose(0, 2, 1).reshape(-1, nx)  # (.., ix), jy
        out = (step1 @ self._dft.T).reshape(-1, npix, npix).transpose(0, 2, 1)
        return out.reshape(*lead, npix, npix)

    def amplitudes(self, gamma_x: np.ndarray, field: np.ndarray) -> np.ndarray:
        """G for profiles (N, Nx, Nx) and a field (ncomp, Nx, Nx) or per-profile (N, ncomp, ...).

        Returns (N, ncomp, Np, Np) complex.
        """
        if field.ndim == 3:
            field = field[None]
        return self.transform(gamma_x[:, None] * field)
