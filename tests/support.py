"""Helpers shared by the test modules (imported by name: every test folder's conftest.py is a
module called ``conftest``, so shared helpers do not live there)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL_DATA = REPO.parent / "shared" / "real-data"


def weighted_l1(a: np.ndarray, b: np.ndarray) -> float:
    """sum |a - b| / sum |b|: the image distance used by the physics tests."""
    return float(np.abs(a - b).sum() / np.abs(b).sum())
