"""The Cramer-Rao bound of a ladder row at its test points, and the network's RMSE against it.

The bound uses the settings of the row's own dataset config (so the images it differentiates
are the images the network saw) with the nuisances of the row marginalised: Fisher matrix
extended by R, a, sigma_vn_scale, their Gaussian priors added on the diagonal, then inverted
(``upclens.information.crb_at_points``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from upclens.data.config import DatasetConfig
from upclens.information.model import InformationSettings
from upclens.learn.settings import TARGETS

BOUND_FRACTION = 0.25
"""The RMSE / sigma_CRB ratio uses test points where sigma_CRB < this fraction of the prior's
width: elsewhere the prior itself constrains the parameter and a (biased) network estimate can
beat the unbiased bound."""


def prior_widths(cfg: DatasetConfig) -> dict[str, float]:
    """Width (largest minus smallest value) of the prior of each target (same units)."""
    out = {}
    for name in TARGETS:
        lo, hi = getattr(cfg.priors, name).support()
        out[name] = float(hi - lo)
    return out


def choose_points(n_test: int, n_points: int, seed: int) -> np.ndarray:
    """Sorted test indices of the bound's subsample (all when n_points >= n_test)."""
    if n_points >= n_test:
        return np.arange(n_test)
    rng = np.random.default_rng([seed, 0x1ADDE])
    return np.sort(rng.choice(n_test, size=n_points, replace=False))


def crb_points(labels: Mapping[str, np.ndarray], indices: np.ndarray, cfg: DatasetConfig,
               n_events: float, nuisances: Mapping[str, float]) -> dict[str, Any]:
    """sigma_CRB of each target at the test points ``indices`` (their true labels, with the
    drawn nuisance values as the point).  Returns {'sigma': name -> (P,) (nan where undefined),
    'errors': [str | None], 'notes': [...]}."""
    from upclens.information import crb_at_points

    keys = [*TARGETS, *(k for k in ("R", "a", "sigma_vn_scale") if k in labels)]
    points = [{k: float(labels[k][i]) for k in keys} for i in indices]
    res = crb_at_points(points, InformationSettings.from_config(cfg), n_events=float(n_events),
                        nuisances=dict(nuisances) or None)
    notes = sorted({n for r in res["results"] if r is not None for n in r.notes})
    sigma = {name: np.where(np.isfinite(res["sigma_crb"][name]), res["sigma_crb"][name], np.nan)
             for name in TARGETS}
    return {"sigma": sigma, "errors": res["errors"], "notes": notes}


def rmse_to_crb(truth: np.ndarray, pred: np.ndarray, sigma: np.ndarray, width: float,
                fraction: float = BOUND_FRACTION) -> dict[str, Any]:
    """The network's RMSE over the points where sigma_CRB < fraction * width, divided by the
    root mean square of sigma_CRB over the same points (the bound on the RMSE of an unbiased
    estimator there).  Points with an undefined bound (nan) are excluded.  Returns
    {'ratio', 'rmse', 'sigma_rms', 'n_used', 'n_undefined'}; ratio None without points."""
    truth, pred, sigma = (np.asarray(a, dtype=float) for a in (truth, pred, sigma))
    defined = np.isfinite(sigma)
    use = defined & (sigma < fraction * width)
    n = int(use.sum())
    if n == 0:
        return {"ratio": None, "rmse": None, "sigma_rms": None, "n_used": 0,
                "n_undefined": int((~defined).sum())}
    rmse = math.sqrt(float(np.mean((pred[use] - truth[use]) ** 2)))
    sig = math.sqrt(float(np.mean(sigma[use] ** 2)))
    return {"ratio": rmse / sig, "rmse": rmse, "sigma_rms": sig, "n_used": n,
            "n_undefined": int((~defined).sum())}
