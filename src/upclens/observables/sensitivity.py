"""Sensitivity of each observable to beta2, beta3 and the neutron skin over a dataset.

For every observable O and parameter theta: Pearson and Spearman correlations, the slope dO/dtheta
of a straight-line fit with its standard error, and the partial slope from a multiple linear
regression on all varying parameters (beta2, beta3, Delta r_np and any nuisance label drawn), which
holds the others fixed.  ``separation`` = |partial slope| * sd(theta) / residual sd: how many
residual standard deviations O moves over one prior standard deviation of theta.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from upclens.errors import ParameterError
from upclens.io import atomic_path, json_ready, write_json
from upclens.observables.measures import ObservableSettings
from upclens.observables.stats import linear_fit, min_points, pearson, spearman
from upclens.observables.table import (
    ObservableTable,
    measure_dataset,
    write_table_csv,
)

SHAPE_PARAMETERS = ("beta2", "beta3", "delta_rnp", "skin")
NOT_REGRESSORS = ("skin", "n_events")  # skin duplicates delta_rnp; n_events is bookkeeping


def _varies(x: np.ndarray) -> bool:
    return bool(np.ptp(x) > 0)


def minimum_images(varying: Iterable[str]) -> int:
    """Fewest images :func:`sensitivity_table` needs when the label columns ``varying`` vary
    across the dataset: its joint fit has one slope per varying regressor."""
    return min_points(sum(1 for c in varying if c not in NOT_REGRESSORS))


def is_constant(name: str, y: np.ndarray) -> bool:
    """True when the observable does not vary beyond rounding: sd <= 1e-9 (absolute for the
    bounded v_n, relative to the mean magnitude otherwise).  Exact images without q_z give
    v1 = v3 = 0 up to ~1e-17; a correlation of that rounding noise is not a sensitivity."""
    scale = 1.0 if name.startswith("v") else float(np.mean(np.abs(y)))
    return bool(np.std(y) <= 1e-9 * scale)


def sensitivity_table(table: ObservableTable,
                      parameters: tuple[str, ...] = SHAPE_PARAMETERS) -> dict[str, Any]:
    """The sensitivity numbers of an :class:`ObservableTable` (see the module docstring).

    Returns {"parameters", "regressors", "n", "rows": [{observable, parameter, constant, pearson,
    spearman, slope, slope_err, partial_slope, partial_slope_err, separation}, ...],
    "residual_sd": {observable: sd}, "median_stat_error": {observable: error or None}}.
    """
    present = [p for p in parameters if p in table.labels]
    if not present:
        raise ParameterError("parameters", parameters,
                             f"must name dataset columns ({', '.join(table.labels)})")
    regressors = [c for c in table.labels
                  if c not in NOT_REGRESSORS and _varies(table.labels[c])]
    xmat = np.column_stack([table.labels[c] for c in regressors]) if regressors else None
    rows: list[dict[str, Any]] = []
    residual: dict[str, float | None] = {}
    stat: dict[str, float | None] = {}
    for name in table.names:
        y = table.column(name)
        err = table.error(name)
        stat[name] = float(np.median(err)) if np.all(np.isfinite(err)) else None
        flat = is_constant(name, y)
        multi = linear_fit(xmat, y) if xmat is not None else None
        residual[name] = None if multi is None else multi.residual_sd
        for p in present:
            x = table.labels[p]
            row: dict[str, Any] = {"observable": name, "parameter": p, "constant": flat,
                                   "pearson": math.nan if flat else pearson(x, y),
                                   "spearman": math.nan if flat else spearman(x, y)}
            if _varies(x):
                fit = linear_fit(x, y)
                row.update(slope=float(fit.slopes[0]), slope_err=float(fit.errors[0]))
            else:
                row.update(slope=None, slope_err=None)
            if multi is not None and p in regressors:
                j = regressors.index(p)
                slope, slope_err = float(multi.slopes[j]), float(multi.errors[j])
                sep = (0.0 if flat else abs(slope) * float(np.std(x, ddof=1))
                       / multi.residual_sd if multi.residual_sd > 0 else math.inf)
                row.update(partial_slope=slope, partial_slope_err=slope_err, separation=sep)
            else:
                row.update(partial_slope=None, partial_slope_err=None, separation=None)
            rows.append(row)
    return {"parameters": present, "regressors": regressors, "n": int(table.values.shape[0]),
            "rows": rows, "residual_sd": residual, "median_stat_error": stat}


def _fmt(x: Any, spec: str = ".3g") -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    return format(x, spec)


def markdown(result: dict[str, Any]) -> str:
    """The sensitivity table as Markdown: one line per (observable, parameter)."""
    lines = [f"Sensitivity over {result['n']} images; partial slopes hold "
             f"{', '.join(result['regressors']) or 'nothing'} fixed.", "",
             "| observable | parameter | Pearson | Spearman | slope +- err | partial slope +- err "
             "| separation |", "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        if r["constant"]:
            lines.append(f"| {r['observable']} | {r['parameter']} | constant (rounding) "
                         "| - | - | - | - |")
            continue
        slope = f"{_fmt(r['slope'])} +- {_fmt(r['slope_err'], '.2g')}"
        partial = f"{_fmt(r['partial_slope'])} +- {_fmt(r['partial_slope_err'], '.2g')}"
        lines.append(f"| {r['observable']} | {r['parameter']} | {_fmt(r['pearson'], '.3f')} | "
                     f"{_fmt(r['spearman'], '.3f')} | {slope} | {partial} | "
                     f"{_fmt(r['separation'], '.2f')} |")
    return "\n".join(lines) + "\n"


def _write_rows_csv(result: dict[str, Any], path: Path) -> None:
    import csv

    keys = ["observable", "parameter", "constant", "pearson", "spearman", "slope", "slope_err",
            "partial_slope", "partial_slope_err", "separation"]
    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(keys)
        for r in result["rows"]:
            w.writerow(["" if r[k] is None else (f"{r[k]:.6g}" if isinstance(r[k], float)
                                                 else r[k]) for k in keys])


def sensitivity(dataset_path: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
                settings: ObservableSettings | None = None,
                parameters: tuple[str, ...] = SHAPE_PARAMETERS, plots: bool = True,
                indices: np.ndarray | None = None) -> dict[str, Any]:
    """Measure every image of ``dataset_path`` and write the sensitivity study to ``out_dir``:
    observables.csv (per image), sensitivity.csv / .json / .md (the table) and, with ``plots``,
    sensitivity.png (each observable against each parameter).  Returns the result dict of
    :func:`sensitivity_table` plus source, counts and files, JSON-ready (NaN as None)."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError("out", str(out_dir), f"cannot be created ({exc.strerror})") from None
    table = measure_dataset(dataset_path, settings, indices)
    result = sensitivity_table(table, parameters)
    result["source"] = str(dataset_path)
    result["counts"] = bool(table.meta["counts"])
    write_table_csv(table, out / "observables.csv")
    _write_rows_csv(result, out / "sensitivity.csv")
    write_json(result, out / "sensitivity.json")
    with atomic_path(out / "sensitivity.md", suffix=".md") as tmp:
        tmp.write_text(markdown(result))
    files = ["observables.csv", "sensitivity.csv", "sensitivity.json", "sensitivity.md"]
    if plots:
        from upclens.observables.figures import sensitivity_figure

        sensitivity_figure(table, result, out / "sensitivity.png")
        files.append("sensitivity.png")
    result["files"] = files
    return json_ready(result)
