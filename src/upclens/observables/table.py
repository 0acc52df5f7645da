"""Observables of every image of a dataset (HDF5, ``upclens.data`` layout) or of an image .npz.

Uncertainties: a dataset made with ``image.n_events > 0`` holds histograms of counts and every
observable gets its statistical error; images without events are exact (errors NaN here).
Azimuths are measured from b, which the simulator puts along +px (b_angle = 0).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from upclens.errors import ParameterError, check_range
from upclens.io import atomic_path
from upclens.observables.measures import ImageMeasurer, Observables, ObservableSettings


@dataclass
class ObservableTable:
    """Observables of n images: ``values`` and ``errors`` (n, m) in the order of ``names`` (errors
    NaN for exact images), ``labels`` {column: (n,)} and the source's ``meta``."""

    names: list[str]
    values: np.ndarray
    errors: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        """Values of one observable, (n,)."""
        return self.values[:, self.names.index(name)]

    def error(self, name: str) -> np.ndarray:
        """Errors of one observable, (n,) (NaN for exact images)."""
        return self.errors[:, self.names.index(name)]


def _row(obs: Observables, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    vals = np.array([obs[k].value for k in names])
    errs = np.array([np.nan if obs[k].error is None else obs[k].error for k in names])
    return vals, errs


def dataset_counts_mode(config: dict[str, Any]) -> bool:
    """True when the dataset config says its images are histograms of events."""
    return int(config.get("image", {}).get("n_events", 0) or 0) > 0


def measure_dataset(path: str | os.PathLike[str], settings: ObservableSettings | None = None,
                    indices: np.ndarray | None = None, batch: int = 256) -> ObservableTable:
    """Observables of the images ``indices`` (None: all) of an upclens HDF5 dataset, read in
    batches of ``batch`` images."""
    from upclens.data import read_dataset

    check_range("batch", batch, 1, 10**6)
    _, _, first = read_dataset(path, [0])
    rows = (np.arange(int(first["n"])) if indices is None
            else np.asarray(indices, dtype=np.int64).ravel())
    if rows.size == 0:
        raise ParameterError("indices", "[]", "must select at least one image")
    measurer = ImageMeasurer(first["px"], first["py"], 0.0, settings)
    counts = dataset_counts_mode(first["config"])
    names = measurer.settings.names()
    values, errors, labels = [], [], []
    for start in range(0, rows.size, batch):
        images, lab, _ = read_dataset(path, rows[start:start + int(batch)])
        for image in images:
            v, e = _row(measurer(image.astype(np.float64), counts=counts), names)
            values.append(v)
            errors.append(e)
        labels.append(lab)
    return ObservableTable(
        names=names, values=np.array(values), errors=np.array(errors),
        labels={c: np.concatenate([lab[c] for lab in labels]).astype(float) for c in labels[0]},
        meta={"source": str(path), "config": first["config"], "counts": counts,
              "n": int(rows.size), "indices": rows})


def measure_npz(path: str | os.PathLike[str],
                settings: ObservableSettings | None = None) -> tuple[Observables, dict[str, Any]]:
    """Observables of an image written by ``upclens simulate`` (.npz: px, py, intensity[iy, ix],
    config JSON); images made with ``--events`` are treated as counts.  b_angle from the config."""
    from upclens.physics.image import Image

    image = Image.load_npz(str(path))
    config = image.config
    b_angle = float(config.get("collision", {}).get("b_angle", 0.0))
    counts = "events" in config
    obs = ImageMeasurer(image.px, image.py, b_angle, settings)(image.intensity, counts=counts)
    return obs, {"source": str(path), "b_angle": b_angle, "counts": counts}


def write_table_csv(table: ObservableTable, path: str | os.PathLike[str]) -> None:
    """One row per image: index, the labels, then every observable and its error (empty for exact
    images); written atomically."""
    header = ["index", *table.labels, *[c for k in table.names for c in (k, f"{k}_err")]]
    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i in range(table.values.shape[0]):
            row: list[Any] = [i, *[f"{table.labels[c][i]:.7g}" for c in table.labels]]
            for j in range(len(table.names)):
                err = table.errors[i, j]
                row += [f"{table.values[i, j]:.9g}", "" if np.isnan(err) else f"{err:.4g}"]
            writer.writerow(row)

