"""Fixtures of the data-layer tests: tiny, fast dataset configs."""

from __future__ import annotations

import pytest

from upclens.data import DatasetConfig, load_config

TINY = {"image.pixels": 16, "image.orientations": 2, "run.chunk_size": 4}


@pytest.fixture
def tiny_cfg() -> DatasetConfig:
    """16x16 images from 2 orientation pairs each, 4 images per chunk (~40 ms per image)."""
    return load_config(overrides=TINY)
