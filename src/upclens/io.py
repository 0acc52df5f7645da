"""Atomic file writing: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from upclens.errors import ParameterError


def _read_umask() -> int:
    """The process umask (read once, at import: setting it is not thread-safe)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def check_writable(path: str | os.PathLike[str], name: str = "out",
                   make_parents: bool = False) -> Path:
    """Return ``path`` as a Path if it can be written: its folder exists (or, with
    ``make_parents``, can be made) and is writable, and it is not a folder itself."""
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if make_parents:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ParameterError(name, str(path),
                                 f"its folder cannot be created ({exc.strerror})") from None
    if not folder.is_dir():
        raise ParameterError(name, str(path), f"must be in an existing folder ({folder} is not)")
    if not os.access(folder, os.W_OK) or p.is_dir():
        raise ParameterError(name, str(path), "must be a writable file path")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in the target folder; rename it onto ``path`` on success.

    The target is never left half-written: on any error the temporary file is removed.
    """
    target = check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix,
                                   dir=target.parent)
    except OSError as exc:
        raise ParameterError("out", str(path), f"cannot be written ({exc.strerror})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(data: Any, path: str | os.PathLike[str], indent: int = 2) -> None:
    """Write ``data`` as indented JSON atomically, through :func:`json_ready` (NaN and
    infinities as null)."""
    import json

    text = json.dumps(json_ready(data), indent=indent)
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(text + "\n")


def json_ready(value: Any) -> Any:
    """JSON-safe copy: NumPy scalars and arrays as Python values, paths as strings, NaN and
    infinities as None (JSON has no literal for them)."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
