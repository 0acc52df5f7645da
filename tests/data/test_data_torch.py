"""The streaming torch Dataset: items equal the stored rows, also through DataLoader workers."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from upclens.data import ImageDataset, generate_dataset, read_dataset  # noqa: E402


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    from upclens.data import load_config

    cfg = load_config(overrides={"image.pixels": 16, "image.orientations": 1,
                                 "run.chunk_size": 3})
    out = tmp_path_factory.mktemp("torch") / "small.h5"
    return generate_dataset(cfg, 8, 9, out, workers=1, progress=False)


def test_items_are_the_stored_rows(small_file):
    torch.set_num_threads(1)
    images, labels, meta = read_dataset(small_file)
    ds = ImageDataset(small_file, indices=[7, 2, 4])
    assert len(ds) == 3
    assert ds.columns == meta["columns"]
    np.testing.assert_array_equal(ds.px, meta["px"])
    x, y = ds[0]
    assert x.shape == (1, 16, 16)
    assert x.dtype == torch.float32
    assert y.shape == (4,)
    assert np.array_equal(x.numpy()[0], images[7])
    assert y[ds.label_index("beta2")].item() == labels["beta2"][7]
    assert ds.config["image"]["pixels"] == 16
    np.testing.assert_allclose(ds.stats["image_mean"], images.astype(float).mean(axis=0))


def test_dataloader_with_worker_processes(small_file):
    torch.set_num_threads(1)
    images, _, _ = read_dataset(small_file)
    ds = ImageDataset(small_file)
    loader = torch.utils.data.DataLoader(ds, batch_size=3, shuffle=False, num_workers=2)
    batches = [x for x, _ in loader]
    got = torch.cat(batches).numpy()[:, 0]
    assert got.tobytes() == images.tobytes()


def test_out_of_range_indices_are_refused(small_file):
    from upclens.errors import UpclensError

    with pytest.raises(UpclensError, match=r"indices must lie in \[0, 8\)"):
        ImageDataset(small_file, indices=[8])
