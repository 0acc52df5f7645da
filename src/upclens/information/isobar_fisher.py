"""Fisher information of the isobar ratio measurement: how well N J/psi per species of Ru+Ru and
Zr+Zr measure the DIFFERENCES of the two nuclei's structure,

    d_beta2sq = beta2^2(Ru) - beta2^2(Zr),  d_beta3sq = beta3^2(Ru) - beta3^2(Zr),
    d_rnp = Delta r_np(Ru) - Delta r_np(Zr)  (fm),

with the b direction unknown, from the per-event density of
:mod:`upclens.information.events_model` through the analyses of
:mod:`upclens.information.event_fisher` (no second density model).

- Each species is a :class:`SpeciesPoint` (its own preset: Z, R, a; its own structure).  The
  deformations are parametrised by beta^2: the orientation-averaged density depends on beta3
  through beta3^2 (parity) and is smooth in beta2^2, whereas the information on beta itself
  vanishes at beta = 0 (Ru's beta3).  beta = +sqrt(beta^2) (the presets' signs are positive).
- Only shapes count (per-event densities normalised in the window): the ratio of the species
  cancels flux, efficiency and luminosity.
- The samples are independent: the joint Fisher matrix over (Ru structure, Zr structure,
  R and a per species, the shared sigma_J/psiN scale) is N_Ru I_Ru + N_Zr I_Zr, block-embedded,
  plus the Gaussian nuisance priors; it is transformed to (differences, the base species'
  structure, nuisances) with the Jacobian of theta_Ru = d + theta_Zr and inverted, which
  marginalises everything but each difference.
- N for k sigma: the N per species at which |model difference| / sigma(N) = k, by bisection in
  log N (sigma falls monotonically with N; with the priors it is not exactly 1/sqrt(N)).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from upclens.errors import ParameterError, check_choice, check_range
from upclens.information.event_fisher import EventAnalysis, EventModel
from upclens.information.events_model import DensityCache, EngineSettings
from upclens.information.fisher import FisherResult, Parameter, crb_sigma, fisher_from_model
from upclens.information.model import PARAMETERS, normalise_nuisances
from upclens.physics.nucleus import BETA2_RANGE, BETA3_RANGE

DIFFERENCES = ("d_beta2sq", "d_beta3sq", "d_rnp")
"""The differences (first species minus second), in the order of :data:`STRUCTURE`."""
STRUCTURE = ("beta2_sq", "beta3_sq", "delta_rnp")
"""Structure parameters of one species: beta2^2, beta3^2, Delta r_np (fm)."""
SQUARED_STEP = 0.002
"""Finite-difference step h in beta^2 (h/2 = 0.001 is used; h checks it): at beta = 0.158 the
used step is d beta = 0.003 (the event Fisher's beta step is 0.005); one-sided at beta^2 = 0.
Halving the used step once more moves the per-species sigma by <= 0.7 % (docs/physics.md)."""
SQUARED = {"beta2_sq": Parameter("beta2_sq", SQUARED_STEP, 0.0, max(BETA2_RANGE) ** 2),
           "beta3_sq": Parameter("beta3_sq", SQUARED_STEP, 0.0, max(BETA3_RANGE) ** 2)}
SHARED = ("sigma_vn_scale",)
"""Nuisances shared by the species (the same J/psi-nucleon physics); R and a are per species."""
N_GRID = (100.0, 200.0, 500.0, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7,
          1e8)
"""J/psi per species at which the bound file gives sigma(difference)."""
N_MAX = 1e12
"""Largest N per species searched for a k-sigma observation (beyond: inf)."""


@dataclass(frozen=True)
class SpeciesPoint:
    """One isobar at its model point: label ('Ru'), preset name ('Ru96': Z, A, the protons'
    Woods-Saxon R and a in fm), beta2, beta3, Delta r_np (fm) and the skin type."""

    label: str
    nucleus: str
    beta2: float
    beta3: float
    delta_rnp: float
    skin_type: str = "halo"

    def point(self) -> dict[str, float]:
        """The parameter point in the beta^2 parametrisation, nuisances at the preset."""
        from upclens.physics.presets import preset

        p = preset(self.nucleus)
        return {"beta2_sq": self.beta2**2, "beta3_sq": self.beta3**2,
                "delta_rnp": self.delta_rnp, "R": p.R, "a": p.a, "sigma_vn_scale": 1.0}

    def structure(self) -> dict[str, float]:
        """beta2^2, beta3^2, Delta r_np (fm)."""
        pt = self.point()
        return {k: pt[k] for k in STRUCTURE}


class SquaredModel:
    """An :class:`EventModel` read at beta2 = sqrt(beta2_sq), beta3 = sqrt(beta3_sq)."""

    def __init__(self, model: EventModel) -> None:
        self.model = model

    def __call__(self, point: Mapping[str, float]) -> np.ndarray:
        p = dict(point)
        for name in ("beta2", "beta3"):
            u = float(p.pop(f"{name}_sq"))
            if u < 0:
                raise ParameterError(f"{name}_sq", u, "must be >= 0")
            p[name] = math.sqrt(u)
        return self.model(p)


def species_parameters() -> list[Parameter]:
    """(beta2_sq, beta3_sq, delta_rnp, R, a, sigma_vn_scale) with their steps."""
    return [SQUARED["beta2_sq"], SQUARED["beta3_sq"], PARAMETERS["delta_rnp"],
            PARAMETERS["R"], PARAMETERS["a"], PARAMETERS["sigma_vn_scale"]]


def engine_for(species: SpeciesPoint, pt_max: float = 0.2, y_max: float = 1.0,
               **options: Any) -> EngineSettings:
    """The event engine of one species (vector photon, pointwise flux by default)."""
    return EngineSettings(nucleus=species.nucleus, skin_type=species.skin_type, pt_max=pt_max,
                          y_max=y_max, **options)


def species_fisher(species: SpeciesPoint, analysis: EventAnalysis, cache: DensityCache,
                   priors: Mapping[str, float] | None = None, check_step: bool = True,
                   step_scale: float = 1.0, n_events: float = 1e4) -> FisherResult:
    """Per-event Fisher matrix of one species (shape only, ``per_event``, no priors) over
    (beta2_sq, beta3_sq, delta_rnp, R, a, sigma_vn_scale); ``priors`` and ``n_events`` only
    enter its own sigma_CRB and the step check (as in ``event_fisher``)."""
    if cache.engine.nucleus.lower() != species.nucleus.lower():
        raise ParameterError("cache", cache.engine.nucleus, f"must be of {species.nucleus}")
    model = SquaredModel(EventModel(analysis, cache))
    pri = dict(normalise_nuisances("R,a,sigma") if priors is None else priors)
    return fisher_from_model(model, species.point(), species_parameters(), n_events, pri,
                             "multinomial", step_scale=step_scale, check_step=check_step)


# -- the joint matrix and the differences ---------------------------------------------------------
def joint_names(labels: Sequence[str], names: Sequence[str], shared: Sequence[str] = SHARED
                ) -> list[str]:
    """Parameters of the joint matrix: the structure of each species, then its other
    non-shared parameters, then the shared ones ('R[Ru]', ..., 'sigma_vn_scale')."""
    own = [n for n in names if n not in shared]
    out = [f"{n}[{s}]" for s in labels for n in own if n in STRUCTURE]
    out += [f"{n}[{s}]" for s in labels for n in own if n not in STRUCTURE]
    return out + [n for n in names if n in shared]


def joint_information(results: Mapping[str, FisherResult], n_events: Mapping[str, float],
                      priors: Mapping[str, float], shared: Sequence[str] = SHARED
                      ) -> tuple[list[str], np.ndarray]:
    """(names, F): sum over species of N_s I_s embedded into the joint parameters, plus
    1/width^2 for every nuisance prior (per species for R and a, once for a shared one).  A
    prior width 0 fixes the parameter (its row is removed)."""
    labels = list(results)
    first = results[labels[0]].names
    for r in results.values():
        if r.names != first:
            raise ParameterError("results", r.names, f"must all have the parameters {first}")
    names = joint_names(labels, first, shared)
    index = {n: i for i, n in enumerate(names)}
    fisher = np.zeros((len(names), len(names)))
    for s in labels:
        check_range(f"N of {s}", n_events[s], 0.0, 1e15)
        pos = [index[n if n in shared else f"{n}[{s}]"] for n in first]
        fisher[np.ix_(pos, pos)] += float(n_events[s]) * results[s].per_event
    for n, i in index.items():
        width = priors.get(n.split("[")[0], math.inf)
        if math.isfinite(width) and width > 0:
            fisher[i, i] += 1.0 / width**2
    keep = [i for i, n in enumerate(names) if priors.get(n.split("[")[0], math.inf) != 0.0]
    return [names[i] for i in keep], fisher[np.ix_(keep, keep)]


def difference_jacobian(names: Sequence[str], labels: Sequence[str], base: str
                        ) -> tuple[list[str], np.ndarray]:
    """(new names, J) with theta = J phi: phi holds the differences first - second, the base
    species' structure and every other parameter unchanged.  first = d + second (base second)
    or second = first - d (base first)."""
    first, second = labels
    check_choice("base", base, labels)
    other = second if base == first else first
    sign = 1.0 if other == first else -1.0
    new = list(names)
    jac = np.eye(len(names))
    index = {n: i for i, n in enumerate(names)}
    for d, s in zip(DIFFERENCES, STRUCTURE, strict=True):
        i_other, i_base = index[f"{s}[{other}]"], index[f"{s}[{base}]"]
        new[i_other] = d
        jac[i_other, i_other] = sign  # theta_other = sign d + theta_base
        jac[i_other, i_base] = 1.0
    return new, jac


def difference_sigma(results: Mapping[str, FisherResult], n_per_species: float,
                     priors: Mapping[str, float], base: str | None = None,
                     shared: Sequence[str] = SHARED) -> dict[str, float]:
    """sigma_CRB of each difference (first species minus second in ``results``' order) for
    ``n_per_species`` J/psi of each species, every other parameter marginalised."""
    labels = list(results)
    if len(labels) != 2:
        raise ParameterError("results", labels, "must hold exactly two species")
    check_range("n_per_species", n_per_species, 0.0, 1e15, lo_open=True)
    names, fisher = joint_information(results, dict.fromkeys(labels, n_per_species), priors,
                                      shared)
    new, jac = difference_jacobian(names, labels, labels[1] if base is None else base)
    sigma = crb_sigma(jac.T @ fisher @ jac)
    return {d: float(sigma[new.index(d)]) for d in DIFFERENCES}


def model_differences(first: SpeciesPoint, second: SpeciesPoint) -> dict[str, float]:
    """The model's differences first - second (beta^2 dimensionless, Delta r_np in fm)."""
    a, b = first.structure(), second.structure()
    return {d: a[s] - b[s] for d, s in zip(DIFFERENCES, STRUCTURE, strict=True)}


def n_for_significance(results: Mapping[str, FisherResult], differences: Mapping[str, float],
                       k: float, priors: Mapping[str, float], n_max: float = N_MAX
                       ) -> dict[str, float]:
    """N per species at which |difference| / sigma(N) = k for each difference: bisection in
    log N to 1e-6 (sigma falls monotonically with N); inf when n_max is not enough or the
    difference is 0; 1 when one J/psi per species already does it."""
    check_range("k", k, 0.0, math.inf, lo_open=True, hi_open=True)
    out = {}
    for d in DIFFERENCES:
        target = abs(differences[d]) / k
        if target == 0 or not difference_sigma(results, n_max, priors)[d] <= target:
            out[d] = math.inf
            continue
        if difference_sigma(results, 1.0, priors)[d] <= target:
            out[d] = 1.0
            continue
        lo, hi = 0.0, math.log(n_max)
        while hi - lo > 1e-6:
            mid = 0.5 * (lo + hi)
            if difference_sigma(results, math.exp(mid), priors)[d] <= target:
                hi = mid
            else:
                lo = mid
        out[d] = math.exp(hi)
    return out


# -- the columns and the table --------------------------------------------------------------------
CLASS_SELECTIONS: dict[str, tuple[str, ...]] = {"XnXn": ("XnXn",), "0nXn": ("0nXn",),
                                                 "XnXn + 0nXn": ("0nXn", "XnXn")}
"""The neutron-class selections of the isobar study (both together: each event tagged)."""


def isobar_columns(detector: str = "star", channel: str = "ee", pt_max: float = 0.2,
                   selections: Mapping[str, tuple[str, ...]] | None = None
                   ) -> dict[str, EventAnalysis]:
    """b direction unknown, rapidity nodes of |y| < 1, the detector's acceptance; per class
    selection the pT only (the daughter angle integrated out inside the acceptance) and pT with
    the daughter angle."""
    out = {}
    for label, classes in (selections or CLASS_SELECTIONS).items():
        a = EventAnalysis(channel=channel, rapidity=True, detector=detector, pt_max=pt_max,
                          neutron_classes=tuple(classes), angle=False)
        out[f"{label}: pT"] = a
        out[f"{label}: pT + daughter angle"] = replace(a, angle=True)
    return out


def isobar_table(species: Sequence[SpeciesPoint], analyses: Mapping[str, EventAnalysis],
                 engines: Mapping[str, EngineSettings] | None = None,
                 n_values: Sequence[float] = N_GRID, nuisances: object = "R,a,sigma",
                 check_step: bool = True, significance: Sequence[float] = (3.0, 5.0)
                 ) -> dict[str, Any]:
    """sigma(difference) at every N per species for every analysis (column), with the nuisance
    priors and with the nuisances known, and the N for each k-sigma observation.  Returns
    {'species', 'differences' (model values), 'n_values', 'nuisances', 'shared', 'columns':
    [{name, analysis, sigma: d -> [per N], sigma_known, n_for: {'3': d -> N}, step_change:
    species -> name -> change, per_event: species -> K x K, names}], 'engines'}."""
    if len(species) != 2:
        raise ParameterError("species", [s.label for s in species], "must be two species")
    for n in n_values:
        check_range("n per species", n, 0.0, 1e15, lo_open=True)
    priors = normalise_nuisances(nuisances)
    known = {n: 0.0 for n in ("R", "a", "sigma_vn_scale")}
    engines = dict(engines or {s.label: engine_for(s) for s in species})
    caches = {s.label: DensityCache(engines[s.label]) for s in species}
    diffs = model_differences(species[0], species[1])
    rows = []
    for name, analysis in analyses.items():
        res = {s.label: species_fisher(s, analysis, caches[s.label], priors,
                                       check_step=check_step) for s in species}
        sig = [difference_sigma(res, n, priors) for n in n_values]
        sig_k = [difference_sigma(res, n, known) for n in n_values]
        rows.append({
            "name": name, "analysis": asdict(analysis),
            "sigma": {d: [s[d] for s in sig] for d in DIFFERENCES},
            "sigma_known": {d: [s[d] for s in sig_k] for d in DIFFERENCES},
            "n_for": {f"{k:g}": n_for_significance(res, diffs, k, priors)
                      for k in significance},
            "n_for_known": {f"{k:g}": n_for_significance(res, diffs, k, known)
                            for k in significance},
            "step_change": {lab: dict(r.step_change) for lab, r in res.items()},
            "per_event": {lab: r.per_event.tolist() for lab, r in res.items()},
            "names": res[species[0].label].names})
    return {"species": {s.label: asdict(s) for s in species}, "differences": diffs,
            "difference_of": f"{species[0].label} - {species[1].label}",
            "n_values": [float(n) for n in n_values], "nuisances": priors,
            "shared": list(SHARED), "columns": rows,
            "engines": {k: asdict(v) for k, v in engines.items()}}


def largest_step_change(table: Mapping[str, Any]) -> float:
    """The largest relative change of a per-species sigma_CRB when the step was halved."""
    out = 0.0
    for row in table["columns"]:
        for changes in row["step_change"].values():
            for v in changes.values():
                if v is not None and math.isfinite(v):
                    out = max(out, float(v))
    return out


# -- the bound file -------------------------------------------------------------------------------
BOUND_FILE = "sensitivity.json"


def write_bound(table: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``table`` (of :func:`isobar_table`) as the bound file, atomically (inf as null)."""
    from upclens.io import json_ready, write_json

    path = Path(path)
    write_json(json_ready(dict(table)), path, indent=1)
    return path


def read_difference_bound(path: str | Path, column: str) -> dict[float, dict[str, float]]:
    """{N per species: {difference name: sigma_CRB}} of ``column`` in the bound file at ``path``
    (nuisance priors marginalised); names d_beta2sq, d_beta3sq (dimensionless), d_rnp (fm)."""
    data = json.loads(Path(path).read_text())
    names = [c["name"] for c in data["columns"]]
    if column not in names:
        raise ParameterError("column", column, "must be one of " + ", ".join(names))
    row = data["columns"][names.index(column)]
    return {float(n): {d: (math.inf if row["sigma"][d][i] is None else float(row["sigma"][d][i]))
                       for d in DIFFERENCES}
            for i, n in enumerate(data["n_values"])}
