"""Reading a measured (or simulated) list of vector-meson decays into per-event features.

Formats, chosen by the file's suffix:
    .parquet / .pq   a table with the columns below (``upclens events`` writes one)
    .csv             a header naming the columns below, one event per row
    .root            a TTree (or RNTuple; the first one, or ``tree``) with branches of those
                     names (uproot)
    .hepmc3 / .hepmc HepMC3 ASCII: per event the two final-state decay daughters (e, mu or pi;
                     daughter 1 the positive one) and the event attribute ``neutron_class``
Columns: the two daughters' four-momenta ``d1_e, d1_px, d1_py, d1_pz, d2_...`` (GeV; the
reconstructed ``d1_reco_*`` ones are used when present), optional ``neutron_class`` ('0n0n',
'0nXn', 'XnXn' or the codes 0, 1, 2; anything else is 'unknown') and optional ``accepted``
(only accepted events are kept).  Daughter 1 is the positive daughter.

Every refusal is one line naming the file and the problem (ParameterError).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from upclens.data.eventsets import CLASS_CODES, FEATURES, features_from_daughters
from upclens.errors import ParameterError

LIST_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".root": "root",
                ".hepmc3": "hepmc3", ".hepmc": "hepmc3"}
P4 = ("e", "px", "py", "pz")
DAUGHTERS = tuple(f"d{k}_{c}" for k in (1, 2) for c in P4)
UNKNOWN_CLASS = -1
POSITIVE = {-11, -13, 211, 321, 2212}
DAUGHTER_IDS = {11, 13, 211}


@dataclass(frozen=True)
class EventList:
    """features (n, 5) float32 in ``FEATURES`` order (neutron_class -1 where unknown);
    p1, p2 (n, 4) the daughters' four-momenta (GeV); n_read: rows in the file; n_dropped:
    rows not accepted; fmt; manifest (upclens files)."""

    features: np.ndarray
    p1: np.ndarray
    p2: np.ndarray
    n_read: int
    n_dropped: int
    fmt: str
    manifest: dict[str, Any] | None = None

    def __len__(self) -> int:
        return int(self.features.shape[0])


def list_format(path: Path) -> str:
    fmt = LIST_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ParameterError("events", str(path), "has an unknown format (use "
                             + ", ".join(sorted(LIST_FORMATS)) + ")")
    return fmt


def _class_codes(values: Any, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, UNKNOWN_CLASS, dtype=np.int64)
    arr = np.asarray(values)
    out = np.full(n, UNKNOWN_CLASS, dtype=np.int64)
    for code, name in enumerate(CLASS_CODES):
        out[(arr.astype(str) == name) | (arr.astype(str) == str(code))] = code
    return out


def _from_columns(path: Path, cols: dict[str, np.ndarray], fmt: str,
                  manifest: dict[str, Any] | None = None) -> EventList:
    names = set(cols)
    reco = all(f"d{k}_reco_{c}" in names for k in (1, 2) for c in P4)
    need = [f"d{k}_reco_{c}" if reco else f"d{k}_{c}" for k in (1, 2) for c in P4]
    missing = [c for c in need if c not in names]
    if missing:
        raise ParameterError("events", str(path), f"lacks the columns {missing} (needs "
                             f"{list(DAUGHTERS)})")
    try:
        p = [np.stack([np.asarray(cols[need[4 * k + j]], dtype=float) for j in range(4)], axis=1)
             for k in (0, 1)]
    except (TypeError, ValueError):
        raise ParameterError("events", str(path), "has non-numeric momenta") from None
    n = len(p[0])
    if n == 0:
        raise ParameterError("events", str(path), "holds no events (it is empty)")
    keep = np.ones(n, dtype=bool)
    if "accepted" in names:
        keep = np.asarray(cols["accepted"]).astype(str) != "False"
        keep &= np.asarray(cols["accepted"]).astype(str) != "0"
    bad = ~(np.isfinite(p[0]).all(axis=1) & np.isfinite(p[1]).all(axis=1)) & keep
    if bad.any():
        raise ParameterError("events", str(path), f"has non-finite momenta in {int(bad.sum())} "
                             f"events (first: row {int(np.argmax(bad))})")
    p1, p2 = p[0][keep], p[1][keep]
    if len(p1) == 0:
        raise ParameterError("events", str(path), "holds no accepted events")
    pair = p1 + p2
    if np.any(pair[:, 0] <= np.abs(pair[:, 3])):
        raise ParameterError("events", str(path), "has pairs with E <= |pz| (no rapidity)")
    f = features_from_daughters(p1, p2)
    f["neutron_class"] = _class_codes(cols.get("neutron_class"), n)[keep]
    feats = np.stack([np.asarray(f[k], dtype=float) for k in FEATURES], axis=1)
    return EventList(feats.astype(np.float32), p1, p2, n, int((~keep).sum()), fmt, manifest)


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ParameterError("events", str(path), f"is not a CSV text file "
                             f"({type(exc).__name__})") from None
    if not rows:
        raise ParameterError("events", str(path), "holds no events (it is empty)")
    header = [h.strip() for h in rows[0]]
    body = [r for r in rows[1:] if r]
    if any(len(r) != len(header) for r in body):
        raise ParameterError("events", str(path), "has rows of another length than its header")
    cols = {}
    for j, h in enumerate(header):
        raw = [r[j].strip() for r in body]
        try:
            cols[h] = np.array([float(v) for v in raw])
        except ValueError:
            cols[h] = np.array(raw, dtype=object)
    return cols


def _read_parquet(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any] | None]:
    import pyarrow.parquet as pq

    from upclens.data.eventfiles import parquet_manifest

    try:
        table = pq.read_table(path)
    except Exception as exc:  # not a Parquet file: one line
        raise ParameterError("events", str(path), f"cannot be read as Parquet "
                             f"({type(exc).__name__})") from None
    return ({n: table.column(n).to_numpy(zero_copy_only=False) for n in table.column_names},
            parquet_manifest(path))


def _read_root(path: Path, tree: str | None) -> dict[str, np.ndarray]:
    import uproot

    try:
        f = uproot.open(path)
    except Exception as exc:
        raise ParameterError("events", str(path), f"cannot be read as ROOT "
                             f"({type(exc).__name__})") from None
    with f:
        trees = [k.split(";")[0] for k, c in f.classnames().items()
                 if c in ("TTree", "ROOT::RNTuple")]
        if not trees:
            raise ParameterError("events", str(path), "holds no TTree")
        name = tree or trees[0]
        if name not in trees:
            raise ParameterError("tree", name, f"must be one of {trees}")
        return {k: np.asarray(v) for k, v in f[name].arrays(library="np").items()}


def _read_hepmc3(path: Path) -> dict[str, np.ndarray]:
    import pyhepmc

    rows: list[list[float]] = []
    classes: list[str] = []
    try:
        with pyhepmc.open(str(path)) as f:
            for evt in f:
                daughters = [p for p in evt.particles
                             if p.status == 1 and abs(p.pid) in DAUGHTER_IDS]
                if len(daughters) != 2:
                    raise ParameterError("events", str(path), f"event {evt.event_number} has "
                                         f"{len(daughters)} final-state e/mu/pi (needs 2)")
                daughters.sort(key=lambda p: p.pid not in POSITIVE)
                rows.append([v for p in daughters for v in (p.momentum.e, p.momentum.px,
                                                             p.momentum.py, p.momentum.pz)])
                attrs = evt.attributes
                attr = attrs["neutron_class"] if "neutron_class" in attrs else None  # noqa: SIM401  (no .get)
                classes.append(str(attr) if attr is not None else "unknown")
    except (OSError, RuntimeError) as exc:
        raise ParameterError("events", str(path), f"cannot be read as HepMC3 ({exc})") from None
    if not rows and path.stat().st_size > 0:
        raise ParameterError("events", str(path), "holds no HepMC3 event (is it HepMC3 text?)")
    arr = np.array(rows, dtype=float).reshape(-1, 8)
    cols = {name: arr[:, j] for j, name in enumerate(DAUGHTERS)}
    cols["neutron_class"] = np.array(classes, dtype=object)
    return cols


def read_event_list(path: str | os.PathLike[str], tree: str | None = None) -> EventList:
    """The per-event features of the decays in ``path`` (format from its suffix)."""
    p = Path(path)
    fmt = list_format(p)
    if not p.is_file():
        raise ParameterError("events", str(p), "must be an existing file")
    manifest = None
    if fmt == "csv":
        cols = _read_csv(p)
    elif fmt == "parquet":
        cols, manifest = _read_parquet(p)
    elif fmt == "root":
        cols = _read_root(p, tree)
    else:
        cols = _read_hepmc3(p)
    return _from_columns(p, cols, fmt, manifest)
