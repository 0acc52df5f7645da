"""``explain``: PDA heatmaps of a trained model on a data set, with figures, region shares and
the cross-check against occlusion and integrated gradients."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
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
    _check_arguments(n_images=n_images, n_samples=n_samples, n_fit=n_fit,
                     cross_check=cross_check, seed=seed, n_figures=n_figures,
                     sampling=sampling, ratio_npz=ratio_npz)
    out = Path(out_dir)
    check_writable(out / "explain.json", make_parents=True)
    net, meta = _model(model)
    images, labels, px, py = _read(data, meta)
    n_total = images.shape[0]
    windows = Windows.build(tuple(images.shape[1:]), window, stride)
    fit, n_fitted = _fit_images(images, px, data, fit_data, n_fit, seed)
    mean_image = fit.mean(axis=0)
    t0 = time.perf_counter()
    sampler: Any = (ConditionalSampler.fit(fit, windows, padding=padding)
                    if sampling == "conditional" else MarginalSampler(fit))
    t_fit = time.perf_counter() - t0
    n_train = int(meta.get("n_train") or n_total)

    chosen = np.sort(np.random.default_rng([seed, 0]).permutation(n_total)[:n_images])
    maps = _heatmaps(net, images, chosen, sampler, windows, n_samples, seed, n_train,
                     batch_size)
    regions = region_masks(mean_image, px, py)
    shares = _region_shares(maps.stacks, maps.mean_abs, regions)
    sensitivity = None
    if ratio_npz is not None:
        from upclens.explain.ratios import sensitivity_agreement

        sensitivity = sensitivity_agreement(maps.mean_abs, ratio_npz, px)
    agreement = _cross_check(net, images, chosen[:cross_check], maps.stacks, mean_image,
                             windows, n_train, batch_size, ig_steps)
    figures = _figures(out, images, chosen[:n_figures], maps.stacks, maps.mean, maps.mean_abs,
                       mean_image, regions, px, py)
    _save_arrays(out / "heatmaps.npz", maps, chosen, images, labels, px, py, mean_image,
                 regions)
    summary = {
        "model": str(model) if isinstance(model, str | os.PathLike) else type(model).__name__,
        "data": str(data), "n_images": len(chosen), "indices": chosen.tolist(),
        "settings": {"window": window, "stride": stride, "n_samples": n_samples,
                     "sampling": sampling, "padding": padding, "seed": seed,
                     "n_fit": n_fitted, "n_train": n_train,
                     "fit_data": str(fit_data or data), "windows": windows.count,
                     "evaluations_per_heatmap": windows.count * n_samples},
        "regions": {"edge_low": regions.edge_low, "edge_high": regions.edge_high,
                    "fringe_level": regions.fringe_level,
                    "reference": "mean image of the fitted images (fit_data)"},
        "region_shares": shares, "agreement": agreement, "noise": maps.noise_summary(),
        "sensitivity_agreement": sensitivity,
        "timing_s": {"sampler_fit": t_fit, "per_heatmap": maps.seconds_per_heatmap},
        "figures": figures, "heatmaps": str(out / "heatmaps.npz"),
    }
    write_json(summary, out / "explain.json")
    return summary


def _check_arguments(*, n_images: int, n_samples: int, n_fit: int, cross_check: int,
                     seed: int, n_figures: int, sampling: str,
                     ratio_npz: str | os.PathLike[str] | None) -> None:
    """Refuse bad counts, an unknown sampling and a missing ratio-map file."""
    for name, value, lo in (("n_images", n_images, 1), ("n_samples", n_samples, 1),
                            ("n_fit", n_fit, 2), ("cross_check", cross_check, 0),
                            ("seed", seed, 0), ("n_figures", n_figures, 0)):
        check_integer(name, value, lo)
    check_choice("sampling", sampling, SAMPLINGS)
    if ratio_npz is not None and not Path(ratio_npz).is_file():
        raise ParameterError("ratio_npz", str(ratio_npz), "must be a ratio_maps.npz file")


def _read(data: str | os.PathLike[str], meta: dict[str, Any]
          ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Images (n, ny, nx), labels and the pixel centres px, py (GeV) of the data set, checked
    against the model's input shape."""
    from upclens.data import read_dataset

    images, labels, dmeta = read_dataset(data)
    if images.shape[0] < 2:
        raise ParameterError("data", str(data), "must hold at least 2 images")
    shape = tuple(images.shape[1:])
    if "shape" in meta and tuple(meta["shape"]) != shape:
        raise ParameterError("data", f"images {shape}",
                             f"must match the model's input shape {tuple(meta['shape'])}")
    return images, labels, np.asarray(dmeta["px"]), np.asarray(dmeta["py"])


def _fit_images(images: np.ndarray, px: np.ndarray, data: str | os.PathLike[str],
                fit_data: str | os.PathLike[str] | None, n_fit: int, seed: int
                ) -> tuple[np.ndarray, int]:
    """The images (float64) that fit the sampler, the mean image and the regions: at most
    ``n_fit`` drawn from ``fit_data`` (default: the explained data itself); and their count."""
    if fit_data is None:
        n_total = images.shape[0]
        fit_idx = np.sort(np.random.default_rng([seed, 1]).permutation(n_total)[:n_fit])
        return images[fit_idx].astype(np.float64), len(fit_idx)
    from upclens.data import read_dataset
    from upclens.data.store import file_meta, open_checked

    with open_checked(fit_data) as f:
        n_other = int(file_meta(f)["n"])
    fit_idx = np.sort(np.random.default_rng([seed, 1]).permutation(n_other)[:n_fit])
    fit, _, fmeta = read_dataset(fit_data, fit_idx)
    if fit.shape[1:] != images.shape[1:] or not np.allclose(fmeta["px"], px):
        raise ParameterError("fit_data", str(fit_data),
                             f"must hold images on the grid of {data}")
    return fit.astype(np.float64), len(fit_idx)


@dataclass
class _Maps:
    """The PDA heatmaps of the chosen images, per task: stacks (n, ny, nx), their errors and
    the predictions, the noise measures per image and the seconds per heatmap."""

    stacks: dict[str, np.ndarray]
    errors: dict[str, np.ndarray]
    predictions: dict[str, np.ndarray]
    noise: dict[str, dict[str, list[float]]]
    seconds_per_heatmap: float

    @property
    def mean(self) -> dict[str, np.ndarray]:
        """Mean heatmap of each task."""
        return {task: s.mean(axis=0) for task, s in self.stacks.items()}

    @property
    def mean_abs(self) -> dict[str, np.ndarray]:
        """Mean |heatmap| of each task."""
        return {task: np.abs(s).mean(axis=0) for task, s in self.stacks.items()}

    def noise_summary(self) -> dict[str, dict[str, float]]:
        """Per task, the noise measures averaged over the images."""
        return {task: {key: _nanmean(v) for key, v in rows.items()}
                for task, rows in self.noise.items()}


def _heatmaps(net: Model, images: np.ndarray, chosen: np.ndarray, sampler: Any,
              windows: Windows, n_samples: int, seed: int, n_train: int,
              batch_size: int) -> _Maps:
    """PDA of every chosen image, each with its own generator (seed, 2, index)."""
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
    seconds = (time.perf_counter() - t0) / len(chosen)
    return _Maps(stacks={task: np.stack(h) for task, h in heat.items()},
                 errors={task: np.stack(e) for task, e in errs.items()},
                 predictions={task: np.array(p) for task, p in preds.items()},
                 noise=noise, seconds_per_heatmap=seconds)


def _region_shares(stacks: dict[str, np.ndarray], mean_abs: dict[str, np.ndarray],
                   regions: Any) -> dict[str, dict[str, float]]:
    """Region shares of each task's mean |relevance|, with their mean and spread over the
    images for the edge and the fringes."""
    shares = {task: region_shares(mean_abs[task], regions) for task in stacks}
    for task, s in stacks.items():
        rows = [region_shares(h, regions) for h in s]
        for name in ("edge", "fringe"):
            vals = np.array([r[name] for r in rows])
            shares[task][f"{name}_per_image_mean"] = float(vals.mean())
            shares[task][f"{name}_per_image_std"] = float(vals.std(ddof=1)) if vals.size > 1 \
                else float("nan")
    return shares


def _save_arrays(path: Path, maps: _Maps, chosen: np.ndarray, images: np.ndarray,
                 labels: dict[str, np.ndarray], px: np.ndarray, py: np.ndarray,
                 mean_image: np.ndarray, regions: Any) -> None:
    """heatmaps.npz: the chosen images, their heatmaps, errors, predictions and labels, the
    mean image and the regions."""
    arrays: dict[str, np.ndarray] = {
        "indices": chosen, "images": images[chosen], "px": px, "py": py,
        "mean_image": mean_image, "edge": regions.edge, "fringe": regions.fringe}
    mean, mean_abs = maps.mean, maps.mean_abs
    for task in maps.stacks:
        arrays[f"heatmaps_{task}"] = maps.stacks[task]
        arrays[f"errors_{task}"] = maps.errors[task]
        arrays[f"mean_{task}"] = mean[task]
        arrays[f"mean_abs_{task}"] = mean_abs[task]
        arrays[f"prediction_{task}"] = maps.predictions[task]
    for col, vals in labels.items():
        arrays[f"label_{col}"] = vals[chosen]
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


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
