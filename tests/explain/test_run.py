"""``explain`` end to end on a data set file: models that read one region are found there."""

from __future__ import annotations

import json

import numpy as np
import pytest
from explain_toys import LinearModel, double_slit_images, write_dataset

from upclens.errors import ParameterError
from upclens.explain.regions import region_masks
from upclens.explain.run import explain

PIXELS = 32


@pytest.fixture
def dataset(tmp_path, rng):
    images, labels = double_slit_images(60, PIXELS, rng)
    return write_dataset(tmp_path / "test.h5", images, labels), images


def _dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        grown[1:, 1:] |= out[:-1, :-1]
        grown[:-1, :-1] |= out[1:, 1:]
        grown[1:, :-1] |= out[:-1, 1:]
        grown[:-1, 1:] |= out[1:, :-1]
        out = grown
    return out


def test_explain_finds_the_region_each_task_reads(dataset, tmp_path):
    """beta3 reads only fringe pixels, delta_rnp and the classifier only edge pixels of the
    mean image.  Windows of 3 spread relevance by up to 2 pixels: all of it lies within the
    region grown by 2 (exactly), and the region read holds more than twice its area share and
    more than the other region does."""
    path, images = dataset
    axis = (np.arange(PIXELS) + 0.5 - PIXELS / 2) * (0.4 / PIXELS)
    reg = region_masks(images.mean(0), axis, axis)
    assert reg.edge.any()
    assert reg.fringe.any()
    model = LinearModel({"beta3": reg.fringe * 1.0, "delta_rnp": reg.edge * 1.0,
                         "skin_logit": 0.2 * reg.edge})
    out = tmp_path / "explain"
    # ratio maps that change the image only at the edge (skin) or only in the fringes
    ratio_npz = tmp_path / "ratio_maps.npz"
    np.savez(ratio_npz, px=axis, py=axis,
             ratio_skin_over_no_skin=np.exp(-0.1 * reg.edge),
             ratio_deformed_over_sphere=np.exp(0.3 * reg.fringe))
    summary = explain(model, path, out, n_images=3, window=3, stride=1, n_samples=4,
                      seed=2, cross_check=2, ig_steps=4, n_figures=1, ratio_npz=ratio_npz)
    shares = summary["region_shares"]
    for task, read, other in (("beta3", "fringe", "edge"), ("delta_rnp", "edge", "fringe"),
                              ("skin", "edge", "fringe")):
        assert shares[task][f"{read}_enrichment"] > 2
        assert shares[task][read] > shares[task][other]
    with np.load(out / "heatmaps.npz") as data:
        assert data["heatmaps_beta3"].shape == (3, PIXELS, PIXELS)
        assert np.array_equal(data["fringe"], reg.fringe)
        for task, mask in (("beta3", reg.fringe), ("delta_rnp", reg.edge)):
            heat = data[f"mean_abs_{task}"]
            assert heat[~_dilate(mask, 2)].sum() == 0.0
    for task in ("beta3", "delta_rnp", "skin"):
        agree = summary["agreement"][task]
        assert agree["images"] == 2
        assert -1 <= agree["occlusion_abs"] <= 1
        assert agree["occlusion_abs"] == pytest.approx(agree["integrated_gradients_abs"],
                                                       abs=1e-3)
    sens = summary["sensitivity_agreement"]
    assert sens["beta3"]["deformation"] > sens["beta3"]["skin"]
    assert sens["delta_rnp"]["skin"] > sens["delta_rnp"]["deformation"]
    assert sens["skin"]["skin"] > sens["skin"]["deformation"]
    for task in ("beta3", "delta_rnp", "skin"):
        assert 0.0 <= summary["noise"][task]["significant_windows"] <= 1.0
        assert summary["noise"][task]["noise_fraction"] > 0.0
    assert json.loads((out / "explain.json").read_text())["n_images"] == 3
    for figure in summary["figures"].values():
        assert (out / figure.split("/")[-1]).stat().st_size > 1000


def test_explain_rejects_bad_settings(dataset, tmp_path):
    path, _ = dataset
    model = LinearModel({"beta2": np.ones((PIXELS, PIXELS))})
    with pytest.raises(ParameterError, match="sampling"):
        explain(model, path, tmp_path / "o", sampling="uniform")
    with pytest.raises(ParameterError, match="window"):
        explain(model, path, tmp_path / "o", window=40)
    with pytest.raises(ParameterError, match="n_images"):
        explain(model, path, tmp_path / "o", n_images=0)


def test_one_sample_per_window_has_no_error_estimate(dataset, tmp_path):
    """With one sample the standard errors are unknown: NaN, without a warning."""
    path, _ = dataset
    model = LinearModel({"beta2": np.ones((PIXELS, PIXELS))})
    summary = explain(model, path, tmp_path / "o", n_images=1, window=8, stride=8,
                      n_samples=1, sampling="marginal", cross_check=0, n_figures=0)
    assert np.isnan(summary["noise"]["beta2"]["noise_fraction"])
    assert summary["agreement"] == {}
    with pytest.raises(ParameterError, match="ratio_npz"):
        explain(model, path, tmp_path / "o", ratio_npz=tmp_path / "missing.npz")


def test_the_sampler_can_be_fitted_on_another_file(dataset, tmp_path, rng):
    """fit_data (e.g. the training split) supplies the sampler's images and the mean image;
    a file on another grid is refused."""
    path, _ = dataset
    other, labels = double_slit_images(12, PIXELS, rng)
    other_path = write_dataset(tmp_path / "train.h5", other * 2.0, labels)
    model = LinearModel({"beta2": np.ones((PIXELS, PIXELS))})
    summary = explain(model, path, tmp_path / "o", n_images=1, window=8, stride=8,
                      n_samples=2, sampling="marginal", cross_check=0, n_figures=0,
                      fit_data=other_path, n_fit=5)
    assert summary["settings"]["n_fit"] == 5
    assert summary["settings"]["fit_data"] == str(other_path)
    fit_idx = np.sort(np.random.default_rng([0, 1]).permutation(12)[:5])
    expected = (other * 2.0).astype(np.float32)[fit_idx].astype(np.float64).mean(0)
    with np.load(tmp_path / "o" / "heatmaps.npz") as data:
        assert np.allclose(data["mean_image"], expected, rtol=1e-6)
    small, small_labels = double_slit_images(6, 16, rng)
    with pytest.raises(ParameterError, match="fit_data"):
        explain(model, path, tmp_path / "o", fit_data=write_dataset(
            tmp_path / "small.h5", small, small_labels))
