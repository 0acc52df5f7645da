"""Synthetic event sets with known handles, for the event-set learner's tests."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from upclens.data.eventsets import FEATURES, KIND, EventSetConfig
from upclens.data.store import write_dataset

COLUMNS = ["beta2", "beta3", "delta_rnp", "skin"]


def synthetic_sets(path: Path, n_sets: int, n_events: int, seed: int) -> Path:
    """Sets whose |pT| is exponential with mean 0.02 + 0.2 delta_rnp GeV, cos 2 dphi modulated
    by beta2 (density 1 - beta2 cos 2 dphi), rapidity uniform, classes random; beta3 has no
    handle (the network must return the prior for it)."""
    rng = np.random.default_rng(seed)
    labels = rng.uniform(0.0, 0.3, size=(n_sets, 3))
    feats = np.empty((n_sets, n_events, len(FEATURES)), dtype=np.float32)
    for k, (b2, _, dr) in enumerate(labels):
        pt = rng.exponential(0.02 + 0.2 * dr, n_events)
        phi = rng.uniform(-math.pi, math.pi, n_events)
        dphi = np.empty(0)
        while dphi.size < n_events:  # rejection from 1 - b2 cos 2 dphi
            x = rng.uniform(-math.pi, math.pi, 2 * n_events)
            dphi = np.concatenate([dphi, x[rng.random(x.size) * (1 + b2) < 1 - b2 * np.cos(2 * x)]])
        feats[k] = np.stack([pt * np.cos(phi), pt * np.sin(phi), dphi[:n_events],
                             rng.uniform(-1, 1, n_events), rng.integers(0, 3, n_events)], axis=1)
    rows = np.column_stack([labels, (labels[:, 2] > 0.1).astype(float)]).astype(np.float32)
    config = EventSetConfig(n_events=n_events).content_dict()
    cs = 16
    chunks = ((c, feats[c * cs:(c + 1) * cs], rows[c * cs:(c + 1) * cs])
              for c in range(-(-n_sets // cs)))
    return write_dataset(path, config, seed=seed, n=n_sets, chunk_size=cs, columns=COLUMNS,
                         px=np.arange(len(FEATURES), dtype=float),
                         py=np.arange(n_events, dtype=float), chunks=chunks,
                         extra_attrs={"kind": KIND})
