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
import json
import os
import shutil
import stat
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from upclens.data.config import ConfigMismatchError
from upclens.data.store import chunk_checksum
from upclens.errors import ParameterError, UpclensError
from upclens.io import FileLock, LockedError, check_regular_target

DatasetLockedError = LockedError  # the name this module has always exported


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriterLock(FileLock):
    """Exclusive lock of ``OUT`` on ``OUT.lock`` (see :class:`upclens.io.FileLock`)."""

    def __init__(self, out: Path) -> None:
        super().__init__(out.with_name(out.name + ".lock"), str(out))
        self.out = out


def _write_atomic(path: Path, write: Any) -> None:
    """Call ``write(fh)`` on a new temporary file beside ``path`` (created with O_EXCL, never
    through a link), fsync it, rename it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        check_regular_target(path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
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
        try:
            mode = os.lstat(self.folder).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISDIR(mode):
            raise ParameterError("out", str(self.folder), "is not a folder (a symbolic link or "
                                 "a file): upclens writes only into folders it created")
        check_regular_target(path)
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
        """Chunks already finished and intact.  Temporary files of a killed write are removed;
        a damaged chunk (truncated, not a zip, failing its checksum, or not a regular file) is
        renamed to ``chunk-NNNNNNNN.npz.damaged-K`` with a note on stderr, and redone."""
        for tmp in self.folder.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
        good = set()
        for c in range(n_chunks):
            path = self.chunk_path(c)
            if not os.path.lexists(path):
                continue
            try:
                check_regular_target(path)
                self.read(c)
                good.add(c)
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile,
                    UpclensError) as exc:
                aside = self._set_aside(path)
                sys.stderr.write(f"upclens: note: {path} is damaged ({type(exc).__name__}); "
                                 f"moved to {aside.name}, chunk {c} is computed again\n")
        return good

    @staticmethod
    def _set_aside(path: Path) -> Path:
        k = 0
        while os.path.lexists(aside := path.with_name(f"{path.name}.damaged-{k}")):
            k += 1
        os.replace(path, aside)
        return aside

    def write(self, c: int, images: np.ndarray, labels: np.ndarray) -> None:
        """Store chunk ``c`` with its checksum (complete or not at all)."""
        sha = chunk_checksum(images, labels)
        _write_atomic(self.chunk_path(c),
                      lambda fh: np.savez(fh, images=images, labels=labels, sha256=sha))

    def read(self, c: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Chunk ``c`` as (c, images, labels), checked against its checksum."""
        with open(self.chunk_path(c), "rb") as fh, np.load(fh, allow_pickle=False) as data:
            images, labels, sha = data["images"], data["labels"], str(data["sha256"])
        if chunk_checksum(images, labels) != sha:
            raise UpclensError(f"{self.chunk_path(c)} fails its checksum")
        return c, images, labels

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
