"""Train / validation / test files from one dataset, by a seeded random permutation."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from upclens.data.store import gather_rows, open_checked, write_dataset
from upclens.errors import ParameterError
from upclens.io import check_writable

SPLIT_NAMES = ("train", "val", "test")


def split_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """Sizes of the parts: floor(f n) each, the remainder given to the first part."""
    sizes = [math.floor(f * n) for f in fractions]
    sizes[0] += n - sum(sizes)
    return sizes


def _check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    fr = tuple(float(f) for f in fractions)
    if len(fr) != len(SPLIT_NAMES) or not all(math.isfinite(f) and 0.0 <= f <= 1.0 for f in fr):
        raise ParameterError("fractions", fractions, "must be three numbers in [0, 1]")
    if abs(sum(fr) - 1.0) > 1e-9:
        raise ParameterError("fractions", fractions, "must add up to 1")
    return fr


def _rows(f: Any, rows: np.ndarray, chunk_size: int) -> Iterator[tuple[int, np.ndarray,
                                                                         np.ndarray]]:
    """Chunks of the selected parent rows (in order), each parent chunk read and checked once
    per output chunk that needs it."""
    for c, start in enumerate(range(0, rows.size, chunk_size)):
        images, labels = gather_rows(f, rows[start:start + chunk_size], chunk_size)
        yield c, images, labels


def split_dataset(path: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
                  fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
                  ) -> dict[str, Path]:
    """Write ``train``/``val``/``test`` files (``<stem>_train.h5`` ... in ``out_dir``).

    The rows are a random permutation made by ``np.random.default_rng(seed)``, sorted inside
    each part; each part is a complete dataset file with its own checksums and normalisation
    statistics and a ``source_indices`` dataset naming the parent rows.  Parts of size 0 are
    not written.
    """
    fr = _check_fractions(fractions)
    src = Path(path)
    folder = Path(out_dir)
    check_writable(folder / "x.h5", "out_dir", make_parents=True)
    out: dict[str, Path] = {}
    with open_checked(src) as f:
        import json

        n, cs, seed0 = int(f.attrs["n"]), int(f.attrs["chunk_size"]), int(f.attrs["seed"])
        config = json.loads(f.attrs["config"])
        columns = json.loads(f["labels"].attrs["columns"])
        px, py = f["px"][()], f["py"][()]
        parent_rows = f["source_indices"][()] if "source_indices" in f else np.arange(n)
        perm = np.random.default_rng(seed).permutation(n)
        start = 0
        for name, size in zip(SPLIT_NAMES, split_sizes(n, fr), strict=True):
            rows = np.sort(perm[start:start + size])
            start += size
            if size == 0:
                continue
            target = folder / f"{src.stem}_{name}.h5"
            write_dataset(target, config, seed=seed0, n=size, chunk_size=cs, columns=columns,
                          px=px, py=py, chunks=_rows(f, rows, cs), source_indices=parent_rows[rows],
                          extra_attrs={"source": src.name, "split": name,
                                       "split_seed": int(seed)})
            out[name] = target
    return out
