"""Figures of the explanation: heatmaps per task, overlays on the image, region masks
(matplotlib imported lazily through :mod:`upclens.plots`; every panel takes ``ax=None``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from upclens import plots
from upclens.explain.regions import Regions

UNITS = {"skin": "WE (bits)", "beta2": r"$\Delta\beta_2$", "beta3": r"$\Delta\beta_3$",
         "delta_rnp": r"$\Delta(\Delta r_{np})$ (fm)"}


def _axes_labels(ax: Any, title: str) -> None:
    ax.set_xlabel(r"$p_x$ (GeV)")
    ax.set_ylabel(r"$p_y$ (GeV)")
    if title:
        ax.set_title(title, fontsize=9)


def heatmap_panel(heat: np.ndarray, px: np.ndarray, py: np.ndarray, ax: Any = None,
                  title: str = "", label: str = "") -> Any:
    """A relevance map (ny, nx) on a diverging scale symmetric about 0 (red: evidence for the
    prediction, blue: against)."""
    plt = plots.pyplot()
    ax = ax or plt.gca()
    top = float(np.max(np.abs(heat))) or 1.0
    im = ax.imshow(heat, origin="lower", extent=plots.extent(px, py), cmap="RdBu_r", vmin=-top,
                   vmax=top, interpolation="nearest")
    _axes_labels(ax, title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=label)
    return ax


def overlay_panel(image: np.ndarray, heat: np.ndarray, px: np.ndarray, py: np.ndarray,
                  ax: Any = None, title: str = "") -> Any:
    """The image in grey (square-root scale) with |relevance| as translucent colour on top."""
    plt = plots.pyplot()
    ax = ax or plt.gca()
    extent = plots.extent(px, py)
    ax.imshow(np.sqrt(np.clip(image, 0, None)), origin="lower", extent=extent, cmap="gray")
    mag = np.abs(heat)
    top = float(mag.max()) or 1.0
    ax.imshow(np.ma.masked_less(mag, 0.15 * top), origin="lower", extent=extent, cmap="hot",
              alpha=0.6, vmin=0, vmax=top, interpolation="nearest")
    _axes_labels(ax, title)
    return ax


def regions_panel(image: np.ndarray, regions: Regions, px: np.ndarray, py: np.ndarray,
                  ax: Any = None, title: str = "regions") -> Any:
    """The reference image with the edge (orange) and fringe (cyan) regions outlined."""
    plt = plots.pyplot()
    ax = ax or plt.gca()
    extent = plots.extent(px, py)
    ax.imshow(np.sqrt(np.clip(image, 0, None)), origin="lower", extent=extent, cmap="gray")
    for mask, colour in ((regions.edge, "orange"), (regions.fringe, "cyan")):
        if mask.any():
            ax.contour(mask.astype(float), levels=[0.5], colors=colour, extent=extent,
                       origin="lower", linewidths=1.2)
    _axes_labels(ax, title + " (orange: edge, cyan: fringe)")
    return ax


def save_task_heatmaps(heatmaps: Mapping[str, np.ndarray], px: np.ndarray, py: np.ndarray,
                       path: str, suptitle: str = "") -> str:
    """One panel per task in a row; written atomically as PNG."""
    plt = plots.pyplot()
    tasks = list(heatmaps)
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.8),
                             constrained_layout=True, squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        heatmap_panel(heatmaps[task], px, py, ax, title=task, label=UNITS.get(task, ""))
    if suptitle:
        fig.suptitle(suptitle)
    plots.save_figure(fig, path)
    return path


def save_overlays(image: np.ndarray, heatmaps: Mapping[str, np.ndarray], px: np.ndarray,
                  py: np.ndarray, path: str, suptitle: str = "") -> str:
    """The image and one overlay per task; written atomically as PNG."""
    plt = plots.pyplot()
    tasks = list(heatmaps)
    fig, axes = plt.subplots(1, len(tasks) + 1, figsize=(3.8 * (len(tasks) + 1), 3.6),
                             constrained_layout=True, squeeze=False)
    axes[0, 0].imshow(image, origin="lower", extent=plots.extent(px, py), cmap="inferno")
    _axes_labels(axes[0, 0], "image")
    for ax, task in zip(axes[0, 1:], tasks, strict=True):
        overlay_panel(image, heatmaps[task], px, py, ax, title=f"|relevance| {task}")
    if suptitle:
        fig.suptitle(suptitle)
    plots.save_figure(fig, path)
    return path


def save_regions(image: np.ndarray, regions: Regions, px: np.ndarray, py: np.ndarray,
                 path: str) -> str:
    """The region definition drawn on the reference image."""
    plt = plots.pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 4.2), constrained_layout=True)
    regions_panel(image, regions, px, py, ax)
    plots.save_figure(fig, path)
    return path
