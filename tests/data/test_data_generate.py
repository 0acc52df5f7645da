"""Generation: bit-identical for any workers or scheduler, item k alone equals row k, guarded
against second writers and mismatched reruns, and the stored normalisation is right."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest

from upclens.data import generate_dataset, load_config, read_dataset, simulate_item
from upclens.data.config import ConfigMismatchError
from upclens.data.staging import DatasetLockedError, WriterLock
from upclens.data.store import chunk_checksum

N = 10  # 3 chunks of 4, 4, 2 items with the tiny config


def _contents(path):
    images, labels, meta = read_dataset(path)
    with h5py.File(path, "r") as f:
        sha = f["chunk_sha256"][()]
    return images, np.stack([labels[c] for c in meta["columns"]], axis=1), sha


@pytest.fixture(scope="module")
def serial_file(tmp_path_factory):
    """The reference: tiny config, N items, one process."""
    cfg = load_config(overrides={"image.pixels": 16, "image.orientations": 2,
                                 "run.chunk_size": 4})
    out = tmp_path_factory.mktemp("serial") / "ref.h5"
    return cfg, generate_dataset(cfg, N, 11, out, workers=1, progress=False)


def test_one_and_two_worker_processes_are_bit_identical(serial_file, tmp_path):
    cfg, ref = serial_file
    two = generate_dataset(cfg, N, 11, tmp_path / "two.h5", workers=2, progress=False)
    for a, b in zip(_contents(ref), _contents(two), strict=True):
        assert a.tobytes() == b.tobytes()


def test_dask_local_cluster_is_bit_identical(serial_file, tmp_path):
    from distributed import LocalCluster

    cfg, ref = serial_file
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None, local_directory=str(tmp_path)) as cluster:
        out = generate_dataset(cfg, N, 11, tmp_path / "dask.h5",
                               scheduler=cluster.scheduler_address, progress=False)
    for a, b in zip(_contents(ref), _contents(out), strict=True):
        assert a.tobytes() == b.tobytes()


def test_item_alone_equals_its_row(serial_file):
    cfg, ref = serial_file
    images, labels, _ = _contents(ref)
    for k in (0, 5, N - 1):
        image, row = simulate_item(cfg, 11, k)
        assert image.tobytes() == images[k].tobytes()
        assert row.tobytes() == labels[k].tobytes()


def test_images_are_normalised_and_labels_in_their_priors(serial_file):
    cfg, ref = serial_file
    images, labels, meta = read_dataset(ref)
    step = meta["px"][1] - meta["px"][0]
    # Each image integrates to 1 over the window (float32 rounding of 256 pixels: ~1e-6).
    np.testing.assert_allclose(images.sum(axis=(1, 2)) * step**2, 1.0, rtol=1e-5)
    assert np.all(images >= 0)
    assert np.all((labels["beta2"] >= 0) & (labels["beta2"] <= 0.3))
    assert set(np.unique(labels["delta_rnp"])) <= {np.float32(0.0), np.float32(0.2)}
    np.testing.assert_array_equal(labels["skin"], (labels["delta_rnp"] > 0.1).astype(np.float32))
    # The config, seed and axes are stored with the data.
    assert meta["seed"] == 11
    assert meta["config"]["image"]["pixels"] == 16
    np.testing.assert_allclose(meta["px"], -meta["px"][::-1])
    assert abs(meta["px"]).max() < cfg.image.pmax


def test_stored_normalisation_equals_the_image_moments(serial_file):
    _, ref = serial_file
    images, labels, meta = read_dataset(ref)
    stats = meta["stats"]
    x = images.astype(np.float64)
    np.testing.assert_allclose(stats["image_mean"], x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats["image_std"], x.std(axis=0), rtol=1e-9, atol=1e-12)
    assert stats["pixel_mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert stats["pixel_std"] == pytest.approx(x.std(), rel=1e-9)
    np.testing.assert_allclose(stats["label_mean"][0], labels["beta2"].mean(), rtol=1e-6)


def test_stored_checksums_match_the_chunks(serial_file):
    _, ref = serial_file
    with h5py.File(ref, "r") as f:
        for c, (start, stop) in enumerate(((0, 4), (4, 8), (8, 10))):
            assert f["chunk_sha256"][c].decode() == chunk_checksum(
                f["images"][start:stop], f["labels"][start:stop])
        assert f["images"].fletcher32
        assert f["images"].compression == "gzip"


def test_finished_file_is_returned_and_mismatch_refused(serial_file, tmp_path):
    cfg, ref = serial_file
    before = ref.stat().st_mtime_ns
    stale = ref.with_name(ref.name + ".parts")  # as if killed right after the final rename
    stale.mkdir()
    assert generate_dataset(cfg, N, 11, ref, workers=1, progress=False) == ref
    assert ref.stat().st_mtime_ns == before
    assert not stale.exists()
    with pytest.raises(ConfigMismatchError, match=r"exists with another config, seed or size"):
        generate_dataset(cfg, N, 12, ref, workers=1, progress=False)
    other = dataclasses.replace(cfg, image=dataclasses.replace(cfg.image, pmax=0.25))
    with pytest.raises(ConfigMismatchError, match=r"exists with another config"):
        generate_dataset(other, N, 11, ref, workers=1, progress=False)


def test_second_writer_is_refused(tiny_cfg, tmp_path):
    out = tmp_path / "busy.h5"
    with WriterLock(out), pytest.raises(
            DatasetLockedError, match=r"busy\.h5 is being written by another upclens process"):
        generate_dataset(tiny_cfg, 4, 1, out, workers=1, progress=False)
    assert not out.exists()


def test_finite_events_are_integer_counts(tmp_path):
    cfg = load_config(overrides={"image.pixels": 16, "image.orientations": 2,
                                 "image.n_events": 500, "image.incoherent_fraction": 0.2,
                                 "image.smearing": 0.01, "run.chunk_size": 3})
    out = generate_dataset(cfg, 3, 2, tmp_path / "ev.h5", workers=1, progress=False)
    images, _, _ = read_dataset(out)
    assert np.array_equal(images, np.round(images))
    # Smearing only loses events across the window edge, where the image is tiny.
    totals = images.sum(axis=(1, 2))
    assert np.all(totals <= 500)
    assert np.all(totals > 450)


def test_bad_arguments_are_rejected(tiny_cfg, tmp_path):
    from upclens.errors import ParameterError

    with pytest.raises(ParameterError, match=r"n = 0"):
        generate_dataset(tiny_cfg, 0, 1, tmp_path / "x.h5")
    with pytest.raises(ParameterError, match=r"seed = -1"):
        generate_dataset(tiny_cfg, 2, -1, tmp_path / "x.h5")
    with pytest.raises(ParameterError, match=r"scheduler = 'threads'"):
        generate_dataset(tiny_cfg, 2, 1, tmp_path / "x.h5", scheduler="threads")
    with pytest.raises(ParameterError, match=r"out = .*existing folder"):
        generate_dataset(tiny_cfg, 2, 1, tmp_path / "nope" / "x.h5")
