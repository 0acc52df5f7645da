"""Prediction Difference Analysis (Zintgraf, Cohen, Adel, Welling, ICLR 2017, arXiv:1702.04595).

The relevance of a k x k window w for an output is the difference between the prediction on the
image and the prediction with the window unknown, p(c | x_\\w) = E_{x_w ~ sampler}[p(c | x)]:

- classifier (``skin``, from ``skin_logit``): the weight of evidence
  WE_w = log2 odds(p(c | x)) - log2 odds(p(c | x_\\w)), odds(p) = p / (1 - p), with the Laplace
  correction p -> (p N + 1) / (N + K) (N training images, K = 2 classes);
- regressions (``beta2``, ``beta3``, ``delta_rnp``): f(x) - E[f(x_\\w)], in the output's units.

The relevance of a pixel is the average over the windows that cover it.  Every (window, sample)
image is evaluated in large batches through the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from upclens.errors import ParameterError
from upclens.explain.windows import Windows

# task name -> model output key; "skin" is the classifier.
TASKS: dict[str, str] = {"skin": "skin_logit", "beta2": "beta2", "beta3": "beta3",
                         "delta_rnp": "delta_rnp"}
CLASSIFIER = "skin"

Model = Callable[[Any], Mapping[str, Any]]


class Sampler(Protocol):
    """Anything that fills windows: ``draw(image, windows, n_samples, rng) -> (P, S, k*k)``."""

    def draw(self, image: np.ndarray, windows: Windows, n_samples: int,
             rng: np.random.Generator) -> np.ndarray: ...


@dataclass
class PDAResult:
    """Heatmaps of one image.

    ``heatmaps[task]`` (ny, nx): pixel relevance (bits of evidence for ``skin``, output units for
    regressions).  ``window_relevance[task]`` (P,): per window.  ``prediction[task]``: the model's
    output on the image (P(skin) for the classifier).  ``window_error``, ``heatmap_error``: the
    standard errors from the finite number of samples (windows are sampled independently, so
    a pixel's error is sqrt(sum of its windows' squared errors) / their number).
    """

    heatmaps: dict[str, np.ndarray]
    window_relevance: dict[str, np.ndarray]
    prediction: dict[str, float]
    windows: Windows
    window_error: dict[str, np.ndarray]
    heatmap_error: dict[str, np.ndarray]


def laplace(p: np.ndarray | float, n_train: int, n_classes: int = 2) -> np.ndarray:
    """Laplace-corrected probability (p N + 1) / (N + K)."""
    return (np.asarray(p, dtype=np.float64) * n_train + 1.0) / (n_train + n_classes)


def log2_odds(p: np.ndarray | float) -> np.ndarray:
    """log2(p / (1 - p))."""
    p = np.asarray(p, dtype=np.float64)
    return np.log2(p) - np.log2(1.0 - p)


def weight_of_evidence(p_with: np.ndarray | float, p_without: np.ndarray | float,
                       n_train: int) -> np.ndarray:
    """WE = log2 odds(p(c|x)) - log2 odds(p(c|x_\\w)) of Laplace-corrected probabilities (bits)."""
    if int(n_train) != n_train or n_train < 1:
        raise ParameterError("n_train", n_train, "must be an integer >= 1")
    return log2_odds(laplace(p_with, n_train)) - log2_odds(laplace(p_without, n_train))


def predict(model: Model, images: Any, tasks: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Task outputs of ``model`` on a (B, ny, nx) float32 tensor: P(skin) for the classifier
    (float64 tensor), the raw outputs for regressions; only tasks the model provides."""
    import torch

    with torch.no_grad():
        out = model(images[:, None])
    result = {}
    for task, key in TASKS.items():
        if key in out and (tasks is None or task in tasks):
            value = out[key].detach().to(torch.float64).reshape(-1)
            result[task] = torch.sigmoid(value) if task == CLASSIFIER else value
    if not result:
        raise ParameterError("model outputs", sorted(out),
                             "must contain at least one of " + ", ".join(TASKS.values()))
    return result


def sample_moments(model: Model, image: np.ndarray, windows: Windows, values: np.ndarray,
                   batch_size: int = 256) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Mean over samples of each task output with every window replaced by ``values``, and the
    standard error of that mean (NaN for one sample).

    image: (ny, nx).  values: (P, S, k*k) window contents.  Returns (task -> (P,) means,
    task -> (P,) standard errors); for the classifier the mean of P(skin), p(c | x_\\w) in the
    paper.
    """
    import torch

    n_win, n_s, k2 = values.shape
    if n_win != windows.count or k2 != windows.flat.shape[1]:
        raise ParameterError("values", f"shape {values.shape}",
                             f"must be ({windows.count}, S, {windows.flat.shape[1]})")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ParameterError("batch_size", batch_size, "must be an integer >= 1")
    ny, nx = image.shape
    base = torch.as_tensor(np.ascontiguousarray(image, dtype=np.float32)).reshape(1, -1)
    idx = torch.as_tensor(windows.flat)
    vals = torch.as_tensor(values.reshape(n_win * n_s, k2), dtype=torch.float32)
    outputs: dict[str, Any] = {}
    for r0 in range(0, n_win * n_s, int(batch_size)):
        r1 = min(r0 + int(batch_size), n_win * n_s)
        rows = torch.arange(r0, r1)
        batch = base.expand(r1 - r0, -1).clone()
        batch.scatter_(1, idx[rows // n_s], vals[r0:r1])
        for task, value in predict(model, batch.reshape(-1, ny, nx)).items():
            outputs.setdefault(task, []).append(value.numpy())
    means, errors = {}, {}
    for task, parts in outputs.items():
        per = np.concatenate(parts).reshape(n_win, n_s)
        means[task] = per.mean(axis=1)
        errors[task] = (per.std(axis=1, ddof=1) / np.sqrt(n_s) if n_s > 1
                        else np.full(n_win, np.nan))
    return means, errors


def expected_without(model: Model, image: np.ndarray, windows: Windows, values: np.ndarray,
                     batch_size: int = 256) -> dict[str, np.ndarray]:
    """E over samples of each task output with every window replaced by ``values``:
    task -> (P,) (see :func:`sample_moments`)."""
    return sample_moments(model, image, windows, values, batch_size)[0]


def relevance_from(prediction: Mapping[str, float], expected: Mapping[str, np.ndarray],
                   n_train: int) -> dict[str, np.ndarray]:
    """Per-window relevance: weight of evidence (classifier) or prediction difference."""
    rel = {}
    for task, mean in expected.items():
        if task == CLASSIFIER:
            rel[task] = weight_of_evidence(prediction[task], mean, n_train)
        else:
            rel[task] = prediction[task] - np.asarray(mean, dtype=np.float64)
    return rel


def relevance_errors(expected: Mapping[str, np.ndarray], errors: Mapping[str, np.ndarray],
                     n_train: int) -> dict[str, np.ndarray]:
    """Standard errors of the per-window relevance from those of the sample means: equal for a
    prediction difference; for the weight of evidence by the delta method,
    se(WE) = N / (N + 2) se(p) / (ln 2 q (1 - q)), q the Laplace-corrected mean p."""
    out = {}
    for task, err in errors.items():
        if task == CLASSIFIER:
            q = laplace(expected[task], n_train)
            out[task] = n_train / (n_train + 2.0) * err / (math.log(2.0) * q * (1.0 - q))
        else:
            out[task] = np.asarray(err, dtype=np.float64)
    return out


def prediction_difference(model: Model, image: np.ndarray, sampler: Sampler, windows: Windows,
                          n_samples: int, rng: np.random.Generator, n_train: int,
                          batch_size: int = 256) -> PDAResult:
    """PDA heatmaps of one image (ny, nx) for every task the model provides."""
    import torch

    if int(n_samples) != n_samples or n_samples < 1:
        raise ParameterError("n_samples", n_samples, "must be an integer >= 1")
    image = np.asarray(image, dtype=np.float32)
    if image.shape != windows.shape:
        raise ParameterError("image", f"shape {image.shape}",
                             f"must match the windows' shape {windows.shape}")
    base = predict(model, torch.as_tensor(image)[None])
    prediction = {task: float(v[0]) for task, v in base.items()}
    values = sampler.draw(image, windows, int(n_samples), rng)
    expected, errors = sample_moments(model, image, windows, values, batch_size)
    rel = relevance_from(prediction, expected, n_train)
    rel_err = relevance_errors(expected, errors, n_train)
    heat = {task: windows.spread(r) for task, r in rel.items()}
    heat_err = {task: np.sqrt(windows.spread(e**2) / windows.coverage())
                for task, e in rel_err.items()}
    return PDAResult(heat, rel, prediction, windows, rel_err, heat_err)
