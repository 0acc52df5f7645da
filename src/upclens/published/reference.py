"""Published numbers shipped with upclens (``upclens/reference/*.csv``, each headed by its
source in '#' lines): a reader returning the columns, and the header text for provenance."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

from upclens.errors import ParameterError


def reference_text(name: str) -> str:
    """The text of the shipped reference file ``name``."""
    try:
        return resources.files("upclens.reference").joinpath(name).read_text()
    except FileNotFoundError:
        raise ParameterError("reference file", name,
                             "is not shipped in upclens/reference") from None


def read_reference(name: str) -> dict[str, np.ndarray]:
    """Columns of a shipped reference CSV by header name: numeric columns as float arrays,
    the others as arrays of str."""
    lines = [line for line in reference_text(name).splitlines()
             if line.strip() and not line.startswith("#")]
    rows = list(csv.reader(lines))
    header, body = rows[0], rows[1:]
    out: dict[str, np.ndarray] = {}
    for i, key in enumerate(header):
        col = [r[i] for r in body]
        try:
            out[key] = np.array(col, dtype=float)
        except ValueError:
            out[key] = np.array(col, dtype=str)
    return out
