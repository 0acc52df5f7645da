"""The main job: ``upclens run`` simulates the seed's images and checks the model against data.

Stages (each skipped when its output already exists and loads): images of 96Zr with and without
deformation and neutron skin (exact averages and a finite sample), ratio maps, the coherent Pb
|t| spectrum against ALICE.  Results: .npz images, PNG figures and summary.json in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from upclens.io import atomic_path, check_writable

DEFAULT_IMAGES: dict[str, dict[str, Any]] = {
    "zr96_deformed": {"beta2": 0.06, "beta3": 0.20, "delta_rnp": 0.0},
    "zr96_deformed_skin": {"beta2": 0.06, "beta3": 0.20, "delta_rnp": 0.2},
    "zr96_sphere": {"beta2": 0.0, "beta3": 0.0, "delta_rnp": 0.0},
    "zr96_large_deformation": {"beta2": 0.3, "beta3": 0.3, "delta_rnp": 0.0},
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``run``."""
    p = sub.add_parser("run", help="the main job: images, ratio maps and data comparison",
                       description=__doc__.splitlines()[0])
    p.add_argument("--out", default="results", help="output folder (default results/)")
    p.add_argument("--orientations", type=int, default=128,
                   help="orientation pairs of the finite-sample example (default 128)")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    summary = run(Path(args.out), orientations=args.orientations)
    for stage, seconds in summary["timing_s"].items():
        print(f"{stage:>16s}: {seconds:6.2f} s")
    print(f"wrote {Path(args.out) / 'summary.json'}")
    return 0


def run(out: Path, orientations: int = 128) -> dict[str, Any]:
    """Run every stage into folder ``out``; return the summary that is also written as JSON."""
    from tqdm import tqdm

    from upclens.physics.image import Image, simulate_image
    from upclens.physics.nucleus import Nucleus

    check_writable(out / "summary.json", make_parents=True)
    timing: dict[str, float] = {}
    images: dict[str, Image] = {}
    stages = tqdm(total=len(DEFAULT_IMAGES) + 3, desc="upclens run", unit="stage")
    t0 = time.perf_counter()
    for name, params in DEFAULT_IMAGES.items():
        path = out / f"{name}.npz"
        images[name] = _load_or(path, lambda p=params: simulate_image(
            Nucleus.from_preset("Zr96", **p)))
        stages.update()
    timing["exact_images"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sampled_path = out / "zr96_deformed_sampled.npz"
    images["zr96_deformed_sampled"] = _load_or(sampled_path, lambda: simulate_image(
        Nucleus.from_preset("Zr96", **DEFAULT_IMAGES["zr96_deformed"]),
        orientations=orientations, seed=1))
    stages.update()
    timing["sampled_image"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    _figures(out, images)
    stages.update()
    timing["figures"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    fit = _alice(out)
    stages.update()
    stages.close()
    timing["alice_tspectrum"] = time.perf_counter() - t0
    summary = {"images": sorted(images), "alice_pb208_chi2": fit["chi2"],
               "alice_pb208_ndf": fit["ndf"], "timing_s": timing}
    with atomic_path(out / "summary.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return summary


def _load_or(path: Path, make: Any) -> Any:
    from upclens.physics.image import Image

    if path.exists():
        try:
            return Image.load_npz(str(path))
        except (OSError, ValueError, KeyError):
            path.unlink()
    image = make()
    image.save_npz(str(path))
    return image


def _figures(out: Path, images: dict[str, Any]) -> None:
    from upclens import plots

    plt = plots._pyplot()
    for name in ("zr96_deformed", "zr96_deformed_sampled"):
        plots.save_image_figure(images[name], str(out / f"{name}.png"), title=name)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    plots.ratio_panel(images["zr96_deformed_skin"], images["zr96_deformed"], axes[0],
                      "skin (0.2 fm halo) / no skin")
    plots.ratio_panel(images["zr96_large_deformation"], images["zr96_sphere"], axes[1],
                      r"($\beta_2$, $\beta_3$) = (0.3, 0.3) / sphere")
    plots.save_figure(fig, str(out / "ratio_maps.png"))


def _alice(out: Path) -> dict[str, Any]:
    import numpy as np

    from upclens import plots
    from upclens.compare import fit_alice_coherent_pb
    from upclens.physics.nucleus import Nucleus
    from upclens.physics.tspectrum import coherent_tspectrum

    nucleus = Nucleus.from_preset("Pb208")
    fit = fit_alice_coherent_pb(nucleus)
    t = np.linspace(0.0, 0.0125, 200)
    curve = coherent_tspectrum(nucleus, t, 5020.0)
    plt = plots._pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.2), constrained_layout=True)
    plots.tspectrum_panel(fit, t, curve, ax, label="Pb208 Glauber")
    plots.save_figure(fig, str(out / "alice_tspectrum.png"))
    return {"chi2": fit.chi2, "ndf": fit.ndf}
