"""The main job, ``upclens run``: generate -> train -> evaluate -> information limit -> explain
-> observables -> physics checks -> report, resumable stage by stage.

Python API: :func:`run_study`.  The output folder holds ``config.toml`` (accepted by
``upclens generate --config``), one sub-folder per stage, ``metrics.json`` and ``report.html``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from upclens.errors import ParameterError
from upclens.io import atomic_path, check_writable
from upclens.pipeline.plan import RunPlan

__all__ = ["RunPlan", "register", "run_study"]


def run_study(out: str | Path, config: str | Path | None = None, *, preset: str = "small",
              seed: int | None = None, n_images: int | None = None,
              progress: bool = True, plan: RunPlan | None = None) -> dict[str, Any]:
    """Run (or continue) the study into folder ``out``; returns metrics.json as a dict.

    config: a dataset config TOML (None: the shipped default, the seed's setting).  preset:
    'small' (the embedded default, minutes on 2 cores) or 'paper' (the full-size study).
    A folder holding a study made with another configuration is refused.  ``plan``: a
    custom :class:`RunPlan` instead of the preset (sizes for tests and studies of one's own).
    """
    from upclens.data import config_to_toml, load_config
    from upclens.pipeline.page import write_report
    from upclens.pipeline.plan import check_sizes, plan_for
    from upclens.pipeline.steps import build_stages
    from upclens.stages import run_stages

    out = Path(out)
    cfg = load_config(config)
    if plan is None:
        plan = plan_for(preset, seed=seed, n_images=n_images)
    check_sizes(plan, cfg)
    check_writable(out / "config.toml", "out", make_parents=True)
    toml_text = config_to_toml(cfg)
    _claim_folder(out, toml_text, plan.to_dict())
    t0 = time.perf_counter()
    results = run_stages(out, build_stages(out, cfg, plan, progress), progress)
    return write_report(out, results, toml_text, plan.to_dict(), time.perf_counter() - t0)


def _claim_folder(out: Path, toml_text: str, plan: dict[str, Any]) -> None:
    """Write config.toml and plan.json, or check that the folder's study is this one."""
    import json

    plan_text = json.dumps(plan, indent=2, sort_keys=True)
    for name, text in (("config.toml", toml_text), ("plan.json", plan_text)):
        path = out / name
        if path.exists():
            if path.read_text() != text:
                raise ParameterError("out", str(out), f"holds a study with a different {name}: "
                                     "use a new folder or the same configuration and preset")
            continue
        with atomic_path(path) as tmp:
            tmp.write_text(text)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``run``."""
    from upclens.pipeline.plan import PRESETS

    p = sub.add_parser("run", help="the main job: data, network, information limit, "
                       "explanation, observables and an HTML report",
                       description=__doc__.splitlines()[0])
    p.add_argument("--out", default="results", help="output folder (default results/)")
    p.add_argument("--config", default=None,
                   help="dataset config TOML (default: the shipped seed setting)")
    p.add_argument("--preset", default="small", choices=sorted(PRESETS),
                   help="study size: small (default, minutes on 2 cores) or paper (full size)")
    p.add_argument("--seed", type=int, default=None, help="base seed (default 1)")
    p.add_argument("--n-images", type=int, default=None,
                   help="override the number of images of the preset")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    metrics = run_study(args.out, args.config, preset=args.preset, seed=args.seed,
                        n_images=args.n_images, progress=not args.quiet)
    for stage, seconds in metrics["timing_s"].items():
        print(f"{stage:>16s}: {seconds:8.1f} s")
    for key, value in metrics["headline"].items():
        print(f"{key:>28s}: {value}")
    print(f"wrote {Path(args.out) / 'report.html'} and {Path(args.out) / 'metrics.json'}")
    return 0
