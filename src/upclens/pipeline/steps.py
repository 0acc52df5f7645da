"""The stages of ``upclens run``: generate -> train -> evaluate -> information limit -> explain
-> observables -> physics checks -> report.  Each is a thin call of the package's API that
writes into its own sub-folder of the output folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from upclens.data.config import DatasetConfig
from upclens.io import json_ready
from upclens.pipeline.page import example_images
from upclens.pipeline.plan import RunPlan
from upclens.stages import Stage

Results = dict[str, dict[str, Any]]


def _rel(out: Path, path: str | Path) -> str:
    return str(Path(path).resolve().relative_to(out.resolve()))


def _pngs(out: Path, folder: Path) -> list[str]:
    return sorted(_rel(out, p) for p in folder.glob("*.png"))


def build_stages(out: Path, cfg: DatasetConfig, plan: RunPlan, progress: bool = True
                 ) -> list[Stage]:
    """The stages of one study into folder ``out``."""

    def generate(_: Results) -> dict[str, Any]:
        from upclens.data import generate_dataset, split_dataset

        data = out / "data"
        data.mkdir(parents=True, exist_ok=True)
        full = generate_dataset(cfg, plan.n_images, plan.seed, data / "images.h5",
                                progress=progress)
        parts = split_dataset(full, data, plan.fractions, seed=plan.seed)
        examples = example_images(parts["test"], out / "examples")
        return {"files": [_rel(out, p) for p in (full, *parts.values(), *examples)],
                "parts": {k: _rel(out, p) for k, p in parts.items()}, "n_images": plan.n_images,
                "examples": [_rel(out, p) for p in examples]}

    def train(res: Results) -> dict[str, Any]:
        from upclens.learn import TrainSettings
        from upclens.learn import train as train_model

        parts = res["generate"]["parts"]
        run_dir = out / "model"
        settings = replace(TrainSettings(), seed=plan.seed, **plan.training)
        resume = (run_dir / "checkpoint.pt").exists()
        train_model(out / parts["train"], out / parts["val"], run_dir, settings, resume=resume,
                    progress=progress)
        return {"files": [_rel(out, p) for p in run_dir.glob("model*.pt")] or ["model"],
                "run_dir": "model"}

    def evaluate(res: Results) -> dict[str, Any]:
        from upclens.learn import evaluate as evaluate_model

        folder = out / "evaluate"
        metrics = evaluate_model(out / res["train"]["run_dir"],
                                 out / res["generate"]["parts"]["test"], folder)
        return {"files": ["evaluate/metrics.json", *_pngs(out, folder)],
                "metrics": _strip_paths(metrics)}

    def information(res: Results) -> dict[str, Any]:
        from upclens.data.simulate import physics_settings
        from upclens.information import InformationSettings, crb_versus_n, plot_crb_versus_n
        from upclens.information.headline import write_headline

        folder = out / "information"
        folder.mkdir(parents=True, exist_ok=True)
        ph, im = cfg.physics, cfg.image
        _, switches, _ = physics_settings(cfg)
        settings = InformationSettings.build(
            ph.nucleus, b=ph.b, b_direction=ph.b_direction, b_magnitude=ph.b_magnitude,
            sqrt_snn=ph.sqrt_snn, pixels=im.pixels, pmax=im.pmax,
            incoherent_fraction=im.incoherent_fraction, smearing=im.smearing,
            skin_type=ph.skin_type, switches=switches)
        point = dict(zip(("beta2", "beta3", "delta_rnp"), plan.reference_point, strict=True))
        known = crb_versus_n(point, settings, plan.n_events)
        marginal = crb_versus_n(point, settings, plan.n_events, nuisances=("R", "a"))
        rmse = {k: v["rmse"] for k, v in res["evaluate"]["metrics"].get("targets", {}).items()
                if isinstance(v, dict) and "rmse" in v}
        # Images of N J/psi: the network's test RMSE is drawn at that N, next to the bound.
        network = ({name: {"n_events": [im.n_events], "rmse": [value]}
                    for name, value in rmse.items()} if im.n_events > 0 else None)
        plot_crb_versus_n([("protons known", known), ("R, a priors", marginal)],
                          network=network, path=str(folder / "crb_versus_n.png"))
        rows = []
        for k, n in enumerate(known["n_events"]):
            row: dict[str, Any] = {"N J/psi": int(n)}
            for name in ("beta2", "beta3", "delta_rnp"):
                row[f"sigma {name}"] = float(known["sigma_crb"][name][k])
                row[f"sigma {name} (R, a priors)"] = float(marginal["sigma_crb"][name][k])
            rows.append(row)
        # The headline conditions vary the b direction and the background themselves.
        base = replace(settings, incoherent_fraction=0.0, smearing=0.0,
                       collision=replace(settings.collision, b_direction="fixed"))
        smallest = write_headline(str(folder), point, base)
        return {"files": ["information/crb_versus_n.png", "information/headline.png"],
                "point": point, "table": rows, "network_rmse": rmse, "notes": known["notes"],
                "headline": {"markdown": smallest["markdown"], "rows": smallest["rows"],
                             "target": smallest["target"],
                             "nuisances": smallest["nuisances"]}}

    def explain(res: Results) -> dict[str, Any]:
        from upclens.data.simulate import physics_settings
        from upclens.explain import ratios
        from upclens.explain.run import explain as explain_model

        parts = res["generate"]["parts"]
        collision, switches, grid = physics_settings(cfg)
        ratio = ratios.ratio_maps(cfg.physics.nucleus, out / "ratios",
                                  skin_type=cfg.physics.skin_type, collision=collision,
                                  switches=switches, grid=grid)
        folder = out / "explain"
        summary = explain_model(out / res["train"]["run_dir"], out / parts["test"], folder,
                                n_images=plan.explain_images, seed=plan.seed,
                                fit_data=out / parts["train"],
                                ratio_npz=out / "ratios" / "ratio_maps.npz")
        return {"files": ["explain/explain.json", *_pngs(out, folder),
                          *_pngs(out, out / "ratios")],
                "summary": _strip_arrays(summary), "ratios": _strip_arrays(ratio)}

    def observables(res: Results) -> dict[str, Any]:
        from upclens.observables.sensitivity import sensitivity

        folder = out / "observables"
        result = sensitivity(out / res["generate"]["parts"]["test"], folder)
        return {"files": _pngs(out, folder), "sensitivity": _strip_arrays(result)}

    def physics_checks(_: Results) -> dict[str, Any]:
        from upclens.pipeline.checks import alice_comparison

        folder = out / "physics"
        folder.mkdir(parents=True, exist_ok=True)
        fit = alice_comparison(folder)
        return {"files": _pngs(out, folder), "alice": fit}

    def ladder(_: Results) -> dict[str, Any]:
        from upclens.ladder.run import run_ladder

        summary = run_ladder(out / "ladder", size=plan.ladder or "small", seed=plan.seed,
                             progress=progress)
        return {"files": ["ladder/ladder.json", "ladder/ladder.png"],
                "rows": _strip_arrays(summary.get("rows", []))}

    stages = [
        Stage("generate", generate, "simulated images (HDF5) and the train/val/test split"),
        Stage("train", train, "the multi-task ResNet"),
        Stage("evaluate", evaluate, "accuracy on the held-out test split"),
        Stage("information", information, "Cramer-Rao bound against the number of J/psi"),
        Stage("explain", explain, "PDA heatmaps and physics ratio maps"),
        Stage("observables", observables, "observables and their sensitivity"),
        Stage("physics_checks", physics_checks, "model against the ALICE coherent spectrum"),
    ]
    if plan.ladder:
        stages.append(Stage("ladder", ladder, "the realism ladder against the Cramer-Rao bound"))
    return stages


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
