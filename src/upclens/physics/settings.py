"""Frozen settings of one simulation: collision geometry, model switches, image binning."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from upclens.errors import check_choice, check_range

B_MAGNITUDE_MODES = ("fixed", "upc")
B_DIRECTION_MODES = ("fixed", "random")
FLUX_MODES = ("pointwise", "uniform")
POLARIZATIONS = ("scalar", "vector")


@dataclass(frozen=True)
class Collision:
    """Beam energy, rapidity and impact parameter.

    sqrt_snn: nucleon-nucleon energy (GeV).  rapidity: J/psi rapidity y.  b: |b| in fm when
    ``b_magnitude`` is 'fixed'; with 'upc' |b| follows the UPC distribution
    2 pi b P_noHad(b) n(omega, b).  b_angle: direction of b (rad from x) when ``b_direction`` is
    'fixed'; 'random' averages over it.  sigma_nn_mb: inelastic NN cross section for P_noHad
    (None: the energy-dependent parameterisation).
    """

    sqrt_snn: float = 200.0
    rapidity: float = 0.0
    b: float = 15.0
    b_angle: float = 0.0
    b_magnitude: str = "fixed"
    b_direction: str = "fixed"
    sigma_nn_mb: float | None = None

    def __post_init__(self) -> None:
        check_range("sqrt_snn", self.sqrt_snn, 10.0, 1.0e5)
        check_range("rapidity", self.rapidity, -6.0, 6.0)
        check_range("b", self.b, 2.0, 200.0)
        check_range("b_angle", self.b_angle, -2 * math.pi, 2 * math.pi)
        check_choice("b_magnitude", self.b_magnitude, B_MAGNITUDE_MODES)
        check_choice("b_direction", self.b_direction, B_DIRECTION_MODES)
        if self.sigma_nn_mb is not None:
            check_range("sigma_nn_mb", self.sigma_nn_mb, 0.0, 200.0)


@dataclass(frozen=True)
class ModelSwitches:
    """Which physics ingredients are on.

    glauber: quantum-Glauber Gamma (else linear, Gamma = T).  flux: 'pointwise' photon flux over the
    target or 'uniform' (the flux at the target centre).  polarization: 'scalar' amplitude or the
    'vector' (linearly polarised) photon field.  coherence_phase: the exp(i q_z z) phase in T.
    sigma_vn_scale: multiplies sigma_J/psi-N from VMD (a nuisance parameter).
    """

    glauber: bool = True
    flux: str = "pointwise"
    polarization: str = "scalar"
    coherence_phase: bool = False
    sigma_vn_scale: float = 1.0

    def __post_init__(self) -> None:
        check_choice("flux", self.flux, FLUX_MODES)
        check_choice("polarization", self.polarization, POLARIZATIONS)
        check_range("sigma_vn_scale", self.sigma_vn_scale, 0.0, 5.0)


@dataclass(frozen=True)
class ImageGrid:
    """Square (px, py) binning: ``pixels`` bins per axis over [-pmax, pmax] GeV."""

    pixels: int = 64
    pmax: float = 0.2

    def __post_init__(self) -> None:
        check_range("pixels", self.pixels, 8, 1024)
        if int(self.pixels) != self.pixels:
            from upclens.errors import ParameterError

            raise ParameterError("pixels", self.pixels, "must be an integer in [8, 1024]")
        check_range("pmax", self.pmax, 0.0, 5.0, lo_open=True)

    @property
    def step(self) -> float:
        """Pixel width (GeV)."""
        return 2.0 * self.pmax / self.pixels

    @property
    def centres(self) -> np.ndarray:
        """Bin centres (GeV), symmetric about 0; the same for px and py."""
        return (np.arange(self.pixels) + 0.5 - self.pixels / 2.0) * self.step

    @property
    def edges(self) -> np.ndarray:
        """Bin edges (GeV)."""
        return (np.arange(self.pixels + 1) - self.pixels / 2.0) * self.step
