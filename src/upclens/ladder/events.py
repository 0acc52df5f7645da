"""The event ladder: an event-set network against the ResNet on histogram images of the same
events, at several event counts N, next to the Cramer-Rao bound of the events when one is given.

One generation of train / validation / test event sets at N_max (``upclens.data.eventsets``)
serves every N: the sets at N are the first N events of each stored set, so the three learners
see the same events at each N.  For every N:
    'eventset'   EventSetNet on the event list (|pT|, Delta phi, rapidity, neutron class),
    'resnet_pt_dphi'  ShapeNet on the (|pT|, Delta phi) histogram image,
    'resnet_lab'      ShapeNet on the lab (px, py) histogram image,
each trained on the training sets, its epoch chosen and its sigmas calibrated on the validation
sets, scored (RMSE per parameter, 68 % coverage) on the test sets, whose labels are drawn from
the priors like the training sets'.  The event-set network's joint posterior (cross-fitted
flows on its summary, ``upclens.learn.posterior``) is fitted on all validation sets (the first
half also chose the network's epochs and calibrated it: ``learn.posterior.validation_halves``)
and its SBC / TARP coverage at 50 / 68 / 95 % measured on the test sets.

The Cramer-Rao bound is local: it belongs to one parameter point.  The learners are therefore
also scored on a fiducial split, sets at (beta2, beta3, Delta r_np) = ``FIDUCIAL`` with the
nuisances drawn from their priors, and RMSE / sigma_CRB is that RMSE over the bound at the same
point for the same analysis (``information.event_fisher.sets_bound``: the sets' pT window,
rapidity range, classes and daughter angle, the nuisances R, a, sigma_J/psi-N marginalised with
the sets' prior widths), computed by the ladder (``bound.json``) unless a bound file is given.

The event-set network's per-event network phi is trained once, through every event of random
``phi_n``-subsets of the training sets (``eventset_phi_N{phi_n}``); at every N its head is then
trained on the pooled moments of the disjoint N-windows of the training sets
(``learn.eventset.refit_head``; measured: at N = 1e4 the network trained end to end stayed at
the prior, the refitted head read Delta r_np to 0.039 fm against the prior's 0.087).
The bound has a column per analysis of the sets (``data.eventsets.READ_COLUMNS``): what the
event list keeps ('event sets': |pT|, daughter angle, classes, rapidity), and the partial
analyses that read only |pT|, + the daughter angle, + the classes.  Each learner is compared
with the column of what it reads: the (|pT|, Delta phi) image holds no class or rapidity, the
lab (px, py) image only |pT| (its azimuth is b's random direction), and the event-set network
is also trained on each partial column (``SetSettings.reads``, learners 'eventset_pt', ...), so
that every column has a learner at its bound.

Resumable: finished files and runs are kept and reused.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from upclens.data.eventsets import READ_COLUMNS, READS
from upclens.errors import ParameterError, check_choice, check_range
from upclens.learn.settings import TARGETS

LEARNERS = ("eventset", "resnet_pt_dphi", "resnet_lab")
COLUMN_LEARNERS = {"eventset_" + "_".join(r): r for r in READ_COLUMNS.values() if r != READS}
"""The event-set network restricted to each partial column of the bound: name -> reads."""
LEARNER_READS: dict[str, tuple[str, ...]] = {"eventset": READS, "resnet_pt_dphi": ("pt", "angle"),
                                             "resnet_lab": ("pt",), **COLUMN_LEARNERS}
"""What each learner reads of the events (``data.eventsets.READS``)."""
EVENT_SIZES = ("tiny", "small", "default")
FIDUCIAL = {"beta2": 0.15, "beta3": 0.15, "delta_rnp": 0.1}
"""The point of the fiducial split and of the bound (that of docs/information.md, 3c)."""
BOUND_FILE = "bound.json"
SCORED_SPLITS = {"test": "", "fiducial": "fid_"}
"""The splits every learner is scored on, and the prefix of their score keys."""
SPLIT_SEEDS = {"train": 0, "val": 1, "test": 2, "fiducial": 3, "replica": 4, "flow": 8}
"""The generation seed of each split is 10 x seed + this offset."""
CORNER_SPLIT = "fiducial"
"""The split whose first set's posterior is drawn as ``corner_N{N}.png`` (the test split when
there is no fiducial one)."""
LEARNED_BELOW = 0.9
"""A learner counts as the best of a column for a parameter only where it learnt it: its RMSE
on the test sets (labels over the prior) below this fraction of the prior sd.  An estimator
that returns the prior mean scores near zero at the fiducial point, the prior's centre
(measured: a ResNet at the prior sd on the test sets read beta3 to 0.003 there)."""
CALIBRATION = "quantile"
"""The posterior's calibration (``learn.posterior.FlowSettings.calibration``): the inflation
and then the quantile map.  Measured on the default ladder's three test splits (900 sets, the
same flows): the largest miss of a pooled coverage fell from 3.5 / 4.4 / 1.7 binomial sd with
the inflation alone to 3.2 / 3.9 / 1.8 at N = 1e3 / 1e4 / 1e5 (docs/learning.md)."""
POSTERIOR_SPLITS = {"test": "", "replica": "replica_"}
"""The splits the posterior's coverage is checked on, and the prefix of their keys: the test
sets, and a second test split of the same size and priors (its own seed) that shows how far
one split's coverage scatters."""


HEADS = 4
"""Heads averaged on every phi at the small and default sizes.  Measured on the default
ladder's |pT|-only network at N = 1e5: one head refitted with four seeds read beta2 at 1.33 /
1.35 / 1.27 / 1.30 of the bound, the average of the four at 1.29, and the four trained together
1.29 (beta3 1.28 -> 1.30); four heads cost 1.7 times one (118 s against 71 s)."""

FLOWS = 4
"""Flows averaged in the posterior at the small and default sizes
(``learn.posterior.FlowSettings.flows``).  Measured on the default ladder at N = 1e5 (the same
network, 900 unseen sets, 2000-4000 samples): one flow's pooled coverages moved by up to 0.035
between two seeds (beta2's 50 % at 0.489 and 0.524; the binomial sd is 0.017), their largest
miss 2.4 sd each; the mixture of four, 1.4 sd (docs/learning.md)."""

FLOW_SETS = 1200
"""Sets that only the posterior's flows learn from at the default size, besides the 400
validation sets.  Measured on the default ladder (four flows, 1800 unseen sets, 2000 samples):
with 400 (800 sets in all) Delta r_np's 95 % intervals at N = 1e3 covered 0.964 of the sets
(2.7 binomial sd wide of 0.95), and the 36 squared misses of the three N summed to 48.3; with
1200 (1600 in all) 0.948, the sum 38.7 (an exact posterior's median 33.9, 84th percentile 48.2),
the cross-fitted widening factors 0.98-1.02, for 1.5 times the flows' time
(docs/learning.md)."""


@dataclass(frozen=True)
class EventLadderSize:
    """n_max: events per stored set; counts: the N compared; n_train, n_val, n_test: sets;
    pixels: histogram images; y_range: rapidity window; set_epochs, image_epochs; width:
    ResNet width; set_width: event MLP width; flow_epochs; n_fiducial: sets at ``FIDUCIAL``;
    phi_n: the N at which the per-event network is trained (set_epochs); head_epochs: the
    heads' epochs at W = 1 window; matched_bound: compute the sets' bound; n_replica: sets of
    the second test split (0: none); n_flow: sets that only the posterior's flows learn from,
    besides the validation sets (0: none); heads: the refitted heads averaged on each phi
    (``learn.eventset.SetSettings.heads``); flows: the flows averaged in the posterior
    (``learn.posterior.FlowSettings.flows``)."""

    name: str
    n_max: int
    counts: tuple[int, ...]
    n_train: int
    n_val: int
    n_test: int
    pixels: int
    y_range: tuple[float, float]
    set_epochs: int
    image_epochs: int
    width: int
    set_width: int
    flow_epochs: int
    n_fiducial: int
    phi_n: int
    head_epochs: int
    matched_bound: bool
    n_replica: int = 0
    n_flow: int = 0
    heads: int = 1
    flows: int = 1


SIZES = {
    "tiny": EventLadderSize("tiny", 300, (30, 100, 300), 16, 8, 8, 16, (0.0, 0.0), 3, 2, 4, 16,
                           20, 8, 100, 20, False, n_replica=8, n_flow=4, heads=2, flows=2),
    "small": EventLadderSize("small", 100_000, (10_000, 100_000), 300, 100, 100, 64, (-1.0, 1.0),
                             30, 30, 16, 32, 200, 200, 10_000, 1000, True, heads=HEADS,
                             flows=FLOWS),
    "default": EventLadderSize("default", 100_000, (1_000, 10_000, 100_000), 600, 400, 300, 64,
                               (-1.0, 1.0), 30, 30, 16, 32, 200, 200, 10_000, 1000, True,
                               n_replica=300, n_flow=FLOW_SETS, heads=HEADS, flows=FLOWS),
}


def _size(name: str) -> EventLadderSize:
    check_choice("size", name, EVENT_SIZES)
    return SIZES[name]


DEFAULT_BOUND_COLUMN = "+ rapidity"
"""The column of an event_fisher.json table that matches the ladder's sets: b direction unknown,
daughter angle, neutron classes and rapidity, no detector, no incoherent production."""


def read_bound(path: str | Path | None, column: str = DEFAULT_BOUND_COLUMN,
               names: tuple[str, ...] = TARGETS) -> dict[int, dict[str, float]]:
    """{N: {parameter: sigma_CRB}} from a JSON file (None: no bound): either {N: {parameter:
    sigma}} or the event Fisher table of ``upclens event-fisher`` (event_fisher.json: its
    'n_values' and the 'sigma' of the column named ``column``).  Only the parameters in
    ``names`` are read (e.g. the Ru - Zr differences of ``learn.pairs.DIFFERENCES``)."""
    if path is None:
        return {}
    p = Path(path)
    try:
        raw = json.loads(p.read_text("utf-8"))
        table = ([c["name"] for c in raw["columns"]]
                 if isinstance(raw, dict) and "columns" in raw and "n_values" in raw else None)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ParameterError("bound", str(path), f"must be a readable JSON file "
                             f"({type(exc).__name__})") from None
    if table is not None and column not in table:
        raise ParameterError("bound column", column, "must be one of " + ", ".join(table))
    try:
        if table is not None:
            sig = raw["columns"][table.index(column)]["sigma"]
            return {round(float(n)): {t: float(sig[t][k]) for t in names if t in sig}
                    for k, n in enumerate(raw["n_values"])}
        return {int(n): {t: float(v[t]) for t in names if t in v} for n, v in raw.items()}
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        raise ParameterError("bound", str(path), f"must be a JSON file {{N: {{parameter: "
                             f"sigma}}}} or an event_fisher.json ({type(exc).__name__})"
                             ) from None


def _score(pred: dict[str, np.ndarray], truth: dict[str, np.ndarray], prefix: str = ""
           ) -> dict[str, float]:
    """RMSE, bias and 68 % coverage of the predicted sigma per parameter (keys prefixed)."""
    out: dict[str, float] = {}
    for t in TARGETS:
        r = pred[t] - truth[t]
        out[f"{prefix}rmse_{t}"] = float(np.sqrt(np.mean(r * r)))
        out[f"{prefix}bias_{t}"] = float(np.mean(r))
        out[f"{prefix}coverage68_{t}"] = float(np.mean(np.abs(r) <= pred[f"{t}_sigma"]))
    return out


SECONDS_FILE = "train_seconds.json"


def _timed(run: Path, work: Any) -> float:
    """Run ``work()`` unless ``run`` already holds a model; its seconds, stored in the run
    (so that a resumed ladder reports the cost of runs it reuses)."""
    if not (run / "model.pt").is_file():
        t0 = time.perf_counter()
        work()
        (run / SECONDS_FILE).write_text(json.dumps({"seconds": time.perf_counter() - t0}))
    try:
        return float(json.loads((run / SECONDS_FILE).read_text())["seconds"])
    except (OSError, ValueError, KeyError):
        return float("nan")


def train_eventset(folder: Path, files: dict[str, Path], n: int, size: EventLadderSize,
                   seed: int, learner: str = "eventset") -> float:
    """Train (or reuse) the event-set network ``learner`` (reading ``LEARNER_READS``) at N,
    and for the full one its posterior flow (training and validation sets only, and the
    flows' own sets); returns the network's training seconds."""
    from upclens.learn.eventset import SetSettings, refit_head, train_sets
    from upclens.learn.posterior import FlowSettings, fit_posterior, validation_halves

    run = folder / f"{learner}_N{n}"
    settings = SetSettings(width=size.set_width, epochs=size.set_epochs, seed=seed,
                           reads=LEARNER_READS[learner])
    phi = folder / f"{learner}_phi_N{size.phi_n}"
    net, _ = validation_halves(size.n_val)
    seconds = _timed(phi, lambda: train_sets(files["train"], files["val"], phi, size.phi_n,
                                             settings, val_sets=net))
    seconds += _timed(run, lambda: refit_head(phi, files["train"], files["val"], run, n,
                                              replace(settings, epochs=size.head_epochs,
                                                      heads=size.heads), val_sets=net))
    flow = FlowSettings(epochs=size.flow_epochs, seed=seed, calibration=CALIBRATION,
                        flows=size.flows)
    sets = [files[s] for s in ("val", "flow") if s in files]
    if learner == "eventset" and not _posterior_matches(run, flow, sets):
        fit_posterior(run, sets, flow)
    return seconds


def _posterior_matches(run: Path, settings: Any, sets: list[Path]) -> bool:
    """Whether ``run`` holds a posterior fitted with these flow settings on as many sets as
    ``sets`` hold (a resumed ladder refits one made with other settings, e.g. another
    calibration, or on a flow split since extended)."""
    from upclens.data.eventsets import read_meta
    from upclens.learn.posterior import POSTERIOR_FILE, load_posterior

    if not (run / POSTERIOR_FILE).is_file():
        return False
    meta = load_posterior(run)[1]
    return (all(meta["settings"].get(k) == v for k, v in asdict(settings).items())
            and meta.get("n_sets") == sum(read_meta(p)["n"] for p in sets))


def _eventset(folder: Path, files: dict[str, Path], n: int, size: EventLadderSize, seed: int,
              learner: str = "eventset") -> tuple[dict[str, Any], float]:
    from upclens.learn.eventset import load_set_model, load_sets, predict_sets
    from upclens.learn.posterior import check_posterior, corner_plot, sample_posterior

    seconds = train_eventset(folder, files, n, size, seed, learner)
    run = folder / f"{learner}_N{n}"
    model, _ = load_set_model(run)
    scores: dict[str, Any] = {"phi_from_n": size.phi_n}
    for split, prefix in SCORED_SPLITS.items():
        if split in files:
            data = load_sets(files[split], n)
            scores.update(_score(predict_sets(model, data.feats), data.labels, prefix))
            if learner != "eventset":
                continue
            if split == CORNER_SPLIT or "fiducial" not in files:
                corner_plot(sample_posterior(run, data.feats[:1], 4000, seed)[0],
                            folder / f"corner_N{n}.png", truth=data.targets[0])
    for split, prefix in POSTERIOR_SPLITS.items():
        if split in files and learner == "eventset":
            cov = check_posterior(run, files[split], n_samples=500, seed=seed,
                                  out_name=f"{prefix}coverage.json")
            scores[f"{prefix}posterior_passed"] = cov["passed"]
            scores[f"{prefix}tarp_ecp"] = cov["tarp_ecp"]
            scores[f"{prefix}interval_coverage"] = cov["interval_coverage"]
    return scores, seconds


def image_preprocess(train_images: np.ndarray) -> str:
    """'log_pixel' (per-pixel standardisation, the ResNet's default) when every pixel holds an
    event in some training image, else 'log_global': a pixel empty in every training image has
    the standard deviation floor 1e-6, and one test event there sends the input to ~1e6
    (measured: N = 300 on 16 x 16 (|pT|, Delta phi) pixels, 16 training images, RMSE 140-220
    against 0.1 with 'log_global')."""
    return "log_pixel" if bool((np.asarray(train_images).sum(axis=0) > 0).all()) else "log_global"


def _images(folder: Path, files: dict[str, Path], n: int, kind: str, size: EventLadderSize
            ) -> dict[str, Path]:
    from upclens.data.eventimages import write_set_images

    img = {}
    for split in files:
        img[split] = folder / f"images_{kind}_N{n}_{split}.h5"
        if not img[split].is_file():
            write_set_images(files[split], img[split], n, kind, size.pixels)
    return img


def train_resnet(folder: Path, files: dict[str, Path], n: int, kind: str,
                 size: EventLadderSize, seed: int) -> float:
    """Histogram the training and validation sets at N and train (or reuse) the ResNet on
    them; returns its training seconds."""
    from upclens.learn import TrainSettings, train
    from upclens.learn.datasource import load_data

    img = _images(folder, {k: files[k] for k in ("train", "val")}, n, kind, size)
    run = folder / f"resnet_{kind}_N{n}"

    def work() -> None:
        settings = TrainSettings(width=size.width, epochs=size.image_epochs, seed=seed,
                                 augment="flip" if kind == "lab" else "none", device="cpu",
                                 patience=max(2, size.image_epochs),
                                 preprocess=image_preprocess(load_data(img["train"]).images))
        train(img["train"], img["val"], run, settings=settings, progress=False)

    return _timed(run, work)


def _resnet(folder: Path, files: dict[str, Path], n: int, kind: str, size: EventLadderSize,
            seed: int) -> tuple[dict[str, Any], float]:
    import torch

    from upclens.learn import load_model
    from upclens.learn.datasource import load_data
    from upclens.learn.evaluation import predict_arrays

    seconds = train_resnet(folder, files, n, kind, size, seed)
    img = _images(folder, {k: v for k, v in files.items() if k in SCORED_SPLITS}, n, kind, size)
    model, _ = load_model(folder / f"resnet_{kind}_N{n}")
    scores: dict[str, Any] = {}
    for split, prefix in SCORED_SPLITS.items():
        if split in img:
            data = load_data(img[split])
            pred = predict_arrays(model, data.images, device=torch.device("cpu"))
            scores.update(_score(pred, data.labels, prefix))
    return scores, seconds


def run_event_ladder(out: str | Path, size: str = "tiny", seed: int = 1,
                     bound: str | Path | None = None, bound_column: str = DEFAULT_BOUND_COLUMN,
                     workers: int = 1,
                     counts: tuple[int, ...] | None = None, progress: bool = False,
                     pt_max: float = 0.3, acceptance: str = "none",
                     incoherent: float = 0.0) -> dict[str, Any]:
    """Generate (or reuse) the event sets, train and score the learners at every N, write
    ``event_ladder.json``, ``event_ladder.md`` and ``event_ladder.png`` into ``out``.  The
    sets keep pair pT < ``pt_max`` (GeV) and, with ``acceptance`` (a detector preset), only
    events whose two daughters lie in its acceptance (its resolution off, so that the bound
    reads the same events); a share ``incoherent`` of their events is nucleon-level
    incoherent production (the bound reads the same background at the same share).  Returns
    the summary dict."""
    from upclens.data.eventsets import EventSetConfig, generate_event_sets

    sz = _size(size)
    if counts is not None:
        bad = [c for c in counts if not 1 <= c <= sz.n_max]
        if bad:
            raise ParameterError("counts", bad[0], f"must be in [1, {sz.n_max}] for size {size}")
        sz = replace(sz, counts=tuple(sorted(set(counts))))
    read_bound(bound, bound_column)  # a bad bound file is refused before any work
    events = ladder_events(sz, pt_max, acceptance, incoherent)
    from upclens.data.generate import check_run
    from upclens.io import check_folder

    check_run(sz.n_train, seed, workers, "processes")  # refused before the folder is made
    folder = check_folder(out)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = EventSetConfig(events=events, n_events=sz.n_max, chunk_size=4)
    files: dict[str, Path] = {}
    gen_seconds: dict[str, float] = {}
    splits = [("train", sz.n_train, cfg), ("val", sz.n_val, cfg), ("test", sz.n_test, cfg)]
    if sz.n_fiducial:
        splits.append(("fiducial", sz.n_fiducial, fiducial_config(cfg)))
    if sz.n_replica:
        splits.append(("replica", sz.n_replica, cfg))
    if sz.n_flow:
        splits.append(("flow", sz.n_flow, cfg))
    for split, n, split_cfg in splits:
        files[split] = folder / f"sets_{split}.h5"
        t0 = time.perf_counter()
        generate_event_sets(split_cfg, n, seed * 10 + SPLIT_SEEDS[split], files[split],
                            workers=workers, progress=progress)
        gen_seconds[split] = time.perf_counter() - t0
    bound_seconds = None
    learner_columns = {k: bound_column for k in LEARNER_READS}
    if bound is None and sz.matched_bound:
        t0 = time.perf_counter()
        bound = matched_bound(folder / BOUND_FILE, cfg, sz.counts)
        learner_columns = {k: reads_column(r) for k, r in LEARNER_READS.items()}
        bound_column = MATCHED_COLUMN
        bound_seconds = time.perf_counter() - t0
    prior_sd = {t: _prior_sd(getattr(cfg.priors, t)) for t in TARGETS}
    column_bounds = {c: read_bound(bound, c) for c in set(learner_columns.values())}
    entries = []
    for n in sz.counts:
        for learner in (*LEARNERS, *COLUMN_LEARNERS):
            if learner.startswith("eventset"):
                scores, secs = _eventset(folder, files, n, sz, seed, learner)
            else:
                scores, secs = _resnet(folder, files, n, learner.removeprefix("resnet_"), sz,
                                       seed)
            entry: dict[str, Any] = {"n_events": n, "learner": learner,
                                     "reads": list(LEARNER_READS[learner]),
                                     "bound_column": learner_columns[learner], **scores,
                                     "train_seconds": secs}
            basis = "fid_" if "fiducial" in files else ""
            bounds = column_bounds[learner_columns[learner]]
            for t in TARGETS:
                entry[f"learned_{t}"] = bool(scores[f"rmse_{t}"] < LEARNED_BELOW * prior_sd[t])
                s = bounds.get(n, {}).get(t)
                entry[f"sigma_crb_{t}"] = s
                entry[f"ratio_{t}"] = None if s is None else scores[f"{basis}rmse_{t}"] / s
                ref = (None if s is None else s if prior_sd[t] <= 0
                       else (s ** -2 + prior_sd[t] ** -2) ** -0.5)
                entry[f"sigma_ref_{t}"] = ref
                entry[f"ratio_ref_{t}"] = None if ref is None else scores[f"{basis}rmse_{t}"] / ref
            entry["ratio_basis"] = "fiducial" if basis else "test"
            entries.append(entry)
    # the target RMSE / sigma_CRB <= 1.3 is read where sigma_CRB < a quarter of the prior width
    target_below = {t: 12 ** 0.5 * prior_sd[t] / 4 for t in TARGETS}
    columns = bound_column == MATCHED_COLUMN and any(e.get("sigma_crb_beta2") is not None
                                                     for e in entries)
    summary = {"size": asdict(sz), "seed": seed, "entries": entries, "fiducial": FIDUCIAL,
               "prior_sd": prior_sd, "target_below": target_below,
               "generation_seconds": gen_seconds,
               "bound": None if bound is None else str(bound), "bound_column": bound_column,
               "bound_seconds": bound_seconds,
               "files": ["event_ladder.json", "event_ladder.md", "event_ladder.png",
                         *(f"corner_N{n}.png" for n in sz.counts),
                         *(["event_columns.png"] if columns else [])]}
    from upclens.io import atomic_path

    with atomic_path(folder / "event_ladder.json", suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=1))
    with atomic_path(folder / "event_ladder.md", suffix=".md") as tmp:
        Path(tmp).write_text(event_table(entries))
    event_figure(entries, folder / "event_ladder.png")
    if columns:
        columns_figure(entries, folder / "event_columns.png", target_below)
    return summary


def ladder_events(size: EventLadderSize, pt_max: float = 0.3, acceptance: str = "none",
                  incoherent: float = 0.0) -> Any:
    """The events of the ladder's sets: Zr96 + Zr96 at 200 GeV, J/psi -> e+e-, the size's
    rapidity range, classes tagged, pair pT < ``pt_max`` (GeV); with ``acceptance`` (a
    detector preset) only events with both daughters accepted, without smearing; a share
    ``incoherent`` of incoherent events (``physics.incoherent.EVENT_BACKGROUND``)."""
    from upclens.data.eventgen import EventConfig

    check_range("pt_max", pt_max, 0.05, 1.0)
    check_range("incoherent", incoherent, 0.0, 0.9)
    extra: dict[str, Any] = {}
    if acceptance != "none":
        extra = {"detector": acceptance, "cuts": (("res_const", 0.0), ("res_slope", 0.0)),
                 "accepted_only": True}
    return EventConfig(nucleus="Zr96", y_min=size.y_range[0], y_max=size.y_range[1],
                       formats=("parquet",), pt_max=pt_max, incoherent_fraction=incoherent,
                       **extra)


MATCHED_COLUMN = "event sets"
"""The column of the ladder's own bound that reads all a set keeps (``READS``)."""


def reads_column(reads: tuple[str, ...]) -> str:
    """The column of the ladder's bound (``matched_bound``) for a learner reading ``reads``."""
    if tuple(reads) == READS:
        return MATCHED_COLUMN
    return next(name for name, r in READ_COLUMNS.items() if r == tuple(reads))


COLUMN_ORDER = tuple(reads_column(r) for r in READ_COLUMNS.values())
"""The bound's columns from what reads least to what reads all (``READ_COLUMNS`` order)."""


def fiducial_config(cfg: Any) -> Any:
    """The sets' configuration with (beta2, beta3, Delta r_np) fixed at ``FIDUCIAL`` (the
    nuisance priors kept)."""
    from upclens.data.config import Prior

    pri = cfg.priors
    fixed = replace(pri, beta2=Prior("fixed", value=FIDUCIAL["beta2"]),
                    beta3=Prior("fixed", value=FIDUCIAL["beta3"]),
                    delta_rnp=Prior("fixed", value=FIDUCIAL["delta_rnp"],
                                    threshold=pri.delta_rnp.threshold))
    return cfg.replace(priors=fixed)


def matched_bound(path: Path, cfg: Any, counts: tuple[int, ...]) -> Path:
    """``path`` holding the sets' event bound at ``FIDUCIAL`` for every N in ``counts``, in
    a column per analysis a learner reads (``reads_column``; computed with
    ``information.event_fisher.sets_bound`` unless a file there already has them)."""
    from upclens.information.event_fisher import sets_bound
    from upclens.io import write_json

    partial = {reads_column(r): r for r in set(LEARNER_READS.values()) if r != READS}
    if path.is_file():
        try:
            old = json.loads(path.read_text("utf-8"))
            have = {round(float(n)) for n in old["n_values"]}
            names = {c["name"] for c in old["columns"]}
            if set(counts) <= have and {MATCHED_COLUMN, *partial} <= names:
                return path
        except (OSError, ValueError, KeyError, TypeError):
            pass
    table = sets_bound(cfg.events, FIDUCIAL, [float(c) for c in counts], cfg.skin_type,
                       columns=dict(sorted(partial.items(), key=lambda kv: len(kv[1]))))
    write_json(table, path, indent=1)
    return path


def _prior_sd(prior: Any) -> float:
    """Standard deviation of a label prior (uniform: width / sqrt 12; fixed: 0)."""
    if prior.kind == "uniform":
        return (prior.high - prior.low) / 12 ** 0.5
    if prior.kind == "normal":
        return float(prior.sd)
    if prior.kind == "binary":
        return abs(prior.value) * (prior.fraction * (1 - prior.fraction)) ** 0.5
    return 0.0


def event_table(entries: list[dict[str, Any]]) -> str:
    """Markdown: one line per (N, learner): what it reads, RMSE per parameter on the test sets
    (labels from the priors), on the fiducial sets when scored, and RMSE / sigma_CRB (and over
    the prior-aware reference) of the bound's column of what it reads, where a bound is given;
    then the bound per (N, column), the best learner per column and the posterior's coverage."""
    fid = any("fid_rmse_beta2" in e for e in entries)
    head = (["N", "learner", "reads"] + [f"RMSE {t}" for t in TARGETS]
            + ([f"fiducial RMSE {t}" for t in TARGETS] if fid else [])
            + [f"/CRB {t}" for t in TARGETS] + [f"/ref {t}" for t in TARGETS])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def ratio(e: dict[str, Any], key: str) -> str:
        return "-" if e.get(key) is None else f"{e[key]:.2f}"

    for e in entries:
        row = [str(e["n_events"]), e["learner"], ",".join(e.get("reads", READS)),
               *(f"{e[f'rmse_{t}']:.4g}" for t in TARGETS)]
        if fid:
            row += [f"{e[f'fid_rmse_{t}']:.4g}" for t in TARGETS]
        row += [ratio(e, f"ratio_{t}") for t in TARGETS]
        row += [ratio(e, f"ratio_ref_{t}") for t in TARGETS]
        lines.append("| " + " | ".join(row) + " |")
    crb = column_entries(entries)
    if crb:
        lines.append("")
        lines.append("| N | bound column | " + " | ".join(f"sigma_CRB {t}" for t in TARGETS)
                     + " | " + " | ".join(f"reference {t}" for t in TARGETS) + " |")
        lines.append("|" + "---|" * (2 + 2 * len(TARGETS)))
        for (n, column), e in crb.items():
            lines.append(f"| {n} | {column} | "
                         + " | ".join(f"{e[f'sigma_crb_{t}']:.4g}" for t in TARGETS) + " | "
                         + " | ".join(f"{e[f'sigma_ref_{t}']:.4g}" for t in TARGETS) + " |")
    return "\n".join(lines + best_lines(entries) + coverage_lines(entries)) + "\n"


def column_entries(entries: list[dict[str, Any]]) -> dict[tuple[int, str], dict[str, Any]]:
    """{(N, bound column): an entry scored against that column} over the entries with a
    bound (every entry of one (N, column) carries the same sigma_CRB)."""
    return {(e["n_events"], e.get("bound_column", "")): e for e in entries
            if e.get("sigma_crb_beta2") is not None}


def best_per_column(entries: list[dict[str, Any]]
                    ) -> dict[tuple[int, str], dict[str, tuple[float, str]]]:
    """{(N, bound column): {parameter: (lowest RMSE / sigma_CRB, its learner)}}.  A column's
    candidates are the learners at N that read no more than it does (a learner may leave a
    handle unread; the columns are nested; a column reads what all its learners read) and
    have learnt the parameter (``LEARNED_BELOW``), each RMSE (fiducial when scored) over the
    column's sigma_CRB."""
    out: dict[tuple[int, str], dict[str, tuple[float, str]]] = {}
    for (n, column), owner in column_entries(entries).items():
        best = out.setdefault((n, column), {})
        # what the column reads: all its learners read (one bound given for every learner)
        reads = {r for e in entries if (e["n_events"], e.get("bound_column", "")) == (n, column)
                 for r in e.get("reads", READS)}
        for e in entries:
            if e["n_events"] != n or not set(e.get("reads", READS)) <= reads:
                continue
            basis = "fid_" if e.get("ratio_basis") == "fiducial" else ""
            for t in TARGETS:
                if not e.get(f"learned_{t}", True):
                    continue
                r = e[f"{basis}rmse_{t}"] / owner[f"sigma_crb_{t}"]
                if t not in best or r < best[t][0]:
                    best[t] = (float(r), e["learner"])
    return out


def best_lines(entries: list[dict[str, Any]]) -> list[str]:
    """Markdown lines: per N and bound column (``COLUMN_ORDER``), the best learner's RMSE /
    sigma_CRB per parameter and its name (``best_per_column``); '-' where none learnt it."""
    best = best_per_column(entries)
    if not best:
        return []
    lines = ["", "| N | bound column | " + " | ".join(f"best /CRB {t}" for t in TARGETS)
             + " |", "|" + "---|" * (2 + len(TARGETS))]
    order = {c: k for k, c in enumerate(COLUMN_ORDER)}
    for (n, column), b in sorted(best.items(), key=lambda kv: (kv[0][0],
                                                               order.get(kv[0][1], -1))):
        lines.append(f"| {n} | {column} | "
                     + " | ".join(f"{b[t][0]:.2f} ({b[t][1]})" if t in b else "-"
                                  for t in TARGETS) + " |")
    return lines


def coverage_lines(entries: list[dict[str, Any]]) -> list[str]:
    """Markdown lines: the posterior's SBC coverage per parameter and TARP's at 50 / 68 / 95 %
    on each split it was checked on, and whether all twelve lie within two binomial sd."""
    lines = ["", "| N | split | " + " | ".join(f"coverage {t}" for t in TARGETS)
             + " | TARP | passed |", "|" + "---|" * (len(TARGETS) + 4)]
    for e in entries:
        for split, prefix in POSTERIOR_SPLITS.items():
            if f"{prefix}interval_coverage" in e:
                cov = e[f"{prefix}interval_coverage"]
                lines.append(f"| {e['n_events']} | {split} | "
                             + " | ".join(" / ".join(f"{v:.3f}" for v in cov[t])
                                          for t in TARGETS)
                             + " | " + " / ".join(f"{v:.3f}" for v in e[f"{prefix}tarp_ecp"])
                             + f" | {'yes' if e[f'{prefix}posterior_passed'] else 'no'} |")
    return lines if len(lines) > 3 else []


def event_figure(entries: list[dict[str, Any]], path: str | Path) -> Path:
    """RMSE against N per parameter (log-log), one line per learner; sigma_CRB where given."""
    from upclens.plots import PARAMETER_LABELS, pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, len(TARGETS), figsize=(4.2 * len(TARGETS), 3.4),
                             constrained_layout=True)
    learners = list(dict.fromkeys(e["learner"] for e in entries))
    for ax, t in zip(np.atleast_1d(axes), TARGETS, strict=True):
        for k, learner in enumerate(learners):
            es = [e for e in entries if e["learner"] == learner]
            key = f"fid_rmse_{t}" if es and f"fid_rmse_{t}" in es[0] else f"rmse_{t}"
            ax.plot([e["n_events"] for e in es], [e[key] for e in es],
                    "o-" if learner in LEARNERS else "^:", color=f"C{k}", label=learner)
        crb = [(e["n_events"], e[f"sigma_crb_{t}"]) for e in entries
               if e["learner"] == LEARNERS[0] and e[f"sigma_crb_{t}"] is not None]
        if crb:
            ax.plot(*zip(*crb, strict=True), "s--", color="k", mfc="none", label=r"$\sigma_{CRB}$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("events per set N")
        ax.set_title(PARAMETER_LABELS[t])
    fid = any("fid_rmse_beta2" in e for e in entries)
    np.atleast_1d(axes)[0].set_ylabel("RMSE at the fiducial point" if fid else "RMSE")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    save_figure(fig, str(path))
    return Path(path)


def columns_figure(entries: list[dict[str, Any]], path: str | Path,
                   target_below: dict[str, float], target: float = 1.3) -> Path:
    """Per parameter, the best learner's RMSE / sigma_CRB in each column of the bound (x),
    one line per N: filled where sigma_CRB lies below ``target_below`` (where the target
    ``target`` applies), open elsewhere."""
    from upclens.plots import PARAMETER_LABELS, pyplot, save_figure

    best = best_per_column(entries)
    crb = column_entries(entries)
    plt = pyplot()
    fig, axes = plt.subplots(1, len(TARGETS), figsize=(4.4 * len(TARGETS), 3.6),
                             constrained_layout=True, sharey=True)
    names = {MATCHED_COLUMN: "+ rapidity\n(all)"}
    for ax, t in zip(np.atleast_1d(axes), TARGETS, strict=True):
        for k, n in enumerate(sorted({n for n, _ in best})):
            xs = [i for i, c in enumerate(COLUMN_ORDER) if t in best.get((n, c), {})]
            if not xs:
                continue
            ys = [best[(n, COLUMN_ORDER[i])][t][0] for i in xs]
            ax.plot(xs, ys, "-", color=f"C{k}", label=f"N = {n:g}")
            for x, y in zip(xs, ys, strict=True):
                inside = crb[(n, COLUMN_ORDER[x])][f"sigma_crb_{t}"] < target_below[t]
                ax.plot(x, y, "o", color=f"C{k}", mfc=f"C{k}" if inside else "none")
        ax.axhline(1.0, color="k", lw=0.8, ls=":")
        ax.axhline(target, color="C3", lw=0.8, ls="--")
        ax.set_xticks(range(len(COLUMN_ORDER)),
                      [names.get(c, c).replace("+ ", "+\n") for c in COLUMN_ORDER], fontsize=7)
        ax.set_yscale("log")
        ax.set_title(PARAMETER_LABELS[t])
    np.atleast_1d(axes)[0].set_ylabel(r"best RMSE / $\sigma_{CRB}$ (fiducial point)")
    handles = {}
    for ax in np.atleast_1d(axes):  # an N may have a learnt parameter in one panel only
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    if handles:
        ordered = sorted(handles, key=lambda label: float(label.split("=")[1]))
        np.atleast_1d(axes)[-1].legend([handles[k] for k in ordered], ordered, fontsize=7)
    save_figure(fig, str(path))
    return Path(path)
