"""Atomic saving and loading of checkpoints and model files (torch.save to a temp + rename)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from upclens.errors import ParameterError
from upclens.io import atomic_path

MODEL_FILE = "model.pt"
CHECKPOINT_FILE = "checkpoint.pt"
FORMAT_VERSION = 1
META_KEYS = ("settings", "shape", "px", "py", "columns")


def save(obj: dict[str, Any], path: Path) -> None:
    """torch.save ``obj`` atomically: a kill at any moment leaves the old file or the new one."""
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(obj, tmp)


def load(path: Path) -> dict[str, Any]:
    """torch.load with tensors on the CPU and only plain containers (weights_only)."""
    if not path.is_file():
        raise ParameterError("model", str(path.parent), f"has no {path.name}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file: one line, not a traceback
        raise ParameterError("model", str(path), f"cannot be read ({type(exc).__name__})") from None
    if not isinstance(obj, dict) or obj.get("format_version") != FORMAT_VERSION:
        raise ParameterError("model", str(path),
                             f"is not an upclens model file (format {FORMAT_VERSION})")
    return obj


def load_model(run_dir: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The trained model of a run folder (eval mode, CPU) and its meta.

    The model maps raw intensities (B, 1, ny, nx) float32 to a dict of (B,) tensors: beta2,
    beta3, delta_rnp (physical units), their ``*_sigma`` (1 sigma) and ``skin_logit``.  ``meta``
    holds px, py (GeV), shape, columns, targets, dataset_config (JSON string), settings and the
    validation metrics of the stored epoch.
    """
    from upclens.learn.resnet import ShapeNet
    from upclens.learn.settings import TrainSettings

    run = Path(run_dir)
    if not run.is_dir():
        raise ParameterError("model", str(run_dir), "must be a run folder made by upclens train")
    path = run / MODEL_FILE
    obj = load(path)
    meta, state = obj.get("meta"), obj.get("state_dict")
    if not isinstance(meta, dict) or not isinstance(state, dict):
        raise ParameterError("model", str(path), "lacks its meta or state_dict: not a model "
                             "written by upclens train")
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        raise ParameterError("model", str(path), f"meta lacks {', '.join(missing)}")
    try:
        settings = TrainSettings.from_dict(meta["settings"])
        shape = tuple(int(v) for v in meta["shape"])
        px, py = np.asarray(meta["px"], float), np.asarray(meta["py"], float)
    except (ParameterError, TypeError, ValueError, AttributeError) as exc:
        raise ParameterError("model", str(path), f"has damaged settings or axes ({exc})"
                             ) from None
    if len(shape) != 2 or px.shape != (shape[1],) or py.shape != (shape[0],):
        raise ParameterError("model", str(path), f"px, py ({px.size}, {py.size} bins) do not "
                             f"match its image shape {shape}")
    model = ShapeNet(settings, shape)
    expected = model.state_dict()
    wrong = sorted(k for k in expected if k not in state
                   or not isinstance(state[k], torch.Tensor) or state[k].shape != expected[k].shape)
    extra = sorted(k for k in state if k not in expected)
    if wrong or extra:
        shown = ", ".join((wrong + extra)[:3]) + (" ..." if len(wrong) + len(extra) > 3 else "")
        raise ParameterError("model", str(path), f"weights do not fit its settings "
                             f"({len(wrong)} missing or of the wrong shape, {len(extra)} "
                             f"unexpected: {shown})")
    model.load_state_dict(state)
    model.eval()
    return model, meta
