"""Finite-statistics datasets drawn from an exact parent equal the directly simulated ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from upclens.data import generate_dataset, load_config, read_dataset
from upclens.data.simulate import simulate_item
from upclens.errors import ParameterError
from upclens.ladder.derive import derive_events, parent_config


@pytest.mark.parametrize("extra", [{}, {"image.incoherent_fraction": 0.3,
                                        "image.smearing": 0.01}])
def test_derived_items_match_simulate_item(tmp_path: Path, extra: dict) -> None:
    n_events = 2000
    cfg = load_config(overrides={"image.pixels": 16, "image.orientations": "exact",
                                 "image.n_events": n_events, "run.chunk_size": 4, **extra})
    parent = generate_dataset(parent_config(cfg), 6, 3, tmp_path / "parent.h5", workers=1,
                              progress=False)
    out = derive_events(parent, cfg, 3, tmp_path / "child.h5")
    images, labels, meta = read_dataset(out)
    assert meta["config"]["image"]["n_events"] == n_events
    diff = 0.0
    for k in range(6):
        direct, lab = simulate_item(cfg, 3, k)
        assert np.array_equal(lab, [labels[c][k] for c in meta["columns"]])
        diff += float(np.abs(direct - images[k]).sum())
        if not extra:  # no smearing: every event lands inside the window
            assert images[k].sum() == n_events
    # Independent draws would differ by ~ sum over pixels of sqrt(2 m) ~ 2e3 counts per image;
    # the same event stream from a float32 parent differs at most by rare single events.
    assert diff <= 0.01 * 6 * n_events


def test_a_parent_of_another_config_or_seed_is_refused(tmp_path: Path) -> None:
    cfg = load_config(overrides={"image.pixels": 8, "image.orientations": "exact",
                                 "image.n_events": 100, "run.chunk_size": 4})
    parent = generate_dataset(parent_config(cfg), 4, 1, tmp_path / "p.h5", workers=1,
                              progress=False)
    with pytest.raises(ParameterError, match="parent"):
        derive_events(parent, cfg, 2, tmp_path / "c.h5")
    other = load_config(overrides={"image.pixels": 8, "image.orientations": "exact",
                                   "image.n_events": 100, "run.chunk_size": 4,
                                   "physics.b": 20.0})
    with pytest.raises(ParameterError, match="parent"):
        derive_events(parent, other, 1, tmp_path / "c.h5")
    with pytest.raises(ParameterError, match="exact"):
        derive_events(parent, parent_config(cfg), 1, tmp_path / "c.h5")
