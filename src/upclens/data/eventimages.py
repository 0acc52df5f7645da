"""Histogram images of event sets, written as ordinary image datasets for the ResNet.

Two images of the same events (the first N of every stored set):
    'lab'      the lab (px, py) of the pair pT, pixels x pixels over [-pt_max, pt_max]^2 GeV
               (b's direction is random per event, so the image is rotation-symmetric in mean);
    'pt_dphi'  pair |pT| (rows, [0, pt_max] GeV) against the daughter's Delta phi relative to the
               pair pT (columns, (-pi, pi] rad).
Rapidity and neutron class are summed over (a 2D image has no place for them).  The file is an
``upclens-dataset`` file with the sets' labels; its px and py axes are the column and row
centres (for 'pt_dphi': Delta phi in rad and |pT| in GeV), its config names the source.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from upclens.errors import check_choice, check_integer

IMAGE_KINDS = ("lab", "pt_dphi")


def image_axes(kind: str, pixels: int, pt_max: float) -> tuple[np.ndarray, np.ndarray]:
    """(column edges, row edges) of an image of ``kind``."""
    check_choice("image kind", kind, IMAGE_KINDS)
    if kind == "lab":
        e = np.linspace(-pt_max, pt_max, pixels + 1)
        return e, e
    return np.linspace(-math.pi, math.pi, pixels + 1), np.linspace(0.0, pt_max, pixels + 1)


def set_images(feats: np.ndarray, kind: str, pixels: int, pt_max: float) -> np.ndarray:
    """(n, N, 5) event features -> (n, pixels, pixels) float32 counts [row, column]."""
    check_integer("pixels", pixels, 2, 4096)
    ex, ey = image_axes(kind, pixels, pt_max)
    if kind == "lab":
        cx, cy = feats[..., 0], feats[..., 1]
    else:
        cx, cy = feats[..., 2], np.hypot(feats[..., 0], feats[..., 1])
    out = np.empty((feats.shape[0], pixels, pixels), dtype=np.float32)
    for i in range(feats.shape[0]):
        out[i] = np.histogram2d(cy[i], cx[i], bins=(ey, ex))[0]
    return out


def write_set_images(sets_path: str | os.PathLike[str], out: str | os.PathLike[str],
                     n_events: int, kind: str, pixels: int) -> Path:
    """The ``kind`` images of the first ``n_events`` events of every set in ``sets_path``, as
    an image dataset file ``out`` (written atomically; chunks as in the source)."""
    from upclens.data.eventsets import read_event_sets
    from upclens.data.store import write_dataset

    feats, labels, config = read_event_sets(sets_path, n_events)
    pt_max = float(config["events"]["pt_max"])
    images = set_images(feats, kind, pixels, pt_max)
    columns = list(labels)
    rows = np.stack([labels[c] for c in columns], axis=1).astype(np.float32)
    ex, ey = image_axes(kind, pixels, pt_max)
    cs = 64
    n = len(images)
    chunks = ((c, images[c * cs:(c + 1) * cs], rows[c * cs:(c + 1) * cs])
              for c in range(-(-n // cs)))
    cfg: dict[str, Any] = {"kind": "event-images", "image": kind, "n_events": int(n_events),
                           "pixels": int(pixels), "source": config, "schema_version": 1}
    return write_dataset(out, cfg, seed=0, n=n, chunk_size=cs, columns=columns,
                         px=0.5 * (ex[1:] + ex[:-1]), py=0.5 * (ey[1:] + ey[:-1]),
                         chunks=chunks)
