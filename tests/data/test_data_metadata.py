"""The metadata checksum: label names, axes and normalisation are covered like the data; files
written before it existed are still read."""

from __future__ import annotations

import json

import h5py
import pytest

from upclens.data import generate_dataset, read_dataset
from upclens.data.store import DatasetCorruptError, dataset_info


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from upclens.data import load_config

    cfg = load_config(overrides={"image.pixels": 16, "image.orientations": 2,
                                 "run.chunk_size": 4})
    return generate_dataset(cfg, 8, 3, tmp_path_factory.mktemp("meta") / "d.h5", workers=1,
                            progress=False)


def _copy(src, dst, change):
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "r+") as f:
        change(f)
    return dst


@pytest.mark.parametrize("change", [
    lambda f: f["labels"].attrs.__setitem__(
        "columns", json.dumps(["beta3", "beta2", "delta_rnp", "skin"])),
    lambda f: f["px"].__setitem__(slice(None), 2 * f["px"][()]),
    lambda f: f["stats/label_std"].__setitem__(slice(None), 0.0),
    lambda f: f.attrs.__setitem__("config", f.attrs["config"].replace("Zr96", "Ru96")),
    lambda f: f.attrs.__setitem__("seed", 4),
], ids=["swapped columns", "doubled px", "zeroed label std", "other nucleus", "other seed"])
def test_changed_metadata_fails_its_checksum(small, tmp_path, change):
    bad = _copy(small, tmp_path / "bad.h5", change)
    with pytest.raises(DatasetCorruptError, match=r"metadata .* fails its checksum"):
        dataset_info(bad)
    with pytest.raises(DatasetCorruptError, match="fails its checksum"):
        read_dataset(bad)


def test_files_without_a_metadata_checksum_are_read(small, tmp_path):
    old = _copy(small, tmp_path / "old.h5", lambda f: f.attrs.__delitem__("meta_sha256"))
    assert dataset_info(old)["n"] == 8
    assert read_dataset(old)[0].tobytes() == read_dataset(small)[0].tobytes()
