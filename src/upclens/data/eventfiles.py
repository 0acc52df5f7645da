"""Event files: a columnar Parquet table (one row per event) and a HepMC3 ASCII record.

Both are written atomically from an iterable of event tables (dicts of equal-length columns, see
``COLUMNS``) and carry the run's manifest (JSON), which a rerun compares to decide whether a file
is finished.  Units: GeV for momenta and masses, mm for vertex positions (HepMC3), fm and rad for
the hidden truth.

HepMC3 record of one event (particle: status, PDG id):
    beam 1 (+z) and beam 2 (-z) nuclei: status 4, PDG ion codes 100ZZZAAA0
    production vertex: beams -> vector meson (status 2) + the two nuclei (status 1)
    decay vertex: meson -> daughter 1 (positive), daughter 2 (status 1)
The nuclei keep their mass (coherent production leaves them intact) and conserve four-momentum
at the production vertex: the nucleus moving along -z takes the recoil -pT (a convention: the
two sources interfere, so the photon emitter is not defined per event).  GenHeavyIon carries the
hidden truth: impact_parameter (fm) and event_plane_angle (the direction of b, rad).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from upclens.io import atomic_path

FORMATS = ("parquet", "hepmc3")
SUFFIXES = {"parquet": ".parquet", "hepmc3": ".hepmc3"}
META_KEY = b"upclens"

_P4 = ("e", "px", "py", "pz")
COLUMNS: dict[str, str] = {
    "event": "int64",
    "coherent": "bool",
    "accepted": "bool",
    "neutron_class": "string",
    "rapidity": "float64",
    **{f"meson_{c}": "float64" for c in (*_P4, "mass")},
    **{f"d{k}_{c}": "float64" for k in (1, 2) for c in _P4},
    **{f"d{k}_reco_{c}": "float64" for k in (1, 2) for c in _P4},
    "truth_b_fm": "float64",
    "truth_b_phi": "float64",
}


def four_momentum(table: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    """(N, 4) (E, px, py, pz) of ``prefix`` ('meson', 'd1', 'd2', 'd1_reco', 'd2_reco')."""
    return np.stack([np.asarray(table[f"{prefix}_{c}"], dtype=float) for c in _P4], axis=1)


def _schema(manifest: dict[str, Any]) -> Any:
    import pyarrow as pa

    types = {"int64": pa.int64(), "bool": pa.bool_(), "string": pa.string(),
             "float64": pa.float64()}
    return pa.schema([(k, types[v]) for k, v in COLUMNS.items()],
                     metadata={META_KEY: json.dumps(manifest, sort_keys=True).encode()})


def write_parquet(path: str | os.PathLike[str], manifest: dict[str, Any],
                  tables: Iterable[dict[str, np.ndarray]]) -> Path:
    """One row group per table, in order; the manifest in the schema metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema(manifest)
    with (atomic_path(path, suffix=".parquet") as tmp,
          pq.ParquetWriter(tmp, schema, compression="zstd") as writer):
        for t in tables:
            cols = [pa.array(t[name], type=schema.field(name).type) for name in COLUMNS]
            writer.write_table(pa.Table.from_arrays(cols, schema=schema))
    return Path(path)


def parquet_manifest(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest stored in a Parquet event file, or None if it is not one."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta[META_KEY])
    except (OSError, KeyError, ValueError):
        return None


def read_parquet(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The columns of a Parquet event file as NumPy arrays."""
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    return {name: t.column(name).to_numpy() for name in t.column_names}


# -- HepMC3 ------------------------------------------------------------------------------------
def ion_pdg_id(Z: int, A: int) -> int:
    """PDG code of a nucleus: 100ZZZAAA0 (ground state)."""
    return 1_000_000_000 + 10_000 * Z + 10 * A


def beam_momenta(A: int, sqrt_snn: float, mass: float) -> np.ndarray:
    """(2, 4) four-momenta of the nuclei moving along +z and -z: E = A sqrt_snn / 2."""
    e = 0.5 * A * sqrt_snn
    pz = np.sqrt(e * e - mass * mass)
    return np.array([[e, 0.0, 0.0, pz], [e, 0.0, 0.0, -pz]])


def recoil_nuclei(beams: np.ndarray, meson: np.ndarray, mass: float) -> np.ndarray:
    """(N, 2, 4) on-shell outgoing nuclei that conserve four-momentum with the (N, 4) meson;
    nucleus 2 (-z) takes the transverse recoil.  Light-cone variables p+- = E +- pz: with
    S = beam1 + beam2 - meson, nucleus 2's p+ = x solves S- x^2 - B x + m2t^2 S+ = 0,
    B = S+ S- - M^2 + m2t^2 (the small root, taken in the cancellation-free form)."""
    s = beams.sum(axis=0)[None, :] - meson
    s_plus, s_minus = s[:, 0] + s[:, 3], s[:, 0] - s[:, 3]
    m2 = mass * mass
    m2t = m2 + meson[:, 1] ** 2 + meson[:, 2] ** 2
    b = s_plus * s_minus - m2 + m2t
    x = 2.0 * m2t * s_plus / (b + np.sqrt(b * b - 4.0 * s_minus * s_plus * m2t))
    n2_plus, n2_minus = x, m2t / x
    n1_plus, n1_minus = s_plus - x, s_minus - n2_minus
    out = np.zeros((meson.shape[0], 2, 4))
    out[:, 0, 0], out[:, 0, 3] = 0.5 * (n1_plus + n1_minus), 0.5 * (n1_plus - n1_minus)
    out[:, 1, 0], out[:, 1, 3] = 0.5 * (n2_plus + n2_minus), 0.5 * (n2_plus - n2_minus)
    out[:, 1, 1], out[:, 1, 2] = -meson[:, 1], -meson[:, 2]
    return out


def write_hepmc3(path: str | os.PathLike[str], manifest: dict[str, Any],
                 tables: Iterable[dict[str, np.ndarray]]) -> Path:
    """HepMC3 ASCII file of every event of ``tables`` (generator level: all events, with the
    attributes ``coherent``, ``accepted`` and ``neutron_class``); GeV and mm.

    ``manifest`` must hold nucleus Z, A, mass (GeV), sqrt_snn and the PDG ids of the meson
    and its daughters (keys 'beam' and 'pdg'); it is also stored as the run attribute
    'upclens_manifest'."""
    import pyhepmc

    beam, pdg = manifest["beam"], manifest["pdg"]
    m_ion = float(beam["mass"])
    beams = beam_momenta(int(beam["A"]), float(beam["sqrt_snn"]), m_ion)
    ion = ion_pdg_id(int(beam["Z"]), int(beam["A"]))
    m_meson_pole, m_d = float(pdg["meson_mass"]), float(pdg["daughter_mass"])
    pid = np.array([ion, ion, pdg["meson"], ion, ion, pdg["d1"], pdg["d2"]], dtype=np.int32)
    status = np.array([4, 4, 2, 1, 1, 1, 1], dtype=np.int32)
    # 0-based inclusive parent ranges: beams -> meson + nuclei; meson -> daughters
    parents = np.array([[-1, -1], [-1, -1], [0, 1], [0, 1], [0, 1], [2, 2], [2, 2]])
    run = pyhepmc.GenRunInfo()
    run.tools = [pyhepmc.GenRunInfo.ToolInfo("upclens", manifest.get("upclens_version", ""),
                                             "coherent vector mesons in UPCs")]
    run.attributes = {"upclens_manifest": json.dumps(manifest, sort_keys=True)}
    with atomic_path(path, suffix=".hepmc3") as tmp, pyhepmc.io.WriterAscii(str(tmp), run) as w:
        evt = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.MM)
        for t in tables:
            meson = four_momentum(t, "meson")
            nuclei = recoil_nuclei(beams, meson, m_ion)
            d1, d2 = four_momentum(t, "d1"), four_momentum(t, "d2")
            for i in range(len(meson)):
                p = np.stack([beams[0], beams[1], meson[i], nuclei[i, 0], nuclei[i, 1], d1[i],
                              d2[i]])
                mass = np.array([m_ion, m_ion, t["meson_mass"][i] or m_meson_pole, m_ion, m_ion,
                                 m_d, m_d])
                evt.from_hepevt(int(t["event"][i]), p[:, 1].copy(), p[:, 2].copy(),
                                p[:, 3].copy(), p[:, 0].copy(), mass, pid, status,
                                parents=parents, fortran=False)
                evt.run_info = run
                evt.attributes = {"coherent": bool(t["coherent"][i]),
                                  "accepted": bool(t["accepted"][i]),
                                  "neutron_class": str(t["neutron_class"][i])}
                hi = pyhepmc.GenHeavyIon()  # after the attributes: it is one of them
                hi.impact_parameter = float(t["truth_b_fm"][i])
                hi.event_plane_angle = float(t["truth_b_phi"][i])
                evt.heavy_ion = hi
                w.write(evt)
    return Path(path)


def hepmc3_manifest(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest stored in a HepMC3 event file, or None if it has none (or no events)."""
    import pyhepmc

    try:
        with pyhepmc.open(str(path)) as f:
            evt = f.read()
            if evt is None or evt.run_info is None:
                return None
            return json.loads(str(evt.run_info.attributes["upclens_manifest"]))
    except (OSError, KeyError, ValueError, RuntimeError):
        return None
