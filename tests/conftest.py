"""Shared fixtures: small, fast settings used across the physics tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL_DATA = REPO.parent / "shared" / "real-data"


def weighted_l1(a: np.ndarray, b: np.ndarray) -> float:
    """sum |a - b| / sum |b|: the image distance used by the physics tests."""
    return float(np.abs(a - b).sum() / np.abs(b).sum())


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed generator for tests that draw random numbers."""
    return np.random.default_rng(20261124)
