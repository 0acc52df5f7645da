"""The headline number of the study: the smallest number of J/psi at which Delta r_np is
measured to a given precision (+-0.05 fm: PREX-II measured 208Pb to +-0.07 fm), with and
without background, for a fixed and a random b direction, with the protons known and with the
nuisance priors of the realism ladder's row 6."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from upclens.errors import ParameterError, check_range
from upclens.information.crb import fisher_matrix
from upclens.information.fisher import FisherResult, sigma_fixed
from upclens.information.model import NUISANCE_PRIORS, InformationSettings

TARGET_FM = 0.05
"""Default precision goal on Delta r_np (fm)."""

BACKGROUND = {"incoherent_fraction": 0.1, "smearing": 0.01}
"""'With background': 10 % incoherent events and 10 MeV pT smearing (ladder row 4a)."""


def conditions(base: InformationSettings | None = None) -> dict[str, InformationSettings]:
    """The four measurement conditions: b direction fixed / random, without / with background
    (:data:`BACKGROUND`); everything else from ``base`` (|b| = 15 fm by default)."""
    s0 = base or InformationSettings()
    rnd = replace(s0, collision=replace(s0.collision, b_direction="random"))
    return {"fixed b direction": s0,
            "fixed b direction, background": replace(s0, **BACKGROUND),
            "random b direction": rnd,
            "random b direction, background": replace(rnd, **BACKGROUND)}


def sigma_at(result: FisherResult, n_events: float, parameter: str = "delta_rnp",
             known: Sequence[str] = ()) -> float:
    """sigma_CRB of ``parameter`` for ``n_events`` J/psi from the stored per-event matrix,
    with the parameters ``known`` fixed and the other nuisance priors kept."""
    return float(sigma_fixed(result, list(known), n_events).get(parameter, math.inf))


def smallest_n(result: FisherResult, target: float, parameter: str = "delta_rnp",
               known: Sequence[str] = (), n_max: float = 1e12) -> float:
    """Smallest N_J/psi with sigma_CRB(parameter) <= ``target``: sigma falls monotonically
    with N (the per-event information scales with N, the priors do not), so bisection in
    log N to 1e-6; inf when even ``n_max`` J/psi do not reach it (the nuisance floor)."""
    check_range("target", target, 0.0, math.inf, lo_open=True, hi_open=True)
    if parameter not in result.names:
        raise ParameterError("parameter", parameter, "must be one of " + ", ".join(result.names))
    if not sigma_at(result, n_max, parameter, known) <= target:
        return math.inf
    lo, hi = 0.0, math.log(n_max)
    if sigma_at(result, 1.0, parameter, known) <= target:
        return 1.0
    while hi - lo > 1e-6:
        mid = 0.5 * (lo + hi)
        if sigma_at(result, math.exp(mid), parameter, known) <= target:
            hi = mid
        else:
            lo = mid
    return math.exp(hi)


def headline_table(point: Mapping[str, float], base: InformationSettings | None = None,
                   target: float = TARGET_FM, parameter: str = "delta_rnp",
                   nuisances: Mapping[str, float] | None = None,
                   n_reference: float = 1e4, n_large: float = 1e6) -> dict[str, Any]:
    """Smallest N for ``target`` on ``parameter`` at ``point`` under each of
    :func:`conditions`, with the nuisances known and with their priors (default: R, a and
    sigma_J/psi-N with the widths of ladder row 6).  Returns {'point', 'target', 'nuisances',
    'rows': [{condition, n_known, n_priors, sigma_known, sigma_priors (at n_reference),
    sigma_priors_large (at n_large: the near-floor that the priors leave)}], 'curves':
    condition -> (N, sigma_known, sigma_priors) arrays, 'step_change'}."""
    check_range("target", target, 0.0, math.inf, lo_open=True, hi_open=True)
    priors = dict(NUISANCE_PRIORS if nuisances is None else nuisances)
    n_grid = np.logspace(2, 8, 61)
    rows, curves, steps = [], {}, {}
    for name, settings in conditions(base).items():
        res = fisher_matrix(point, settings, n_reference, priors)
        known = list(res.priors)
        rows.append({"condition": name,
                     "n_known": smallest_n(res, target, parameter, known),
                     "n_priors": smallest_n(res, target, parameter),
                     "sigma_known": sigma_at(res, n_reference, parameter, known),
                     "sigma_priors": sigma_at(res, n_reference, parameter),
                     "sigma_priors_large": sigma_at(res, n_large, parameter)})
        curves[name] = {"n_events": n_grid,
                        "known": np.array([sigma_at(res, n, parameter, known) for n in n_grid]),
                        "priors": np.array([sigma_at(res, n, parameter) for n in n_grid])}
        steps[name] = res.step_change.get(parameter, math.nan)
    return {"point": dict(res.point), "target": target, "parameter": parameter,
            "nuisances": priors, "n_reference": n_reference, "n_large": n_large, "rows": rows,
            "curves": curves,
            "step_change": steps}


def headline_markdown(table: Mapping[str, Any]) -> str:
    """The table as Markdown: one line per condition."""
    pt = table["point"]
    head = (f"Smallest N_J/psi with sigma_CRB({table['parameter']}) <= {table['target']:g} at "
            f"beta2 = {pt['beta2']:g}, beta3 = {pt['beta3']:g}, Delta r_np = "
            f"{pt['delta_rnp']:g} fm; priors: "
            + ", ".join(f"{k} +-{v:g}" for k, v in table["nuisances"].items()) + "\n\n")
    n_ref, n_big = f"{table['n_reference']:.0e}", f"{table['n_large']:.0e}"
    lines = ["| condition | N, protons known | N, nuisance priors | sigma at "
             f"{n_ref}, known | sigma at {n_ref}, priors | sigma at {n_big}, priors |",
             "|---|---|---|---|---|---|"]
    for r in table["rows"]:
        lines.append(f"| {r['condition']} | {_n(r['n_known'])} | {_n(r['n_priors'])} | "
                     f"{r['sigma_known']:.3g} | {r['sigma_priors']:.3g} | "
                     f"{r['sigma_priors_large']:.3g} |")
    return head + "\n".join(lines) + "\n"


def _n(n: float) -> str:
    return "never" if math.isinf(n) else f"{n:,.0f}"


def plot_headline(table: Mapping[str, Any], path: str | None = None) -> Any:
    """sigma_CRB of the parameter against N for every condition (solid: nuisances known,
    dashed: priors), the target as a horizontal line.  Returns the axes."""
    from upclens.plots import PARAMETER_LABELS, pyplot, save_figure

    plt = pyplot()
    ax = plt.figure(figsize=(6.0, 4.4)).gca()
    for k, (name, c) in enumerate(table["curves"].items()):
        colour = f"C{k}"
        ax.plot(c["n_events"], c["known"], "-", color=colour, label=f"{name}, protons known")
        ax.plot(c["n_events"], c["priors"], "--", color=colour, label=f"{name}, priors")
    ax.axhline(table["target"], color="k", lw=0.8, label=f"target {table['target']:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$N_{J/\psi}$")
    name = table["parameter"]
    ax.set_ylabel(r"$\sigma_{\rm CRB}$ of " + PARAMETER_LABELS.get(name, name))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6.5)
    if path is not None:
        save_figure(ax.figure, str(path), dpi=130, tight=True)
    return ax


def write_headline(out_dir: str, point: Mapping[str, float],
                   base: InformationSettings | None = None,
                   target: float = TARGET_FM) -> dict[str, Any]:
    """:func:`headline_table` written to ``out_dir`` as headline.json, headline.md and
    headline.png (each atomically); returns the table with its Markdown under 'markdown'."""
    from pathlib import Path

    from upclens.io import atomic_path, write_json

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    table = headline_table(point, base, target)
    table["markdown"] = headline_markdown(table)
    write_json(table, folder / "headline.json", indent=1)
    with atomic_path(folder / "headline.md", suffix=".md") as tmp:
        tmp.write_text(table["markdown"])
    plot_headline(table, str(folder / "headline.png"))
    return table
