"""Safe file writing: upclens writes only regular files it created.

Targets are written atomically (a temporary file beside the target, then a rename); a target that
exists as a symbolic link, a device, a pipe or a folder is refused; lock and temporary files are
created without following links (``O_NOFOLLOW`` / ``O_EXCL``).
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from upclens.errors import ParameterError, UpclensError


def _read_umask() -> int:
    """The process umask (read once, at import: setting it is not thread-safe)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _own_mode(path: Path, name: str) -> int | None:
    """The file mode of ``path`` itself (a link is not followed), None when it is absent;
    ParameterError naming ``name`` when it cannot be examined."""
    try:
        return os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ParameterError(name, str(path), f"cannot be examined ({exc.strerror})") from None


def check_regular_target(path: str | os.PathLike[str], name: str = "out") -> Path:
    """Return ``path`` as a Path if it is absent or a regular file (not followed through a
    link); raise ParameterError if it is a symbolic link, a device, a pipe, a socket or a
    folder: upclens replaces only regular files."""
    p = Path(path)
    mode = _own_mode(p, name)
    if mode is None:
        return p
    if not stat.S_ISREG(mode):
        raise ParameterError(name, str(path), f"is {_kind(mode)}; upclens writes only regular "
                             "files it creates")
    return p


def check_writable(path: str | os.PathLike[str], name: str = "out",
                   make_parents: bool = False) -> Path:
    """Return ``path`` as a Path if it can be written: its folder exists (or, with
    ``make_parents``, can be made) and is writable, and it is absent or a regular file (not a
    folder, a device, a pipe or a symbolic link)."""
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
    return check_regular_target(p, name)


def check_folder(path: str | os.PathLike[str], name: str = "out") -> Path:
    """Return ``path`` as a Path if it can be an output folder: absent (its parent is then
    made when it is written) or a real folder, not a symbolic link or another kind of file.
    Creates nothing."""
    p = Path(path)
    mode = _own_mode(p, name)
    if mode is None:
        return p
    if not stat.S_ISDIR(mode):
        raise ParameterError(name, str(path), f"is {_kind(mode)}; it must be a folder")
    if not os.access(p, os.W_OK):
        raise ParameterError(name, str(path), "must be a writable folder")
    return p


def create_new(path: str | os.PathLike[str], mode: int = 0o644) -> int:
    """Create ``path`` as a new file for writing and return its descriptor: never through a
    link, never over an existing file (``O_CREAT | O_EXCL | O_NOFOLLOW``)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(path, flags, mode)


def remove_stale_temporaries(target: str | os.PathLike[str], suffix: str = "") -> list[Path]:
    """Remove the temporary files that :func:`atomic_path` left beside ``target`` when a
    write was killed (regular files named ``.NAME.*SUFFIX``); call it only while holding the
    target's lock, so that no live write is touched.  Returns the removed paths."""
    p = Path(target)
    removed = []
    for tmp in p.parent.glob(f".{p.name}.*{suffix or p.suffix}"):
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(tmp).st_mode):
                tmp.unlink()
                removed.append(tmp)
    return removed


class LockedError(UpclensError):
    """Another process holds the lock of the same output."""


class FileLock:
    """An exclusive ``fcntl.flock`` on a lock file, released by the kernel when the process
    ends, even on SIGKILL.

    The lock file is opened without following links and must be a regular file.  After
    locking, the path is checked to still name the locked file; if not (its holder removed it
    on release, or someone else did), the lock is taken again on the new file.  On release
    the file is removed while still locked, then closed: a process that opened the old file
    meanwhile finds it unlinked and retries, so there is never more than one holder (deleting
    the file after closing, or without this check, would let two processes hold it).
    ``what`` names the locked output in the refusal message.
    """

    def __init__(self, path: str | os.PathLike[str], what: str) -> None:
        self.path = Path(path)
        self.what = what
        self.fd: int | None = None

    def _open(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ParameterError("lock file", str(self.path), "is a symbolic link; upclens "
                                     "writes only regular files it creates") from None
            raise ParameterError("lock file", str(self.path),
                                 f"cannot be created ({exc.strerror})") from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise ParameterError("lock file", str(self.path), f"is {_kind(mode)}; it must be a "
                                 "regular file")
        return fd

    def __enter__(self) -> FileLock:
        import fcntl

        for _ in range(100):
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise LockedError(
                    f"{self.what} is being written by another upclens process (pid {holder}); "
                    "wait for it to finish or choose another --out") from None
            try:
                same = os.path.samestat(os.fstat(fd), os.lstat(self.path))
            except OSError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                self.fd = fd
                return self
            os.close(fd)  # the file was replaced or removed meanwhile: lock the new one
        raise LockedError(f"the lock file {self.path} keeps changing; is another program "
                          "removing it?")

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                if os.path.samestat(os.fstat(self.fd), os.lstat(self.path)):
                    self.path.unlink()  # while still held: see the class docstring
            os.close(self.fd)  # closing releases the lock
            self.fd = None


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
        check_regular_target(target)  # again: it may have been replaced meanwhile
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


def read_npz(path: str | os.PathLike[str], name: str, required: tuple[str, ...],
             optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """The arrays ``required`` (and those of ``optional`` present) of an .npz file someone
    brought, read without unpickling; any file that is not such an archive is refused with one
    line naming ``name``, the path and what is missing."""
    import zipfile

    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise ParameterError(name, str(path), "must be an existing .npz file")
    try:
        with open(p, "rb") as fh:
            data = np.load(fh, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ParameterError(name, str(path), "must be an .npz archive (it is a "
                                     "single .npy array)")
            missing = [k for k in required if k not in data.files]
            if missing:
                raise ParameterError(name, str(path), f"lacks {', '.join(missing)} (an .npz "
                                     f"with {', '.join(required)} is needed)")
            return {k: data[k] for k in (*required, *optional) if k in data.files}
    except ParameterError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        why = ("holds pickled objects, which upclens does not load" if "pickle" in str(exc)
               else f"is not a readable .npz archive ({type(exc).__name__})")
        raise ParameterError(name, str(path), why) from None


def check_png_path(path: str | os.PathLike[str], name: str = "plot") -> Path:
    """Return ``path`` if it names a writable .png file: figures are written as PNG, and a
    PNG under another suffix would mislead whoever opens it."""
    if Path(path).suffix.lower() != ".png":
        raise ParameterError(name, str(path), "must end in .png (figures are written as PNG)")
    return check_writable(path, name)
