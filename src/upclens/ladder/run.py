"""Orchestration of the ladder: per row data -> train -> evaluate -> bound -> summary, each a
resumable stage (``upclens.stages``); a finished row is skipped as a whole.

Exact (noiseless) datasets are generated once per physics setting into ``OUT/datasets`` and
shared by the rows that use them; rows with finite statistics draw their events from them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from upclens.data.config import DatasetConfig
from upclens.errors import check_integer
from upclens.io import json_ready, write_json
from upclens.ladder.rows import LadderSize, Row, ladder_rows, ladder_size
from upclens.stages import Stage, run_stages

Results = dict[str, dict[str, Any]]


def row_config(row: Row) -> DatasetConfig:
    """The dataset config of a row (the shipped default with the row's overrides)."""
    from upclens.data import load_config

    return load_config(overrides=row.overrides)


def _key(cfg: DatasetConfig, n: int, seed: int) -> str:
    text = json.dumps({"config": cfg.content_dict(), "n": n, "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _shared_dataset(out: Path, cfg: DatasetConfig, spec: LadderSize, seed: int,
                    progress: bool) -> Path:
    """The generated dataset of ``cfg`` in OUT/datasets (made once, resumable)."""
    from upclens.data import generate_dataset

    folder = out / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_key(cfg, spec.n_images, seed)}.h5"
    return generate_dataset(cfg, spec.n_images, seed, path, workers=spec.workers,
                            progress=progress)


def _dataset(out: Path, cfg: DatasetConfig, spec: LadderSize, seed: int,
             progress: bool) -> Path:
    """The dataset of ``cfg`` in OUT/datasets: generated, or for finite counts drawn from the
    generated exact parent; each made once and shared by every row that uses it."""
    from upclens.ladder.derive import derive_events, needs_parent, parent_config

    if not needs_parent(cfg):
        return _shared_dataset(out, cfg, spec, seed, progress)
    parent = _shared_dataset(out, parent_config(cfg), spec, seed, progress)
    path = out / "datasets" / f"{_key(cfg, spec.n_images, seed)}.h5"
    return derive_events(parent, cfg, seed, path)


def _rel(out: Path, path: Path) -> str:
    return str(Path(path).resolve().relative_to(out.resolve()))


SETTINGS_FILE = "train_settings.json"


def ladder_settings(out: Path, spec: LadderSize, seed: int) -> dict[str, Any]:
    """The training settings of every row of the ladder in ``out``: stored in
    OUT/train_settings.json on first use and reused on every later run, so that all rows are
    trained the same way even if the learning module's defaults change between runs."""
    from upclens.learn import TrainSettings

    path = out / SETTINGS_FILE
    if path.exists():
        return TrainSettings.from_dict(json.loads(path.read_text())).to_dict()
    settings = replace(TrainSettings(), seed=seed, **spec.training).to_dict()
    write_json(settings, path, indent=1)
    return settings


STUDY_FILE = "ladder_study.json"
STUDY_KEYS = ("n_images", "pixels", "training", "n_crb", "fractions", "pool")


def check_same_study(out: Path, spec: LadderSize, seed: int) -> None:
    """Record the size and seed of the ladder in ``out`` on first use; refuse a later run with
    another size or seed (its finished rows would otherwise be mixed into the table)."""
    from upclens.errors import ParameterError

    here = {"seed": seed, **{k: spec.to_dict()[k] for k in STUDY_KEYS}}
    path = out / STUDY_FILE
    if path.exists():
        before = json.loads(path.read_text())
        if before != json.loads(json.dumps(here)):
            raise ParameterError("out", str(out), f"holds a ladder of another size or seed "
                                 f"({before.get('n_images')} images, seed {before.get('seed')}):"
                                 " choose a new folder")
        return
    write_json(here, path, indent=1)


def _train_stage(row_dir: Path, spec: LadderSize, seed: int, progress: bool,
                 extra: dict[str, Any] | None = None) -> Stage:
    def train(res: Results) -> dict[str, Any]:
        from upclens.learn import TrainSettings
        from upclens.learn import train as train_model

        parts = res["data"]["parts"]
        run_dir = row_dir / "model"
        settings = TrainSettings.from_dict({**ladder_settings(row_dir.parent, spec, seed),
                                            **(extra or {})})
        train_model(row_dir / parts["train"], row_dir / parts["val"], run_dir,
                    settings=settings, resume=(run_dir / "checkpoint.pt").exists(),
                    progress=progress)
        return {"files": ["model/model.pt"], "settings": settings.to_dict()}

    return Stage("train", train, "the network of the row")


def _bound(row_dir: Path, test: Path, cfg: DatasetConfig, n_events: int,
           nuisances: dict[str, float], spec: LadderSize, seed: int,
           name: str) -> dict[str, Any]:
    """sigma_CRB at a subsample of the test file's points, saved to ``row_dir/name``."""
    from upclens.data import read_dataset
    from upclens.io import atomic_path
    from upclens.ladder.bound import choose_points, crb_points

    _, labels, _ = read_dataset(test)
    idx = choose_points(len(labels["beta2"]), spec.n_crb, seed)
    crb = crb_points(labels, idx, cfg, float(n_events), nuisances)
    with atomic_path(row_dir / name, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, indices=idx, **{f"sigma_{k}": v for k, v in crb["sigma"].items()})
    failed = [e for e in crb["errors"] if e]
    return {"files": [name], "defined": True, "n_points": int(idx.size),
            "n_failed": len(failed), "first_error": failed[0] if failed else None,
            "notes": crb["notes"]}


def pooled_stages(out: Path, row_dir: Path, row: Row, spec: LadderSize, seed: int,
                  progress: bool) -> list[Stage]:
    """Stages of a pooled row: the row-3 datasets of every N of ``row.pool`` (their own
    train/val/test splits), one network trained on the pooled train and validation parts, then
    evaluated and bounded on each N's test split."""
    configs = {n: row_config(replace(row, overrides={**row.overrides, "image.n_events": n}))
               for n in row.pool}

    def data(_: Results) -> dict[str, Any]:
        from upclens.data import split_dataset
        from upclens.ladder.pool import pool_datasets

        folder = row_dir / "data"
        tests, trains, vals = {}, [], []
        for n, cfg in configs.items():
            sub = folder / f"n{n}"
            sub.mkdir(parents=True, exist_ok=True)
            full = _dataset(out, cfg, spec, seed, progress)
            parts = split_dataset(full, sub, fractions=spec.fractions, seed=seed)
            trains.append(parts["train"])
            vals.append(parts["val"])
            tests[str(n)] = _rel(row_dir, parts["test"])
        train = pool_datasets(trains, list(configs), folder / "train.h5")
        val = pool_datasets(vals, list(configs), folder / "val.h5")
        return {"files": [_rel(row_dir, train), _rel(row_dir, val), *tests.values()],
                "parts": {"train": _rel(row_dir, train), "val": _rel(row_dir, val)},
                "tests": tests}

    def evaluate(res: Results) -> dict[str, Any]:
        from upclens.learn import evaluate as evaluate_model

        per_n = {}
        for n, test in res["data"]["tests"].items():
            m = evaluate_model(row_dir / "model", row_dir / test,
                               row_dir / "evaluate" / f"n{n}", figures=spec.figures)
            per_n[n] = {"targets": m["targets"], "skin": m["skin"], "n_test": m["n"]}
        return {"files": [f"evaluate/n{n}/predictions.npz" for n in per_n], "per_n": per_n}

    def bound(res: Results) -> dict[str, Any]:
        per_n = {n: _bound(row_dir, row_dir / test, configs[int(n)], int(n), row.nuisances,
                           spec, seed, f"bound-n{n}.npz")
                 for n, test in res["data"]["tests"].items()}
        return {"files": [f for b in per_n.values() for f in b["files"]], "per_n": per_n}

    def summary(res: Results) -> dict[str, Any]:
        from upclens.ladder.table import entry_summary

        entries = []
        for n, cfg in configs.items():
            entries.append(json_ready(entry_summary(
                row.entry_name(n), f"{row.title}; evaluated at {n:.0e} J/psi", n,
                row.nuisances, cfg, res["evaluate"]["per_n"][str(n)],
                res["bound"]["per_n"][str(n)], row_dir / f"bound-n{n}.npz",
                row_dir / "evaluate" / f"n{n}" / "predictions.npz")))
        write_json(entries, row_dir / "row.json", indent=1)
        return {"files": ["row.json"], "rows": entries}

    return [Stage("data", data, "row-3 datasets of every N, pooled train and val parts"),
            _train_stage(row_dir, spec, seed, progress, row.training),
            Stage("evaluate", evaluate, "metrics on each N's test split"),
            Stage("bound", bound, "Cramer-Rao bound at each N's test points"),
            Stage("summary", summary, "the rows of the table")]


def row_stages(out: Path, row_dir: Path, row: Row, spec: LadderSize, seed: int,
               progress: bool) -> list[Stage]:
    """The stages of one row into ``row_dir`` (shared datasets in ``out``)."""
    if row.pool:
        return pooled_stages(out, row_dir, row, spec, seed, progress)
    cfg = row_config(row)

    def data(_: Results) -> dict[str, Any]:
        from upclens.data import split_dataset

        folder = row_dir / "data"
        folder.mkdir(parents=True, exist_ok=True)
        full = _dataset(out, cfg, spec, seed, progress)
        parts = split_dataset(full, folder, fractions=spec.fractions, seed=seed)
        return {"files": [_rel(row_dir, p) for p in parts.values()],
                "parts": {k: _rel(row_dir, p) for k, p in parts.items()},
                "source": str(full.name)}

    def evaluate(res: Results) -> dict[str, Any]:
        from upclens.learn import evaluate as evaluate_model

        metrics = evaluate_model(row_dir / "model", row_dir / res["data"]["parts"]["test"],
                                 row_dir / "evaluate", figures=spec.figures)
        return {"files": ["evaluate/metrics.json", "evaluate/predictions.npz"],
                "targets": metrics["targets"], "skin": metrics["skin"], "n_test": metrics["n"]}

    def bound(res: Results) -> dict[str, Any]:
        if not row.has_crb:
            return {"files": [], "defined": False,
                    "why": "noiseless images (no finite J/psi count): no Cramer-Rao bound"}
        return _bound(row_dir, row_dir / res["data"]["parts"]["test"], cfg,
                      int(row.n_events or 0), row.nuisances, spec, seed, "bound.npz")

    def summary(res: Results) -> dict[str, Any]:
        from upclens.ladder.table import row_summary

        entry = json_ready(row_summary(row, cfg, row_dir, res, spec))
        write_json(entry, row_dir / "row.json", indent=1)
        return {"files": ["row.json"], "row": entry}

    return [Stage("data", data, "images of the row and their train/val/test split"),
            _train_stage(row_dir, spec, seed, progress, row.training),
            Stage("evaluate", evaluate, "metrics on the held-out test split"),
            Stage("bound", bound, "Cramer-Rao bound at the test points"),
            Stage("summary", summary, "the row of the table")]


def run_ladder(out_dir: str | Path, rows: str | list[str] | None = None, *,
               size: str | LadderSize = "workstation", seed: int = 1,
               progress: bool = True, n_images: int | None = None) -> dict[str, Any]:
    """Run the realism ladder into ``out_dir``: one folder per row (``row-NAME``), then
    ``ladder.json``, ``ladder.csv``, ``ladder.md`` (the table) and ``ladder.png`` (the figure).

    rows: names or a comma-separated string (None: the size's rows).  size: 'tiny', 'small',
    'workstation' (the default), 'paper' or a :class:`LadderSize`.  Rerunning continues where
    it stopped: finished stages and rows are skipped.  Returns the ladder summary (the content
    of ladder.json).  n_images: images per row instead of the size's (split by its fractions).
    """
    from upclens.io import check_writable
    from upclens.ladder.table import write_outputs

    spec = ladder_size(size)
    if n_images is not None:
        spec = replace(spec, n_images=check_integer("images", n_images, 16, 10**7))
    seed = check_integer("seed", seed, 0, 2**63 - 1)
    chosen = ladder_rows(spec, rows)
    out = Path(out_dir)
    check_writable(out / "ladder.json", "out", make_parents=True)
    for row in chosen:  # bad overrides fail before any work
        row_config(row)

    def row_stage(row: Row) -> Stage:
        def run(_: Results) -> dict[str, Any]:
            row_dir = out / f"row-{row.name}"
            res = run_stages(row_dir, row_stages(out, row_dir, row, spec, seed, progress),
                             progress=progress)
            summary = res["summary"]
            return {"files": [f"row-{row.name}/row.json"],
                    "rows": summary.get("rows") or [summary["row"]]}

        return Stage(f"row-{row.name}", run, row.title)

    check_same_study(out, spec, seed)
    ladder_settings(out, spec, seed)
    results = run_stages(out, [row_stage(r) for r in chosen], progress=progress)
    entries = [e for r in chosen for e in (results[f"row-{r.name}"].get("rows")
                                           or [results[f"row-{r.name}"]["row"]])]
    return write_outputs(out, entries, spec, seed)
