"""The stages of ``upclens run``: generate -> train -> evaluate -> information limit -> explain
-> observables -> physics checks (-> ladder).  Each is a thin call of the package's API that
writes into its own sub-folder of the output folder and returns its typed result
(:mod:`upclens.pipeline.results`); :func:`build_stages` only lists them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from upclens.data.config import DatasetConfig
from upclens.io import json_ready
from upclens.pipeline.page import example_images
from upclens.pipeline.plan import RunPlan
from upclens.pipeline.results import (
    AliceFit,
    BinnedCurve,
    ComparisonResult,
    EvaluateResult,
    EventSelectionSummary,
    EventsResult,
    ExplainResult,
    GenerateResult,
    Headline,
    InformationResult,
    LadderResult,
    ObservablesResult,
    PhysicsChecksResult,
    PublishedRow,
    SmallestN,
    TrainResult,
)
from upclens.stages import Stage, StageResult

Results = dict[str, StageResult]
R = TypeVar("R", bound=StageResult)
SHAPE = ("beta2", "beta3", "delta_rnp")


@dataclass(frozen=True)
class Study:
    """One study: its output folder, dataset config, plan and whether to show progress."""

    out: Path
    cfg: DatasetConfig
    plan: RunPlan
    progress: bool = True

    def rel(self, path: str | Path) -> str:
        """``path`` relative to the output folder."""
        return str(Path(path).resolve().relative_to(self.out.resolve()))

    def pngs(self, folder: Path) -> list[str]:
        """The figures a stage wrote into ``folder``, relative to the output folder: regular
        .png files, not the hidden temporaries that a killed atomic write leaves
        (``.NAME.XXXX.png``) nor links."""
        return sorted(self.rel(p) for p in folder.glob("*.png")
                      if not p.name.startswith(".") and p.is_file() and not p.is_symlink())


def build_stages(out: Path, cfg: DatasetConfig, plan: RunPlan, progress: bool = True
                 ) -> list[Stage]:
    """The stages of one study into folder ``out``."""
    study = Study(Path(out), cfg, plan, progress)
    stages = [
        Stage("generate", partial(generate, study),
              "simulated images (HDF5) and the train/val/test split", GenerateResult),
        Stage("train", partial(train, study), "the multi-task ResNet", TrainResult),
        Stage("evaluate", partial(evaluate, study), "accuracy on the held-out test split",
              EvaluateResult),
        Stage("information", partial(information, study),
              "Cramer-Rao bound against the number of J/psi", InformationResult),
        Stage("explain", partial(explain, study), "PDA heatmaps and physics ratio maps",
              ExplainResult),
        Stage("observables", partial(observables, study), "observables and their sensitivity",
              ObservablesResult),
        Stage("physics_checks", partial(physics_checks, study),
              "model against the ALICE coherent spectrum", PhysicsChecksResult),
        Stage("events", partial(events, study),
              "decay events: cos n(Delta phi) and pT spectra per neutron class", EventsResult),
    ]
    if plan.comparison is None or plan.comparison:
        stages.append(Stage("comparison", partial(comparison, study),
                            "the model against published numbers", ComparisonResult))
    if plan.ladder:
        stages.append(Stage("ladder", partial(ladder, study),
                            "the realism ladder against the Cramer-Rao bound", LadderResult))
    return stages


def generate(study: Study, _: Results) -> GenerateResult:
    """Simulate the study's images, split them and draw two test images."""
    from upclens.data import generate_dataset, split_dataset

    out, plan = study.out, study.plan
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    full = generate_dataset(study.cfg, plan.n_images, plan.seed, data / "images.h5",
                            progress=study.progress)
    parts = split_dataset(full, data, fractions=plan.fractions, seed=plan.seed)
    examples = example_images(parts["test"], out / "examples")
    return GenerateResult(files=[study.rel(p) for p in (full, *parts.values(), *examples)],
                          parts={k: study.rel(p) for k, p in parts.items()},
                          n_images=plan.n_images, examples=[study.rel(p) for p in examples])


def train(study: Study, res: Results) -> TrainResult:
    """Train the network on the training split (resuming an interrupted run)."""
    from upclens.learn import TrainSettings
    from upclens.learn import train as train_model

    parts = _generated(res).parts
    run_dir = study.out / "model"
    settings = replace(TrainSettings(), seed=study.plan.seed, **study.plan.training)
    resume = (run_dir / "checkpoint.pt").exists()
    train_model(study.out / parts["train"], study.out / parts["val"], run_dir,
                settings=settings, resume=resume, progress=study.progress)
    return TrainResult(files=[study.rel(p) for p in run_dir.glob("model*.pt")] or ["model"],
                       run_dir="model")


def evaluate(study: Study, res: Results) -> EvaluateResult:
    """Score the network on the test split."""
    from upclens.learn import evaluate as evaluate_model

    folder = study.out / "evaluate"
    metrics = evaluate_model(study.out / _trained(res).run_dir,
                             study.out / _generated(res).parts["test"], folder)
    return EvaluateResult(files=["evaluate/metrics.json", *study.pngs(folder)],
                          metrics=_strip_paths(metrics))


def information(study: Study, res: Results) -> InformationResult:
    """The Cramer-Rao bound of the study's images against N J/psi (protons known and with R, a
    priors) next to the network's RMSE, and the smallest-N headline table."""
    from upclens.information import InformationSettings, crb_versus_n, plot_crb_versus_n

    folder = study.out / "information"
    folder.mkdir(parents=True, exist_ok=True)
    plan, n_events = study.plan, study.cfg.image.n_events
    settings = InformationSettings.from_config(study.cfg)
    point = dict(zip(SHAPE, plan.reference_point, strict=True))
    known = crb_versus_n(point, settings, plan.n_events)
    marginal = crb_versus_n(point, settings, plan.n_events, nuisances=("R", "a"))
    evaluated = take(res, "evaluate", EvaluateResult)
    rmse = {name: scores.rmse for name, scores in evaluated.targets.items()}
    # Images of N J/psi: the network's test RMSE is drawn at that N, next to the bound.
    network = ({name: {"n_events": [n_events], "rmse": [value]}
                for name, value in rmse.items()} if n_events > 0 else None)
    plot_crb_versus_n([("protons known", known), ("R, a priors", marginal)],
                      network=network, path=str(folder / "crb_versus_n.png"))
    return InformationResult(
        files=["information/crb_versus_n.png", "information/headline.png"], point=point,
        settings=json_ready(dataclasses.asdict(settings)), table=crb_table(known, marginal),
        network_rmse=rmse, notes=known["notes"], headline=headline(folder, point, settings))


def crb_table(known: dict[str, Any], marginal: dict[str, Any]) -> list[dict[str, float]]:
    """One row per N J/psi: sigma_CRB of each shape parameter, protons known and with priors."""
    rows = []
    for k, n in enumerate(known["n_events"]):
        row: dict[str, Any] = {"N J/psi": int(n)}
        for name in SHAPE:
            row[f"sigma {name}"] = float(known["sigma_crb"][name][k])
            row[f"sigma {name} (R, a priors)"] = float(marginal["sigma_crb"][name][k])
        rows.append(row)
    return rows


def headline(folder: Path, point: dict[str, float], settings: Any) -> Headline:
    """The smallest-N table under the four measurement conditions, which set the b direction
    and the background themselves (everything else from the study's settings)."""
    from upclens.information.headline import write_headline

    base = replace(settings, incoherent_fraction=0.0, smearing=0.0,
                   collision=replace(settings.collision, b_direction="fixed"))
    table = write_headline(str(folder), point, base)
    return Headline(markdown=table["markdown"],
                    rows=[SmallestN(**row) for row in json_ready(table["rows"])],
                    target=table["target"], nuisances=table["nuisances"])


def explain(study: Study, res: Results) -> ExplainResult:
    """Physics ratio maps of the study's setting and PDA heatmaps of the network."""
    from upclens.data.engine import engine_settings
    from upclens.explain import ratios
    from upclens.explain.run import explain as explain_model

    out = study.out
    parts = _generated(res).parts
    eng = engine_settings(study.cfg)
    ratio = ratios.ratio_maps(eng.nucleus, out / "ratios", skin_type=eng.skin_type,
                              collision=eng.collision, switches=eng.switches, grid=eng.grid)
    folder = out / "explain"
    summary = explain_model(out / _trained(res).run_dir, out / parts["test"], folder,
                            n_images=study.plan.explain_images, seed=study.plan.seed,
                            fit_data=out / parts["train"],
                            ratio_npz=out / "ratios" / "ratio_maps.npz")
    return ExplainResult(files=["explain/explain.json", *study.pngs(folder),
                                *study.pngs(out / "ratios")],
                         summary=_strip_arrays(summary), ratios=_strip_arrays(ratio))


def observables(study: Study, res: Results) -> ObservablesResult:
    """The observables of the test images and their sensitivity to the shape."""
    from upclens.observables.sensitivity import sensitivity

    folder = study.out / "observables"
    result = sensitivity(study.out / _generated(res).parts["test"], folder)
    return ObservablesResult(files=study.pngs(folder), sensitivity=_strip_arrays(result))


def physics_checks(study: Study, _: Results) -> PhysicsChecksResult:
    """The model's coherent Pb208 spectrum against ALICE."""
    from upclens.pipeline.checks import alice_comparison

    folder = study.out / "physics"
    folder.mkdir(parents=True, exist_ok=True)
    fit = alice_comparison(folder)
    return PhysicsChecksResult(files=study.pngs(folder), alice=AliceFit(**fit))


def comparison(study: Study, _: Results) -> ComparisonResult:
    """The table of ``upclens compare`` (comparison.md, .csv, .json in comparison/)."""
    import time

    from upclens.published.table import compare_published, write_table

    t0 = time.process_time()
    table = compare_published(study.plan.comparison)
    cpu = time.process_time() - t0
    paths = write_table(table, study.out / "comparison")
    return ComparisonResult(files=[study.rel(p) for p in paths], cpu_seconds=cpu,
                            rows=[PublishedRow(**json_ready(dataclasses.asdict(r)))
                                  for r in table.rows])


EVENT_PT_EDGES = (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3)
"""Pair-pT bins (GeV) of the events stage."""


def events(study: Study, _: Results) -> EventsResult:
    """Decay events (J/psi -> e+e-) of the study's nucleus at the reference point and its
    collision settings (the photon field as a vector, which the daughters' angle needs):
    <cos 2 Delta phi>, <cos 4 Delta phi> and the pT spectrum per neutron class, detector-free
    and inside STAR's acceptance with its resolution."""
    from upclens.data.engine import engine_settings
    from upclens.observables import eventstudy as es
    from upclens.observables.figures import cos_n_figure, spectra_figure

    folder = study.out / "events"
    folder.mkdir(parents=True, exist_ok=True)
    eng = engine_settings(study.cfg)
    point = dict(zip(SHAPE, study.plan.reference_point, strict=True))
    nucleus = eng.nucleus_at(point)
    y = float(eng.collision.rapidity)
    production = es.Production(sqrt_snn=eng.collision.sqrt_snn, rapidity=(y, y),
                               switches=eng.switches)
    raw = es.simulate(nucleus, study.plan.decay_events, study.plan.seed, production)
    selections = {"detector-free": es.Selection(),
                  "STAR acceptance and resolution": es.Selection(detector="star")}
    summaries, cos_curves, spectra = [], {}, {}
    for words, selection in selections.items():
        sample = es.select(raw, selection)
        obs = es.observables(sample, EVENT_PT_EDGES)
        per_class = {c: es.observables(sample.of_class(c), EVENT_PT_EDGES).spectrum
                     for c in ("any", *es.CLASSES) if len(sample.of_class(c)) > 0}
        cos_curves[words] = {2: obs.cos2, 4: obs.cos4}
        spectra[words] = per_class
        summaries.append(EventSelectionSummary(
            selection=words, n_events=obs.n, class_fractions=es.class_fractions(sample),
            cos2=_curve(obs.cos2), cos4=_curve(obs.cos4),
            spectra={c: _curve(b) for c, b in per_class.items()}))
    cos_n_figure(cos_curves, folder / "cos_n_delta_phi.png")
    spectra_figure(spectra, folder / "spectra_by_neutron_class.png")
    return EventsResult(files=study.pngs(folder),
                        nucleus={"name": nucleus.name, **point}, sqrt_snn=production.sqrt_snn,
                        rapidity=list(production.rapidity), n_generated=len(raw),
                        selections=summaries)


def _curve(b: Any) -> BinnedCurve:
    from upclens.observables.eventstudy import binned_dict

    return BinnedCurve(**binned_dict(b))


def ladder(study: Study, _: Results) -> LadderResult:
    """The realism ladder of the plan's size."""
    from upclens.ladder.run import run_ladder

    summary = run_ladder(study.out / "ladder", size=study.plan.ladder or "small",
                         seed=study.plan.seed, progress=study.progress)
    return LadderResult(files=["ladder/ladder.json", "ladder/ladder.png"],
                        rows=_strip_arrays(summary.get("rows", [])))


def take(res: Results, name: str, cls: type[R]) -> R:
    """The result of stage ``name``, checked to be the typed result ``cls``."""
    result = res[name]
    if not isinstance(result, cls):
        raise TypeError(f"stage {name} handed {type(result).__name__}, not {cls.__name__}")
    return result


def _generated(res: Results) -> GenerateResult:
    return take(res, "generate", GenerateResult)


def _trained(res: Results) -> TrainResult:
    return take(res, "train", TrainResult)


def _strip_paths(value: Any) -> Any:
    """Drop absolute file paths from a result (they are listed as files instead)."""
    if isinstance(value, dict):
        return {k: _strip_paths(v) for k, v in value.items()
                if not (isinstance(v, str) and v.startswith("/"))}
    return _strip_arrays(value)


def _strip_arrays(value: Any) -> Any:
    """JSON-ready copy without arrays of more than 64 values (they stay in the stage's files)."""
    import numpy as np

    if isinstance(value, dict):
        value = {k: v for k, v in value.items()
                 if not (isinstance(v, np.ndarray) and v.size > 64)}
        return {str(k): _strip_arrays(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strip_arrays(v) for v in value]
    return json_ready(value)
