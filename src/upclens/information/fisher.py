"""Fisher information of a binned image and the Cramer-Rao bound, for any image model.

An image model maps a parameter point (dict name -> value) to the expected pixel yields per
event, m(theta) (any shape; sum 1 at the reference point unless the yield itself changes).

- 'multinomial' (default): the number N of J/psi in the window is given, only the shape counts,
  p = m / sum(m) and I = N sum_i (dp_i)(dp_i)^T / p_i.
- 'poisson' (extended likelihood): the expected counts are mu_i = N m_i(theta) with the
  normalisation known, I = N sum_i (dm_i)(dm_i)^T / m_i.  When sum(m) does not depend on theta
  both are identical (sum_i dp_i = 0 removes the extra term).

Derivatives are finite differences of the model with step h and h/2 (central, or second-order
one-sided next to a bound); the h/2 derivative is used and the change of sigma_CRB between the
two steps is reported as the step-convergence measure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from upclens.errors import ParameterError, check_choice, check_range

LIKELIHOODS = ("multinomial", "poisson")

ImageModel = Callable[[Mapping[str, float]], np.ndarray]


@dataclass
class FisherResult:
    """Fisher matrix of one point and its Cramer-Rao bound.

    ``names``: parameters of ``matrix`` (K,), shape parameters first, then nuisances.
    ``matrix``: (K, K) Fisher information for ``n_events`` J/psi, nuisance priors included.
    ``per_event``: (K, K) Fisher information of one J/psi, without priors.
    ``priors``: prior widths of the nuisance parameters (same units as the parameter).
    ``sigma_crb``: name -> sqrt(diag(I^-1)) with nuisances marginalised; inf where the bound is
    undefined (a parameter at a boundary where the image depends on its square only; the
    regular bound on its square is then given as ``'<name>_squared'``).
    ``step_change``: name -> relative change of sigma_CRB between steps h and h/2.
    """

    names: list[str]
    matrix: np.ndarray
    per_event: np.ndarray
    n_events: float
    point: dict[str, float]
    priors: dict[str, float]
    likelihood: str
    sigma_crb: dict[str, float]
    steps: dict[str, float]
    step_change: dict[str, float]
    notes: list[str] = field(default_factory=list)

    @property
    def converged(self) -> bool:
        """True when every finite sigma_CRB changed by < 1 % when the step was halved."""
        return all(v < 0.01 for v in self.step_change.values() if math.isfinite(v))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (inf written as None)."""
        from upclens.io import json_ready

        return json_ready({"names": self.names, "matrix": self.matrix,
                           "per_event": self.per_event, "n_events": self.n_events,
                           "point": self.point, "priors": self.priors,
                           "likelihood": self.likelihood, "sigma_crb": self.sigma_crb,
                           "steps": self.steps, "step_change": self.step_change,
                           "converged": self.converged, "notes": self.notes})


@dataclass(frozen=True)
class Parameter:
    """One differentiable parameter: finite-difference step and allowed [lo, hi].

    ``even``: the image depends on the parameter through its square only (beta3), so at
    ``lo = 0`` its derivative vanishes and the bound on the square is reported instead.
    """

    name: str
    step: float
    lo: float = -math.inf
    hi: float = math.inf
    even: bool = False


def stencil(x: float, h: float, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and weights of a second-order first derivative at ``x`` with step ``h``:
    central when [x - h, x + h] fits in [lo, hi], else one-sided (forward or backward)."""
    if x - h >= lo and x + h <= hi:
        return np.array([-h, h]), np.array([-0.5, 0.5]) / h
    if x + 2 * h <= hi:
        return np.array([0.0, h, 2 * h]), np.array([-1.5, 2.0, -0.5]) / h
    if x - 2 * h >= lo:
        return np.array([0.0, -h, -2 * h]), np.array([1.5, -2.0, 0.5]) / h
    raise ParameterError("step", h, f"too large for a derivative at {x} inside [{lo}, {hi}]")


def _derivative(model: ImageModel, point: Mapping[str, float], par: Parameter,
                h: float) -> np.ndarray:
    """dm/dtheta of ``par`` (or dm/d(theta^2) at an even parameter's zero bound)."""
    x = float(point[par.name])
    if par.even and x == par.lo == 0.0:
        # m depends on u = x^2: differentiate in u with the one-sided stencil in u (step h^2).
        offsets, weights = stencil(0.0, h * h, 0.0, par.hi**2)
        values = [np.sqrt(u) for u in offsets]
    else:
        offsets, weights = stencil(x, h, par.lo, par.hi)
        values = [x + d for d in offsets]
    out = 0.0
    for v, w in zip(values, weights, strict=True):
        out = out + w * model({**point, par.name: float(v)})
    return np.asarray(out, dtype=float)


ROUND_OFF = 1e-11
"""A derivative whose change over its step is below this fraction of the largest yield is
round-off: the parameter carries no information there."""


def information_per_event(m0: np.ndarray, derivs: Sequence[np.ndarray],
                          likelihood: str = "multinomial",
                          steps: Sequence[float] | None = None) -> np.ndarray:
    """Fisher matrix of one event from expected yields ``m0`` and derivatives (K arrays).

    Pixels with m0 = 0 carry no information (their derivatives vanish for a physical model).
    ``steps``: the finite-difference steps; derivatives at round-off level are set to zero.
    """
    check_choice("likelihood", likelihood, LIKELIHOODS)
    m0 = np.asarray(m0, dtype=float).ravel()
    d = np.stack([np.asarray(x, dtype=float).ravel() for x in derivs])
    if likelihood == "multinomial":
        total = m0.sum()
        p = m0 / total
        d = d / total - np.outer(d.sum(axis=1) / total, p)  # derivative of m / sum(m)
    else:
        p = m0
    if steps is not None:
        change = np.max(np.abs(d), axis=1) * np.asarray(steps, dtype=float)
        d = np.where((change <= ROUND_OFF * p.max())[:, None], 0.0, d)
    live = p > 0
    dl = d[:, live]
    return (dl / p[live]) @ dl.T


def crb_sigma(fisher: np.ndarray) -> np.ndarray:
    """sqrt(diag(I^-1)) (K,); inf for parameters whose information is zero (exactly
    decoupled rows, e.g. beta3 at 0); raises ParameterError for a singular coupled matrix."""
    fisher = np.asarray(fisher, dtype=float)
    k = fisher.shape[0]
    scale = np.sqrt(np.abs(np.diag(fisher)))
    dead = scale == 0
    sigma = np.full(k, math.inf)
    live = ~dead
    if live.any():
        sub = fisher[np.ix_(live, live)] / np.outer(scale[live], scale[live])
        cond = np.linalg.cond(sub)
        if not np.isfinite(cond) or cond > 1e14:
            raise ParameterError("fisher matrix", f"condition number {cond:.3g}",
                                 "must be invertible: parameters degenerate without a prior")
        cov = np.linalg.inv(sub) / np.outer(scale[live], scale[live])
        sigma[live] = np.sqrt(np.diag(cov))
    return sigma


def add_priors(per_event: np.ndarray, names: Sequence[str], n_events: float,
               priors: Mapping[str, float]) -> np.ndarray:
    """n_events * per_event plus 1/width^2 on the diagonal of every prior (width inf: none)."""
    fisher = float(n_events) * np.asarray(per_event, dtype=float)
    for i, name in enumerate(names):
        width = priors.get(name, math.inf)
        if math.isfinite(width):
            fisher[i, i] += 1.0 / width**2
    return fisher


def fisher_from_model(model: ImageModel, point: Mapping[str, float],
                      parameters: Sequence[Parameter], n_events: float,
                      priors: Mapping[str, float] | None = None,
                      likelihood: str = "multinomial", step_scale: float = 1.0,
                      check_step: bool = True) -> FisherResult:
    """Fisher matrix and Cramer-Rao bound of ``parameters`` at ``point`` for ``n_events``.

    ``priors``: Gaussian widths of nuisance parameters (a width of 0 fixes the parameter, i.e.
    removes it; inf leaves it free).  ``step_scale`` multiplies every parameter's step.
    ``check_step``: also differentiate with twice the step and report the change of sigma.
    """
    check_range("n_events", n_events, 0.0, 1e15, lo_open=True)
    check_range("step_scale", step_scale, 0.0, 1e3, lo_open=True)
    check_choice("likelihood", likelihood, LIKELIHOODS)
    priors = dict(priors or {})
    for name, width in priors.items():
        if not width >= 0:  # also rejects NaN
            raise ParameterError(f"prior width of {name}", width, "must be >= 0 (0 fixes it)")
    pars = [p for p in parameters if priors.get(p.name, math.inf) != 0.0]
    missing = [p.name for p in pars if p.name not in point]
    if missing:
        raise ParameterError("point", sorted(point), "must give " + ", ".join(missing))
    m0 = np.asarray(model(point), dtype=float)
    steps = {p.name: p.step * step_scale for p in pars}
    fine = [_derivative(model, point, p, steps[p.name] / 2) for p in pars]
    names = [_name(p, point) for p in pars]
    half = [steps[p.name] / 2 for p in pars]
    per_event = information_per_event(m0, fine, likelihood, half)
    sig = _sigmas(per_event, names, n_events, priors)
    change = dict.fromkeys(names, math.nan)
    if check_step:
        coarse = [_derivative(model, point, p, steps[p.name]) for p in pars]
        full = [steps[p.name] for p in pars]
        sig_c = _sigmas(information_per_event(m0, coarse, likelihood, full), names, n_events,
                        priors)
        change = {n: _rel_change(sig[n], sig_c[n]) for n in names}
    notes = []
    for p, n in zip(pars, names, strict=True):
        if n != p.name:
            sig[p.name] = math.inf
            notes.append(f"{p.name} = 0 is at the boundary where the image depends on "
                         f"{p.name}^2 only: the bound on {p.name} is undefined; the bound on "
                         f"{n} is given instead")
    return FisherResult(names=names, matrix=add_priors(per_event, names, n_events, priors),
                        per_event=per_event, n_events=float(n_events),
                        point={k: float(v) for k, v in point.items()},
                        priors={n: priors[n] for n in names if n in priors},
                        likelihood=likelihood, sigma_crb=sig,
                        steps={p.name: steps[p.name] / 2 for p in pars}, step_change=change,
                        notes=notes)


def _name(par: Parameter, point: Mapping[str, float]) -> str:
    if par.even and float(point[par.name]) == par.lo == 0.0:
        return f"{par.name}_squared"
    return par.name


def _sigmas(per_event: np.ndarray, names: Sequence[str], n_events: float,
            priors: Mapping[str, float]) -> dict[str, float]:
    sigma = crb_sigma(add_priors(per_event, names, n_events, priors))
    return {n: float(s) for n, s in zip(names, sigma, strict=True)}


def _rel_change(a: float, b: float) -> float:
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.nan
    return abs(a - b) / a if a > 0 else 0.0


def sigma_versus_n(result: FisherResult, n_values: Sequence[float]) -> dict[str, np.ndarray]:
    """sigma_CRB of every parameter for each N in ``n_values`` (the per-event information
    scales with N, the nuisance priors do not): name -> (len(n_values),)."""
    out: dict[str, list[float]] = {n: [] for n in result.sigma_crb}
    for n in n_values:
        check_range("n_events", n, 0.0, 1e15, lo_open=True)
        sig = _sigmas(result.per_event, result.names, n, result.priors)
        for name in out:
            out[name].append(sig.get(name, math.inf))
    return {k: np.asarray(v) for k, v in out.items()}


def sigma_fixed(result: FisherResult, fixed: Sequence[str],
                n_events: float | None = None) -> dict[str, float]:
    """sigma_CRB with the parameters ``fixed`` known exactly (their rows removed), from the
    stored per-event matrix; the other priors are kept.  n_events: default the result's."""
    keep = [i for i, n in enumerate(result.names) if n not in set(fixed)]
    names = [result.names[i] for i in keep]
    sub = result.per_event[np.ix_(keep, keep)]
    return _sigmas(sub, names, result.n_events if n_events is None else n_events, result.priors)
