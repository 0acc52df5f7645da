"""Cramer-Rao bounds of (beta2, beta3, Delta r_np) from exact J/psi images: one point, versus
the number of J/psi, and over the points of a test set."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np

from upclens.errors import ParameterError, check_range
from upclens.information.fisher import FisherResult, fisher_from_model, sigma_versus_n
from upclens.information.model import (
    PARAMETERS,
    SHAPE_PARAMETERS,
    ExactImageModel,
    InformationSettings,
    normalise_nuisances,
)
from upclens.physics.presets import preset

DEFAULT_N_VALUES = (1e3, 1e4, 1e5, 1e6)


@lru_cache(maxsize=4)
def shared_model(settings: InformationSettings) -> ExactImageModel:
    """One image model (and image cache) per settings, reused by successive calls."""
    return ExactImageModel(settings)


def _settings(settings: InformationSettings | Mapping[str, Any] | None) -> InformationSettings:
    if settings is None:
        return InformationSettings()
    if isinstance(settings, InformationSettings):
        return settings
    return InformationSettings.build(**dict(settings))


def _full_point(point: Mapping[str, float], settings: InformationSettings,
                names: Sequence[str]) -> dict[str, float]:
    """The point with values for every differentiated parameter (preset / settings defaults)."""
    p = preset(settings.nucleus)
    defaults = {"beta2": p.beta2, "beta3": p.beta3, "delta_rnp": 0.0, "R": p.R, "a": p.a,
                "sigma_vn_scale": settings.switches.sigma_vn_scale}
    out = {k: float(v) for k, v in point.items() if v is not None}
    for name in names:
        out.setdefault(name, defaults[name])
    return out


def fisher_matrix(point: Mapping[str, float],
                  settings: InformationSettings | Mapping[str, Any] | None = None,
                  n_events: float = 1e4, nuisances: object = None,
                  step: float | Mapping[str, float] = 1.0,
                  parameters: Sequence[str] = SHAPE_PARAMETERS, check_step: bool = True,
                  model: ExactImageModel | None = None) -> FisherResult:
    """Fisher matrix of the image of ``n_events`` J/psi at ``point`` and its Cramer-Rao bound.

    point: beta2, beta3, delta_rnp (fm) and optionally R, a (fm), sigma_vn_scale, b (fm),
    skin (0 halo / 1 skin type).  settings: :class:`InformationSettings` or its ``build``
    keywords.  nuisances: names ('R', 'a', 'sigma_vn_scale' / 'sigma') with the default priors
    (+-0.02 fm, +-0.01 fm, +-20 %), or name -> prior width; they are added to the Fisher matrix
    with 1/width^2 on the diagonal and marginalised.  step: a factor on the default steps or
    name -> step.  ``model``: reuse a model (and its image cache) built for the same settings.
    """
    s = _settings(settings)
    priors = normalise_nuisances(nuisances)
    for name in parameters:
        if name not in SHAPE_PARAMETERS:
            raise ParameterError("parameters", name, "must be among " + ", ".join(SHAPE_PARAMETERS))
    names = list(parameters) + [n for n in priors if n not in parameters]
    pars = [PARAMETERS[n] for n in names]
    scale = 1.0
    if isinstance(step, Mapping):
        for n, h in step.items():
            if n not in PARAMETERS:
                raise ParameterError("step", n, "must name one of " + ", ".join(PARAMETERS))
            check_range(f"step of {n}", h, 0.0, 1.0, lo_open=True)
        pars = [replace(p, step=float(step.get(p.name, p.step))) for p in pars]
    else:
        scale = check_range("step", step, 0.0, 100.0, lo_open=True)
    full = _full_point(point, s, names)
    if model is None or model.settings != s:
        model = shared_model(s)
    if s.likelihood == "poisson" or s.b_weights == "frozen":
        model.set_reference(full)
    return fisher_from_model(model, full, pars, n_events, priors, s.likelihood,
                             step_scale=scale, check_step=check_step)


def crb_versus_n(point: Mapping[str, float],
                 settings: InformationSettings | Mapping[str, Any] | None = None,
                 n_values: Sequence[float] = DEFAULT_N_VALUES, nuisances: object = None,
                 **kwargs: Any) -> dict[str, Any]:
    """sigma_CRB against the number of J/psi: one Fisher matrix per event, scaled by N (the
    nuisance priors do not scale).  Returns {'n_events': (M,), 'sigma_crb': name -> (M,),
    'point', 'nuisances', 'step_change', 'notes'}; extra keywords go to :func:`fisher_matrix`."""
    n_arr = np.asarray([check_range("n_events", n, 0.0, 1e15, lo_open=True) for n in n_values])
    res = fisher_matrix(point, settings, float(n_arr[0]), nuisances, **kwargs)
    return {"n_events": n_arr, "sigma_crb": sigma_versus_n(res, n_arr), "point": res.point,
            "nuisances": dict(res.priors), "step_change": dict(res.step_change),
            "notes": list(res.notes), "result": res}


def crb_at_points(points: Sequence[Mapping[str, float]] | Mapping[str, Sequence[float]],
                  settings: InformationSettings | Mapping[str, Any] | None = None,
                  n_events: float | None = 1e4, nuisances: object = None,
                  **kwargs: Any) -> dict[str, Any]:
    """sigma_CRB at every point of a test set (a list of dicts, or a dict of label columns as
    returned by ``upclens.data.read_dataset``).  One image model (and cache) serves all points.
    ``n_events`` None: each point's own 'n_events'.  Returns {'sigma_crb': name -> (P,) (nan
    where a point failed), 'n_events': (P,), 'results': [FisherResult | None], 'errors'}."""
    rows = _rows(points)
    s = _settings(settings)
    normalise_nuisances(nuisances)  # bad names fail here, not once per point
    model = shared_model(s)
    results: list[FisherResult | None] = []
    errors: list[str | None] = []
    n_used = []
    for row in rows:
        n = row.get("n_events") if n_events is None else n_events
        if n is None:
            raise ParameterError("n_events", None, "must be given (or a column of the points)")
        n_used.append(float(n))
        try:
            results.append(fisher_matrix(row, s, float(n), nuisances, model=model, **kwargs))
            errors.append(None)
        except ParameterError as exc:  # e.g. a degenerate point; recorded, the rest go on
            results.append(None)
            errors.append(str(exc))
    names = list(SHAPE_PARAMETERS) + [f"{n}_squared" for n in ("beta3",)]
    sigma = {n: np.array([(r.sigma_crb.get(n, math.nan) if r else math.nan) for r in results])
             for n in names}
    return {"sigma_crb": sigma, "n_events": np.asarray(n_used), "results": results,
            "errors": errors}


def _rows(points: Sequence[Mapping[str, float]] | Mapping[str, Sequence[float]]
          ) -> list[dict[str, float]]:
    if isinstance(points, Mapping):
        cols = {k: np.asarray(v, dtype=float).ravel() for k, v in points.items()}
        lengths = {v.size for v in cols.values()}
        if len(lengths) != 1:
            raise ParameterError("points", sorted(cols), "columns must have equal lengths")
        n = lengths.pop()
        return [{k: float(v[i]) for k, v in cols.items()} for i in range(n)]
    return [dict(p) for p in points]
