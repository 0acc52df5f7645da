"""The model's rho0 |t| = pT^2 spectrum in Au+Au and U+U, read as STAR read theirs: the
two-source interference strength (STAR, PRL 102 (2009) 112301) and the strong-interaction radius
(STAR, Sci. Adv. 9 (2023) eabq3903).

Spectra come from the event engine's pixel-integrated density (``EventSampler.pixel_density``,
7.5 MeV pixels, |b| weighted by 2 pi b P_noHad P_class), summed into |t| bins by pixel centre.
Every template a spectrum is fitted with goes through the same pixels and bins, so the pixel
aliasing of the rings cancels between model and template.

Interference strength (STAR 2009, eq. 2): dN/dt = A exp(-B t) [1 + c (R(t) - 1)], with
R(t) = interference / no-interference spectrum of a reference calculation ("expected"), fitted
for A, B and c; c = 1 is the expected interference, c = 0 none.

Radius: dN/dt = N |F_WS(t; R, a)|^2 with F_WS the normalised 3D Fourier transform of a spherical
Woods-Saxon density of fixed diffuseness a, fitted for N and R over a |t| window spanning the
first diffraction minimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from upclens.errors import check_range
from upclens.physics.constants import HBARC
from upclens.physics.neutrons import class_probability
from upclens.physics.nucleus import Nucleus
from upclens.physics.production import EventSampler
from upclens.physics.settings import ModelSwitches

SUBPIXELS = 4  # midpoint sub-grid per pixel axis for templates integrated over pixels


@dataclass(frozen=True)
class TSpectrum:
    """Binned dN/d|t| (relative units): edges (B+1,) GeV^2 and values (B,); ``pixels`` keeps the
    pixel centres (px, py) (GeV), step (GeV) and per-pixel bin index (-1: outside) for templates."""

    edges: np.ndarray
    values: np.ndarray
    px: np.ndarray
    py: np.ndarray
    step: float
    bin_index: np.ndarray


def _bin_pixels(px: np.ndarray, py: np.ndarray, edges: np.ndarray) -> np.ndarray:
    t = px**2 + py**2
    idx = np.searchsorted(edges, t, side="right") - 1
    idx[(t < edges[0]) | (t >= edges[-1])] = -1
    return idx


def binned_from_pixels(weights: np.ndarray, spec: TSpectrum) -> np.ndarray:
    """Sum per-pixel integrals ``weights`` into the |t| bins of ``spec`` and divide by pi dt:
    d^2p = pi d|t|, so the result is the bin average of the azimuthal mean of dN/d^2p times pi
    (the same units as dN/d|t|)."""
    ok = spec.bin_index >= 0
    sums = np.bincount(spec.bin_index[ok], weights=weights[ok], minlength=spec.edges.size - 1)
    return sums / (math.pi * np.diff(spec.edges))


def rho_spectrum(nucleus: Nucleus, edges: np.ndarray, *, neutron_class: str = "XnXn",
                 rapidity: float = 0.0, sqrt_snn: float = 200.0,
                 switches: ModelSwitches | None = None,
                 interference: bool = True) -> TSpectrum:
    """The model's coherent rho0 dN/d|t| at ``rapidity`` for ``neutron_class`` on ``edges``
    (GeV^2, |t| = pT^2)."""
    edges = np.asarray(edges, dtype=float)
    z, a = nucleus.Z, nucleus.A

    def weight(b: np.ndarray) -> np.ndarray:
        return class_probability(b, neutron_class, Z=z, A=a, sqrt_snn=sqrt_snn)

    sampler = EventSampler(nucleus, meson="rho0", sqrt_snn=sqrt_snn,
                           rapidity=(rapidity, rapidity), b_weight=weight,
                           pt_max=math.sqrt(edges[-1]) + 0.01,
                           switches=switches or ModelSwitches(polarization="vector"))
    dens = sampler.pixel_density(rapidity, interference=interference)
    inten = np.real(np.trace(dens, axis1=0, axis2=1))
    px, py = sampler.pixel_centres
    spec = TSpectrum(edges=edges, values=np.zeros(edges.size - 1), px=px, py=py,
                     step=sampler.grid.step, bin_index=_bin_pixels(px, py, edges))
    values = binned_from_pixels(inten, spec) / _area_fraction(spec)
    return TSpectrum(edges, values, px, py, spec.step, spec.bin_index)


def _area_fraction(spec: TSpectrum) -> np.ndarray:
    """Area of the pixels assigned to each |t| bin over the area of its ring (the first-order
    aliasing of square pixels binned in rings; corrected in spectra and templates alike)."""
    return binned_from_pixels(np.full(spec.px.shape, spec.step**2), spec)


def _subpixel_t(spec: TSpectrum) -> np.ndarray:
    """|t| (GeV^2) on SUBPIXELS^2 midpoints of every pixel of ``spec``: (n_pix, SUBPIXELS^2)."""
    u = (np.arange(SUBPIXELS) + 0.5) / SUBPIXELS - 0.5
    ox, oy = np.meshgrid(u * spec.step, u * spec.step)
    return (spec.px[:, None] + ox.ravel()) ** 2 + (spec.py[:, None] + oy.ravel()) ** 2


def pixel_template(spec: TSpectrum, func, t_sub: np.ndarray | None = None) -> np.ndarray:
    """A function of |t| (vectorised) integrated over each pixel of ``spec`` (midpoint rule on
    SUBPIXELS^2 points, ``t_sub`` from ``_subpixel_t`` if precomputed) and binned as ``spec``."""
    t = _subpixel_t(spec) if t_sub is None else t_sub
    per_pixel = func(t).mean(axis=1) * spec.step**2
    return binned_from_pixels(per_pixel, spec) / _area_fraction(spec)


# -- interference strength --------------------------------------------------------------------
@dataclass(frozen=True)
class InterferenceFit:
    """c (1: the expected interference, 0: none) with its error for the given bin errors, the
    slope B (GeV^-2) and the fit's chi2."""

    strength: float
    error: float
    slope: float
    chi2: float


def fit_interference_strength(edges: np.ndarray, values: np.ndarray, errors: np.ndarray,
                              ratio: np.ndarray,
                              shape: np.ndarray | None = None) -> InterferenceFit:
    """Fit A S(t) exp(-B t) [1 + c (R - 1)] to binned dN/dt: ``ratio`` is R per bin
    (interference / no interference of the reference calculation), ``shape`` S the reference's
    no-interference spectrum per bin (None: S = 1, STAR's form); t is the bin centre."""
    t = 0.5 * (edges[1:] + edges[:-1])
    base = np.ones_like(t) if shape is None else np.asarray(shape, dtype=float) / shape[0]
    b0 = 0.0 if shape is not None else 100.0

    def resid(p: np.ndarray) -> np.ndarray:
        return (p[0] * base * np.exp(-p[1] * t) * (1.0 + p[2] * (ratio - 1.0))
                - values) / errors

    a0 = float(values[-1] / base[-1])
    fit = least_squares(resid, x0=[a0, b0, 0.5], x_scale=[a0, 100.0, 1.0], method="lm")
    jac = fit.jac
    cov = np.linalg.inv(jac.T @ jac)
    return InterferenceFit(strength=float(fit.x[2]), error=float(math.sqrt(cov[2, 2])),
                           slope=float(fit.x[1]), chi2=float(2.0 * fit.cost))


def model_interference_strength(nucleus: Nucleus, edges: np.ndarray, *,
                                neutron_class: str = "XnXn", rapidity: float = 0.0,
                                model: ModelSwitches | None = None,
                                reference: ModelSwitches | None = None,
                                n_events: float = 1.0e4,
                                star_form: bool = False) -> InterferenceFit:
    """c of the ``model`` spectrum (default: vector photons, pointwise flux) fitted with the
    ratio R(t) of the ``reference`` calculation (default: scalar amplitudes with the flux at the
    target centre, as STARlight computes the interference) times the reference's
    no-interference shape (``star_form``: exp(-B t) alone, STAR's form).  Bin errors: Poisson
    for ``n_events`` events in the window (they set the weights, not the value)."""
    model = model or ModelSwitches(polarization="vector", flux="pointwise")
    reference = reference or ModelSwitches(polarization="scalar", flux="uniform")
    kw = {"neutron_class": neutron_class, "rapidity": rapidity}
    full = rho_spectrum(nucleus, edges, switches=model, **kw)
    ref_int = rho_spectrum(nucleus, edges, switches=reference, **kw)
    ref_no = rho_spectrum(nucleus, edges, switches=reference, interference=False, **kw)
    ratio = ref_int.values / ref_no.values
    counts = full.values * np.diff(edges)
    errors = full.values / np.sqrt(np.maximum(counts * n_events / counts.sum(), 1.0))
    return fit_interference_strength(edges, full.values, errors, ratio,
                                     None if star_form else ref_no.values)


# -- radius --------------------------------------------------------------------------------------
def woods_saxon_form_factor(t: np.ndarray, radius: float, diffuseness: float) -> np.ndarray:
    """F(q) = 4 pi int r^2 rho(r) j0(q r) dr / A for a spherical Woods-Saxon rho (R, a in fm),
    q = sqrt(|t|) / hbar c; normalised to F(0) = 1."""
    t = np.asarray(t, dtype=float)
    r = np.linspace(0.0, radius + 14.0 * diffuseness, 501)
    rho = 1.0 / (1.0 + np.exp((r - radius) / diffuseness))
    q = np.sqrt(np.clip(t.ravel(), 0.0, None)) / HBARC
    kernel = np.sinc(np.outer(q, r) / math.pi)
    w = np.trapezoid(r**2 * rho * np.ones((1, r.size)), r)
    out = np.trapezoid(kernel * (r**2 * rho)[None, :], r, axis=1) / w
    return out.reshape(t.shape)


@dataclass(frozen=True)
class RadiusFit:
    """Fitted Woods-Saxon radius (fm) and its error for the given bin errors, and chi2/ndf."""

    radius: float
    error: float
    chi2: float
    ndf: int


def fit_radius(spec: TSpectrum, diffuseness: float, t_window: tuple[float, float],
               errors: np.ndarray | None = None, radius_start: float = 6.5,
               n_events: float = 1.0e5) -> RadiusFit:
    """Fit N |F_WS(t; R, a)|^2, integrated over the pixels of ``spec``, to its bins inside
    ``t_window`` (GeV^2) for N and R.  Errors default to Poisson for ``n_events`` events in
    the window (they set the weights)."""
    check_range("diffuseness", diffuseness, 0.05, 2.0)
    centres = 0.5 * (spec.edges[1:] + spec.edges[:-1])
    sel = (centres > t_window[0]) & (centres < t_window[1]) & (spec.values > 0)
    if errors is None:
        counts = spec.values * np.diff(spec.edges)
        counts = counts * n_events / counts[sel].sum()
        errors = spec.values / np.sqrt(np.maximum(counts, 1.0))
    err = np.asarray(errors, dtype=float)
    t_sub = _subpixel_t(spec)
    t_grid = np.linspace(0.0, float(t_sub.max()) * 1.001, 801)

    def model(p: np.ndarray) -> np.ndarray:
        f2 = woods_saxon_form_factor(t_grid, p[1], diffuseness) ** 2
        return p[0] * pixel_template(spec, lambda t: np.interp(t, t_grid, f2), t_sub)

    def resid(p: np.ndarray) -> np.ndarray:
        return ((model(p) - spec.values) / err)[sel]

    first = model(np.array([1.0, radius_start]))
    n0 = float(np.sum(spec.values[sel]) / max(float(np.sum(first[sel])), 1e-300))
    fit = least_squares(resid, x0=[n0, radius_start], x_scale=[n0, 0.1])
    cov = np.linalg.inv(fit.jac.T @ fit.jac)
    return RadiusFit(radius=float(fit.x[1]), error=float(math.sqrt(cov[1, 1])),
                     chi2=float(2.0 * fit.cost), ndf=int(sel.sum()) - 2)
