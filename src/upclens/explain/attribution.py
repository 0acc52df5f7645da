"""Simpler attributions to cross-check PDA: occlusion and integrated gradients.

- Occlusion: every window replaced by a fixed fill (the data-set mean image by default); the
  relevance is the PDA relevance with that one deterministic sample (weight of evidence for the
  classifier, prediction difference for regressions).
- Integrated gradients (Sundararajan, Taly, Yan 2017): IG_i = (x_i - x'_i) int_0^1 d f / d x_i
  along the straight path from the baseline x' (midpoint rule).  For the classifier it
  integrates the logit divided by ln 2, so that it is in bits like the weight of evidence.
  Summed over a window it equals the occlusion difference exactly for a linear model.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata

from upclens.errors import ParameterError
from upclens.explain.pda import CLASSIFIER, TASKS, Model, expected_without, predict, relevance_from
from upclens.explain.windows import Windows


def occlusion(model: Model, image: np.ndarray, fill: np.ndarray, windows: Windows,
              n_train: int, batch_size: int = 256) -> dict[str, np.ndarray]:
    """Occlusion heatmaps (ny, nx) per task: each window set to ``fill`` (ny, nx)."""
    import torch

    image = np.asarray(image, dtype=np.float32)
    fill = np.asarray(fill, dtype=np.float64)
    if fill.shape != image.shape:
        raise ParameterError("fill", f"shape {fill.shape}", f"must be {image.shape}")
    base = predict(model, torch.as_tensor(image)[None])
    prediction = {task: float(v[0]) for task, v in base.items()}
    values = fill.ravel()[windows.flat][:, None, :]
    expected = expected_without(model, image, windows, values, batch_size)
    rel = relevance_from(prediction, expected, n_train)
    return {task: windows.spread(r) for task, r in rel.items()}


def integrated_gradients(model: Model, image: np.ndarray, baseline: np.ndarray,
                         steps: int = 32) -> dict[str, np.ndarray]:
    """Per-pixel integrated gradients (ny, nx) of every task output (logit / ln 2 for the
    classifier) from ``baseline`` to ``image``, ``steps`` midpoint nodes."""
    import torch

    if int(steps) != steps or steps < 1:
        raise ParameterError("steps", steps, "must be an integer >= 1")
    x = torch.as_tensor(np.asarray(image, dtype=np.float32))
    x0 = torch.as_tensor(np.asarray(baseline, dtype=np.float32))
    if x.shape != x0.shape:
        raise ParameterError("baseline", f"shape {tuple(x0.shape)}", f"must be {tuple(x.shape)}")
    alpha = (torch.arange(int(steps), dtype=torch.float32) + 0.5) / steps
    path = (x0 + alpha[:, None, None] * (x - x0))[:, None].requires_grad_(True)
    with torch.enable_grad():
        out = model(path)
        result = {}
        keys = [(task, key) for task, key in TASKS.items() if key in out]
        for n, (task, key) in enumerate(keys):
            value = out[key].reshape(-1).sum()
            if task == CLASSIFIER:
                value = value / math.log(2.0)
            (grad,) = torch.autograd.grad(value, path, retain_graph=n < len(keys) - 1)
            ig = (x - x0) * grad[:, 0].mean(dim=0)
            result[task] = ig.detach().to(torch.float64).numpy()
    return result


def window_sums(pixel_map: np.ndarray, windows: Windows) -> np.ndarray:
    """A per-pixel attribution summed over each window and averaged back over the windows that
    cover each pixel (ny, nx): the same aggregation as PDA and occlusion heatmaps."""
    return windows.spread(np.asarray(pixel_map, dtype=np.float64).ravel()[windows.flat].sum(1))


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (NaN when either is constant)."""
    ra, rb = rankdata(np.ravel(a)), rankdata(np.ravel(b))
    if np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])
