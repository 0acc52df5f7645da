"""The event ladder: an event-set network against the ResNet on histogram images of the same
events, at several event counts N, next to the Cramer-Rao bound of the events when one is given.

One generation of train / validation / test event sets at N_max (``upclens.data.eventsets``)
serves every N: the sets at N are the first N events of each stored set, so the three learners
see the same events at each N.  For every N:
    'eventset'   EventSetNet on the event list (|pT|, Delta phi, rapidity, neutron class),
    'resnet_pt_dphi'  ShapeNet on the (|pT|, Delta phi) histogram image,
    'resnet_lab'      ShapeNet on the lab (px, py) histogram image,
each trained on the training sets, its epoch chosen and its sigmas calibrated on the validation
sets, scored (RMSE per parameter, 68 % coverage) on the test sets.  The event-set network's
joint posterior (a flow on its summary, ``upclens.learn.posterior``) is fitted on the
validation sets and its SBC / TARP coverage at 50 / 68 / 95 % measured on the test sets.
A bound file (JSON {"N": {"beta2": sigma, ...}}, the event Fisher bound averaged like the
RMSE) adds RMSE / sigma_CRB.  Resumable: finished files and runs are kept and reused.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from upclens.errors import ParameterError, check_choice
from upclens.learn.settings import TARGETS

LEARNERS = ("eventset", "resnet_pt_dphi", "resnet_lab")
EVENT_SIZES = ("tiny", "default")


@dataclass(frozen=True)
class EventLadderSize:
    """n_max: events per stored set; counts: the N compared; n_train, n_val, n_test: sets;
    pixels: histogram images; y_range: rapidity window; set_epochs, image_epochs; width:
    ResNet width; set_width: event MLP width."""

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


SIZES = {
    "tiny": EventLadderSize("tiny", 300, (30, 100, 300), 16, 8, 8, 16, (0.0, 0.0), 3, 2, 4, 16,
                           20),
    "default": EventLadderSize("default", 100_000, (1_000, 10_000, 100_000), 600, 400, 300, 64,
                               (-1.0, 1.0), 30, 30, 16, 32, 200),
}


def _size(name: str) -> EventLadderSize:
    check_choice("size", name, EVENT_SIZES)
    return SIZES[name]


DEFAULT_BOUND_COLUMN = "+ rapidity"
"""The column of an event_fisher.json table that matches the ladder's sets: b direction unknown,
daughter angle, neutron classes and rapidity, no detector, no incoherent production."""


def read_bound(path: str | Path | None, column: str = DEFAULT_BOUND_COLUMN
               ) -> dict[int, dict[str, float]]:
    """{N: {parameter: sigma_CRB}} from a JSON file (None: no bound): either {N: {parameter:
    sigma}} or the event Fisher table of ``upclens event-fisher`` (event_fisher.json: its
    'n_values' and the 'sigma' of the column named ``column``)."""
    if path is None:
        return {}
    p = Path(path)
    try:
        raw = json.loads(p.read_text("utf-8"))
        names = ([c["name"] for c in raw["columns"]]
                 if isinstance(raw, dict) and "columns" in raw and "n_values" in raw else None)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ParameterError("bound", str(path), f"must be a readable JSON file "
                             f"({type(exc).__name__})") from None
    if names is not None and column not in names:
        raise ParameterError("bound column", column, "must be one of " + ", ".join(names))
    try:
        if names is not None:
            sig = raw["columns"][names.index(column)]["sigma"]
            return {round(float(n)): {t: float(sig[t][k]) for t in TARGETS if t in sig}
                    for k, n in enumerate(raw["n_values"])}
        return {int(n): {t: float(v[t]) for t in TARGETS if t in v} for n, v in raw.items()}
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        raise ParameterError("bound", str(path), f"must be a JSON file {{N: {{parameter: "
                             f"sigma}}}} or an event_fisher.json ({type(exc).__name__})"
                             ) from None


def _score(pred: dict[str, np.ndarray], truth: dict[str, np.ndarray]) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in TARGETS:
        r = pred[t] - truth[t]
        out[f"rmse_{t}"] = float(np.sqrt(np.mean(r * r)))
        out[f"coverage68_{t}"] = float(np.mean(np.abs(r) <= pred[f"{t}_sigma"]))
    return out


def _eventset(folder: Path, files: dict[str, Path], n: int, size: EventLadderSize, seed: int
              ) -> tuple[dict[str, Any], float]:
    from upclens.learn.eventset import (
        SetSettings,
        load_set_model,
        load_sets,
        predict_sets,
        train_sets,
    )
    from upclens.learn.posterior import (
        POSTERIOR_FILE,
        FlowSettings,
        check_posterior,
        fit_posterior,
    )

    run = folder / f"eventset_N{n}"
    t0 = time.perf_counter()
    if not (run / "model.pt").is_file():
        train_sets(files["train"], files["val"], run, n,
                   SetSettings(width=size.set_width, epochs=size.set_epochs, seed=seed))
    seconds = time.perf_counter() - t0
    model, _ = load_set_model(run)
    test = load_sets(files["test"], n)
    pred = predict_sets(model, test.feats)
    scores: dict[str, Any] = _score(pred, test.labels)
    if not (run / POSTERIOR_FILE).is_file():
        fit_posterior(run, files["val"], FlowSettings(epochs=size.flow_epochs, seed=seed))
    cov = check_posterior(run, files["test"], n_samples=500, seed=seed)
    scores["posterior_passed"] = cov["passed"]
    scores["tarp_ecp"] = cov["tarp_ecp"]
    scores["interval_coverage"] = cov["interval_coverage"]
    return scores, seconds


def image_preprocess(train_images: np.ndarray) -> str:
    """'log_pixel' (per-pixel standardisation, the ResNet's default) when every pixel holds an
    event in some training image, else 'log_global': a pixel empty in every training image has
    the standard deviation floor 1e-6, and one test event there sends the input to ~1e6
    (measured: N = 300 on 16 x 16 (|pT|, Delta phi) pixels, 16 training images, RMSE 140-220
    against 0.1 with 'log_global')."""
    return "log_pixel" if bool((np.asarray(train_images).sum(axis=0) > 0).all()) else "log_global"


def _resnet(folder: Path, files: dict[str, Path], n: int, kind: str, size: EventLadderSize,
            seed: int) -> tuple[dict[str, float], float]:
    import torch

    from upclens.data.eventimages import write_set_images
    from upclens.learn import TrainSettings, load_model, train
    from upclens.learn.datasource import load_data
    from upclens.learn.evaluation import predict_arrays

    img = {}
    for split in ("train", "val", "test"):
        img[split] = folder / f"images_{kind}_N{n}_{split}.h5"
        if not img[split].is_file():
            write_set_images(files[split], img[split], n, kind, size.pixels)
    run = folder / f"resnet_{kind}_N{n}"
    t0 = time.perf_counter()
    if not (run / "model.pt").is_file():
        settings = TrainSettings(width=size.width, epochs=size.image_epochs, seed=seed,
                                 augment="flip" if kind == "lab" else "none", device="cpu",
                                 patience=max(2, size.image_epochs),
                                 preprocess=image_preprocess(load_data(img["train"]).images))
        train(img["train"], img["val"], run, settings=settings, progress=False)
    seconds = time.perf_counter() - t0
    model, _ = load_model(run)
    data = load_data(img["test"])
    pred = predict_arrays(model, data.images, device=torch.device("cpu"))
    return _score(pred, data.labels), seconds


def run_event_ladder(out: str | Path, size: str = "tiny", seed: int = 1,
                     bound: str | Path | None = None, bound_column: str = DEFAULT_BOUND_COLUMN,
                     workers: int = 1,
                     counts: tuple[int, ...] | None = None, progress: bool = False
                     ) -> dict[str, Any]:
    """Generate (or reuse) the event sets, train and score the three learners at every N,
    write ``event_ladder.json``, ``event_ladder.md`` and ``event_ladder.png`` into ``out``.
    Returns the summary dict."""
    from upclens.data.eventgen import EventConfig
    from upclens.data.eventsets import EventSetConfig, generate_event_sets

    sz = _size(size)
    if counts is not None:
        bad = [c for c in counts if not 1 <= c <= sz.n_max]
        if bad:
            raise ParameterError("counts", bad[0], f"must be in [1, {sz.n_max}] for size {size}")
        sz = replace(sz, counts=tuple(sorted(set(counts))))
    bounds = read_bound(bound, bound_column)
    from upclens.data.generate import check_run
    from upclens.io import check_folder

    check_run(sz.n_train, seed, workers, "processes")  # refused before the folder is made
    folder = check_folder(out)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = EventSetConfig(events=EventConfig(nucleus="Zr96", y_min=sz.y_range[0],
                                            y_max=sz.y_range[1], formats=("parquet",)),
                         n_events=sz.n_max, chunk_size=4)
    files: dict[str, Path] = {}
    gen_seconds: dict[str, float] = {}
    for k, (split, n) in enumerate((("train", sz.n_train), ("val", sz.n_val),
                                    ("test", sz.n_test))):
        files[split] = folder / f"sets_{split}.h5"
        t0 = time.perf_counter()
        generate_event_sets(cfg, n, seed * 10 + k, files[split], workers=workers,
                            progress=progress)
        gen_seconds[split] = time.perf_counter() - t0
    entries = []
    for n in sz.counts:
        for learner in LEARNERS:
            if learner == "eventset":
                scores, secs = _eventset(folder, files, n, sz, seed)
            else:
                scores, secs = _resnet(folder, files, n, learner.removeprefix("resnet_"), sz,
                                       seed)
            entry: dict[str, Any] = {"n_events": n, "learner": learner, **scores,
                                     "train_seconds": secs}
            for t in TARGETS:
                s = bounds.get(n, {}).get(t)
                entry[f"sigma_crb_{t}"] = s
                entry[f"ratio_{t}"] = None if s is None else scores[f"rmse_{t}"] / s
            entries.append(entry)
    summary = {"size": asdict(sz), "seed": seed, "entries": entries,
               "generation_seconds": gen_seconds, "bound": None if bound is None else str(bound),
               "files": ["event_ladder.json", "event_ladder.md", "event_ladder.png"]}
    from upclens.io import atomic_path

    with atomic_path(folder / "event_ladder.json", suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=1))
    with atomic_path(folder / "event_ladder.md", suffix=".md") as tmp:
        Path(tmp).write_text(event_table(entries))
    event_figure(entries, folder / "event_ladder.png")
    return summary


def event_table(entries: list[dict[str, Any]]) -> str:
    """Markdown: one line per (N, learner), RMSE per parameter (and RMSE / sigma_CRB)."""
    head = ["N", "learner"] + [f"RMSE {t}" for t in TARGETS] + [f"/CRB {t}" for t in TARGETS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in entries:
        ratios = ["-" if e[f"ratio_{t}"] is None else f"{e[f'ratio_{t}']:.2f}" for t in TARGETS]
        lines.append("| " + " | ".join([str(e["n_events"]), e["learner"],
                                         *(f"{e[f'rmse_{t}']:.4g}" for t in TARGETS),
                                         *ratios]) + " |")
    return "\n".join(lines) + "\n"


def event_figure(entries: list[dict[str, Any]], path: str | Path) -> Path:
    """RMSE against N per parameter (log-log), one line per learner; sigma_CRB where given."""
    from upclens.plots import PARAMETER_LABELS, pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, len(TARGETS), figsize=(4.2 * len(TARGETS), 3.4),
                             constrained_layout=True)
    for ax, t in zip(np.atleast_1d(axes), TARGETS, strict=True):
        for k, learner in enumerate(LEARNERS):
            es = [e for e in entries if e["learner"] == learner]
            ax.plot([e["n_events"] for e in es], [e[f"rmse_{t}"] for e in es], "o-",
                    color=f"C{k}", label=learner)
        crb = [(e["n_events"], e[f"sigma_crb_{t}"]) for e in entries
               if e["learner"] == LEARNERS[0] and e[f"sigma_crb_{t}"] is not None]
        if crb:
            ax.plot(*zip(*crb, strict=True), "s--", color="k", mfc="none", label=r"$\sigma_{CRB}$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("events per set N")
        ax.set_title(PARAMETER_LABELS[t])
    np.atleast_1d(axes)[0].set_ylabel("RMSE")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    save_figure(fig, str(path))
    return Path(path)

