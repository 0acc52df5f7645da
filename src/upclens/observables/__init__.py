"""Interpretable observables of (px, py) images: bright-spot area, dark-fringe depth, mean pT,
low-pT ratio and v_n, with statistical uncertainties; their sensitivity to nuclear shape; and the
v3 study (what the coherence phase, finite statistics and binning do to odd harmonics)."""

from upclens.observables.geometry import PixelGeometry
from upclens.observables.measures import (
    DEFAULT_WINDOWS,
    ImageMeasurer,
    Measurement,
    Observables,
    ObservableSettings,
    measure,
    vn_name,
)

__all__ = [
    "DEFAULT_WINDOWS",
    "ImageMeasurer",
    "Measurement",
    "ObservableSettings",
    "Observables",
    "PixelGeometry",
    "measure",
    "vn_name",
]
