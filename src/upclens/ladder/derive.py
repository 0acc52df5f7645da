"""Finite-statistics datasets drawn from an exact (orientation-averaged, noiseless) dataset.

An image of N J/psi is a histogram of N draws from the exact parent image (plus background and
smearing).  Computing the parent once and drawing every N from it is what ``generate_dataset``
does per item, without recomputing the parent: item k uses the same label values and the same
event stream (``upclens.data.simulate.item_streams(seed, k)``), so the file is the one
``generate_dataset`` writes for the child config, up to the parent being stored in float32.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from upclens.data.config import DatasetConfig
from upclens.errors import ParameterError


def parent_config(cfg: DatasetConfig) -> DatasetConfig:
    """The exact, noiseless config behind ``cfg``: no finite count, background or smearing."""
    image = replace(cfg.image, n_events=0, poisson_events=False, incoherent_fraction=0.0,
                    smearing=0.0)
    return replace(cfg, image=image)


def needs_parent(cfg: DatasetConfig) -> bool:
    """True when ``cfg`` draws finite events from the exact average (cheap to derive)."""
    return cfg.image.orientations == "exact" and cfg.image.n_events > 0


def _content(config: dict) -> dict:
    out = json.loads(json.dumps(config))
    out["run"] = {"chunk_size": out.get("run", {}).get("chunk_size")}
    return out


def _chunks(parent: Path, cfg: DatasetConfig, seed: int
            ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    from upclens.data.engine import engine_settings
    from upclens.data.simulate import item_streams
    from upclens.data.store import open_checked, read_chunk
    from upclens.physics.events import event_image
    from upclens.physics.nucleus import density_profile

    eng = engine_settings(cfg)
    grid = eng.grid
    columns = cfg.columns
    with open_checked(parent) as f:
        n_chunks = int(f["chunk_done"].shape[0])
        cs = int(f.attrs["chunk_size"])
        for c in range(n_chunks):
            images, labels = read_chunk(f, c)
            out = np.empty_like(images)
            for i in range(images.shape[0]):
                lab = dict(zip(columns, (float(v) for v in labels[i]), strict=True))
                profile = None
                if eng.incoherent_fraction > 0.0:
                    profile = density_profile(eng.nucleus_at(lab))
                _, _, events_rng = item_streams(seed, c * cs + i)
                out[i] = event_image(images[i].astype(np.float64), grid, eng.n_events,
                                     events_rng, eng.incoherent_fraction, eng.smearing, profile,
                                     poisson=eng.poisson_events)
            yield c, out, labels


def derive_events(parent: str | Path, cfg: DatasetConfig, seed: int, out: str | Path) -> Path:
    """Write the dataset of ``cfg`` (finite events from the exact average) to ``out``, drawing
    its images from the finished exact dataset ``parent`` made with ``parent_config(cfg)`` and
    the same ``seed``.  A finished ``out`` with the same config and seed is kept."""
    from upclens.data.store import open_checked, write_dataset

    parent, out = Path(parent), Path(out)
    if not needs_parent(cfg):
        raise ParameterError("config", "image.orientations / image.n_events",
                             "must be 'exact' with n_events > 0 to derive events")
    want = parent_config(cfg).content_dict()
    with open_checked(parent) as f:
        meta_cfg = json.loads(f.attrs["config"])
        p_seed, n = int(f.attrs["seed"]), int(f.attrs["n"])
        px, py = f["px"][()], f["py"][()]
    if _content(meta_cfg) != want or p_seed != seed:
        raise ParameterError("parent", str(parent),
                             "must be the exact dataset of the same config and seed")
    config = cfg.to_dict()
    if out.exists():
        with open_checked(out) as f:
            if (_content(json.loads(f.attrs["config"])) == cfg.content_dict()
                    and int(f.attrs["seed"]) == seed and int(f.attrs["n"]) == n):
                return out
    write_dataset(out, config, seed=seed, n=n, chunk_size=cfg.run.chunk_size,
                  columns=cfg.columns, px=px, py=py, chunks=_chunks(parent, cfg, seed),
                  extra_attrs={"derived_from": parent.name})
    return out
