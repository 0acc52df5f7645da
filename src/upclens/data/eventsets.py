"""Event-set datasets: labelled sets of measured-like events, one nuclear configuration per set.

Item k of (config, seed) draws its labels (beta2, |beta3|, Delta r_np, skin, nuisances R, a,
sigma_vn_scale) from the priors, builds one ``EventSampler`` for that nucleus and samples
``n_events`` collisions (one per event: |b| from the UPC weight, random b direction, rapidity,
the meson's spin density matrix), decays them, smears and cuts them as ``events`` says, and keeps
per event the quantities a measurement has (``FEATURES``):

    px, py        pair transverse momentum in the lab (GeV), from the (reconstructed) daughters
    delta_phi     azimuth of daughter 1 relative to the pair pT (rad, in (-pi, pi])
    rapidity      pair rapidity
    neutron_class 0 (0n0n), 1 (0nXn), 2 (XnXn): drawn per event from P(class | b) at the event's
                  own |b| when ``events.neutron_class`` is 'any' (the three classes analysed
                  together); the fixed class otherwise.

How N enters: a stored set holds ``n_events`` = N_max independent events of one configuration,
in random order, so its first N rows are a set of N events of the same configuration for any
N <= N_max (``subsets``).  One generation at N_max serves every N.

Storage reuses the image dataset layer unchanged (chunks of (seed, index) items run by local
processes or Dask, staged, checksummed, resumable, one HDF5 file written atomically): the
``images`` array holds the sets, shape (n_sets, n_events, len(FEATURES)) float32, the ``px`` and
``py`` axes are the feature and event indices, and the root attribute ``kind`` is 'event-sets'.

Random streams of item k: ``np.random.SeedSequence([seed, k])`` spawns (labels, production,
decay, detector, classes), so the sets are identical for any number of workers.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from upclens import __version__
from upclens.data.config import Prior, PriorsConfig
from upclens.errors import ParameterError, UpclensError, check_integer

if TYPE_CHECKING:
    from upclens.data.eventgen import EventConfig

KIND = "event-sets"
FEATURES = ("px", "py", "delta_phi", "rapidity", "neutron_class")
CLASS_CODES = ("0n0n", "0nXn", "XnXn")
READS = ("pt", "angle", "classes", "rapidity")
"""What an analysis of the sets may read of each event, in the order the handles are added
(the columns of ``upclens event-fisher``): the pair |pT| (always), the daughter angle Delta phi,
the neutron class, the rapidity.  An analysis that does not read a handle pools its events over
it (the lab azimuth of pT carries nothing: b's direction is random per event)."""
READ_COLUMNS = {"pT only": ("pt",), "+ daughter angle": ("pt", "angle"),
                "+ neutron classes": ("pt", "angle", "classes"), "+ rapidity": READS}
"""The cumulative analyses of the sets, named as the event-fisher columns."""
MAX_EVENTS = 1_000_000
MAX_DRAW_ROUNDS = 50


def check_reads(reads: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``reads`` as a tuple in ``READS`` order; ParameterError for an unknown handle, a
    repeated one, or one without 'pt'."""
    out = tuple(reads)
    for r in out:
        if r not in READS:
            raise ParameterError("reads", r, "must be one of " + ", ".join(READS))
    if len(set(out)) != len(out) or "pt" not in out:
        raise ParameterError("reads", ",".join(out), "must name 'pt' and no handle twice")
    return tuple(r for r in READS if r in out)


def default_events() -> EventConfig:
    """Zr96 + Zr96 at 200 GeV, J/psi -> e+e-, |y| < 1, classes tagged, no detector."""
    from upclens.data.eventgen import EventConfig

    return EventConfig(nucleus="Zr96", y_min=-1.0, y_max=1.0, formats=("parquet",))


def nuisance_priors(nucleus: str = "Zr96") -> dict[str, Prior]:
    """Gaussian priors of the protons' R, a (fm) and the factor on sigma_J/psi-N, as the ladder's
    nuisance rows draw them (centred on the preset and 1, truncated at 3 sd)."""
    from upclens.data.config import NUISANCE_PRIORS
    from upclens.physics.presets import preset

    p = preset(nucleus)
    out = {}
    for name, centre in (("R", p.R), ("a", p.a), ("sigma_vn_scale", 1.0)):
        sd = NUISANCE_PRIORS[name]
        out[name] = Prior("normal", mean=centre, sd=sd, low=centre - 3 * sd,
                          high=centre + 3 * sd)
    return out


def default_priors(nucleus: str = "Zr96") -> PriorsConfig:
    """beta2, |beta3| uniform in [0, 0.3], Delta r_np uniform in [0, 0.3] fm (skin above 0.1 fm),
    and the nuisances R, a, sigma_vn_scale of ``nuisance_priors``."""
    return PriorsConfig(beta2=Prior("uniform", low=0.0, high=0.3),
                        beta3=Prior("uniform", low=0.0, high=0.3),
                        delta_rnp=Prior("uniform", low=0.0, high=0.3, threshold=0.1),
                        **nuisance_priors(nucleus))


@dataclass(frozen=True)
class EventSetConfig:
    """What an event-set dataset holds, apart from its size and seed.

    events: the event physics, detector and cuts (``upclens events``' config; its
    neutron_class 'any' means every event is tagged with its drawn class).  priors: labels and
    nuisances (no 'b' prior: |b| is drawn per event).  n_events: events per set (N_max).
    skin_type: how Delta r_np is made.  chunk_size: sets per work chunk (part of the streams'
    bookkeeping only).
    """

    events: EventConfig = field(default_factory=default_events)
    priors: PriorsConfig = field(default_factory=default_priors)
    n_events: int = 1000
    skin_type: str = "halo"
    chunk_size: int = 4

    def __post_init__(self) -> None:
        check_integer("n_events", self.n_events, 1, MAX_EVENTS)
        check_integer("chunk_size", self.chunk_size, 1, 100_000)
        if self.priors.b is not None:
            raise ParameterError("priors.b", "set", "must be unset: |b| is drawn per event")
        if self.skin_type not in ("halo", "skin"):
            raise ParameterError("skin_type", self.skin_type, "must be 'halo' or 'skin'")

    @property
    def columns(self) -> list[str]:
        """Label column names in stored order."""
        return ["beta2", "beta3", "delta_rnp", "skin", *(n for n, _ in self.priors.nuisance())]

    def content_dict(self) -> dict[str, Any]:
        """Plain dict that identifies the content (stored in the file as JSON)."""
        priors = {"beta2": self.priors.beta2.to_dict(), "beta3": self.priors.beta3.to_dict(),
                  "delta_rnp": self.priors.delta_rnp.to_dict(with_threshold=True)}
        priors.update({name: p.to_dict() for name, p in self.priors.nuisance()})
        ev = self.events.content_dict()
        ev.pop("formats")
        ev.pop("chunk_size")
        return {"kind": KIND, "events": ev, "priors": priors, "n_events": self.n_events,
                "skin_type": self.skin_type, "features": list(FEATURES),
                "class_codes": list(CLASS_CODES)}

    def replace(self, **changes: Any) -> EventSetConfig:
        return dataclasses.replace(self, **changes)


def config_from_dict(d: dict[str, Any]) -> EventSetConfig:
    """Inverse of ``EventSetConfig.content_dict`` (as stored in a file)."""
    from upclens.data.eventgen import EventConfig

    if d.get("kind") != KIND:
        raise ParameterError("config", d.get("kind"), f"must be an {KIND} config")
    ev = dict(d["events"])
    ev["cuts"] = tuple(tuple(c) for c in ev.get("cuts", ()))
    ev["formats"] = ("parquet",)
    pr = {k: Prior(**v) for k, v in d["priors"].items()}
    return EventSetConfig(events=EventConfig(**ev), priors=PriorsConfig(**pr),
                          n_events=int(d["n_events"]), skin_type=str(d["skin_type"]))


# -- per-event features ------------------------------------------------------------------------
def features_from_daughters(p1: np.ndarray, p2: np.ndarray) -> dict[str, np.ndarray]:
    """px, py (GeV), delta_phi (rad) and rapidity of the pairs of daughters with four-momenta
    p1, p2 (N, 4) = (E, px, py, pz) in GeV."""
    pair = p1 + p2
    phi_pair = np.arctan2(pair[:, 2], pair[:, 1])
    phi_1 = np.arctan2(p1[:, 2], p1[:, 1])
    dphi = np.angle(np.exp(1j * (phi_1 - phi_pair)))
    y = 0.5 * np.log((pair[:, 0] + pair[:, 3]) / (pair[:, 0] - pair[:, 3]))
    return {"px": pair[:, 1], "py": pair[:, 2], "delta_phi": dphi, "rapidity": y}


def class_codes(b_fm: np.ndarray, cfg: EventSetConfig, rng: np.random.Generator) -> np.ndarray:
    """(N,) neutron class code of each event: drawn from P(class | b) at its own |b| (class
    'any'), else the configured class."""
    ev = cfg.events
    if ev.neutron_class != "any":
        return np.full(b_fm.shape, CLASS_CODES.index(ev.neutron_class), dtype=np.int64)
    from upclens.physics.neutrons import class_probability
    from upclens.physics.presets import preset

    p = preset(ev.nucleus)
    probs = np.stack([class_probability(b_fm, c, Z=p.Z, A=p.A, sqrt_snn=ev.sqrt_snn)
                      for c in CLASS_CODES], axis=1)
    cum = np.cumsum(probs, axis=1)
    u = rng.random(b_fm.shape) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), len(CLASS_CODES) - 1)


def _sampler(cfg: EventSetConfig, labels: dict[str, float]) -> Any:
    from functools import partial

    from upclens.physics.nucleus import Nucleus
    from upclens.physics.production import EventSampler
    from upclens.physics.settings import ModelSwitches

    ev = cfg.events
    shape = {k: labels[k] for k in ("R", "a") if k in labels}
    nucleus = Nucleus.from_preset(ev.nucleus, beta2=labels["beta2"], beta3=labels["beta3"],
                                  delta_rnp=labels["delta_rnp"], skin_type=cfg.skin_type,
                                  **shape)
    weight = None
    if ev.neutron_class != "any":
        from upclens.physics.neutrons import class_probability

        weight = partial(class_probability, neutron_class=ev.neutron_class, Z=nucleus.Z,
                         A=nucleus.A, sqrt_snn=ev.sqrt_snn)
    switches = ModelSwitches(polarization="vector",
                             sigma_vn_scale=labels.get("sigma_vn_scale", 1.0))
    return EventSampler(nucleus, meson=ev.meson, sqrt_snn=ev.sqrt_snn,
                        rapidity=(ev.y_min, ev.y_max), b_weight=weight, pt_max=ev.pt_max,
                        switches=switches)


def simulate_set(cfg: EventSetConfig, seed: int, index: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Set ``index`` of (cfg, seed): features (n_events, len(FEATURES)) float32 and labels
    (K,) float32 in ``cfg.columns`` order.  With ``events.accepted_only`` events are drawn in
    rounds until n_events are accepted (rows in draw order)."""
    from upclens.data.eventgen import event_table
    from upclens.data.priors import draw_labels
    from upclens.data.threads import single_blas_thread
    from upclens.physics.decays import pdg_mass  # noqa: F401  (particle is needed)

    streams = [np.random.default_rng(s)
               for s in np.random.SeedSequence([seed, index]).spawn(5)]
    lab_rng, prod, dec, det, cls_rng = streams
    labels = draw_labels(cfg, lab_rng)  # type: ignore[arg-type]  # uses .priors only
    n = cfg.n_events
    parts: list[dict[str, np.ndarray]] = []
    kept = 0
    with single_blas_thread():
        sampler = _sampler(cfg, labels)
        for _ in range(MAX_DRAW_ROUNDS):
            want = n - kept
            draw = want if not cfg.events.accepted_only else math.ceil(1.2 * want) + 16
            table = event_table(cfg.events, sampler.sample(draw, prod), 0, dec, det)
            prefix = "d{}_reco" if cfg.events.detector != "none" else "d{}"
            p1, p2 = (np.stack([table[f"{prefix.format(k)}_{c}"] for c in ("e", "px", "py", "pz")],
                               axis=1) for k in (1, 2))
            f = features_from_daughters(p1, p2)
            f["neutron_class"] = class_codes(np.asarray(table["truth_b_fm"]), cfg, cls_rng)
            take = min(want, len(p1))
            parts.append({k: v[:take] for k, v in f.items()})
            kept += take
            if kept == n:
                break
        else:
            raise UpclensError(f"set {index}: fewer than {n} accepted events after "
                               f"{MAX_DRAW_ROUNDS} rounds")
    feats = np.stack([np.concatenate([p[k] for p in parts]) for k in FEATURES], axis=1)
    row = np.array([labels[c] for c in cfg.columns], dtype=np.float32)
    return feats.astype(np.float32), row


def simulate_chunk(cfg: EventSetConfig, seed: int, chunk: int, start: int, stop: int
                   ) -> tuple[int, np.ndarray, np.ndarray]:
    """Sets start..stop-1: (chunk, features (m, n_events, F), labels (m, K))."""
    feats = np.empty((stop - start, cfg.n_events, len(FEATURES)), dtype=np.float32)
    labels = np.empty((stop - start, len(cfg.columns)), dtype=np.float32)
    for i, k in enumerate(range(start, stop)):
        feats[i], labels[i] = simulate_set(cfg, seed, k)
    return chunk, feats, labels


# -- the run -----------------------------------------------------------------------------------
def _manifest(cfg: EventSetConfig, n: int, seed: int) -> dict[str, Any]:
    return {"config": cfg.content_dict(), "n": n, "seed": seed, "columns": cfg.columns,
            "chunk_size": cfg.chunk_size, "upclens_version": __version__}


def generate_event_sets(cfg: EventSetConfig, n: int, seed: int, out: str | os.PathLike[str],
                        workers: int = 1, scheduler: str = "processes",
                        progress: bool = True) -> Path:
    """Simulate ``n`` event sets of ``cfg`` with base ``seed`` into the HDF5 file ``out``.

    Workers and scheduler as ``generate_dataset``; a rerun after an interruption continues
    from the finished chunks; a finished file of the same call is returned as it is, one of
    another call refused.  A finished file of the same config and seed with fewer sets is
    extended: set k depends only on (seed, k) (``simulate_set``), so its whole chunks are
    copied, checksums verified, and only the sets after them simulated; the old file stays in
    place until the longer one replaces it.
    """
    from tqdm import tqdm

    from upclens.data.config import ConfigMismatchError
    from upclens.data.eventgen import check_acceptance
    from upclens.data.generate import check_run, run_chunks
    from upclens.data.staging import Staging, WriterLock
    from upclens.data.store import write_dataset
    from upclens.io import check_writable

    n, seed, workers, scheduler = check_run(n, seed, workers, scheduler)
    out = check_writable(out)
    cs = cfg.chunk_size
    n_chunks = -(-n // cs)
    man = json.loads(json.dumps(_manifest(cfg, n, seed)))
    with WriterLock(out):
        staging = Staging(out, man)
        shorter = 0
        if out.exists():
            info = read_meta(out)
            if info["config"] != man["config"] or info["n"] > n or info["seed"] != seed:
                raise ConfigMismatchError(f"{out} exists with another config, seed or size; "
                                          "choose another --out or delete it")
            if info["n"] == n:
                staging.remove()
                return out
            shorter = info["n"]
        if cfg.events.detector != "none":
            check_acceptance(cfg.events)
        staging.open()
        done = staging.done(n_chunks)
        if shorter:
            done |= _copy_whole_chunks(out, staging, cs, done)
        tasks = [(c, c * cs, min(n, (c + 1) * cs)) for c in range(n_chunks) if c not in done]
        bar = tqdm(total=n, initial=n - sum(b - a for _, a, b in tasks), unit="set",
                   desc=out.name, disable=not progress, dynamic_ncols=True)
        try:
            for c, feats, labels in run_chunks(simulate_chunk, cfg, seed, tasks, workers,
                                               scheduler):
                staging.write(c, feats, labels)
                bar.update(len(feats))
        finally:
            bar.close()
        write_dataset(out, man["config"], seed=seed, n=n, chunk_size=cs, columns=cfg.columns,
                      px=np.arange(len(FEATURES), dtype=float),
                      py=np.arange(cfg.n_events, dtype=float),
                      chunks=(staging.read(c) for c in range(n_chunks)),
                      extra_attrs={"kind": KIND})
        staging.remove()
    return out


def _copy_whole_chunks(old: Path, staging: Any, chunk_size: int, done: set[int]) -> set[int]:
    """Stage the chunks of the finished file ``old`` that hold ``chunk_size`` sets each and
    are not in ``done`` (checksums verified on reading); the chunks now staged."""
    from upclens.data.store import open_checked, read_chunk

    copied = set()
    with open_checked(old) as f:
        if int(f.attrs["chunk_size"]) != chunk_size:
            return copied
        for c in range(int(f.attrs["n"]) // chunk_size):
            if c not in done:
                staging.write(c, *read_chunk(f, c))
            copied.add(c)
    return copied


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """{'config', 'n', 'seed', 'columns'} of an event-set file (ParameterError if not one)."""
    from upclens.data.store import open_checked

    with open_checked(path) as f:
        if f.attrs.get("kind") != KIND:
            raise ParameterError("data", str(path), f"must be an {KIND} file")
        return {"config": json.loads(f.attrs["config"]), "n": int(f.attrs["n"]),
                "seed": int(f.attrs["seed"]),
                "columns": json.loads(f["labels"].attrs["columns"])}


def read_event_sets(path: str | os.PathLike[str], n_events: int | None = None
                    ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, Any]]:
    """(features (n, N, F) float32, labels by column, config dict) with checksums verified;
    ``n_events`` = N keeps the first N events of each set (N <= the stored N_max)."""
    from upclens.data.store import read_dataset

    meta = read_meta(path)
    n_max = int(meta["config"]["n_events"])
    if n_events is not None:
        check_integer("n_events", n_events, 1, n_max)
    feats, labels, _ = read_dataset(path)
    if n_events is not None:
        feats = np.ascontiguousarray(feats[:, :n_events])
    return feats, labels, meta["config"]


def subsets(feats: np.ndarray, n_events: int, rng: np.random.Generator) -> np.ndarray:
    """A random subset of ``n_events`` events of every set: (n, N_max, F) -> (n, N, F).
    Every subset of iid events chosen without looking at them is a valid set of that size
    (training augmentation); the subset of a set is the cyclic window of N events from a
    uniformly drawn start, which costs O(N) per set (a full random permutation of N_max = 1e5
    events per set and epoch cost 6-10 s per epoch of 600 sets, more than the training)."""
    n_sets, n_max, _ = feats.shape
    check_integer("n_events", n_events, 1, n_max)
    start = rng.integers(0, n_max, size=n_sets)
    idx = (start[:, None] + np.arange(n_events)[None, :]) % n_max
    return np.take_along_axis(feats, idx[:, :, None], axis=1)
