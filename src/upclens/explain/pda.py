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
    output on the image (P(skin) for the classifier).
    """

    heatmaps: dict[str, np.ndarray]
    window_relevance: dict[str, np.ndarray]
    prediction: dict[str, float]
    windows: Windows


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


def expected_without(model: Model, image: np.ndarray, windows: Windows, values: np.ndarray,
                     batch_size: int = 256) -> dict[str, np.ndarray]:
    """E over samples of each task output with every window replaced by ``values``.

    image: (ny, nx).  values: (P, S, k*k) window contents.  Returns task -> (P,) mean outputs
    (the mean of P(skin) for the classifier, as p(c | x_\\w) in the paper).
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
    sums: dict[str, Any] = {}
    for r0 in range(0, n_win * n_s, int(batch_size)):
        r1 = min(r0 + int(batch_size), n_win * n_s)
        rows = torch.arange(r0, r1)
        batch = base.expand(r1 - r0, -1).clone()
        batch.scatter_(1, idx[rows // n_s], vals[r0:r1])
        out = predict(model, batch.reshape(-1, ny, nx))
        for task, value in out.items():
            per_window = torch.zeros(n_win, dtype=torch.float64)
            per_window.index_add_(0, rows // n_s, value)
            sums[task] = sums.get(task, 0.0) + per_window
    return {task: (s / n_s).numpy() for task, s in sums.items()}


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
    expected = expected_without(model, image, windows, values, batch_size)
    rel = relevance_from(prediction, expected, n_train)
    heat = {task: windows.spread(r) for task, r in rel.items()}
    return PDAResult(heat, rel, prediction, windows)
