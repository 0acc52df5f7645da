"""Evaluation of a trained run on a held-out dataset: metrics.json, predictions and figures."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from upclens.io import atomic_path, check_writable, write_json
from upclens.learn.checkpoint import load_model
from upclens.learn.datasource import check_compatible, load_data
from upclens.learn.distributed import resolve_device
from upclens.learn.metrics import (
    COVERAGE_LEVELS,
    class_metrics,
    coverage,
    coverage_spread,
    regression_metrics,
)
from upclens.learn.settings import TARGETS


def _skin_threshold(config: dict[str, Any]) -> float | None:
    """The dataset's skin-class threshold on Delta r_np (fm), when its config names one."""
    try:
        return float(config["priors"]["delta_rnp"]["threshold"])
    except (KeyError, TypeError, ValueError):
        return None


@torch.no_grad()
def predict_arrays(model: torch.nn.Module, images: torch.Tensor, batch: int = 512,
                   device: torch.device | None = None) -> dict[str, np.ndarray]:
    """Run the model over raw images (n, 1, ny, nx) in batches; dict of (n,) float64 arrays."""
    device = device or torch.device("cpu")
    model = model.to(device).eval()
    parts: dict[str, list[np.ndarray]] = {}
    for i0 in range(0, images.shape[0], batch):
        out = model(images[i0:i0 + batch].to(device))
        for key, value in out.items():
            parts.setdefault(key, []).append(value.double().cpu().numpy())
    return {key: np.concatenate(v) for key, v in parts.items()}


def evaluate(run_dir: str | Path, data_path: str | Path, out_dir: str | Path | None = None, *,
             figures: bool = True, device: str = "auto") -> dict[str, Any]:
    """Score the model of ``run_dir`` on ``data_path``.

    Writes to ``out_dir`` (default: the run folder) ``metrics.json`` (per target R^2, MAE, RMSE,
    the coverage of the 68.27 % and 95 % intervals and the sampling spread expected of the
    68.27 % one (:func:`~upclens.learn.metrics.coverage_spread`); for the skin class accuracy,
    ROC AUC and confusion matrix, and the accuracy of the class read off the Delta r_np
    prediction when the dataset config names the threshold), ``predictions.npz`` (truth,
    predictions, sigmas and logits per test image) and, with ``figures``, PNGs: predicted vs
    true, residuals vs true, confusion matrix, calibration.  Returns the metrics with the paths
    of the files written.
    """
    model, meta = load_model(run_dir)
    out = Path(out_dir) if out_dir is not None else Path(run_dir)
    check_writable(out / "metrics.json", "out", make_parents=True)
    data = load_data(data_path)
    check_compatible(data, meta)
    t0 = time.perf_counter()
    pred = predict_arrays(model, data.images, device=resolve_device(device))
    seconds = time.perf_counter() - t0
    labels = data.classes.numpy().astype(float)
    true = {name: data.targets[:, k].numpy().astype(float) for k, name in enumerate(TARGETS)}
    # The sigmas were scaled to cover 68.27 % of the validation set when the model records a
    # sigma_scale; the observed coverage then scatters by the calibration and the test counts.
    n_cal = int(meta["n_val"]) if "sigma_scale" in meta and "n_val" in meta else None
    metrics: dict[str, Any] = {"model": str(run_dir), "data": str(data_path), "n": len(data),
                               "images_per_second": len(data) / max(seconds, 1e-9),
                               "targets": {}}
    for name in TARGETS:
        m: dict[str, Any] = regression_metrics(pred[name], true[name])
        for level in COVERAGE_LEVELS:
            m[f"coverage_{round(100 * level)}"] = coverage(pred[name], pred[f"{name}_sigma"],
                                                          true[name], level)
        m["coverage_68_spread"] = coverage_spread(COVERAGE_LEVELS[0], len(data), n_cal)
        m["median_sigma"] = float(np.median(pred[f"{name}_sigma"]))
        metrics["targets"][name] = m
    metrics["skin"] = class_metrics(pred["skin_logit"], labels)
    threshold = _skin_threshold(data.config)
    if threshold is not None:
        # The class read off the Delta r_np regression (the better classifier when Delta r_np
        # is continuous: the skin head errs only within ~RMSE of the threshold, so does this).
        metrics["skin"]["threshold_fm"] = threshold
        metrics["skin"]["accuracy_from_delta_rnp"] = float(
            np.mean((pred["delta_rnp"] > threshold) == (labels > 0.5)))
    files = {"metrics": str(out / "metrics.json"), "predictions": str(out / "predictions.npz")}
    with atomic_path(out / "predictions.npz", suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, skin_true=labels, **{f"{k}_true": v for k, v in true.items()}, **pred)
    if figures:
        from upclens.learn import figures as fig

        sig = {name: pred[f"{name}_sigma"] for name in TARGETS}
        mean = {name: pred[name] for name in TARGETS}
        r2 = {name: metrics["targets"][name]["r2"] for name in TARGETS}
        files["predicted_vs_true"] = str(fig.predicted_vs_true(
            true, mean, r2, out / "predicted_vs_true.png"))
        files["residuals"] = str(fig.residuals_vs_true(true, mean, sig, out / "residuals.png"))
        files["confusion"] = str(fig.confusion_matrix(metrics["skin"]["confusion"],
                                                      out / "confusion.png"))
        files["calibration"] = str(fig.calibration(true, mean, sig, pred["skin_logit"], labels,
                                                   out / "calibration.png"))
    metrics["files"] = files
    write_json(metrics, out / "metrics.json", indent=1)
    return metrics
