"""``explain``: PDA heatmaps of a trained model on a data set, with figures, region shares and
the cross-check against occlusion and integrated gradients."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from upclens.errors import ParameterError, check_choice, check_integer
from upclens.explain.attribution import (
    integrated_gradients,
    occlusion,
    rank_correlation,
    window_sums,
)
from upclens.explain.pda import Model, prediction_difference
from upclens.explain.regions import region_masks, region_shares
from upclens.explain.sampling import ConditionalSampler, MarginalSampler
from upclens.explain.windows import Windows
from upclens.io import atomic_path, check_writable, write_json

SAMPLINGS = ("conditional", "marginal")


def _model(model: Model | str | os.PathLike[str]) -> tuple[Model, dict[str, Any]]:
    if isinstance(model, str | os.PathLike):
        from upclens.learn import load_model

        return load_model(model)
    if not callable(model):
        raise ParameterError("model", type(model).__name__, "must be a run folder or a callable")
    return model, {}


def explain(model: Model | str | os.PathLike[str], data: str | os.PathLike[str],
            out_dir: str | os.PathLike[str], *, n_images: int = 16, window: int = 6,
            stride: int = 3, n_samples: int = 10, sampling: str = "conditional",
            padding: int = 2, seed: int = 0, batch_size: int = 256, n_fit: int = 2000,
            cross_check: int = 4, ig_steps: int = 32, n_figures: int = 3,
            ratio_npz: str | os.PathLike[str] | None = None,
            fit_data: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """PDA heatmaps for ``n_images`` images of the data set ``data`` (HDF5), written to
    ``out_dir``: ``heatmaps.npz``, PNG figures and ``explain.json``; returns the summary.

    model: a run folder (``upclens.learn.load_model``) or a callable with the model contract.
    window, stride: window size and step (pixels).  n_samples: samples per window.
    sampling: 'conditional' (Gaussian given a frame of ``padding`` pixels) or 'marginal'.
    n_fit: images (at most) used to fit the sampler, the mean image and the regions, drawn from
    ``fit_data`` (e.g. the training set, as in the paper; default: ``data`` itself).
    cross_check: images also explained by occlusion (data-mean fill) and integrated gradients
    (data-mean baseline, ``ig_steps`` nodes), compared with PDA by rank correlation.
    The summary's ``noise`` gives per task, averaged over images, the share of sum |relevance|
    expected from the sampling noise alone (``noise_fraction``) and the fraction of windows
    whose relevance exceeds 3 standard errors (``significant_windows``).
    ratio_npz: ``ratio_maps.npz`` of :func:`upclens.explain.ratios.ratio_maps` on the same
    grid; adds ``sensitivity_agreement`` (rank correlation of each task's mean |relevance| with
    |ln ratio| of the skin and the deformation ratio maps).
    """
    from upclens.data import read_dataset

    for name, value, lo in (("n_images", n_images, 1), ("n_samples", n_samples, 1),
                            ("n_fit", n_fit, 2), ("cross_check", cross_check, 0),
                            ("seed", seed, 0), ("n_figures", n_figures, 0)):
        check_integer(name, value, lo)
    check_choice("sampling", sampling, SAMPLINGS)
    if ratio_npz is not None and not Path(ratio_npz).is_file():
        raise ParameterError("ratio_npz", str(ratio_npz), "must be a ratio_maps.npz file")
    out = Path(out_dir)
    check_writable(out / "explain.json", make_parents=True)
    net, meta = _model(model)
    images, labels, dmeta = read_dataset(data)
    n_total = images.shape[0]
    if n_total < 2:
        raise ParameterError("data", str(data), "must hold at least 2 images")
    shape = tuple(images.shape[1:])
    if "shape" in meta and tuple(meta["shape"]) != shape:
        raise ParameterError("data", f"images {shape}",
                             f"must match the model's input shape {tuple(meta['shape'])}")
    px, py = np.asarray(dmeta["px"]), np.asarray(dmeta["py"])
    windows = Windows.build(shape, window, stride)

    if fit_data is None:
        fit_idx = np.sort(np.random.default_rng([seed, 1]).permutation(n_total)[:n_fit])
        fit = images[fit_idx].astype(np.float64)
    else:
        from upclens.data.store import file_meta, open_checked

        with open_checked(fit_data) as f:
            n_other = int(file_meta(f)["n"])
        fit_idx = np.sort(np.random.default_rng([seed, 1]).permutation(n_other)[:n_fit])
        fit, _, fmeta = read_dataset(fit_data, fit_idx)
        fit = fit.astype(np.float64)
        if fit.shape[1:] != shape or not np.allclose(fmeta["px"], px):
            raise ParameterError("fit_data", str(fit_data),
                                 f"must hold images on the grid of {data}")
    mean_image = fit.mean(axis=0)
    t0 = time.perf_counter()
    sampler: Any = (ConditionalSampler.fit(fit, windows, padding=padding)
                    if sampling == "conditional" else MarginalSampler(fit))
    t_fit = time.perf_counter() - t0
    n_train = int(meta.get("n_train") or n_total)

    chosen = np.sort(np.random.default_rng([seed, 0]).permutation(n_total)[:n_images])
    heat: dict[str, list[np.ndarray]] = {}
    errs: dict[str, list[np.ndarray]] = {}
    noise: dict[str, dict[str, list[float]]] = {}
    preds: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    for index in chosen:
        res = prediction_difference(net, images[index], sampler, windows, n_samples,
                                    np.random.default_rng([seed, 2, int(index)]), n_train,
                                    batch_size)
        for task, h in res.heatmaps.items():
            heat.setdefault(task, []).append(h)
            errs.setdefault(task, []).append(res.heatmap_error[task])
            preds.setdefault(task, []).append(res.prediction[task])
            rows = noise.setdefault(task, {"noise_fraction": [], "significant_windows": []})
            rows["noise_fraction"].append(noise_fraction(h, res.heatmap_error[task]))
            rows["significant_windows"].append(float(np.mean(
                np.abs(res.window_relevance[task]) > 3 * res.window_error[task])))
    seconds_per_heatmap = (time.perf_counter() - t0) / len(chosen)
    stacks = {task: np.stack(h) for task, h in heat.items()}
    mean_heat = {task: s.mean(axis=0) for task, s in stacks.items()}
    mean_abs = {task: np.abs(s).mean(axis=0) for task, s in stacks.items()}

    regions = region_masks(mean_image, px, py)
    shares = {task: region_shares(mean_abs[task], regions) for task in stacks}
    per_image = {task: [region_shares(h, regions) for h in s] for task, s in stacks.items()}
    for task, rows in per_image.items():
        for name in ("edge", "fringe"):
            vals = np.array([r[name] for r in rows])
            shares[task][f"{name}_per_image_mean"] = float(vals.mean())
            shares[task][f"{name}_per_image_std"] = float(vals.std(ddof=1)) if vals.size > 1 \
                else float("nan")

    sensitivity = None
    if ratio_npz is not None:
        from upclens.explain.ratios import sensitivity_agreement

        sensitivity = sensitivity_agreement(mean_abs, ratio_npz, px)
    noise_summary = {task: {key: _nanmean(v) for key, v in rows.items()}
                     for task, rows in noise.items()}
    agreement = _cross_check(net, images, chosen[:cross_check], stacks, mean_image, windows,
                             n_train, batch_size, ig_steps)
    figures = _figures(out, images, chosen[:n_figures], stacks, mean_heat, mean_abs,
                       mean_image, regions, px, py)
    arrays: dict[str, np.ndarray] = {
        "indices": chosen, "images": images[chosen], "px": px, "py": py,
        "mean_image": mean_image, "edge": regions.edge, "fringe": regions.fringe}
    for task in stacks:
        arrays[f"heatmaps_{task}"] = stacks[task]
        arrays[f"errors_{task}"] = np.stack(errs[task])
        arrays[f"mean_{task}"] = mean_heat[task]
        arrays[f"mean_abs_{task}"] = mean_abs[task]
        arrays[f"prediction_{task}"] = np.array(preds[task])
    for col, vals in labels.items():
        arrays[f"label_{col}"] = vals[chosen]
    with atomic_path(out / "heatmaps.npz", suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)

    summary = {
        "model": str(model) if isinstance(model, str | os.PathLike) else type(model).__name__,
        "data": str(data), "n_images": len(chosen), "indices": chosen.tolist(),
        "settings": {"window": window, "stride": stride, "n_samples": n_samples,
                     "sampling": sampling, "padding": padding, "seed": seed,
                     "n_fit": len(fit_idx), "n_train": n_train,
                     "fit_data": str(fit_data or data), "windows": windows.count,
                     "evaluations_per_heatmap": windows.count * n_samples},
        "regions": {"edge_low": regions.edge_low, "edge_high": regions.edge_high,
                    "fringe_level": regions.fringe_level,
                    "reference": "mean image of the fitted images (fit_data)"},
        "region_shares": shares, "agreement": agreement, "noise": noise_summary,
        "sensitivity_agreement": sensitivity,
        "timing_s": {"sampler_fit": t_fit, "per_heatmap": seconds_per_heatmap},
        "figures": figures, "heatmaps": str(out / "heatmaps.npz"),
    }
    write_json(summary, out / "explain.json")
    return summary


def _nanmean(values: list[float]) -> float:
    """Mean of the finite values; NaN (without a warning) when there are none."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def noise_fraction(heat: np.ndarray, error: np.ndarray) -> float:
    """Share of sum |heatmap| that sampling noise alone would give: for a heatmap of pure
    Gaussian noise E|h| = sqrt(2 / pi) sigma per pixel.  Near 1: the map is noise."""
    total = float(np.abs(heat).sum())
    if total == 0.0 or not np.all(np.isfinite(error)):
        return float("nan")
    return float(math.sqrt(2.0 / math.pi) * error.sum() / total)


def _cross_check(net: Model, images: np.ndarray, indices: np.ndarray,
                 stacks: dict[str, np.ndarray], mean_image: np.ndarray, windows: Windows,
                 n_train: int, batch_size: int, ig_steps: int) -> dict[str, Any]:
    """Mean rank correlations of PDA with occlusion and with window-summed IG, per task:
    ``abs`` compares |relevance| (where the model looks), ``signed`` the relevance itself."""
    rows: dict[str, dict[str, list[float]]] = {}
    for n, index in enumerate(indices):
        occ = occlusion(net, images[index], mean_image, windows, n_train, batch_size)
        try:
            ig = integrated_gradients(net, images[index], mean_image, ig_steps)
            ig = {task: window_sums(m, windows) for task, m in ig.items()}
        except RuntimeError:            # a model without gradients: occlusion only
            ig = {}
        for task, pda in stacks.items():
            row = rows.setdefault(task, {})
            for method, maps in (("occlusion", occ), ("integrated_gradients", ig)):
                if task in maps:
                    row.setdefault(f"{method}_signed", []).append(
                        rank_correlation(pda[n], maps[task]))
                    row.setdefault(f"{method}_abs", []).append(
                        rank_correlation(np.abs(pda[n]), np.abs(maps[task])))
    return {task: {key: _nanmean(v) for key, v in row.items()}
            | {"images": len(indices)} for task, row in rows.items()}


def _figures(out: Path, images: np.ndarray, indices: np.ndarray, stacks: dict[str, np.ndarray],
             mean_heat: dict[str, np.ndarray], mean_abs: dict[str, np.ndarray],
             mean_image: np.ndarray, regions: Any, px: np.ndarray,
             py: np.ndarray) -> dict[str, str]:
    from upclens.explain import figures as fig

    paths: dict[str, str] = {}
    for n, index in enumerate(indices):
        one = {task: s[n] for task, s in stacks.items()}
        paths[f"heatmaps_{index}"] = fig.save_task_heatmaps(
            one, px, py, str(out / f"heatmaps_{index}.png"), f"PDA, image {index}")
        paths[f"overlay_{index}"] = fig.save_overlays(
            images[index], one, px, py, str(out / f"overlay_{index}.png"), f"image {index}")
    paths["heatmaps_mean"] = fig.save_task_heatmaps(
        mean_heat, px, py, str(out / "heatmaps_mean.png"), "PDA averaged over images")
    paths["overlay_mean_abs"] = fig.save_overlays(
        mean_image, mean_abs, px, py, str(out / "overlay_mean_abs.png"),
        "mean |relevance| on the mean image")
    paths["regions"] = fig.save_regions(mean_image, regions, px, py, str(out / "regions.png"))
    return paths
