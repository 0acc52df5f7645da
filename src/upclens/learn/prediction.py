"""Predictions for one image (.npz) or one measured event list (.csv of px, py in GeV).

An event list is histogrammed with the model's binning (the bins of the training images; events
outside the window are counted and dropped).  The model scales every input to unit sum before
anything else, so a histogram of N J/psi and a density image of the same parent distribution give
the same input; N only sets the Poisson noise, which the network has seen only if it was trained
on finite-statistics images.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from upclens.errors import ParameterError
from upclens.io import read_npz
from upclens.learn.checkpoint import load_model
from upclens.learn.settings import TARGETS


def _edges(centres: np.ndarray) -> np.ndarray:
    """Bin edges (GeV) of uniformly spaced centres."""
    step = float(centres[1] - centres[0])
    return np.concatenate([centres - 0.5 * step, [centres[-1] + 0.5 * step]])


def read_events(path: Path) -> np.ndarray:
    """(n, 2) array of (px, py) in GeV from a CSV whose header names px and py."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        raise ParameterError("events", str(path), "must be a text CSV with a header px,py (it "
                             "is binary)") from None
    except csv.Error as exc:
        raise ParameterError("events", str(path), f"is not a readable CSV ({exc})") from None
    if not rows:
        raise ParameterError("events", str(path), "must be a CSV with a header px,py (it is empty)")
    header = [h.strip().lower() for h in rows[0]]
    if "px" not in header or "py" not in header:
        raise ParameterError("events", str(path), f"header must name px and py (has {header})")
    ix, iy = header.index("px"), header.index("py")
    try:
        ev = np.array([[float(r[ix]), float(r[iy])] for r in rows[1:] if r], dtype=float)
    except (ValueError, IndexError):
        raise ParameterError("events", str(path), "rows must hold numbers px, py in GeV") from None
    if ev.size == 0:
        raise ParameterError("events", str(path), "must hold at least one J/psi (it is empty)")
    if not np.isfinite(ev).all():
        raise ParameterError("events", str(path), "has non-finite px or py")
    return ev.reshape(-1, 2)


def histogram_events(events: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Counts[iy, ix] of (px, py) events in the bins whose centres are ``px``, ``py`` (GeV)."""
    counts, _, _ = np.histogram2d(events[:, 1], events[:, 0], bins=[_edges(py), _edges(px)])
    return counts


def _load_image(path: Path, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    data = read_npz(path, "image", ("intensity",), ("px", "py"))
    if ("px" in data) != ("py" in data):
        raise ParameterError("image", str(path), "must hold both px and py, or neither")
    if not np.issubdtype(data["intensity"].dtype, np.number):
        raise ParameterError("image", str(path), "intensity must be numbers")
    image = np.asarray(data["intensity"], float)
    axes = (np.asarray(data["px"]), np.asarray(data["py"])) if "px" in data else None
    if axes is not None and (axes[0].shape != px.shape or axes[1].shape != py.shape):
        raise ParameterError("image", str(path), f"px, py of lengths {axes[0].size}, "
                             f"{axes[1].size} must be {px.size}, {py.size} like the model's")
    if image.shape != (py.size, px.size):
        raise ParameterError("image", f"shape {image.shape}",
                             f"must be {(py.size, px.size)} (ny, nx) for this model")
    step = float(px[1] - px[0])
    if axes is not None and (np.abs(axes[0] - px).max() > 1e-3 * step
                             or np.abs(axes[1] - py).max() > 1e-3 * step):
        raise ParameterError("image", str(path), "px/py binning must match the model's")
    return image


def _trained_on_counts(meta: dict[str, Any]) -> bool:
    """Whether the training images were finite-count histograms (dataset config image.n_events)."""
    try:
        config = json.loads(meta.get("dataset_config", "{}"))
        return int(config.get("image", {}).get("n_events", 0) or 0) > 0
    except (ValueError, TypeError, AttributeError):
        return False


def _warnings(result: dict[str, Any], meta: dict[str, Any]) -> list[str]:
    """Plain-language cautions: inputs unlike the training images, predictions off its range."""
    notes = []
    if result.get("source") == "events" and not _trained_on_counts(meta):
        notes.append("this model was trained on noise-free images; an event list lies outside "
                     "its training distribution (train on finite-count images for event lists)")
    for k, name in enumerate(TARGETS if "target_min" in meta else ()):
        lo, hi = meta["target_min"][k], meta["target_max"][k]
        pad = 0.1 * (hi - lo)
        if not lo - pad <= result[name] <= hi + pad:
            notes.append(f"{name} = {result[name]:.4g} is outside the training range "
                         f"[{lo:.4g}, {hi:.4g}]")
    return notes


def _refuse_fixed_b(meta: dict[str, Any], path: Path) -> None:
    """A list of measured (px, py) is histogrammed as the model's image only when the model was
    trained with b's direction random; with b fixed along px no measured list matches it."""
    try:
        direction = json.loads(meta["dataset_config"])["physics"]["b_direction"]
    except (KeyError, TypeError, ValueError):
        direction = "fixed"
    if direction != "random":
        raise ParameterError("events", str(path), "would be read as if b lay along px, which "
                             "no measured list has; use upclens infer with an event-set model")


def predict(run_dir: str | Path, image_or_csv: str | Path | np.ndarray) -> dict[str, Any]:
    """Predicted beta2, beta3, delta_rnp (fm) with 1-sigma uncertainties and P(skin).

    ``image_or_csv``: an image .npz (``intensity[iy, ix]``, optional px, py), a CSV event list
    (px, py in GeV, one J/psi per row) or an array (ny, nx).  ``warnings`` lists inputs unlike
    the training images and predictions outside the training range.
    """
    model, meta = load_model(run_dir)
    px, py = np.asarray(meta["px"]), np.asarray(meta["py"])
    info: dict[str, Any] = {}
    if isinstance(image_or_csv, np.ndarray):
        image = np.asarray(image_or_csv, float)
        info["source"] = "array"
    else:
        path = Path(image_or_csv)
        if not path.is_file():
            raise ParameterError("input", str(path), "must be an existing .npz or .csv file")
        if path.suffix.lower() == ".csv":
            _refuse_fixed_b(meta, path)
            events = read_events(path)
            image = histogram_events(events, px, py)
            if image.sum() == 0:
                raise ParameterError("events", str(path), f"none of its {len(events)} J/psi lie "
                                     f"inside the model's window (|px|, |py| < "
                                     f"{abs(float(_edges(px)[0])):.4g} GeV)")
            info.update(source="events", n_events=int(events.shape[0]),
                        n_in_window=int(image.sum()))
        else:
            image = _load_image(path, px, py)
            info["source"] = "image"
    if image.shape != (py.size, px.size):
        raise ParameterError("image", f"shape {image.shape}",
                             f"must be {(py.size, px.size)} (ny, nx) for this model")
    if not np.isfinite(image).all():
        raise ParameterError("image", "intensity", "must be finite everywhere (has NaN or inf)")
    if (image < 0).any() or image.sum() <= 0:
        raise ParameterError("image", "intensity", "must be non-negative with a positive sum")
    with torch.no_grad():
        out = model(torch.from_numpy(image.astype(np.float32))[None, None])
    result: dict[str, Any] = {}
    for name in TARGETS:
        result[name] = float(out[name][0])
        result[f"{name}_sigma"] = float(out[f"{name}_sigma"][0])
    logit = float(out["skin_logit"][0])
    result["skin_logit"] = logit
    result["p_skin"] = 1.0 / (1.0 + math.exp(-logit)) if logit > -700 else 0.0
    result.update(info)
    result["warnings"] = _warnings(result, meta)
    return result
