"""Pooling datasets of several J/psi counts into one training file (row 3m)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from upclens.errors import ParameterError


def pool_datasets(paths: Sequence[str | Path], n_events: Sequence[int],
                  out: str | Path) -> Path:
    """Concatenate dataset files of the same binning and label columns into ``out``, adding a
    label column ``n_events`` (J/psi per image of each part).  The stored config is the first
    part's with ``image.n_events`` the list of counts; ``seed`` is the first part's."""
    from upclens.data import read_dataset
    from upclens.data.store import write_dataset

    if len(paths) != len(n_events) or not paths:
        raise ParameterError("paths", len(paths), "must be as many (> 0) as n_events")
    images, labels, metas = [], [], []
    for path, n in zip(paths, n_events, strict=True):
        im, lab, meta = read_dataset(path)
        if metas and (meta["columns"] != metas[0]["columns"]
                      or not np.array_equal(meta["px"], metas[0]["px"])
                      or not np.array_equal(meta["py"], metas[0]["py"])):
            raise ParameterError("paths", str(path), "must share binning and label columns")
        images.append(im)
        labels.append(np.stack([*(lab[c] for c in meta["columns"]),
                                np.full(im.shape[0], float(n), np.float32)], axis=1))
        metas.append(meta)
    first = metas[0]
    all_images = np.concatenate(images)
    all_labels = np.concatenate(labels).astype(np.float32)
    config = json.loads(json.dumps(first["config"]))
    config["image"]["n_events"] = [int(n) for n in n_events]
    cs = int(first["chunk_size"])

    def chunks() -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        for c, start in enumerate(range(0, all_images.shape[0], cs)):
            yield c, all_images[start:start + cs], all_labels[start:start + cs]

    return write_dataset(out, config, seed=int(first["seed"]), n=int(all_images.shape[0]),
                         chunk_size=cs, columns=[*first["columns"], "n_events"],
                         px=first["px"], py=first["py"], chunks=chunks(),
                         extra_attrs={"pooled_from": json.dumps([Path(p).name for p in paths])})
