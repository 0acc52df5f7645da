"""The materials of the bad-input table, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def hardening_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(materials folder, root of the case folders)."""
    import torch
    from bad_inputs import prepare

    threads = torch.get_num_threads()
    root = tmp_path_factory.mktemp("hardening")
    try:
        return prepare(root), root
    finally:
        torch.set_num_threads(threads)
