"""Fixtures of the learning tests: tiny HDF5 datasets in the project's layout.

The images are a tractable twin of the physics: a Gaussian spot whose px width grows with beta2,
whose py width grows with beta3 and whose overall size grows with Delta r_np, times a fringe
pattern; a small network can learn it in seconds, and every label is readable from the image.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from learn_twin import twin_dataset


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def twin_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Train (256), validation (64) and test (128) twin datasets."""
    root = tmp_path_factory.mktemp("twin")
    return {"train": twin_dataset(root / "train.h5", 256, 1),
            "val": twin_dataset(root / "val.h5", 64, 2),
            "test": twin_dataset(root / "test.h5", 128, 3)}
