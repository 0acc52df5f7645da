"""The HDF5 dataset file: writing it from finished chunks, checking it, reading it.

Layout (one file, written once to a temporary name and renamed):
    images (N, ny, nx) float32   gzip + shuffle + Fletcher-32, chunked along N
    labels (N, K) float32        attribute ``columns`` (JSON list of names)
    px (nx,), py (ny,)           bin centres (GeV)
    chunk_sha256 (C,) S64        SHA-256 of each work chunk's image and label bytes
    chunk_done (C,) uint8        1 for every chunk that was written
    stats/                       image_mean, image_std (ny, nx), pixel_mean, pixel_std,
                                 label_mean, label_std (K,): the normalisation for training
    source_indices (N,) int64    only in split files: the rows of the parent file
Root attributes: format, config (JSON), seed, n, chunk_size, upclens_version, schema_version,
complete.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from upclens import __version__
from upclens.errors import UpclensError
from upclens.io import atomic_path

FORMAT = "upclens-dataset"
FORMAT_VERSION = 1


class DatasetCorruptError(UpclensError):
    """A dataset file is truncated, incomplete or fails its checksums."""


def chunk_checksum(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 (hex) of the little-endian float32 bytes of a chunk's images, then labels."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(images, dtype="<f4").tobytes())
    h.update(np.ascontiguousarray(labels, dtype="<f4").tobytes())
    return h.hexdigest()


def storage_rows(chunk_size: int) -> int:
    """Images per HDF5 storage chunk: the largest divisor of ``chunk_size`` up to 8, so that a
    single image is read cheaply and work chunks never share a storage chunk."""
    return max(d for d in range(1, min(8, chunk_size) + 1) if chunk_size % d == 0)


class _Stats:
    """Running per-pixel and per-label sums (float64) for the normalisation record."""

    def __init__(self, shape: tuple[int, int], k: int) -> None:
        self.n = 0
        self.s1, self.s2 = np.zeros(shape), np.zeros(shape)
        self.l1, self.l2 = np.zeros(k), np.zeros(k)

    def add(self, images: np.ndarray, labels: np.ndarray) -> None:
        x, y = images.astype(np.float64), labels.astype(np.float64)
        self.n += len(x)
        self.s1 += x.sum(axis=0)
        self.s2 += (x * x).sum(axis=0)
        self.l1 += y.sum(axis=0)
        self.l2 += (y * y).sum(axis=0)

    def write(self, group: Any) -> None:
        n = max(self.n, 1)
        mean, mean_l = self.s1 / n, self.l1 / n
        group["image_mean"] = mean
        group["image_std"] = np.sqrt(np.maximum(self.s2 / n - mean**2, 0.0))
        pix_mean = self.s1.sum() / (n * mean.size)
        group.attrs["pixel_mean"] = pix_mean
        group.attrs["pixel_std"] = float(np.sqrt(max(self.s2.sum() / (n * mean.size)
                                                     - pix_mean**2, 0.0)))
        group["label_mean"] = mean_l
        group["label_std"] = np.sqrt(np.maximum(self.l2 / n - mean_l**2, 0.0))


def write_dataset(path: str | os.PathLike[str], config: dict[str, Any], *, seed: int, n: int,
                  chunk_size: int, columns: list[str], px: np.ndarray, py: np.ndarray,
                  chunks: Iterable[tuple[int, np.ndarray, np.ndarray]],
                  source_indices: np.ndarray | None = None,
                  extra_attrs: dict[str, Any] | None = None) -> Path:
    """Write a complete dataset file atomically from ``chunks`` = (index, images, labels) in
    index order; chunk c holds rows c*chunk_size .. c*chunk_size + m - 1."""
    import h5py

    n_chunks = -(-n // chunk_size)
    ny, nx = len(py), len(px)
    with atomic_path(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION,
                        "config": json.dumps(config, sort_keys=True), "seed": int(seed),
                        "n": int(n), "chunk_size": int(chunk_size),
                        "upclens_version": __version__,
                        "schema_version": int(config.get("schema_version", 1)),
                        "complete": False, **(extra_attrs or {})})
        rows = storage_rows(chunk_size)
        images = f.create_dataset("images", shape=(n, ny, nx), dtype="<f4",
                                  chunks=(min(rows, n), ny, nx), compression="gzip",
                                  compression_opts=4, shuffle=True, fletcher32=True)
        images.attrs["units"] = "GeV^-2 (unit integral over the window) or counts"
        labels = f.create_dataset("labels", shape=(n, len(columns)), dtype="<f4",
                                  chunks=(min(chunk_size, n), len(columns)), fletcher32=True)
        labels.attrs["columns"] = json.dumps(columns)
        for name, axis in (("px", px), ("py", py)):
            f.create_dataset(name, data=np.asarray(axis, dtype=np.float64))
            f[name].attrs["units"] = "GeV (bin centres)"
        sha = f.create_dataset("chunk_sha256", shape=(n_chunks,), dtype="S64")
        done = f.create_dataset("chunk_done", shape=(n_chunks,), dtype="u1")
        if source_indices is not None:
            f.create_dataset("source_indices", data=np.asarray(source_indices, dtype=np.int64))
        stats = _Stats((ny, nx), len(columns))
        expected = 0
        for c, im, lab in chunks:
            if c != expected:
                raise RuntimeError(f"chunk {c} arrived where chunk {expected} was due")
            start = c * chunk_size
            images[start:start + len(im)] = im
            labels[start:start + len(lab)] = lab
            sha[c] = chunk_checksum(im, lab).encode()
            done[c] = 1
            stats.add(im, lab)
            expected += 1
        if expected != n_chunks:
            raise RuntimeError(f"{expected} of {n_chunks} chunks were written")
        stats.write(f.create_group("stats"))
        f.attrs["complete"] = True
        f.close()
        os.chmod(tmp, 0o666 & ~_umask())  # the temporary file was private (0600)
    return Path(path)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# -- opening and checking ---------------------------------------------------------------------
REQUIRED = ("images", "labels", "px", "py", "chunk_sha256", "chunk_done")


def open_checked(path: str | os.PathLike[str]) -> Any:
    """Open a dataset file read-only and check its structure (not its data); returns an open
    h5py.File.  Raises DatasetCorruptError for truncated, foreign or incomplete files."""
    import h5py

    p = Path(path)
    if not p.is_file():
        raise UpclensError(f"{p}: no such dataset file")
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise DatasetCorruptError(f"{p} cannot be opened as HDF5: truncated or not a dataset "
                                  f"({exc})") from None
    try:
        if f.attrs.get("format") != FORMAT:
            raise DatasetCorruptError(f"{p} is not an upclens dataset file")
        missing = [k for k in REQUIRED if k not in f]
        if missing:
            raise DatasetCorruptError(f"{p} lacks {', '.join(missing)}: truncated or damaged")
        n, cs = int(f.attrs["n"]), int(f.attrs["chunk_size"])
        n_chunks = -(-n // cs)
        if (f["images"].shape[0] != n or f["labels"].shape[0] != n
                or f["chunk_done"].shape != (n_chunks,)):
            raise DatasetCorruptError(f"{p}: dataset shapes disagree with n = {n}")
        if not bool(f.attrs.get("complete", False)) or not np.all(f["chunk_done"][()] == 1):
            raise DatasetCorruptError(f"{p} is incomplete (not every chunk was written)")
    except DatasetCorruptError:
        f.close()
        raise
    except (OSError, KeyError) as exc:
        f.close()
        raise DatasetCorruptError(f"{p}: damaged metadata ({exc})") from None
    return f


def chunk_rows(f: Any, c: int) -> tuple[int, int]:
    """First row and end row of work chunk ``c``."""
    cs, n = int(f.attrs["chunk_size"]), int(f.attrs["n"])
    return c * cs, min(n, (c + 1) * cs)


def read_chunk(f: Any, c: int, verify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of chunk ``c``, checked against its stored SHA-256."""
    start, stop = chunk_rows(f, c)
    try:
        images = f["images"][start:stop]
        labels = f["labels"][start:stop]
        stored = f["chunk_sha256"][c].decode()
    except OSError as exc:
        raise DatasetCorruptError(f"{f.filename}: chunk {c} (rows {start}-{stop - 1}) cannot be "
                                  f"read: corrupted ({exc})") from None
    if verify and chunk_checksum(images, labels) != stored:
        raise DatasetCorruptError(f"{f.filename}: chunk {c} (rows {start}-{stop - 1}) fails "
                                  "its SHA-256 checksum: corrupted")
    return images, labels


def bad_chunks(f: Any) -> list[int]:
    """Indices of the chunks that cannot be read or fail their checksum."""
    bad = []
    for c in range(f["chunk_done"].shape[0]):
        try:
            read_chunk(f, c)
        except DatasetCorruptError:
            bad.append(c)
    return bad


def file_meta(f: Any) -> dict[str, Any]:
    meta = {
        "path": str(f.filename), "n": int(f.attrs["n"]), "seed": int(f.attrs["seed"]),
        "chunk_size": int(f.attrs["chunk_size"]),
        "upclens_version": str(f.attrs["upclens_version"]),
        "config": json.loads(f.attrs["config"]),
        "columns": json.loads(f["labels"].attrs["columns"]),
        "px": f["px"][()], "py": f["py"][()],
    }
    if "stats" in f:
        g = f["stats"]
        meta["stats"] = {k: g[k][()] for k in g} | {k: float(v) for k, v in g.attrs.items()}
    if "source_indices" in f:
        meta["source_indices"] = f["source_indices"][()]
        meta["source"] = str(f.attrs.get("source", ""))
    return meta


def dataset_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Summary of a dataset file after checking every chunk's checksum.

    Returns n, shape, columns, label ranges, seed, version, config, chunk counts and file size;
    raises DatasetCorruptError (a clear one-line message) if any chunk is damaged.
    """
    with open_checked(path) as f:
        bad = bad_chunks(f)
        if bad:
            shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
            raise DatasetCorruptError(f"{path}: {len(bad)} of {f['chunk_done'].shape[0]} chunks "
                                      f"are corrupted (chunks {shown})")
        meta = file_meta(f)
        labels = f["labels"][()]
        meta.update({
            "shape": tuple(int(s) for s in f["images"].shape),
            "n_chunks": int(f["chunk_done"].shape[0]),
            "file_bytes": Path(path).stat().st_size,
            "label_min": dict(zip(meta["columns"], labels.min(axis=0).tolist(), strict=True)),
            "label_max": dict(zip(meta["columns"], labels.max(axis=0).tolist(), strict=True)),
            "label_mean": dict(zip(meta["columns"], labels.mean(axis=0).tolist(), strict=True)),
        })
    return meta


def gather_rows(f: Any, rows: np.ndarray, chunk_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Images and label rows of the file rows ``rows`` (in that order), reading and checking
    each chunk that holds any of them once."""
    images = np.empty((rows.size, *f["images"].shape[1:]), dtype=np.float32)
    labels = np.empty((rows.size, f["labels"].shape[1]), dtype=np.float32)
    chunk_of = rows // chunk_size
    for c in np.unique(chunk_of):
        im, lab = read_chunk(f, int(c))
        sel = np.nonzero(chunk_of == c)[0]
        images[sel] = im[rows[sel] - c * chunk_size]
        labels[sel] = lab[rows[sel] - c * chunk_size]
    return images, labels


def read_dataset(path: str | os.PathLike[str], indices: Any = None
                 ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, Any]]:
    """Images (n, ny, nx) float32, labels {column: (n,) float32} and metadata (config, seed,
    px, py, columns, stats, ...) of the rows ``indices`` (None: all), in the order given.

    Every chunk touched is checked against its SHA-256; damage raises DatasetCorruptError.
    """
    with open_checked(path) as f:
        meta = file_meta(f)
        n, cs = meta["n"], meta["chunk_size"]
        idx = np.arange(n) if indices is None else np.asarray(indices, dtype=np.int64).ravel()
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise UpclensError(f"indices must lie in [0, {n}) for {path}")
        idx = np.where(idx < 0, idx + n, idx)
        images, labels = gather_rows(f, idx, cs)
    return images, {c: labels[:, j] for j, c in enumerate(meta["columns"])}, meta
