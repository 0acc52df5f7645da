"""Atomic file writing: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from upclens.errors import ParameterError


def check_writable(path: str | os.PathLike[str], name: str = "out") -> Path:
    """Return ``path`` as a Path if its folder exists (or can be made) and is writable."""
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(name, str(path), f"its folder cannot be created ({exc.strerror})") from None
    if not os.access(folder, os.W_OK) or p.is_dir():
        raise ParameterError(name, str(path), "must be a writable file path")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in the target folder; rename it onto ``path`` on success.

    The target is never left half-written: on any error the temporary file is removed.
    """
    target = check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix,
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
