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
    EvaluateResult,
    ExplainResult,
    GenerateResult,
    Headline,
    InformationResult,
    LadderResult,
    ObservablesResult,
    PhysicsChecksResult,
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
        """The PNG figures in ``folder``, relative to the output folder."""
        return sorted(self.rel(p) for p in folder.glob("*.png"))


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
    ]
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
