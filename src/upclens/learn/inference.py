"""Inference on a measured list of decays: posterior samples of (beta2, beta3, Delta r_np),
a summary with intervals and a corner plot, from an event-set model with its fitted posterior.

Before anything is computed the list is checked against what the model was trained on, and
refused (one line) when it lies outside it:
- the event count: within ``COUNT_TOLERANCE`` of the model's N (the network's pooled moments
  carry noise ~ 1/sqrt(N), for which its sigmas and the flow were calibrated);
- the rapidity range and the pair-pT window of the training events;
- the detector acceptance, when the model was trained on accepted events only;
- the neutron classes: every event tagged 0n0n / 0nXn / XnXn (all three when the model was
  trained on tagged classes, the one class otherwise);
- the collision (nucleus, meson, channel, energy) when the file carries an upclens manifest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from upclens.errors import ParameterError
from upclens.learn.settings import TARGETS

COUNT_TOLERANCE = 0.1
Y_TOLERANCE = 0.02
PT_TOLERANCE = {"none": 1e-4, "smeared": 0.05}  # relative margin on the pT window


def check_list(events: Any, config: dict[str, Any], n_model: int, source: str) -> None:
    """Refuse an EventList that lies outside a model's training configuration ``config``."""
    from upclens.data.eventsets import CLASS_CODES

    ev = config["events"]
    n = len(events)
    if abs(n / n_model - 1.0) > COUNT_TOLERANCE:
        raise ParameterError("events", source, f"hold {n} events; the model was trained on "
                             f"sets of {n_model} (allowed {n_model * (1 - COUNT_TOLERANCE):.0f}"
                             f"-{n_model * (1 + COUNT_TOLERANCE):.0f})")
    y = events.features[:, 3]
    lo, hi = float(ev["y_min"]) - Y_TOLERANCE, float(ev["y_max"]) + Y_TOLERANCE
    if y.min() < lo or y.max() > hi:
        raise ParameterError("events", source, f"have rapidities {y.min():.3g}..{y.max():.3g} "
                             f"outside the model's range [{ev['y_min']:g}, {ev['y_max']:g}]")
    pt = np.hypot(events.features[:, 0], events.features[:, 1])
    margin = PT_TOLERANCE["none" if ev["detector"] == "none" else "smeared"]
    pt_max = float(ev["pt_max"]) * (1.0 + margin)
    if pt.max() > pt_max:
        raise ParameterError("events", source, f"have {int((pt > pt_max).sum())} pairs with pT "
                             f"above the model's window {ev['pt_max']:g} GeV")
    if ev["detector"] != "none":
        from upclens.physics.detector import accepted, detector

        det = detector(ev["detector"], **dict(ev.get("cuts", [])))
        out = ~accepted(det, events.p1, events.p2)
        if out.any():
            raise ParameterError("events", source, f"have {int(out.sum())} events outside the "
                                 f"{det.name} acceptance the model was trained on")
    cls = events.features[:, 4].astype(int)
    allowed = (set(range(len(CLASS_CODES))) if ev["neutron_class"] == "any"
               else {CLASS_CODES.index(ev["neutron_class"])})
    bad = ~np.isin(cls, sorted(allowed))
    if bad.any():
        want = ", ".join(CLASS_CODES[c] for c in sorted(allowed))
        raise ParameterError("events", source, f"have {int(bad.sum())} events without a "
                             f"neutron class the model knows ({want})")
    man = events.manifest
    if man is not None:
        mine = man.get("config", {})
        for key in ("nucleus", "meson", "channel", "sqrt_snn"):
            if key in mine and mine[key] != ev[key]:
                raise ParameterError("events", source, f"are {key} = {mine[key]} but the model "
                                     f"was trained on {key} = {ev[key]}")


def summarise(samples: np.ndarray, names: tuple[str, ...] = TARGETS
              ) -> dict[str, dict[str, float]]:
    """Per parameter of (S, len(names)) samples: mean, sd, median and the central 68.27 % and
    95 % intervals."""
    out = {}
    for k, t in enumerate(names):
        s = samples[:, k]
        q = np.quantile(s, [0.025, 0.158655, 0.5, 0.841345, 0.975])
        out[t] = {"mean": float(s.mean()), "sd": float(s.std()), "median": float(q[2]),
                  "lo68": float(q[1]), "hi68": float(q[3]), "lo95": float(q[0]),
                  "hi95": float(q[4])}
    return out


def coverage_warnings(run_dir: str | os.PathLike[str]) -> list[str]:
    """A note when the run's posterior has no coverage check (coverage.json) or failed it."""
    path = Path(run_dir) / "coverage.json"
    if not path.is_file():
        return ["the posterior's coverage was never checked (upclens.learn.posterior."
                "check_posterior on unseen sets): its intervals are not known to be calibrated"]
    cov = json.loads(path.read_text("utf-8"))
    if not cov.get("passed", False):
        return [f"the posterior failed its coverage check on {cov.get('n_sims')} unseen sets "
                f"(TARP {cov.get('tarp_ecp')} at {cov.get('levels')}): its intervals are not "
                "calibrated"]
    return []


def infer(events_path: str | os.PathLike[str], run_dir: str | os.PathLike[str],
          out_dir: str | os.PathLike[str] | None = None, n_samples: int = 5000, seed: int = 0,
          tree: str | None = None) -> dict[str, Any]:
    """Posterior of (beta2, beta3, Delta r_np) for the list in ``events_path``.  Writes into
    ``out_dir`` (default: EVENTS stem + '.posterior'): samples.npz, summary.json, corner.png.
    Returns the summary (with the correlation matrix and the files written)."""
    from upclens.data.eventlists import read_event_list
    from upclens.errors import check_integer
    from upclens.io import atomic_path, check_folder
    from upclens.learn.eventset import load_set_model
    from upclens.learn.posterior import corner_plot, load_posterior, sample_posterior

    check_integer("samples", n_samples, 1, 10**7)
    check_integer("seed", seed, 0, 2**63 - 1)
    out = check_folder(out_dir if out_dir is not None else str(events_path) + ".posterior")
    _, meta = load_set_model(run_dir)
    load_posterior(run_dir)
    config = json.loads(meta["dataset_config"])
    events = read_event_list(events_path, tree)
    check_list(events, config, int(meta["n_events"]), str(events_path))
    samples = sample_posterior(run_dir, events.features[None], n_samples, seed)[0]
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {
        "events": str(events_path), "format": events.fmt, "n_events": len(events),
        "n_read": events.n_read, "n_not_accepted": events.n_dropped, "model": str(run_dir),
        "n_samples": n_samples, "seed": seed, "parameters": summarise(samples),
        "correlation": np.corrcoef(samples.T).round(4).tolist(),
        "warnings": coverage_warnings(run_dir),
        "files": ["samples.npz", "summary.json", "corner.png"]}
    with atomic_path(out / "samples.npz", suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, samples=samples, names=np.array(TARGETS))
    with atomic_path(out / "summary.json", suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=1))
    corner_plot(samples, out / "corner.png")
    summary["out"] = str(out)
    return summary
