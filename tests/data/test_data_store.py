"""The dataset file: damage is detected (bytes on disk, values, truncation), rows are read in
any order, and splits are disjoint, complete and identical to the parent rows."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from upclens.data import dataset_info, generate_dataset, read_dataset, split_dataset
from upclens.data.split import split_sizes
from upclens.data.store import DatasetCorruptError
from upclens.errors import ParameterError

N = 12  # 3 chunks of 4


@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    from upclens.data import load_config

    cfg = load_config(overrides={"image.pixels": 16, "image.orientations": 2,
                                 "run.chunk_size": 4})
    out = tmp_path_factory.mktemp("store") / "good.h5"
    return generate_dataset(cfg, N, 3, out, workers=1, progress=False)


def _copy(src, tmp_path, name="bad.h5"):
    dst = tmp_path / name
    shutil.copyfile(src, dst)
    return dst


def _flip_bytes_of_storage_chunk(path, row):
    """Overwrite 16 bytes in the middle of the compressed storage chunk holding ``row``."""
    with h5py.File(path, "r") as f:
        ds = f["images"]
        info = ds.id.get_chunk_info_by_coord((row, 0, 0))
        offset, size = info.byte_offset, info.size
    with open(path, "r+b") as fh:
        fh.seek(offset + size // 2)
        fh.write(bytes(16))
        fh.seek(offset + size // 2 + 16)
        fh.write(b"\xff" * 16)


def test_info_summarises_a_good_file(good_file):
    info = dataset_info(good_file)
    assert info["n"] == N
    assert info["shape"] == (N, 16, 16)
    assert info["n_chunks"] == 3
    assert info["columns"] == ["beta2", "beta3", "delta_rnp", "skin"]
    assert 0.0 <= info["label_min"]["beta2"] <= info["label_max"]["beta2"] <= 0.3


def test_damaged_bytes_on_disk_are_detected_by_info_reader_and_loader(good_file, tmp_path):
    from upclens.data import ImageDataset

    bad = _copy(good_file, tmp_path)
    _flip_bytes_of_storage_chunk(bad, row=5)  # work chunk 1 (rows 4-7)
    with pytest.raises(DatasetCorruptError, match=r"1 of 3 chunks are corrupted \(chunks 1\)"):
        dataset_info(bad)
    with pytest.raises(DatasetCorruptError, match=r"chunk 1 \(rows 4-7\)"):
        read_dataset(bad)
    # Rows of undamaged chunks still read.
    images, _, _ = read_dataset(bad, indices=[0, 9])
    ref, _, _ = read_dataset(good_file, indices=[0, 9])
    assert images.tobytes() == ref.tobytes()
    ds = ImageDataset(bad)
    ds[0]
    with pytest.raises(DatasetCorruptError, match=r"chunk 1"):
        ds[6]
    unverified = ImageDataset(bad, verify=False)
    with pytest.raises(DatasetCorruptError, match=r"row 5 cannot be read"):
        unverified[5]


def test_changed_values_are_caught_by_the_checksum(good_file, tmp_path):
    """A value rewritten through HDF5 passes Fletcher-32 (recomputed) but not SHA-256."""
    bad = _copy(good_file, tmp_path)
    with h5py.File(bad, "r+") as f:
        f["labels"][10, 0] = f["labels"][10, 0] + np.float32(1e-3)
    with pytest.raises(DatasetCorruptError, match=r"chunk 2 .* fails its SHA-256"):
        read_dataset(bad, indices=[10])
    with pytest.raises(DatasetCorruptError, match=r"chunks 2\)"):
        dataset_info(bad)


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_truncated_file_is_detected(good_file, tmp_path, keep):
    bad = _copy(good_file, tmp_path)
    size = bad.stat().st_size
    with open(bad, "r+b") as fh:
        fh.truncate(int(size * keep))
    with pytest.raises(DatasetCorruptError, match=r"truncated"):
        dataset_info(bad)
    with pytest.raises(DatasetCorruptError, match=r"truncated"):
        read_dataset(bad)
    pytest.importorskip("torch")
    from upclens.data import ImageDataset

    with pytest.raises(DatasetCorruptError, match=r"truncated"):
        ImageDataset(bad)


def test_foreign_and_incomplete_files_are_refused(good_file, tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(DatasetCorruptError, match=r"not an upclens dataset"):
        dataset_info(other)
    bad = _copy(good_file, tmp_path)
    with h5py.File(bad, "r+") as f:
        f["chunk_done"][1] = 0
    with pytest.raises(DatasetCorruptError, match=r"incomplete"):
        read_dataset(bad)


def test_rows_are_read_in_the_order_asked(good_file):
    images, labels, _ = read_dataset(good_file)
    idx = [11, 0, 5, 5, -1]
    sub, sub_labels, _ = read_dataset(good_file, indices=idx)
    assert sub.tobytes() == images[idx].tobytes()
    assert np.array_equal(sub_labels["beta3"], labels["beta3"][idx])


def test_split_is_disjoint_complete_and_faithful(good_file, tmp_path):
    parts = split_dataset(good_file, tmp_path / "split", fractions=(0.5, 0.25, 0.25), seed=4)
    images, labels, _ = read_dataset(good_file)
    seen = []
    for name, size in zip(("train", "val", "test"), (6, 3, 3), strict=True):
        im, lab, meta = read_dataset(parts[name])
        rows = meta["source_indices"]
        assert len(rows) == size
        assert np.all(np.diff(rows) > 0)
        assert im.tobytes() == images[rows].tobytes()
        assert np.array_equal(lab["skin"], labels["skin"][rows])
        assert meta["seed"] == 3
        np.testing.assert_allclose(meta["stats"]["image_mean"], im.astype(float).mean(axis=0))
        seen.extend(rows.tolist())
    assert sorted(seen) == list(range(N))
    again = split_dataset(good_file, tmp_path / "again", fractions=(0.5, 0.25, 0.25), seed=4)
    a, _, _ = read_dataset(again["val"])
    b, _, _ = read_dataset(parts["val"])
    assert a.tobytes() == b.tobytes()
    # A split of a split maps back to the first parent's rows.
    sub = split_dataset(parts["train"], tmp_path / "sub", fractions=(0.5, 0.5, 0.0), seed=1)
    assert set(sub) == {"train", "val"}
    im, _, meta = read_dataset(sub["val"])
    assert im.tobytes() == images[meta["source_indices"]].tobytes()


def test_split_sizes_and_bad_fractions():
    assert split_sizes(10, (0.8, 0.1, 0.1)) == [8, 1, 1]
    assert split_sizes(7, (0.5, 0.25, 0.25)) == [5, 1, 1]
    with pytest.raises(ParameterError, match=r"fractions .*add up to 1"):
        split_dataset("x.h5", "out", fractions=(0.8, 0.1, 0.2))
    with pytest.raises(ParameterError, match=r"fractions .*three numbers"):
        split_dataset("x.h5", "out", fractions=(0.8, 0.2))
