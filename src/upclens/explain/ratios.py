"""Physics ratio maps straight from the simulator: skin / no skin and deformed / sphere.

Exact orientation averages of four images that differ in one thing each -- the neutron skin at
fixed deformation, or the deformation at no skin -- with every other setting (nucleus radius
and diffuseness, collision, model switches, grid, numerics) shared.  The ratios say where in
(px, py) each property shows: the skin moves the edge of the bright spot, deformation fills the
dark fringes.  Each ratio is summarised in the edge and fringe regions of its denominator image
(:mod:`upclens.explain.regions`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from upclens.errors import ParameterError
from upclens.explain.attribution import rank_correlation
from upclens.explain.regions import REGIONS, Regions, region_masks
from upclens.io import atomic_path, check_writable, write_json

# ratio map of ratio_maps.npz -> the property it isolates
RATIO_KEYS = {"skin": "ratio_skin_over_no_skin", "deformation": "ratio_deformed_over_sphere"}


def ratio_stats(ratio: np.ndarray, regions: Regions) -> dict[str, dict[str, float]]:
    """Per region: the median ratio and the median |ln ratio| (robust to the divergence next
    to diffraction zeros), and the pixel count."""
    log = np.log(np.clip(ratio, 1e-300, None))
    out = {}
    for name in REGIONS:
        m = regions.mask(name)
        out[name] = {"median_ratio": float(np.median(ratio[m])) if m.any() else float("nan"),
                     "median_abs_log_ratio": float(np.median(np.abs(log[m]))) if m.any()
                     else float("nan"), "pixels": int(m.sum())}
    return out


def ratio_maps(nucleus_preset: str = "Zr96", out_dir: str | os.PathLike[str] = "ratios", *,
               beta2: float = 0.06, beta3: float = 0.20, delta_rnp: float = 0.2,
               skin_type: str = "halo", deformed: tuple[float, float] = (0.3, 0.3),
               R: float | None = None, a: float | None = None, collision: Any = None,
               switches: Any = None, grid: Any = None, numerics: Any = None) -> dict[str, Any]:
    """Simulate the four exact images, write ``ratio_maps.png``, ``ratio_maps.npz`` and
    ``ratio_maps.json`` into ``out_dir``; return the summary (paths and per-region stats).

    Skin ratio: (beta2, beta3, delta_rnp [fm], skin_type) / (beta2, beta3, 0).  Deformation
    ratio: (deformed[0], deformed[1], 0) / sphere (0, 0, 0).
    """
    from upclens import plots
    from upclens.physics.image import simulate_image
    from upclens.physics.nucleus import Nucleus

    out = Path(out_dir)
    check_writable(out / "ratio_maps.json", make_parents=True)
    shape = {"R": R, "a": a}
    params = {
        "no_skin": {"beta2": beta2, "beta3": beta3, "delta_rnp": 0.0},
        "skin": {"beta2": beta2, "beta3": beta3, "delta_rnp": delta_rnp, "skin_type": skin_type},
        "deformed": {"beta2": deformed[0], "beta3": deformed[1], "delta_rnp": 0.0},
        "sphere": {"beta2": 0.0, "beta3": 0.0, "delta_rnp": 0.0},
    }
    images = {name: simulate_image(Nucleus.from_preset(nucleus_preset, **p, **shape), collision,
                                   switches, grid, numerics=numerics)
              for name, p in params.items()}
    pairs = {"skin_over_no_skin": ("skin", "no_skin"),
             "deformed_over_sphere": ("deformed", "sphere")}
    ratios, stats, masks = {}, {}, {}
    px, py = images["sphere"].px, images["sphere"].py
    for key, (num, den) in pairs.items():
        ratios[key] = images[num].intensity / np.maximum(images[den].intensity, 1e-300)
        reg = region_masks(images[den].intensity, px, py)
        masks[key] = reg
        stats[key] = ratio_stats(ratios[key], reg)

    plt = plots.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    plots.ratio_panel(images["skin"], images["no_skin"], axes[0],
                      f"skin ({delta_rnp:g} fm {skin_type}) / no skin")
    plots.ratio_panel(images["deformed"], images["sphere"], axes[1],
                      rf"($\beta_2$, $\beta_3$) = ({deformed[0]:g}, {deformed[1]:g}) / sphere")
    figure = str(out / "ratio_maps.png")
    plots.save_figure(fig, figure)

    arrays: dict[str, np.ndarray] = {"px": px, "py": py}
    for name, image in images.items():
        arrays[f"image_{name}"] = image.intensity
    for key in pairs:
        arrays[f"ratio_{key}"] = ratios[key]
        arrays[f"edge_{key}"] = masks[key].edge
        arrays[f"fringe_{key}"] = masks[key].fringe
    with atomic_path(out / "ratio_maps.npz", suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    summary = {"nucleus": nucleus_preset, "images": params, "region_stats": stats,
               "config": {name: image.config for name, image in images.items()},
               "figure": figure, "npz": str(out / "ratio_maps.npz")}
    write_json(summary, out / "ratio_maps.json")
    return summary


def sensitivity_agreement(mean_abs: dict[str, np.ndarray], ratio_npz: str | os.PathLike[str],
                          px: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Where the network looks against where the simulator says each property shows.

    For every task's mean |relevance| (ny, nx), the Spearman rank correlation with |ln ratio|
    of each ratio map in ``ratio_npz`` (written by :func:`ratio_maps` on the same grid):
    ``skin`` (skin / no skin) and ``deformation`` (deformed / sphere).  A network that reads the
    skin where the skin changes the image correlates more with ``skin`` for the skin and
    Delta r_np tasks, and more with ``deformation`` for beta2 and beta3.
    """
    with np.load(ratio_npz) as data:
        maps = {name: np.abs(np.log(np.clip(data[key], 1e-300, None)))
                for name, key in RATIO_KEYS.items()}
        grid = data["px"]
    if px is not None and (len(px) != len(grid) or not np.allclose(px, grid)):
        raise ParameterError("ratio maps", str(ratio_npz),
                             "must be on the grid of the explained images (same px, py)")
    out = {}
    for task, heat in mean_abs.items():
        if np.shape(heat) != next(iter(maps.values())).shape:
            raise ParameterError("ratio maps", str(ratio_npz),
                                 f"must have the heatmaps' shape {np.shape(heat)}")
        out[task] = {name: rank_correlation(heat, m) for name, m in maps.items()}
    return out
