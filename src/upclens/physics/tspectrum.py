"""Coherent single-nucleus |t| spectrum d sigma(gamma A -> J/psi A)/d|t|.

Good-Walker: the coherent (target intact) cross section is the square of the orientation-averaged
amplitude, d sigma/d|t| = d sigma/dt|_0(gamma p) |<Gamma~>(p_T)|^2 with |t| = p_T^2 + t_min,
t_min = (q_z hbar c)^2.  Uniform photon flux (a photonuclear cross section).  Units: mb/GeV^2.
"""

from __future__ import annotations

import numpy as np

from upclens.physics.constants import HBARC
from upclens.physics.image import orientation_quadrature
from upclens.physics.kinematics import TargetKinematics
from upclens.physics.mesons import meson as get_meson
from upclens.physics.nucleus import Nucleus, density_profile
from upclens.physics.numerics import Numerics
from upclens.physics.profile import LocalGrid, ThicknessBasis, amplitude_profile
from upclens.physics.settings import ModelSwitches

NB_TO_MB = 1.0e-6


def minimum_t(sqrt_snn: float = 5020.0, rapidity: float = 0.0, meson: str = "jpsi") -> float:
    """t_min = (q_z hbar c)^2 in GeV^2: the smallest |t| of coherent production of ``meson`` at
    (sqrt_snn, rapidity); 3.3e-7 GeV^2 for J/psi in Pb-Pb at 5.02 TeV and y = 0."""
    kin = TargetKinematics.build(sqrt_snn, rapidity, +1, meson=get_meson(meson))
    return (kin.qz * HBARC) ** 2


def coherent_tspectrum(nucleus: Nucleus, t: np.ndarray, sqrt_snn: float = 5020.0,
                       rapidity: float = 0.0, switches: ModelSwitches | None = None,
                       numerics: Numerics | None = None, meson: str = "jpsi") -> np.ndarray:
    """d sigma/d|t| in mb/GeV^2 at |t| values ``t`` (GeV^2) for the vector meson ``meson``
    (physics/mesons.py) at the pole mass; zero below t_min."""
    switches = switches or ModelSwitches()
    numerics = numerics or Numerics()
    kin = TargetKinematics.build(sqrt_snn, rapidity, +1, switches.sigma_vn_scale,
                                 get_meson(meson))
    profile = density_profile(nucleus, numerics)
    grid = LocalGrid.for_profile(profile, numerics)
    qz = kin.qz if switches.coherence_phase else 0.0
    basis = ThicknessBasis(profile, grid, qz, numerics)
    spherical = nucleus.beta2 == nucleus.beta3 == nucleus.beta4 == 0.0
    if spherical:
        nodes, weights = np.array([[0.0, 0.0, 1.0]]), np.array([1.0])
    else:
        nodes, weights = orientation_quadrature(numerics, z_symmetric=qz == 0.0, mirror=False)
    mean_gamma = 0.0
    for i0 in range(0, len(weights), numerics.batch):
        g = amplitude_profile(basis.thickness(nodes[i0:i0 + numerics.batch]), kin.sigma_vn,
                              switches.glauber)
        mean_gamma = mean_gamma + np.tensordot(weights[i0:i0 + numerics.batch], g, axes=1)
    projection = mean_gamma.sum(axis=0) * grid.dx  # integrate over y: (Nx,)
    t = np.asarray(t, dtype=float)
    t_min = (kin.qz * HBARC) ** 2  # minimum_t of this meson
    pt = np.sqrt(np.clip(t - t_min, 0.0, None))
    amp = np.exp(1j * np.outer(pt.ravel(), grid.x) / HBARC) @ projection * grid.dx
    dsdt = kin.amplitude_scale**2 * NB_TO_MB * np.abs(amp) ** 2
    return np.where(t >= t_min, dsdt.reshape(t.shape), 0.0)
