"""What makes a run safe to kill and resume: an exclusive writer lock and a staging folder of
finished chunks.

While ``OUT`` is generated, every finished chunk is written by the parent process to
``OUT.parts/chunk-NNNNNNNN.npz`` through a temporary name, fsync and rename, so a chunk file is
either complete or absent whatever moment the run is killed (SIGKILL included).  A manifest
(config, seed, n, chunk size, version) written the same way guards against resuming with other
settings.  When every chunk is there, the HDF5 file is assembled under a temporary name and
renamed onto ``OUT``; then the staging folder is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from upclens.data.config import ConfigMismatchError
from upclens.data.store import chunk_checksum
from upclens.errors import UpclensError


class DatasetLockedError(UpclensError):
    """Another process is writing the same dataset file."""


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriterLock:
    """Exclusive ``fcntl.flock`` on ``OUT.lock`` (released by the kernel even on SIGKILL)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out.with_name(out.name + ".lock")
        self.fd: int | None = None

    def __enter__(self) -> WriterLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DatasetLockedError(
                f"{self.out} is being written by another upclens process (pid {holder}); wait "
                "for it to finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self.fd)
            self.fd = None


def _write_atomic(path: Path, write: Any) -> None:
    """Call ``write(fh)`` on a temporary file beside ``path``, fsync it, rename it."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class Staging:
    """The folder ``OUT.parts`` of finished chunks of one run."""

    def __init__(self, out: Path, manifest: dict[str, Any]) -> None:
        self.folder = out.with_name(out.name + ".parts")
        self.manifest = manifest

    def chunk_path(self, c: int) -> Path:
        return self.folder / f"chunk-{c:08d}.npz"

    def open(self) -> None:
        """Create the folder, or check that an existing one was started with the same
        manifest (raises ConfigMismatchError otherwise)."""
        path = self.folder / "manifest.json"
        if path.is_file():
            try:
                old = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                old = None
            if old != self.manifest:
                raise ConfigMismatchError(
                    f"{self.folder} holds a partial run with another config, seed, size or "
                    "upclens version; rerun that command to finish it, or delete the folder")
            return
        self.folder.mkdir(exist_ok=True)
        text = json.dumps(self.manifest, sort_keys=True, indent=1).encode()
        _write_atomic(path, lambda fh: fh.write(text))

    def done(self, n_chunks: int) -> set[int]:
        """Chunks already finished and intact (damaged ones are removed to be redone)."""
        for tmp in self.folder.glob(".*.tmp"):
            tmp.unlink()
        good = set()
        for c in range(n_chunks):
            path = self.chunk_path(c)
            if not path.exists():
                continue
            try:
                self.read(c)
                good.add(c)
            except (OSError, ValueError, KeyError, UpclensError):
                path.unlink()
        return good

    def write(self, c: int, images: np.ndarray, labels: np.ndarray) -> None:
        """Store chunk ``c`` with its checksum (complete or not at all)."""
        sha = chunk_checksum(images, labels)
        _write_atomic(self.chunk_path(c),
                      lambda fh: np.savez(fh, images=images, labels=labels, sha256=sha))

    def read(self, c: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Chunk ``c`` as (c, images, labels), checked against its checksum."""
        with np.load(self.chunk_path(c)) as data:
            images, labels, sha = data["images"], data["labels"], str(data["sha256"])
        if chunk_checksum(images, labels) != sha:
            raise UpclensError(f"{self.chunk_path(c)} fails its checksum")
        return c, images, labels

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
