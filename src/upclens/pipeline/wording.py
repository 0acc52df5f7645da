"""The report's words: every number of the study named in words with its unit.

The headline numbers keep a short key each (the key of metrics.json, for scripts); the page
shows only the words.  Table columns are phrases, parameter and observable names are spelled
out (``delta_rnp`` is "Delta r_np", ``v2[0-0.05]`` is "v2 at pT in [0, 0.05] GeV").
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from upclens.pipeline.results import (
    AliceFit,
    EvaluateResult,
    EventSelectionSummary,
    Headline,
    LadderRowSummary,
    PublishedRow,
    RegionShare,
    SensitivityRow,
    SkinScores,
    SmallestN,
    TargetScores,
)

PARAMETERS = {"beta2": ("beta2", ""), "beta3": ("beta3", ""), "delta_rnp": ("Delta r_np", "fm"),
              "skin": ("skin class", "")}
"""Name -> (words, unit) of the network's tasks."""

OBSERVABLES = {"bright_area": ("bright-spot area", "GeV^2"),
               "dark_fringe": ("dark-fringe depth", ""),
               "mean_pt": ("mean pT", "GeV"),
               "low_pt_ratio": ("low-pT ratio", "")}

PRIORS = {"R": ("the protons' Woods-Saxon R", "fm"), "a": ("their diffuseness a", "fm"),
          "sigma_vn_scale": ("sigma_J/psiN", "relative")}

DIMENSIONLESS = "dimensionless"


@dataclass(frozen=True)
class Number:
    """One headline number: its metrics.json ``key``, its name in ``words``, its ``unit``."""

    key: str
    words: str
    unit: str
    value: Any


def words(name: str) -> str:
    """A parameter's name in words ('Delta r_np')."""
    return PARAMETERS.get(name, (name.replace("_", " "), ""))[0]


def unit(name: str) -> str:
    """A parameter's unit ('fm'; 'dimensionless' for the deformations)."""
    return PARAMETERS.get(name, ("", ""))[1] or DIMENSIONLESS


def _with_unit(name: str) -> str:
    u = PARAMETERS.get(name, ("", ""))[1]
    return f"{words(name)} ({u})" if u else words(name)


def observable_words(name: str) -> str:
    """An observable's name in words with its unit ('mean pT (GeV)')."""
    if name in OBSERVABLES:
        text, u = OBSERVABLES[name]
        return f"{text} ({u})" if u else text
    match = re.fullmatch(r"v(\d+)\[([\d.]+)-([\d.]+)\]", name)
    if match:
        n, lo, hi = match.groups()
        return f"v{n} at pT in [{lo}, {hi}] GeV"
    return name.replace("_", " ")


# -- headline numbers ---------------------------------------------------------------------------
def accuracy_numbers(evaluated: EvaluateResult) -> list[Number]:
    """R^2, RMSE and 68 % coverage (with its sampling spread) per target, skin accuracy and
    ROC AUC."""
    out = []
    for name, s in evaluated.targets.items():
        w = words(name)
        out += [Number(f"r2_{name}", f"R^2 of the network's {w} on the test split",
                       DIMENSIONLESS, s.r2),
                Number(f"rmse_{name}", f"RMSE of the network's {w} on the test split",
                       unit(name), s.rmse),
                Number(f"coverage68_{name}", f"share of test images whose 68 % interval of {w} "
                       "covers the truth", "fraction", s.coverage_68),
                Number(f"coverage68_spread_{name}", f"expected sampling spread of that {w} "
                       "coverage", "fraction", s.coverage_68_spread)]
    skin = evaluated.skin
    out += [Number("skin_accuracy", "skin classification accuracy on the test split",
                   "fraction", skin.accuracy),
            Number("skin_roc_auc", "skin classification ROC AUC on the test split",
                   DIMENSIONLESS, skin.roc_auc)]
    return out


def condition_words(condition: str) -> str:
    """A measurement condition of the headline table in words ('b fixed, 10 % incoherent
    background and 10 MeV smearing')."""
    from upclens.information.headline import BACKGROUND

    text = condition.replace("fixed b direction", "b fixed").replace(
        "random b direction", "b direction random")
    return text.replace(", background", f", {100 * BACKGROUND['incoherent_fraction']:g} % "
                        f"incoherent background and {1000 * BACKGROUND['smearing']:g} MeV "
                        "smearing")


def smallest_n_numbers(table: Headline) -> list[Number]:
    """The smallest N J/psi for the skin target under each condition, protons known and with
    priors (keys as ``n_jpsi_delta_rnp_0.05fm_fixed_b_direction_protons_known``)."""
    out = []
    for row in table.rows:
        key = row.condition.replace(",", "").replace(" ", "_")
        stem = (f"N J/psi for sigma(Delta r_np) = {table.target:g} fm, "
                f"{condition_words(row.condition)}")
        out += [Number(f"n_jpsi_delta_rnp_{table.target:g}fm_{key}_protons_known",
                       f"{stem}, protons known", "J/psi", row.n_known),
                Number(f"n_jpsi_delta_rnp_{table.target:g}fm_{key}_nuisance_priors",
                       f"{stem}, protons' R, a and sigma_J/psiN from priors", "J/psi",
                       row.n_priors)]
    return out


def alice_number(fit: AliceFit) -> Number:
    """chi2 per degree of freedom of the ALICE comparison."""
    return Number("alice_pb208_chi2_per_ndf",
                  "chi2 per degree of freedom of the coherent Pb208 |t| spectrum at 5.02 TeV "
                  "against ALICE (free normalisation)", DIMENSIONLESS, fit.chi2 / fit.ndf)


# -- table rows ---------------------------------------------------------------------------------
def target_row(name: str, s: TargetScores) -> dict[str, Any]:
    """One target's test scores."""
    return {"target": words(name), "unit of RMSE and MAE": unit(name), "R^2": s.r2,
            "RMSE": s.rmse, "mean absolute error (MAE)": s.mae,
            "68 % interval coverage (fraction)": s.coverage_68,
            "its expected sampling spread": s.coverage_68_spread,
            "95 % interval coverage (fraction)": s.coverage_95}


def skin_rows(skin: SkinScores) -> list[dict[str, Any]]:
    """The skin classification's numbers, one row each."""
    rows = [("accuracy (fraction of test images)", skin.accuracy), ("ROC AUC", skin.roc_auc),
            ("Delta r_np above which a nucleus has a skin (fm)", skin.threshold_fm),
            ("accuracy of the class read from the regressed Delta r_np (fraction)",
             skin.accuracy_from_delta_rnp)]
    return [{"skin classification": text, "value": value} for text, value in rows
            if value is not None]


def point_words(point: Mapping[str, float]) -> str:
    """'beta2 = 0.15, beta3 = 0.15, Delta r_np = 0.1 fm'."""
    return ", ".join(f"{words(k)} = {v:g}" + (f" {unit(k)}" if unit(k) == "fm" else "")
                     for k, v in point.items())


def values_words(values: Mapping[str, float | None]) -> str:
    """'beta2 0.0921, beta3 0.0858, Delta r_np 0.0914 fm'."""
    return ", ".join(f"{words(k)} " + ("n/a" if v is None else f"{v:.3g}")
                     + (" fm" if unit(k) == "fm" else "") for k, v in values.items())


def crb_row(row: Mapping[str, float]) -> dict[str, Any]:
    """One row of the bound table with its columns in words ('sigma_CRB(Delta r_np) (fm),
    R, a from priors')."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        match = re.fullmatch(r"sigma (\w+)( \(R, a priors\))?", key)
        if match is None:
            out[key] = value
            continue
        name, priors = match.groups()
        u = f" ({unit(name)})" if unit(name) == "fm" else ""
        out[f"sigma_CRB({words(name)}){u}" + (", R, a from priors" if priors else "")] = value
    return out


def prior_words(name: str, width: float) -> str:
    """'the protons' Woods-Saxon R +-0.02 fm'; sigma_J/psiN as a percentage."""
    text, u = PRIORS.get(name, (name, ""))
    if u == "relative":
        return f"{text} +-{100 * width:g} %"
    return f"{text} +-{width:g} {u}".rstrip()


def smallest_n_row(row: SmallestN) -> dict[str, Any]:
    """One condition of the smallest-N table."""
    from upclens.information.headline import headline_table

    defaults = inspect.signature(headline_table).parameters
    n_ref = f"{defaults['n_reference'].default:.0e}".replace("+0", "")
    n_large = f"{defaults['n_large'].default:.0e}".replace("+0", "")
    return {"condition": condition_words(row.condition),
            "N J/psi, protons known": row.n_known,
            "N J/psi, priors": row.n_priors,
            f"sigma_CRB(Delta r_np) at {n_ref} J/psi, protons known (fm)": row.sigma_known,
            f"sigma_CRB(Delta r_np) at {n_ref} J/psi, priors (fm)": row.sigma_priors,
            f"sigma_CRB(Delta r_np) at {n_large} J/psi, priors (fm)": row.sigma_priors_large}


def region_row(task: str, share: RegionShare) -> dict[str, Any]:
    """Where one task's relevance lies."""
    return {"task": words(task), "share in the bright-spot edge": share.edge,
            "edge enrichment": share.edge_enrichment,
            "share in the dark fringes": share.fringe,
            "fringe enrichment": share.fringe_enrichment, "share elsewhere": share.other}


def sensitivity_row(r: SensitivityRow) -> dict[str, Any]:
    """One (observable, parameter) pair of the sensitivity study."""
    return {"observable": observable_words(r.observable), "parameter": _with_unit(r.parameter),
            "Pearson correlation": r.pearson,
            "partial slope (observable unit per parameter unit)": r.partial_slope,
            "its error": r.partial_slope_err,
            "separation (residual standard deviations)": r.separation}


def ladder_row(r: LadderRowSummary) -> dict[str, Any]:
    """One rung of the realism ladder."""
    return {"row": r.row, "what it adds": r.title,
            "J/psi per image": "exact average" if r.n_events is None else r.n_events,
            "R^2 beta2": r.r2_beta2, "R^2 beta3": r.r2_beta3, "R^2 Delta r_np": r.r2_delta_rnp,
            "RMSE Delta r_np (fm)": r.rmse_delta_rnp,
            "sigma_CRB Delta r_np (fm)": r.sigma_crb_delta_rnp,
            "RMSE / sigma_CRB, Delta r_np": r.ratio_delta_rnp,
            "skin accuracy (fraction)": r.skin_accuracy}


def nucleus_words(nucleus: Mapping[str, Any]) -> str:
    """'Zr96 with beta2 = 0.15, beta3 = 0.15, Delta r_np = 0.1 fm'."""
    shape = {k: v for k, v in nucleus.items() if k != "name"}
    return f"{nucleus['name']} with {point_words(shape)}"


def range_words(bounds: list[float]) -> str:
    """'y = 0' for one value, '-1 < y < 1' for a range."""
    lo, hi = bounds
    return f"y = {lo:g}" if lo == hi else f"{lo:g} < y < {hi:g}"


def selection_row(s: EventSelectionSummary) -> dict[str, Any]:
    """Events one selection keeps and their neutron classes."""
    row: dict[str, Any] = {"selection": s.selection, "events kept": s.n_events}
    for c, share in s.class_fractions.items():
        row[f"share in class {c} (fraction)"] = share
    return row


def cos_n_rows(selections: list[EventSelectionSummary]) -> list[dict[str, Any]]:
    """One row per pair-pT bin: <cos 2 Delta phi> and <cos 4 Delta phi> with their errors
    for each selection (dimensionless)."""
    edges = selections[0].cos2.edges
    rows = []
    for k in range(len(edges) - 1):
        row: dict[str, Any] = {"pair pT bin (GeV)": f"{edges[k]:g} - {edges[k + 1]:g}"}
        for s in selections:
            for n, curve in ((2, s.cos2), (4, s.cos4)):
                row[f"<cos {n} Delta phi>, {s.selection}"] = curve.value[k]
                row[f"its error, cos {n}, {s.selection}"] = curve.error[k]
        rows.append(row)
    return rows


def published_row(r: PublishedRow) -> dict[str, str]:
    """One row of the table of the model against published numbers, formatted as
    ``upclens compare`` writes it (comparison.md)."""
    from dataclasses import asdict

    from upclens.published.table import ComparisonRow

    values = {k: (float("nan") if v is None else v) for k, v in asdict(r).items()}
    f = ComparisonRow(**values).formatted()
    return {"quantity": f["quantity"], "unit": f["unit"], "model": f["model"],
            "data": f["data"], "pull or chi2": f["pull"], "source": f["source"],
            "rests on": f["choices"]}
