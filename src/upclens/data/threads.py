"""One BLAS thread while images are computed, so that a dataset does not depend on how many
threads the BLAS of a process happens to use (and worker processes do not oversubscribe cores).

NumPy and SciPy ship OpenBLAS builds whose thread count can be changed at run time through
their exported ``*_set_num_threads`` functions; they are found among the loaded libraries.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator

_PREFIXES = ("scipy_openblas_", "openblas_")
_SUFFIXES = ("64_", "_64_", "")
_THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _loaded_openblas() -> list[str]:
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower()}
    except OSError:  # not Linux: leave the thread count alone
        return []
    return sorted(p for p in paths if p.startswith("/"))


def _controls() -> list[tuple[ctypes._CFuncPtr, ctypes._CFuncPtr]]:
    out = []
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for pre in _PREFIXES:
            for suf in _SUFFIXES:
                get = getattr(lib, f"{pre}get_num_threads{suf}", None)
                put = getattr(lib, f"{pre}set_num_threads{suf}", None)
                if get is not None and put is not None:
                    get.restype = ctypes.c_int
                    out.append((get, put))
                    break
            else:
                continue
            break
    return out


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run the body with every loaded OpenBLAS limited to one thread, then restore."""
    controls = _controls()
    before = [get() for get, _ in controls]
    for _, put in controls:
        put(1)
    try:
        yield
    finally:
        for (_, put), n in zip(controls, before, strict=True):
            put(n)


@contextlib.contextmanager
def single_thread_environment() -> Iterator[None]:
    """Set the thread-count variables to 1 while worker processes are started (they read them
    when their BLAS loads), then restore the parent's environment."""
    saved = {k: os.environ.get(k) for k in _THREAD_ENV}
    os.environ.update({k: "1" for k in _THREAD_ENV})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
