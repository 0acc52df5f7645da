"""A torch Dataset that streams images from a dataset file, one item at a time.

The HDF5 file is opened lazily in each process that reads (so it works with DataLoader
``num_workers > 0``); only the storage chunk of the requested image is decompressed.  With
``verify`` (default) each work chunk is checked against its SHA-256 the first time a process
reads from it; HDF5's Fletcher-32 filter checks every read in any case.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from upclens.data.store import DatasetCorruptError, file_meta, open_checked, read_chunk
from upclens.errors import UpclensError

try:
    from torch.utils.data import Dataset as _TorchDataset
except ImportError:  # pragma: no cover - torch is an optional dependency
    _TorchDataset = object  # type: ignore[assignment,misc]


class ImageDataset(_TorchDataset):  # type: ignore[misc]
    """Items (image (1, ny, nx) float32 raw intensity, labels (K,) float32) of a dataset file.

    ``indices``: rows to expose (None: all), item i is row ``indices[i]``.  Attributes:
    ``columns`` (label names), ``px``, ``py`` (GeV), ``config`` (dict), ``stats`` (stored
    normalisation: image_mean, image_std, pixel_mean, pixel_std, label_mean, label_std), ``meta``.
    """

    def __init__(self, path: str | os.PathLike[str], indices: Any = None,
                 verify: bool = True) -> None:
        import torch  # noqa: F401  (fail early with a clear ImportError if torch is missing)

        self.path = Path(path)
        with open_checked(self.path) as f:
            self.meta = file_meta(f)
            self.chunk_size = int(f.attrs["chunk_size"])
            n = int(f.attrs["n"])
        self.columns: list[str] = self.meta["columns"]
        self.px: np.ndarray = self.meta["px"]
        self.py: np.ndarray = self.meta["py"]
        self.config: dict[str, Any] = self.meta["config"]
        self.stats: dict[str, Any] = self.meta.get("stats", {})
        rows = np.arange(n) if indices is None else np.asarray(indices, dtype=np.int64).ravel()
        if rows.size and (rows.min() < 0 or rows.max() >= n):
            raise UpclensError(f"indices must lie in [0, {n}) for {self.path}")
        self.rows = rows
        self.verify = verify
        self._file: Any = None
        self._pid: int | None = None
        self._verified: set[int] = set()

    def __len__(self) -> int:
        return int(self.rows.size)

    def _handle(self) -> Any:
        if self._file is None or self._pid != os.getpid():
            self._file = open_checked(self.path)
            self._pid = os.getpid()
            self._verified = set()
        return self._file

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        import torch

        row = int(self.rows[i])
        f = self._handle()
        chunk = row // self.chunk_size
        if self.verify and chunk not in self._verified:
            read_chunk(f, chunk, verify=True)
            self._verified.add(chunk)
        try:
            image = f["images"][row]
            labels = f["labels"][row]
        except OSError as exc:
            raise DatasetCorruptError(f"{self.path}: row {row} cannot be read: corrupted "
                                      f"({exc})") from None
        return torch.from_numpy(image[None]), torch.from_numpy(labels)

    def label_index(self, name: str) -> int:
        """Column index of label ``name``."""
        return self.columns.index(name)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_file"], state["_pid"], state["_verified"] = None, None, set()
        return state

    def close(self) -> None:
        """Close the file handle of this process (it reopens on the next read)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __repr__(self) -> str:
        return (f"ImageDataset({str(self.path)!r}, n={len(self)}, "
                f"columns={json.dumps(self.columns)})")
