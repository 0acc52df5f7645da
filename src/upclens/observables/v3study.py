"""What the coherence phase, finite statistics and binning do to v3 (and v1).

Without the q_z phase the x-space amplitude is real, so |A(p)|^2 = |A(-p)|^2 event by event and
v1 = v3 = 0 identically (Friedel's law; physics-model section 1.7).  Three things can make a
measured v3 non-zero, and none of them is a shape signal by itself:

1. the q_z phase: each orientation pair breaks p -> -p, but the ensemble average is even again (a
   rotation by pi about the beam swaps the nuclei), so v3 of an N-pair image scatters about zero
   with an rms ~ c / sqrt(N);
2. finite statistics: N_window J/psi in the window give v3 noise sqrt(<cos^2 3 phi> / N_window)
   = 1 / sqrt(2 N_window);
3. binning: a pixel grid that is not centred on p = 0 turns the even image into odd harmonics,
   linear in the offset.

:func:`v3_study` measures all three on one nucleus and returns a JSON-ready dict.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from upclens.errors import ParameterError, check_range
from upclens.io import atomic_path
from upclens.observables.geometry import PixelGeometry
from upclens.observables.uncertainties import weighted_ratio, weighted_ratio_error


def _harmonics(geo: PixelGeometry, window: tuple[float, float]) -> dict[int, tuple[Any, Any]]:
    return {n: geo.harmonic(n, *window) for n in (1, 2, 3)}


def _vn(image: np.ndarray, h: dict[int, tuple[Any, Any]], n: int) -> float:
    w, c = h[n]
    return weighted_ratio(image, w, c)


def friedel_violation(image: np.ndarray) -> float:
    """max |I(p) - I(-p)| / max I for an image on a grid symmetric about p = 0."""
    return float(np.abs(image - image[::-1, ::-1]).max() / image.max())


def _sub_seed(seed: int, *index: int) -> int:
    """A non-negative int seed for the simulator, derived from (seed, index...)."""
    return int(np.random.SeedSequence([seed, *index]).generate_state(1, np.uint64)[0] >> 1)


def v3_study(beta2: float = 0.1, beta3: float = 0.3, *, b: float = 15.0, pixels: int = 48,
             pmax: float = 0.2, window: tuple[float, float] = (0.14, 0.16),
             pairs: tuple[int, ...] = (1, 4, 16, 64), seeds: int = 12,
             events: tuple[int, ...] = (10**3, 10**4, 10**5, 10**6), experiments: int = 40,
             shifts: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75), seed: int = 0,
             nucleus: str = "Zr96") -> dict[str, Any]:
    """The v3 study for ``nucleus`` (beta2, beta3; b in fm along px; grid ``pixels`` over
    [-pmax, pmax] GeV; v_n in ``window``, GeV).

    - exact: v1, v3 and the Friedel violation of the exact orientation average, q_z off and on;
    - orientations: rms of v3 over ``seeds`` images of N sampled orientation pairs, N in
      ``pairs``, q_z on (for beta3 and for beta3 = 0) and off; ``single_pair_rms_v3`` is the
      rms for one pair, the scale of the q_z effect per event;
    - events: ``experiments`` histograms of N J/psi drawn from the exact q_z-off image (true
      v3 = 0): rms of v3, the mean quoted error, 1/sqrt(2 N_window), the share of
      experiments with |v3| > 2 sigma (expected 4.6 %), the sd of the pulls v3 / error, and
      ``qz_noise`` = single_pair_rms_v3 / sqrt(N_window), the scatter that q_z adds when every
      event has its own orientation pair (zero mean);
    - binning: v1, v3 when the pixel grid is offset by ``shifts`` (in pixels) along px, from pixel
      averages of a 4x finer exact image (shifts in quarter pixels), azimuths taken from the
      nominal centres.
    """
    from upclens.physics.events import event_image
    from upclens.physics.image import DoubleSlit
    from upclens.physics.nucleus import Nucleus
    from upclens.physics.settings import Collision, ImageGrid, ModelSwitches

    check_range("seeds", seeds, 2, 10**4)
    check_range("experiments", experiments, 2, 10**5)
    check_range("seed", seed, 0, 2**63 - 1)
    for s in shifts:
        check_range("shift", s, 0.0, 1.0)
        if 4 * s != round(4 * s):
            raise ParameterError("shift", s, "must be a multiple of 0.25 pixel in [0, 1]")
    for n in pairs:
        check_range("pairs", n, 1, 10**5)
    for n in events:
        check_range("events", n, 10, 1e9)
    grid = ImageGrid(pixels, pmax)
    collision = Collision(b=b)
    geo = PixelGeometry(grid.centres, grid.centres)
    h = _harmonics(geo, window)
    if not h[3][0].any():
        raise ParameterError("window", window, f"must overlap the image |p| < {pmax} GeV")

    def sim(b3: float, qz: bool, g: ImageGrid = grid) -> DoubleSlit:
        nuc = Nucleus.from_preset(nucleus, beta2=beta2, beta3=b3)
        return DoubleSlit(nuc, collision, ModelSwitches(coherence_phase=qz), g)

    exact: dict[str, Any] = {}
    images: dict[str, np.ndarray] = {}
    for key, qz in (("no_qz", False), ("qz", True)):
        image = sim(beta3, qz).image().intensity
        images[key] = image
        exact[key] = {"v1": _vn(image, h, 1), "v2": _vn(image, h, 2), "v3": _vn(image, h, 3),
                      "friedel_violation": friedel_violation(image)}

    orientations: dict[str, list[dict[str, Any]]] = {}
    for key, b3, qz in (("qz", beta3, True), ("qz_beta3_0", 0.0, True), ("no_qz", beta3, False)):
        s = sim(b3, qz)
        rows = []
        for n in pairs:
            v3 = np.array([_vn(s.image(int(n), seed=_sub_seed(seed, 1, int(n), k)).intensity,
                               h, 3) for k in range(seeds)])
            rows.append({"pairs": int(n), "rms_v3": float(np.sqrt(np.mean(v3**2))),
                         "mean_v3": float(v3.mean()),
                         "mean_v3_err": float(v3.std(ddof=1) / math.sqrt(seeds))})
        orientations[key] = rows
    single = orientations["qz"][0]["rms_v3"] * math.sqrt(orientations["qz"][0]["pairs"])

    prob = images["no_qz"] / images["no_qz"].sum()
    ev_rows = []
    w3, c3 = h[3]
    for n in events:
        rng = np.random.default_rng([seed, 2, int(n)])
        v3, err, n_win = [], [], []
        for _ in range(experiments):
            counts = event_image(prob, grid, int(n), rng)
            v3.append(weighted_ratio(counts, w3, c3))
            err.append(weighted_ratio_error(counts, w3, c3))
            n_win.append(float(np.sum(counts * w3)))
        v3a, erra = np.array(v3), np.array(err)
        n_window = float(np.mean(n_win))
        ev_rows.append({
            "n_events": int(n), "n_window": n_window, "rms_v3": float(np.sqrt(np.mean(v3a**2))),
            "mean_error": float(erra.mean()), "floor": math.sqrt(0.5 / n_window),
            "false_signal_rate_2sigma": float(np.mean(np.abs(v3a) > 2 * erra)),
            "pull_sd": float(np.std(v3a / erra, ddof=1)),
            # each event in the window comes from its own orientation pair: with q_z the
            # variance of v3 becomes (1/2 + rms_pair^2) / N_window, so q_z adds this in quadrature
            "qz_noise": single / math.sqrt(n_window),
        })

    bin_rows = _binning(sim(beta3, False, _fine_grid(grid)), grid, geo, window, shifts)
    return {
        "nucleus": nucleus, "beta2": beta2, "beta3": beta3, "b_fm": b, "pixels": pixels,
        "pmax_GeV": pmax, "window": f"{window[0]:g}-{window[1]:g}", "seed": seed,
        "exact": exact, "orientations": orientations, "single_pair_rms_v3": single,
        "events": ev_rows, "binning": bin_rows,
    }


def _fine_grid(grid: Any) -> Any:
    """A grid with 4x finer pixels that reaches one coarse pixel beyond ``grid`` on every side."""
    from upclens.physics.settings import ImageGrid

    return ImageGrid(4 * (grid.pixels + 2), grid.pmax + grid.step)


def _binning(fine_sim: Any, grid: Any, geo: PixelGeometry, window: tuple[float, float],
             shifts: tuple[float, ...]) -> list[dict[str, Any]]:
    """v1, v2, v3 of pixel averages of the fine exact image over coarse pixels offset by
    ``shift`` coarse pixels (multiples of 1/4) along px."""
    fine = fine_sim.image().intensity
    h = _harmonics(geo, window)
    n = grid.pixels
    rows = []
    for shift in shifts:
        k = round(4 * shift)
        block = fine[4:4 + 4 * n, 4 + k:4 + k + 4 * n]
        coarse = block.reshape(n, 4, n, 4).mean(axis=(1, 3))
        rows.append({"shift_pixels": k / 4, "shift_GeV": k / 4 * grid.step,
                     "v1": _vn(coarse, h, 1), "v2": _vn(coarse, h, 2), "v3": _vn(coarse, h, 3)})
    return rows


def markdown(result: dict[str, Any]) -> str:
    """A short report of :func:`v3_study` in Markdown."""
    ex, w = result["exact"], result["window"]
    lines = [f"# v3 study: {result['nucleus']} beta2 = {result['beta2']}, beta3 = "
             f"{result['beta3']}, b = {result['b_fm']} fm, {result['pixels']} pixels, "
             f"window {w} GeV", "",
             "## Exact orientation average", "",
             "| q_z | v1 | v2 | v3 | max abs(I(p) - I(-p)) / max I |", "|---|---|---|---|---|"]
    for key in ("no_qz", "qz"):
        e = ex[key]
        lines.append(f"| {'on' if key == 'qz' else 'off'} | {e['v1']:.2e} | {e['v2']:.4f} | "
                     f"{e['v3']:.2e} | {e['friedel_violation']:.1e} |")
    lines += ["", "## Finite orientation samples (rms of v3 over seeds)", "",
              "| pairs | q_z on | q_z on, beta3 = 0 | q_z off |", "|---|---|---|---|"]
    o = result["orientations"]
    for i, row in enumerate(o["qz"]):
        lines.append(f"| {row['pairs']} | {row['rms_v3']:.2e} | "
                     f"{o['qz_beta3_0'][i]['rms_v3']:.2e} | {o['no_qz'][i]['rms_v3']:.2e} |")
    lines += ["", "## Finite statistics (exact image, true v3 = 0)", "",
              "| events | N in window | rms v3 | mean quoted error | 1/sqrt(2 N_window) "
              "| abs(v3) > 2 sigma | q_z orientation noise |", "|---|---|---|---|---|---|---|"]
    for r in result["events"]:
        lines.append(f"| {r['n_events']:.0e} | {r['n_window']:.0f} | {r['rms_v3']:.2e} | "
                     f"{r['mean_error']:.2e} | {r['floor']:.2e} | "
                     f"{100 * r['false_signal_rate_2sigma']:.0f} % | {r['qz_noise']:.1e} |")
    lines += ["", "## Off-centre binning (grid offset along px)", "",
              "| offset (pixels) | v1 | v2 | v3 |", "|---|---|---|---|"]
    for r in result["binning"]:
        lines.append(f"| {r['shift_pixels']:.3g} | {r['v1']:.2e} | {r['v2']:.4f} | "
                     f"{r['v3']:.2e} |")
    return "\n".join(lines) + "\n"


def write_v3_study(result: dict[str, Any], out_dir: str | os.PathLike[str],
                   plots: bool = True) -> list[str]:
    """Write v3_study.json, v3_study.md and (``plots``) v3_study.png into ``out_dir``."""
    from upclens.io import write_json

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError("out", str(out_dir), f"cannot be created ({exc.strerror})") from None
    write_json(result, out / "v3_study.json")
    with atomic_path(out / "v3_study.md", suffix=".md") as tmp:
        tmp.write_text(markdown(result))
    files = ["v3_study.json", "v3_study.md"]
    if plots:
        from upclens.observables.figures import v3_study_figure

        v3_study_figure(result, out / "v3_study.png")
        files.append("v3_study.png")
    return files
