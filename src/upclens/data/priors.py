"""Drawing the labels and nuisance parameters of one image from the priors of a config."""

from __future__ import annotations

import numpy as np

from upclens.data.config import DatasetConfig, Prior
from upclens.errors import ParameterError

MAX_NORMAL_TRIES = 10000


def draw(prior: Prior, rng: np.random.Generator, name: str = "prior") -> float:
    """One value from ``prior`` (fixed, uniform, truncated normal by rejection, or binary)."""
    if prior.kind == "fixed":
        return float(prior.value)
    if prior.kind == "uniform":
        return float(prior.low + (prior.high - prior.low) * rng.random())
    if prior.kind == "binary":
        return float(prior.value) if rng.random() < prior.fraction else 0.0
    if prior.sd == 0.0 or prior.low == prior.high:
        return float(np.clip(prior.mean, prior.low, prior.high))
    for _ in range(MAX_NORMAL_TRIES):
        x = float(rng.normal(prior.mean, prior.sd))
        if prior.low <= x <= prior.high:
            return x
    raise ParameterError(name, (prior.low, prior.high),
                         "the truncation window holds almost none of the normal prior")


def draw_labels(cfg: DatasetConfig, rng: np.random.Generator) -> dict[str, float]:
    """Labels of one image, keyed by ``cfg.columns``: beta2, |beta3|, delta_rnp (fm), skin
    (1. if delta_rnp > threshold else 0.), then each nuisance parameter that has a prior."""
    pr = cfg.priors
    labels = {
        "beta2": draw(pr.beta2, rng, "priors.beta2"),
        "beta3": abs(draw(pr.beta3, rng, "priors.beta3")),
        "delta_rnp": draw(pr.delta_rnp, rng, "priors.delta_rnp"),
    }
    labels["skin"] = 1.0 if labels["delta_rnp"] > pr.delta_rnp.threshold else 0.0
    for name, prior in pr.nuisance():
        labels[name] = draw(prior, rng, f"priors.{name}")
    return labels
