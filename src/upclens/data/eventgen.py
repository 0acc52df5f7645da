"""Event files at scale: chunks of events made by local processes or a Dask cluster, staged, then
written as Parquet and HepMC3; resumable after any interruption.

The work unit is a chunk of ``chunk_size`` consecutive events; chunk c draws everything from
``np.random.SeedSequence([seed, c])`` (split into production, decay and detector streams), so the
files are identical for the same (config, seed) whatever the number of workers or the scheduler.
The runner, the writer lock and the staging folder are the dataset machinery's
(data/generate.py, data/staging.py).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from upclens import __version__
from upclens.data.eventfiles import (
    COLUMNS,
    FORMATS,
    SUFFIXES,
    hepmc3_manifest,
    parquet_manifest,
    write_hepmc3,
    write_parquet,
)
from upclens.data.staging import Staging, WriterLock, _write_atomic
from upclens.errors import ParameterError, UpclensError, check_choice, check_integer, check_range

if TYPE_CHECKING:
    from upclens.physics.production import MesonBatch

MESON_IDS = {"jpsi": 443, "psi2s": 100443, "rho0": 113}
DEFAULT_CHANNEL = {"jpsi": "ee", "psi2s": "ee", "rho0": "pipi"}
NEUTRON_CLASSES = ("any", "0n0n", "0nXn", "XnXn")


@dataclass(frozen=True)
class EventConfig:
    """What ``upclens events`` makes.

    nucleus: preset name (both beams).  meson: 'jpsi', 'psi2s' or 'rho0'; channel: 'ee', 'mumu'
    or 'pipi' (None: ee for psi states, pipi for rho0).  sqrt_snn: GeV.  y_min, y_max: meson
    rapidity range.  neutron_class: 'any', '0n0n', '0nXn', 'XnXn'.  detector: preset name;
    cuts: ((name, value), ...) replacing preset values.  incoherent_fraction: share of events
    drawn from the incoherent spectrum.  pt_max: largest meson pT (GeV), coherent or not.
    accepted_only: keep only events whose daughters are both accepted.  chunk_size: events per
    work chunk (part of the random streams).  formats: files to write.
    """

    nucleus: str = "Au197"
    meson: str = "jpsi"
    channel: str | None = None
    sqrt_snn: float = 200.0
    y_min: float = -1.0
    y_max: float = 1.0
    neutron_class: str = "any"
    detector: str = "none"
    cuts: tuple[tuple[str, float], ...] = ()
    incoherent_fraction: float = 0.0
    pt_max: float = 0.3
    accepted_only: bool = False
    chunk_size: int = 10_000
    formats: tuple[str, ...] = FORMATS

    def __post_init__(self) -> None:
        from upclens.physics.decays import check_channel
        from upclens.physics.detector import detector
        from upclens.physics.presets import preset

        preset(self.nucleus)
        check_choice("meson", self.meson, tuple(MESON_IDS))
        if self.channel is None:
            object.__setattr__(self, "channel", DEFAULT_CHANNEL[self.meson])
        check_channel(str(self.channel), MESON_IDS[self.meson])
        check_range("sqrt_snn", self.sqrt_snn, 10.0, 1.0e5)
        check_choice("neutron_class", self.neutron_class, NEUTRON_CLASSES)
        detector(self.detector, **dict(self.cuts))
        check_range("incoherent_fraction", self.incoherent_fraction, 0.0, 1.0, hi_open=True)
        check_range("pt_max", self.pt_max, 0.0, 2.0, lo_open=True)
        check_integer("chunk_size", self.chunk_size, 1, 10_000_000)
        for f in self.formats:
            check_choice("format", f, FORMATS)
        if not self.formats:
            raise ParameterError("formats", "", "must name at least one of " + ", ".join(FORMATS))
        y_reach = self.rapidity_reach
        if not (-y_reach < self.y_min <= self.y_max < y_reach):
            raise ParameterError("rapidity", (self.y_min, self.y_max),
                                 f"must satisfy -{y_reach:.3g} < y_min <= y_max < {y_reach:.3g}"
                                 f" (the reach of {self.meson} at {self.sqrt_snn:g} GeV)")

    @property
    def meson_mass(self) -> float:
        from upclens.physics.decays import pdg_mass

        return pdg_mass(MESON_IDS[self.meson])

    @property
    def rapidity_reach(self) -> float:
        """Limit of |y|: photon-nucleon x = (M / sqrt_snn) e^|y| <= 1, and at most the beam
        rapidity acosh(gamma)."""
        from upclens.physics.kinematics import lorentz_gamma

        return min(math.log(self.sqrt_snn / self.meson_mass),
                   math.acosh(lorentz_gamma(self.sqrt_snn)))

    def content_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cuts"] = [list(c) for c in self.cuts]
        d["formats"] = list(self.formats)
        return d


def detector_of(cfg: EventConfig) -> Any:
    from upclens.physics.detector import detector

    return detector(cfg.detector, **dict(cfg.cuts))


def check_acceptance(cfg: EventConfig, n_trial: int = 20_000) -> float:
    """Fraction of trial decays the detector accepts; ParameterError when it is empty."""
    from upclens.physics.decays import channel_ids, pdg_mass
    from upclens.physics.detector import acceptance_fraction, check_reachable

    det = detector_of(cfg)
    m_d = pdg_mass(abs(channel_ids(str(cfg.channel))[0]))
    y_abs = max(abs(cfg.y_min), abs(cfg.y_max))
    check_reachable(det, cfg.meson_mass, m_d, max(cfg.pt_max, 1.0), y_abs)
    frac = acceptance_fraction(det, MESON_IDS[cfg.meson], cfg.meson_mass, str(cfg.channel),
                               (cfg.y_min, cfg.y_max), cfg.pt_max, n_trial,
                               np.random.default_rng(0))
    if frac == 0.0:
        raise ParameterError("detector", det.name,
                             f"empty acceptance: none of {n_trial} trial {cfg.channel} decays of "
                             f"{cfg.meson} at {cfg.y_min:g} < y < {cfg.y_max:g} pass its cuts")
    return frac


# -- one chunk ---------------------------------------------------------------------------------
def chunk_streams(seed: int, chunk: int) -> tuple[np.random.Generator, ...]:
    """(production, decay, detector) generators of chunk ``chunk``."""
    return tuple(np.random.default_rng(s)
                 for s in np.random.SeedSequence([seed, chunk]).spawn(3))


def event_table(cfg: EventConfig, batch: MesonBatch, first: int,
                decay_rng: np.random.Generator, detector_rng: np.random.Generator
                ) -> dict[str, np.ndarray]:
    """The event rows of ``batch`` (numbered from ``first``): an incoherent share of the mesons
    takes its pT from the Good-Walker incoherent spectrum inside the window (keeping its
    rapidity, b and so its neutron class; polarised along its b, which the pair pT no longer
    follows), then decay, smearing and acceptance."""
    from upclens.physics.decays import decay_mesons, meson_four_momentum, pdg_mass
    from upclens.physics.detector import accepted, smear
    from upclens.physics.incoherent import background_table, sample_background
    from upclens.physics.nucleus import Nucleus

    n = len(batch.px)
    px, py = np.array(batch.px, dtype=float), np.array(batch.py, dtype=float)
    rho = np.array(batch.rho, dtype=complex)
    coherent = np.ones(n, dtype=bool)
    if cfg.incoherent_fraction > 0.0:
        coherent = detector_rng.random(n) >= cfg.incoherent_fraction
        inc = np.nonzero(~coherent)[0]
        table = background_table(Nucleus.from_preset(cfg.nucleus), cfg.sqrt_snn, cfg.pt_max)
        px[inc], py[inc] = sample_background(inc.size, detector_rng, *table)
        e = np.stack([np.cos(batch.b_phi[inc]), np.sin(batch.b_phi[inc])], axis=1)
        rho[inc] = e[:, :, None] * e[:, None, :]
    pdg = MESON_IDS[cfg.meson]
    d = decay_mesons(px, py, batch.rapidity, batch.mass, rho, pdg, str(cfg.channel), decay_rng)
    m_d = pdg_mass(abs(d.pdg_ids[0]))
    det = detector_of(cfg)
    r1, r2 = smear(det, d.p1, m_d, detector_rng), smear(det, d.p2, m_d, detector_rng)
    meson = meson_four_momentum(px, py, batch.rapidity, batch.mass)
    table: dict[str, np.ndarray] = {
        "event": np.arange(first, first + n, dtype=np.int64), "coherent": coherent,
        "accepted": accepted(det, r1, r2),
        "neutron_class": np.full(n, cfg.neutron_class, dtype=object),
        "rapidity": np.asarray(batch.rapidity, dtype=float),
        "meson_mass": np.asarray(batch.mass, dtype=float),
        "truth_b_fm": np.asarray(batch.b, dtype=float),
        "truth_b_phi": np.asarray(batch.b_phi, dtype=float),
    }
    for prefix, p in (("meson", meson), ("d1", d.p1), ("d2", d.p2), ("d1_reco", r1),
                      ("d2_reco", r2)):
        for k, c in enumerate(("e", "px", "py", "pz")):
            table[f"{prefix}_{c}"] = p[:, k]
    if cfg.accepted_only:
        table = {k: v[table["accepted"]] for k, v in table.items()}
    return {k: table[k] for k in COLUMNS}


@cache
def _sampler(cfg: EventConfig) -> Any:
    """The engine's sampler of ``cfg`` (built once per process: <= 1 s per configuration)."""
    from functools import partial

    from upclens.physics.nucleus import Nucleus
    from upclens.physics.production import EventSampler

    nucleus = Nucleus.from_preset(cfg.nucleus)
    weight = None
    if cfg.neutron_class != "any":
        from upclens.physics.neutrons import class_probability

        weight = partial(class_probability, neutron_class=cfg.neutron_class, Z=nucleus.Z,
                         A=nucleus.A, sqrt_snn=cfg.sqrt_snn)
    return EventSampler(nucleus, meson=cfg.meson, sqrt_snn=cfg.sqrt_snn,
                        rapidity=(cfg.y_min, cfg.y_max), b_weight=weight, pt_max=cfg.pt_max)


def event_chunk(cfg: EventConfig, seed: int, chunk: int, start: int, stop: int
                ) -> tuple[int, dict[str, np.ndarray]]:
    """Events start..stop-1 of (cfg, seed): (chunk, event table)."""
    from upclens.data.threads import single_blas_thread

    prod, dec, det = chunk_streams(seed, chunk)
    with single_blas_thread():
        batch = _sampler(cfg).sample(stop - start, prod)
        return chunk, event_table(cfg, batch, start, dec, det)


# -- staging and the run -----------------------------------------------------------------------
def table_checksum(table: dict[str, np.ndarray]) -> str:
    """SHA-256 of the columns' names and bytes (strings as UTF-8, one per line)."""
    h = hashlib.sha256()
    for name in sorted(table):
        col = np.asarray(table[name])
        h.update(name.encode())
        if col.dtype == object:
            h.update("\n".join(map(str, col)).encode())
        else:
            h.update(np.ascontiguousarray(col).tobytes())
    return h.hexdigest()


class TableStaging(Staging):
    """Staged chunks that are event tables (a dict of columns) rather than image arrays."""

    def write(self, c: int, table: dict[str, np.ndarray]) -> None:  # type: ignore[override]
        arrays = {k: (v.astype(str) if v.dtype == object else v) for k, v in table.items()}
        sha = table_checksum(table)
        _write_atomic(self.chunk_path(c), lambda fh: np.savez(fh, sha256=sha, **arrays))

    def read(self, c: int) -> tuple[int, dict[str, np.ndarray]]:  # type: ignore[override]
        with np.load(self.chunk_path(c)) as data:
            table = {k: data[k] for k in COLUMNS}
            sha = str(data["sha256"])
        table["neutron_class"] = table["neutron_class"].astype(object)
        if table_checksum(table) != sha:
            raise UpclensError(f"{self.chunk_path(c)} fails its checksum")
        return c, table


def output_paths(out: str | os.PathLike[str], formats: tuple[str, ...]) -> dict[str, Path]:
    """{format: path}: ``out`` without a known suffix, plus .parquet / .hepmc3."""
    p = Path(out)
    if p.suffix in SUFFIXES.values():
        p = p.with_suffix("")
    return {f: p.with_name(p.name + SUFFIXES[f]) for f in formats}


def manifest(cfg: EventConfig, n: int, seed: int) -> dict[str, Any]:
    """What identifies a run's files (not the workers or the scheduler)."""
    from upclens.physics.constants import M_NUCLEON_AMU
    from upclens.physics.decays import channel_ids, pdg_mass
    from upclens.physics.presets import preset

    p = preset(cfg.nucleus)
    d1, d2 = channel_ids(str(cfg.channel))
    return {"config": cfg.content_dict(), "n": n, "seed": seed,
            "upclens_version": __version__, "units": "GeV, mm; truth_b in fm and rad",
            "beam": {"Z": p.Z, "A": p.A, "mass": p.A * M_NUCLEON_AMU, "sqrt_snn": cfg.sqrt_snn},
            "pdg": {"meson": MESON_IDS[cfg.meson], "d1": d1, "d2": d2,
                    "meson_mass": cfg.meson_mass, "daughter_mass": pdg_mass(abs(d1))}}


_READERS = {"parquet": parquet_manifest, "hepmc3": hepmc3_manifest}
_WRITERS = {"parquet": write_parquet, "hepmc3": write_hepmc3}


def generate_events(cfg: EventConfig, n: int, seed: int, out: str | os.PathLike[str],
                    workers: int = 1, scheduler: str = "processes", progress: bool = True
                    ) -> dict[str, Path]:
    """Make ``n`` events of ``cfg`` with base ``seed`` into ``out``.parquet / .hepmc3.

    Rerunning the same call after an interruption continues from the finished chunks (kept in
    ``out.parts``) and ends with the same files as an uninterrupted run; finished files made by
    the same call are returned as they are.  Returns {format: path}.
    """
    from tqdm import tqdm

    from upclens.data.config import ConfigMismatchError
    from upclens.data.generate import check_run, run_chunks
    from upclens.io import check_writable

    n, seed, workers, scheduler = check_run(n, seed, workers, scheduler)
    paths = output_paths(out, cfg.formats)
    for p in paths.values():
        check_writable(p)
    stem = next(iter(paths.values())).with_suffix("")
    man = json.loads(json.dumps(manifest(cfg, n, seed)))  # as it reads back from JSON
    cs = cfg.chunk_size
    n_chunks = -(-n // cs)
    with WriterLock(stem):
        staging = TableStaging(stem, man)
        if not staging.folder.exists():
            found = {f: _READERS[f](p) for f, p in paths.items() if p.exists()}
            if any(m != man for m in found.values()):
                bad = next(str(paths[f]) for f, m in found.items() if m != man)
                raise ConfigMismatchError(f"{bad} exists with another config, seed or size; "
                                          "choose another --out or delete it")
            if len(found) == len(paths):
                return paths
        check_acceptance(cfg)
        fresh = not staging.folder.exists()
        staging.open()
        done = staging.done(n_chunks)
        tasks = [(c, c * cs, min(n, (c + 1) * cs)) for c in range(n_chunks) if c not in done]
        n_done = sum(min(n, (c + 1) * cs) - c * cs for c in done)
        bar = tqdm(total=n, initial=n_done, unit="ev", desc=stem.name, disable=not progress,
                   dynamic_ncols=True)
        try:
            for c, table in run_chunks(event_chunk, cfg, seed, tasks, workers, scheduler):
                staging.write(c, table)
                bar.update(min(n, (c + 1) * cs) - c * cs)
        except UpclensError:
            if fresh and not staging.done(n_chunks):
                staging.remove()  # refused input: leave nothing behind
            raise
        finally:
            bar.close()
        for f, p in paths.items():
            _WRITERS[f](p, man, (staging.read(c)[1] for c in range(n_chunks)))
        staging.remove()
    return paths
