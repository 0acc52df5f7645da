"""Shared fixtures: small, fast settings used across the physics tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed generator for tests that draw random numbers."""
    return np.random.default_rng(20261124)
