"""Atomic saving and loading of checkpoints and model files (torch.save to a temp + rename)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from upclens.errors import ParameterError
from upclens.io import atomic_path

MODEL_FILE = "model.pt"
CHECKPOINT_FILE = "checkpoint.pt"
FORMAT_VERSION = 1


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
    obj = load(run / MODEL_FILE)
    meta = obj["meta"]
    settings = TrainSettings.from_dict(meta["settings"])
    model = ShapeNet(settings, tuple(meta["shape"]))
    model.load_state_dict(obj["state_dict"])
    model.eval()
    return model, meta
