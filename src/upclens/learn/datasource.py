"""Datasets as in-memory tensors, with the refusals the learning layer needs.

Reads dataset files through ``upclens.data.read_dataset`` (which checks their structure and
checksums) and refuses, with one line naming the file: a missing file, an empty
dataset, missing label columns, non-finite or negative intensities, non-finite labels, and
images whose shape or binning do not match a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from upclens.errors import ParameterError
from upclens.learn.settings import CLASS_COLUMN, TARGETS

REQUIRED_COLUMNS = (*TARGETS, CLASS_COLUMN)


@dataclass
class ArrayData:
    """images (n, 1, ny, nx) float32 raw intensities; targets (n, T) float32 in TARGETS order;
    classes (n,) float32 in {0, 1}; px (nx,), py (ny,) bin centres (GeV)."""

    images: torch.Tensor
    targets: torch.Tensor
    classes: torch.Tensor
    columns: list[str]
    px: np.ndarray
    py: np.ndarray
    config: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx)."""
        return int(self.images.shape[-2]), int(self.images.shape[-1])


def _read(path: Path, limit: int | None) -> tuple[np.ndarray, dict[str, np.ndarray],
                                                  dict[str, Any]]:
    """(images, labels by column, meta) through the data layer (checksums verified)."""
    from upclens.data import read_dataset
    from upclens.data.store import open_checked

    indices = None
    if limit is not None:
        with open_checked(path) as fh:
            indices = np.arange(min(int(limit), int(fh.attrs["n"])))
    return read_dataset(path, indices)


def load_data(path: str | Path, limit: int | None = None) -> ArrayData:
    """Load and check a dataset file (the first ``limit`` items when given)."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError("data", str(path), "must be an existing dataset file")
    images, labels, meta = _read(path, limit)
    if images.ndim != 3 or images.shape[0] == 0:
        raise ParameterError("data", str(path), "must hold at least one image (it is empty)")
    missing = [c for c in REQUIRED_COLUMNS if c not in labels]
    if missing:
        raise ParameterError("data", str(path),
                             f"lacks label columns {missing} (needs {list(REQUIRED_COLUMNS)})")
    bad = ~np.isfinite(images).all(axis=(1, 2))
    if bad.any():
        raise ParameterError("data", str(path),
                             f"has non-finite intensities in {int(bad.sum())} images "
                             f"(first: index {int(np.argmax(bad))})")
    if (images < 0).any():
        raise ParameterError("data", str(path), "has negative intensities")
    if (images.sum(axis=(1, 2)) <= 0).any():
        raise ParameterError("data", str(path), "has an image with zero total intensity")
    for c in REQUIRED_COLUMNS:
        if not np.isfinite(labels[c]).all():
            raise ParameterError("data", str(path), f"has non-finite labels in column {c!r}")
    if not np.isin(labels[CLASS_COLUMN], (0.0, 1.0)).all():
        raise ParameterError("data", str(path), f"column {CLASS_COLUMN!r} must be 0 or 1")
    if images.shape[1:] != (meta["py"].size, meta["px"].size):
        raise ParameterError("data", str(path), "images do not match its px, py axes")
    targets = np.stack([labels[t] for t in TARGETS], axis=1)
    return ArrayData(images=torch.from_numpy(np.ascontiguousarray(images[:, None])),
                     targets=torch.from_numpy(np.ascontiguousarray(targets, np.float32)),
                     classes=torch.from_numpy(labels[CLASS_COLUMN].astype(np.float32)),
                     columns=list(meta["columns"]), px=np.asarray(meta["px"], float),
                     py=np.asarray(meta["py"], float),
                     config=meta["config"], labels=labels)


def check_compatible(data: ArrayData, meta: dict[str, Any], name: str = "data") -> None:
    """Refuse data whose image shape or (px, py) binning differ from the model's ``meta``."""
    px, py = np.asarray(meta["px"]), np.asarray(meta["py"])
    if data.shape != (py.size, px.size):
        raise ParameterError(name, f"images of shape {data.shape}",
                             f"must be {(py.size, px.size)} (ny, nx) for this model")
    step = float(abs(px[1] - px[0])) if px.size > 1 else 1.0
    if (np.abs(data.px - px).max() > 1e-3 * step or np.abs(data.py - py).max() > 1e-3 * step):
        raise ParameterError(name, "px/py binning",
                             f"must match the model's ({px[0]:.4g} .. {px[-1]:.4g} GeV)")
