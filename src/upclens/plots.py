"""Figures (matplotlib imported lazily; every function takes ``ax=None`` or writes a file)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from upclens.io import atomic_path

if TYPE_CHECKING:
    from upclens.compare import ShapeFit
    from upclens.physics.image import Image

PARAMETER_LABELS = {"beta2": r"$\beta_2$", "beta3": r"$\beta_3$",
                    "delta_rnp": r"$\Delta r_{np}$ (fm)", "beta3_squared": r"$\beta_3^2$"}
"""Axis labels of the shape parameters (and of beta3^2, bounded where beta3 = 0)."""


def pyplot() -> Any:
    """matplotlib.pyplot (imported on first use): on the file-only Agg backend unless a backend
    was chosen already (MPLBACKEND, matplotlib.use, a notebook's inline backend), which is
    kept."""
    import matplotlib

    if not backend_chosen():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def backend_chosen() -> bool:
    """True when a backend was chosen (MPLBACKEND, rcParams, matplotlib.use), not left to
    matplotlib's automatic choice."""
    import matplotlib

    try:
        return matplotlib.get_backend(auto_select=False) is not None  # matplotlib >= 3.10
    except TypeError:
        return matplotlib.rcParams._get_backend_or_none() is not None


def extent(px: np.ndarray, py: np.ndarray) -> list[float]:
    """imshow extent (GeV) covering the outer bin edges of the bin-centre axes ``px``, ``py``."""
    hx, hy = 0.5 * (px[1] - px[0]), 0.5 * (py[1] - py[0])
    return [px[0] - hx, px[-1] + hx, py[0] - hy, py[-1] + hy]


def image_panel(image: Image, ax: Any = None, log: bool = False, title: str = "") -> Any:
    """Draw ``image.intensity`` over (px, py) in GeV; linear or log colour scale."""
    plt = pyplot()
    from matplotlib.colors import LogNorm

    ax = ax or plt.gca()
    data = image.intensity
    norm = None
    if log:
        positive = data[data > 0]
        vmin = max(positive.min(), data.max() * 1e-6) if positive.size else 1e-12
        norm = LogNorm(vmin=vmin, vmax=data.max())
        data = np.where(data > 0, data, vmin)
    im = ax.imshow(data, origin="lower", extent=extent(image.px, image.py), cmap="inferno",
                   norm=norm, interpolation="nearest")
    ax.set_xlabel(r"$p_x$ (GeV)")
    ax.set_ylabel(r"$p_y$ (GeV)")
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax


def ratio_panel(numerator: Image, denominator: Image, ax: Any = None, title: str = "") -> Any:
    """Draw numerator / denominator (both normalised images) with a diverging scale about 1."""
    plt = pyplot()
    from matplotlib.colors import TwoSlopeNorm

    ax = ax or plt.gca()
    ratio = numerator.intensity / np.maximum(denominator.intensity, 1e-300)
    # Near diffraction zeros the ratio diverges; the colour range covers 95 % of the pixels.
    spread = min(float(np.percentile(np.abs(ratio - 1.0), 95)), 0.99)
    norm = TwoSlopeNorm(vcenter=1.0, vmin=1.0 - spread, vmax=1.0 + spread)
    im = ax.imshow(ratio, origin="lower", extent=extent(numerator.px, numerator.py),
                   cmap="RdBu_r", norm=norm)
    ax.set_xlabel(r"$p_x$ (GeV)")
    ax.set_ylabel(r"$p_y$ (GeV)")
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax


def save_image_figure(image: Image, path: str, title: str = "") -> None:
    """Write a PNG with the image on a linear and a logarithmic colour scale."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    image_panel(image, axes[0], log=False, title=title or "linear scale")
    image_panel(image, axes[1], log=True, title="log scale")
    save_figure(fig, path)


def tspectrum_panel(fit: ShapeFit, t: np.ndarray, curve: np.ndarray, ax: Any = None,
                    label: str = "upclens") -> Any:
    """Measured d sigma/d|t| with the scaled model curve and bin averages."""
    plt = pyplot()
    ax = ax or plt.gca()
    centres = 0.5 * (fit.t_low + fit.t_high)
    ax.errorbar(centres, fit.data, yerr=fit.errors, xerr=0.5 * (fit.t_high - fit.t_low),
                fmt="o", color="k", label="ALICE Pb-Pb 5.02 TeV (stat+uncorr)")
    ax.plot(t, fit.scale * curve, color="C3",
            label=f"{label} x {fit.scale:.2f}, chi2/ndf = {fit.chi2:.1f}/{fit.ndf}")
    ax.set_yscale("log")
    ax.set_xlabel(r"$|t|$ (GeV$^2$)")
    ax.set_ylabel(r"d$\sigma$/d$|t|$ (mb GeV$^{-2}$)")
    ax.legend(fontsize=8)
    return ax


def save_figure(fig: Any, path: str, dpi: int = 110, tight: bool = False) -> None:
    """Write ``fig`` as PNG atomically and close it (``tight``: crop to the drawn area)."""
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight" if tight else None)
    pyplot().close(fig)
