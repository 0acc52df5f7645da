"""Interpretable observables of one (px, py) image, with statistical uncertainties.

Definitions (I_i: pixel intensity or count, pT_i and phi_i of the pixel, phi from b; see
docs/observables.md for the reasoning behind each choice):

- ``bright_area`` (GeV^2, the "HWHM" of the slides): Delta px Delta py * #{i : I_i > max I / 2}.
- ``dark_fringe`` (dimensionless): mean of the lowest ``dark_fraction`` of the pixels whose centre
  lies in ``dark_region`` (lo <= pT < hi), divided by the mean of all pixels of that region.
- ``mean_pt`` (GeV): sum I_i w_i pT_i / sum I_i w_i over the whole image (w_i = 1).
- ``low_pt_ratio``: sum over pT < ``low_pt_cut`` / sum over the whole image.
- ``v{n}[lo-hi]``: <cos n(phi - phi_b)> = sum I_i w_i c_i / sum I_i w_i in the window
  lo <= pT < hi, n = 1..4.
Weights w_i and the pixel means c_i, pT_i follow :class:`PixelGeometry` (``subpixels``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from upclens.errors import ParameterError, check_range
from upclens.observables.geometry import PixelGeometry
from upclens.observables.uncertainties import (
    poisson_bootstrap,
    weighted_ratio,
    weighted_ratio_error,
)

DEFAULT_WINDOWS: tuple[tuple[float, float], ...] = ((0.0, 0.05), (0.14, 0.16))
HARMONICS: tuple[int, ...] = (1, 2, 3, 4)
# Below this mean count in the darkest pixels the bootstrap of observed counts underestimates the
# dark-fringe error (empty pixels resample to empty); the error is then NaN (undetermined).
MIN_DARK_COUNTS = 10.0


def window_label(lo: float, hi: float) -> str:
    """'lo-hi' in GeV with %g formatting, e.g. '0-0.05'."""
    return f"{lo:g}-{hi:g}"


def vn_name(n: int, lo: float, hi: float) -> str:
    """Name of the harmonic observable, e.g. 'v3[0.14-0.16]'."""
    return f"v{n}[{window_label(lo, hi)}]"


@dataclass(frozen=True)
class Measurement:
    """One observable: ``value`` and its 1-sigma statistical ``error`` (None for exact images, NaN
    where the counts cannot determine it)."""

    value: float
    error: float | None = None

    @property
    def significance(self) -> float | None:
        """value / error (None without an error, inf for a zero error and non-zero value)."""
        if self.error is None:
            return None
        if self.error == 0.0:
            return 0.0 if self.value == 0.0 else math.inf
        return self.value / self.error


@dataclass(frozen=True)
class ObservableSettings:
    """Choices in the observable definitions (GeV for momenta).

    windows: pT windows of v_n.  low_pt_cut: upper edge of the low-pT ratio.  dark_fraction and
    dark_region: share of pixels averaged and the pT annulus they are taken from.  subpixels: pixel
    treatment (see geometry.py).  n_boot, seed: the bootstrap of non-smooth observables.
    """

    windows: tuple[tuple[float, float], ...] = DEFAULT_WINDOWS
    low_pt_cut: float = 0.05
    dark_fraction: float = 0.05
    dark_region: tuple[float, float] = (0.0, 0.15)
    subpixels: int = 8
    n_boot: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        windows = tuple((float(lo), float(hi)) for lo, hi in self.windows)
        if not windows:
            raise ParameterError("windows", self.windows, "must hold at least one (lo, hi) pair")
        for lo, hi in windows:
            check_range("window low edge", lo, 0.0, 10.0)
            check_range("window high edge", hi, lo, 10.0, lo_open=True)
        object.__setattr__(self, "windows", windows)
        check_range("low_pt_cut", self.low_pt_cut, 0.0, 10.0, lo_open=True)
        check_range("dark_fraction", self.dark_fraction, 0.0, 1.0, lo_open=True)
        lo, hi = (float(x) for x in self.dark_region)
        check_range("dark_region low edge", lo, 0.0, 10.0)
        check_range("dark_region high edge", hi, lo, 10.0, lo_open=True)
        object.__setattr__(self, "dark_region", (lo, hi))
        for name in ("subpixels", "n_boot", "seed"):
            if int(getattr(self, name)) != getattr(self, name):
                raise ParameterError(name, getattr(self, name), "must be an integer")
        check_range("subpixels", self.subpixels, 1, 64)
        check_range("n_boot", self.n_boot, 2, 10**6)
        check_range("seed", self.seed, 0, 2**63 - 1)

    def names(self) -> list[str]:
        """Observable names in output order."""
        out = ["bright_area", "dark_fringe", "mean_pt", "low_pt_ratio"]
        out += [vn_name(n, lo, hi) for lo, hi in self.windows for n in HARMONICS]
        return out


@dataclass(frozen=True)
class Observables(Mapping[str, Measurement]):
    """Name -> :class:`Measurement` for one image, in the order of ``ObservableSettings.names``.

    ``n_window`` holds the (expected) event count of every v_n window when counts are known.
    """

    measurements: dict[str, Measurement]
    n_window: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Measurement:
        return self.measurements[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.measurements)

    def __len__(self) -> int:
        return len(self.measurements)

    def value_dict(self) -> dict[str, float]:
        """Name -> value."""
        return {k: m.value for k, m in self.measurements.items()}

    def error_dict(self) -> dict[str, float | None]:
        """Name -> error (None for exact images)."""
        return {k: m.error for k, m in self.measurements.items()}

    def as_dict(self) -> dict[str, dict[str, float | None]]:
        """JSON-ready {name: {"value", "error", "significance"}}."""
        return {k: {"value": m.value, "error": m.error, "significance": m.significance}
                for k, m in self.measurements.items()}


def _check_intensity(intensity: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    img = np.asarray(intensity, dtype=float)
    if img.shape != shape:
        raise ParameterError("intensity", f"array of shape {img.shape}",
                             f"must have shape (ny, nx) = {shape} to match py, px")
    if not np.all(np.isfinite(img)):
        raise ParameterError("intensity", "non-finite values", "must be finite everywhere")
    peak = float(img.max())
    if peak <= 0.0:
        raise ParameterError("intensity", f"max {peak:g}", "must have a positive maximum")
    if float(img.min()) < -1e-9 * peak:
        raise ParameterError("intensity", f"min {img.min():g}",
                             "must be non-negative (rounding below 1e-9 of the max is allowed)")
    return np.clip(img, 0.0, None)


def _event_counts(img: np.ndarray, counts: bool, n_events: float | None) -> np.ndarray | None:
    """Pixel counts used for uncertainties: the image itself (``counts``), the image scaled to
    ``n_events`` in the window (expected counts), or None (exact image, no uncertainty)."""
    if counts:
        if n_events is not None:
            raise ParameterError("n_events", n_events, "must be None when counts=True")
        if np.any(np.abs(img - np.round(img)) > 1e-6):
            raise ParameterError("intensity", "non-integer values",
                                 "must be a histogram of counts when counts=True")
        return img
    if n_events is None:
        return None
    check_range("n_events", n_events, 0.0, 1e13, lo_open=True)
    return img * (float(n_events) / img.sum())


def bright_area(stack: np.ndarray, pixel_area: float) -> np.ndarray:
    """Area (GeV^2) of the pixels above half the maximum, for images (..., ny, nx)."""
    peak = stack.max(axis=(-2, -1), keepdims=True)
    return pixel_area * np.sum(stack > 0.5 * peak, axis=(-2, -1))


def dark_fringe(stack: np.ndarray, region: np.ndarray, fraction: float) -> np.ndarray:
    """Mean of the lowest ``fraction`` of the region's pixels over the region's mean, (...)."""
    values = stack[..., region]
    k = max(1, math.ceil(fraction * values.shape[-1]))
    lowest = np.partition(values, k - 1, axis=-1)[..., :k]
    mean = values.mean(axis=-1)
    return np.divide(lowest.mean(axis=-1), mean, out=np.full(mean.shape, np.nan), where=mean > 0)


class ImageMeasurer:
    """Observables of many images on one pixel grid: the geometry (window weights, pixel means of
    cos n phi and pT) is computed once.  ``px`` (nx,), ``py`` (ny,): bin centres in GeV."""

    def __init__(self, px: Sequence[float] | np.ndarray, py: Sequence[float] | np.ndarray,
                 b_angle: float = 0.0, settings: ObservableSettings | None = None) -> None:
        self.settings = s = settings or ObservableSettings()
        self.geometry = geo = PixelGeometry(np.asarray(px), np.asarray(py), b_angle, s.subpixels)
        pt = geo.centre_pt
        self.dark_region = (pt >= s.dark_region[0]) & (pt < s.dark_region[1])
        if not self.dark_region.any():
            raise ParameterError("dark_region", s.dark_region,
                                 "must contain at least one pixel centre")
        ones = np.ones(geo.shape)
        # name -> (weights, per-pixel values) of every smooth ratio observable
        self.smooth: dict[str, tuple[np.ndarray, np.ndarray]] = {
            "mean_pt": (ones, geo.mean_pt_per_pixel()),
            "low_pt_ratio": (ones, geo.window(0.0, s.low_pt_cut)),
        }
        self.windows: dict[str, np.ndarray] = {}
        for lo, hi in s.windows:
            for order in HARMONICS:
                w, c = geo.harmonic(order, lo, hi)
                if not w.any():
                    raise ParameterError("windows", (lo, hi), "must contain part of a pixel")
                self.smooth[vn_name(order, lo, hi)] = (w, c)
            self.windows[window_label(lo, hi)] = w

    def _rough(self, stack: np.ndarray) -> np.ndarray:
        """(bright_area, dark_fringe) of images (B, ny, nx) -> (B, 2)."""
        s = self.settings
        return np.stack([bright_area(stack, self.geometry.pixel_area),
                         dark_fringe(stack, self.dark_region, s.dark_fraction)], axis=-1)

    def _darkest_counts(self, counts: np.ndarray) -> float:
        """Mean count of the pixels that make the dark-fringe average."""
        values = counts[self.dark_region]
        k = max(1, math.ceil(self.settings.dark_fraction * values.size))
        return float(np.partition(values, k - 1)[:k].mean())

    def __call__(self, intensity: np.ndarray, n_events: float | None = None,
                 counts: bool = False) -> Observables:
        """Observables of ``intensity[iy, ix]``; uncertainties as in :func:`measure`."""
        s = self.settings
        img = _check_intensity(intensity, self.geometry.shape)
        n = _event_counts(img, counts, n_events)
        out: dict[str, Measurement] = {}
        value = self._rough(img[None])[0]
        boot = None if n is None else poisson_bootstrap(self._rough, n, s.n_boot, s.seed)
        if boot is not None and counts and self._darkest_counts(n) < MIN_DARK_COUNTS:
            # Observed zero counts resample to zero: the spread would be underestimated.
            boot[1] = math.nan
        for j, name in enumerate(("bright_area", "dark_fringe")):
            out[name] = Measurement(float(value[j]), None if boot is None else float(boot[j]))
        for name, (w, a) in self.smooth.items():
            err = None if n is None else weighted_ratio_error(n, w, a)
            out[name] = Measurement(weighted_ratio(img, w, a), err)
        n_window = ({} if n is None else
                    {label: float(np.sum(n * w)) for label, w in self.windows.items()})
        return Observables(out, n_window)


def measure(intensity: np.ndarray, px: Sequence[float] | np.ndarray,
            py: Sequence[float] | np.ndarray, *, b_angle: float = 0.0,
            windows: Sequence[tuple[float, float]] | None = None,
            n_events: float | None = None, counts: bool = False,
            settings: ObservableSettings | None = None) -> Observables:
    """All observables of one image ``intensity[iy, ix]`` over bin centres ``px``, ``py`` (GeV).

    b_angle: direction of b (rad from px); azimuths are measured from it.  windows: pT windows of
    v_n (GeV); None keeps ``settings.windows`` (default pT < 0.05 and 0.14-0.16 GeV).
    Uncertainties: ``counts=True`` treats the image as a histogram of event counts; ``n_events``
    gives the expected errors of an experiment with that many events in the image window drawn
    from the (normalised) image; neither: an exact image, every error None.
    """
    s = settings or ObservableSettings()
    if windows is not None:
        s = replace(s, windows=tuple(windows))
    return ImageMeasurer(px, py, b_angle, s)(intensity, n_events, counts)
