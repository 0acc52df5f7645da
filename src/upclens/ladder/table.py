"""The ladder table: one summary per row (network metrics, bound, ratio) and the files
ladder.json, ladder.csv and ladder.md."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from upclens.data.config import DatasetConfig
from upclens.ladder.bound import BOUND_FRACTION, prior_widths, rmse_to_crb
from upclens.ladder.rows import LadderSize, Row
from upclens.learn.settings import TARGETS

PER_TARGET = ("r2", "rmse", "coverage_68", "sigma_crb", "ratio", "n_ratio", "rmse_at_bound",
              "sigma_rms")
"""Columns of the table per target (beta2, beta3, delta_rnp): sigma_crb is the median over the
bound points; rmse_at_bound and sigma_rms are the network's RMSE and the RMS of sigma_CRB over
the points that enter the ratio (ratio = rmse_at_bound / sigma_rms)."""
COLUMNS = ("row", "title", "n_events", "nuisances", "n_test", "skin_accuracy",
           *(f"{k}_{t}" for t in TARGETS for k in PER_TARGET))
"""Every column of ladder.csv."""


def row_summary(row: Row, cfg: DatasetConfig, row_dir: Path, res: dict[str, dict[str, Any]],
                spec: LadderSize) -> dict[str, Any]:
    """The table entry of an ordinary row from the results of its stages (reads
    evaluate/predictions.npz and bound.npz in ``row_dir``)."""
    return entry_summary(row.name, row.title, row.n_events, row.nuisances, cfg, res["evaluate"],
                         res["bound"], row_dir / "bound.npz",
                         row_dir / "evaluate" / "predictions.npz")


def entry_summary(name: str, title: str, n_events: int | None, nuisances: dict[str, float],
                  cfg: DatasetConfig, ev: dict[str, Any], bound: dict[str, Any],
                  bound_file: Path, predictions: Path) -> dict[str, Any]:
    """One entry of the table: ``ev`` holds the evaluation's 'targets', 'skin' and 'n_test';
    ``bound`` the bound stage's result ('defined', notes, failures); the files hold the test
    indices with sigma_CRB and the network's predictions per test image."""
    entry: dict[str, Any] = {"row": name, "title": title, "n_events": n_events,
                             "nuisances": ",".join(nuisances) or "",
                             "n_test": int(ev["n_test"]),
                             "skin_accuracy": ev["skin"]["accuracy"],
                             "skin_auc": ev["skin"].get("roc_auc")}
    sigma: dict[str, np.ndarray] = {}
    truth: dict[str, np.ndarray] = {}
    pred: dict[str, np.ndarray] = {}
    if bound.get("defined"):
        with np.load(bound_file) as b, np.load(predictions) as p:
            idx = b["indices"]
            for t in TARGETS:
                sigma[t] = b[f"sigma_{t}"]
                truth[t] = p[f"{t}_true"][idx]
                pred[t] = p[t][idx]
    widths = prior_widths(cfg)
    for t in TARGETS:
        m = ev["targets"][t]
        entry[f"r2_{t}"] = m["r2"]
        entry[f"rmse_{t}"] = m["rmse"]
        entry[f"coverage_68_{t}"] = m["coverage_68"]
        if t in sigma:
            s = sigma[t]
            entry[f"sigma_crb_{t}"] = (float(np.nanmedian(s)) if np.isfinite(s).any()
                                       else None)
            r = rmse_to_crb(truth[t], pred[t], s, widths[t])
            entry[f"ratio_{t}"] = r["ratio"]
            entry[f"n_ratio_{t}"] = r["n_used"]
            entry[f"n_undefined_{t}"] = r["n_undefined"]
            entry[f"rmse_at_bound_{t}"] = r["rmse"]
            entry[f"sigma_rms_{t}"] = r["sigma_rms"]
        else:
            entry[f"sigma_crb_{t}"] = None
            entry[f"ratio_{t}"] = None
            entry[f"n_ratio_{t}"] = 0
            entry[f"rmse_at_bound_{t}"] = None
            entry[f"sigma_rms_{t}"] = None
    entry["bound"] = {k: v for k, v in bound.items() if k not in ("files", "seconds",
                                                                  "skipped")}
    entry["prior_widths"] = widths
    entry["bound_fraction"] = BOUND_FRACTION
    return entry


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def csv_text(entries: list[dict[str, Any]]) -> str:
    """ladder.csv: one line per row, every column of COLUMNS (empty where undefined)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for e in entries:
        writer.writerow(["" if e.get(c) is None else e.get(c) for c in COLUMNS])
    return buf.getvalue()


def markdown_table(entries: list[dict[str, Any]]) -> str:
    """ladder.md's table: network R^2 / RMSE / coverage, skin accuracy, sigma_CRB and the ratio
    per target (beta2 / beta3 / Delta r_np in each cell)."""
    head = ("| row | N J/psi | R^2 | RMSE | cov. 68 % | skin acc. | median sigma_CRB "
            "| RMSE / sigma_CRB (points) |")
    lines = [head, "|" + "---|" * 8]
    for e in entries:
        def trio(key: str, digits: int = 3, e: dict[str, Any] = e) -> str:
            return " / ".join(_fmt(e.get(f"{key}_{t}"), digits) for t in TARGETS)

        ratio = " / ".join(f"{_fmt(e.get(f'ratio_{t}'), 2)} ({e.get(f'n_ratio_{t}', 0)})"
                           for t in TARGETS)
        n = "-" if e.get("n_events") is None else f"{float(e['n_events']):.0e}"
        lines.append(f"| {e['row']} | {n} | {trio('r2')} | {trio('rmse', 2)} | "
                     f"{trio('coverage_68', 2)} | {_fmt(e.get('skin_accuracy'))} | "
                     f"{trio('sigma_crb', 2)} | {ratio} |")
    return "\n".join(lines) + "\n"


def markdown(entries: list[dict[str, Any]], spec: LadderSize, seed: int) -> str:
    """The whole of ladder.md: the table, the row descriptions and how to read it."""
    rows = "\n".join(f"- **{e['row']}**: {e['title']}" for e in entries)
    notes = sorted({n for e in entries for n in e.get("bound", {}).get("notes", [])})
    failed = [f"row {e['row']}: {e['bound']['n_failed']} points ({e['bound']['first_error']})"
              for e in entries if e.get("bound", {}).get("n_failed")]
    text = (f"# Realism ladder ({spec.name}: {spec.n_images} images per row, "
            f"{spec.pixels}x{spec.pixels} pixels, seed {seed})\n\n"
            "Each cell lists beta2 / beta3 / Delta r_np (fm). Network metrics on the held-out "
            "test split; sigma_CRB at a subsample of its points (the median); the ratio is the "
            "network's RMSE over the points where sigma_CRB < "
            f"{BOUND_FRACTION:g} x the prior's width, divided by the RMS of sigma_CRB there "
            "(number of points in brackets). '-': undefined (no bound for noiseless images).\n\n"
            + markdown_table(entries) + "\n" + rows + "\n")
    if notes or failed:
        text += "\nBound notes:\n" + "\n".join(f"- {n}" for n in [*notes, *failed]) + "\n"
    return text


def write_outputs(out: Path, entries: list[dict[str, Any]], spec: LadderSize,
                  seed: int) -> dict[str, Any]:
    """Write ladder.json, ladder.csv, ladder.md and ladder.png into ``out``; return the
    summary."""
    from upclens.io import atomic_path, write_json
    from upclens.ladder.figure import ladder_figure

    settings = json.loads((out / "train_settings.json").read_text())
    summary = {"size": spec.to_dict(), "seed": seed, "train_settings": settings,
               "columns": list(COLUMNS), "rows": entries,
               "files": ["ladder.json", "ladder.csv", "ladder.md", "ladder.png"]}
    with atomic_path(out / "ladder.csv") as tmp:
        tmp.write_text(csv_text(entries))
    with atomic_path(out / "ladder.md") as tmp:
        tmp.write_text(markdown(entries, spec, seed))
    ladder_figure(entries, out / "ladder.png")
    write_json(summary, out / "ladder.json", indent=1)
    return summary
