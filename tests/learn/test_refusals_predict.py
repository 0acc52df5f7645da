"""Refusals (empty data, NaNs, missing labels, shape and binning mismatch) and predictions from
images and event lists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from learn_twin import COLUMNS, axis, twin_images, twin_labels, write_dataset

from upclens.errors import ParameterError
from upclens.learn import TrainSettings, datasource, evaluate, predict, train
from upclens.learn.datasource import load_data
from upclens.learn.prediction import histogram_events


@pytest.fixture(scope="module")
def tiny_run(twin_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = TrainSettings(width=4, blocks=(1, 1), head=8, epochs=1, batch_size=64)
    return train(twin_files["train"], twin_files["val"],
                 tmp_path_factory.mktemp("runs") / "tiny", settings=settings, progress=False)


def test_refuses_empty_nan_and_missing_labels(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    labels = twin_labels(4, 0)
    images = twin_images(labels)
    good = write_dataset(tmp_path / "good.h5", images, labels)
    assert len(load_data(good)) == 4
    # The data layer cannot write an empty file; a reader that returns no rows must be refused.
    empty = (images[:0], {c: labels[:0, k] for k, c in enumerate(COLUMNS)},
             {"px": axis(), "py": axis(), "columns": COLUMNS, "config": {}})
    monkeypatch.setattr(datasource, "_read", lambda path, limit: empty)
    with pytest.raises(ParameterError, match="empty"):
        load_data(good)
    monkeypatch.undo()
    bad = images.copy()
    bad[2, 3, 4] = np.nan
    with pytest.raises(ParameterError, match="non-finite intensities in 1 images"):
        load_data(write_dataset(tmp_path / "nan.h5", bad, labels))
    with pytest.raises(ParameterError, match="lacks label columns"):
        load_data(write_dataset(tmp_path / "cols.h5", images, labels[:, :3], COLUMNS[:3]))
    with pytest.raises(ParameterError, match="existing dataset file"):
        load_data(tmp_path / "missing.h5")


def test_refuses_mismatched_datasets(tiny_run: Path, tmp_path: Path) -> None:
    labels = twin_labels(8, 0)
    big = write_dataset(tmp_path / "big.h5", twin_images(labels, 32), labels)
    with pytest.raises(ParameterError, match=r"must be \(16, 16\)"):
        evaluate(tiny_run, big, tmp_path / "e1", figures=False)
    wide = write_dataset(tmp_path / "wide.h5", twin_images(labels), labels, pmax=0.3)
    with pytest.raises(ParameterError, match="binning"):
        evaluate(tiny_run, wide, tmp_path / "e2", figures=False)


def test_evaluate_writes_metrics_and_figures(tiny_run: Path, twin_files: dict[str, Path],
                                             tmp_path: Path) -> None:
    m = evaluate(tiny_run, twin_files["test"], tmp_path / "eval")
    for key in ("metrics", "predictions", "predicted_vs_true", "residuals", "confusion",
                "calibration"):
        assert Path(m["files"][key]).is_file(), key
    assert set(m["targets"]) == {"beta2", "beta3", "delta_rnp"}
    assert 0.0 <= m["targets"]["beta2"]["coverage_68"] <= 1.0
    assert sum(map(sum, m["skin"]["confusion"])) == 128
    assert "accuracy_from_delta_rnp" not in m["skin"]  # the twin config names no threshold


def test_class_from_the_regression(tiny_run: Path, tmp_path: Path) -> None:
    """With a threshold in the dataset config, the class read off the Delta r_np prediction is
    scored too; it equals the fraction of predictions on the right side of the threshold."""
    labels = twin_labels(64, 4)
    cfg = {"priors": {"delta_rnp": {"kind": "binary", "value": 0.2, "threshold": 0.1}}}
    data = write_dataset(tmp_path / "thr.h5", twin_images(labels), labels, config=cfg)
    m = evaluate(tiny_run, data, tmp_path / "eval", figures=False)
    pred = np.load(tmp_path / "eval" / "predictions.npz")
    expected = np.mean((pred["delta_rnp"] > 0.1) == (labels[:, 3] > 0.5))
    assert m["skin"]["threshold_fm"] == 0.1
    assert m["skin"]["accuracy_from_delta_rnp"] == pytest.approx(expected)


def test_predict_image_scale_and_events(tiny_run: Path, tmp_path: Path) -> None:
    """The model is blind to the absolute scale: an image and 10^4 times it agree; an event list
    placed on the bin centres histograms to exactly those counts."""
    labels = twin_labels(2, 9)
    image = twin_images(labels)[0].astype(float)
    p = axis()
    np.savez(tmp_path / "img.npz", px=p, py=p, intensity=image)
    a = predict(tiny_run, tmp_path / "img.npz")
    b = predict(tiny_run, image * 1e4)
    for key in ("beta2", "beta3", "delta_rnp", "beta2_sigma"):
        assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-6)
    counts = np.round(image / image.max() * 50).astype(int)
    iy, ix = np.nonzero(counts)
    reps = counts[iy, ix]
    events = np.stack([np.repeat(p[ix], reps), np.repeat(p[iy], reps)], axis=1)
    np.testing.assert_array_equal(histogram_events(events, p, p), counts)
    rows = [f"{float(x)!r},{float(y)!r}" for x, y in events]
    lines = ["px,py", *rows, "1.5,0.0"]  # the last one lies outside the window
    (tmp_path / "ev.csv").write_text("\n".join(lines) + "\n")
    c = predict(tiny_run, tmp_path / "ev.csv")
    assert c["source"] == "events"
    assert "noise-free" in c["warnings"][0]  # the twin images are expected images
    assert c["n_events"] == events.shape[0] + 1
    assert c["n_in_window"] == events.shape[0]
    assert c["beta2"] == pytest.approx(predict(tiny_run, counts.astype(float))["beta2"],
                                       rel=1e-5)


def test_predict_refusals(tiny_run: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="must be finite"):
        predict(tiny_run, np.full((16, 16), np.nan))
    with pytest.raises(ParameterError, match=r"must be \(16, 16\)"):
        predict(tiny_run, np.ones((8, 8)))
    (tmp_path / "empty.csv").write_text("px,py\n")
    with pytest.raises(ParameterError, match="at least one J/psi"):
        predict(tiny_run, tmp_path / "empty.csv")
    (tmp_path / "hdr.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ParameterError, match="header must name px and py"):
        predict(tiny_run, tmp_path / "hdr.csv")
    with pytest.raises(ParameterError, match="run folder"):
        predict(tmp_path / "nothing", np.ones((16, 16)))


def test_prediction_warnings() -> None:
    """Out-of-range predictions are named; finite-count training data silences the event note."""
    from upclens.learn.prediction import _warnings

    meta = {"target_min": [0.0, 0.0, 0.0], "target_max": [0.3, 0.3, 0.2],
            "dataset_config": json.dumps({"image": {"n_events": 10000}})}
    result = {"beta2": 0.85, "beta3": 0.31, "delta_rnp": -0.01, "source": "events"}
    notes = _warnings(result, meta)
    assert notes == ["beta2 = 0.85 is outside the training range [0, 0.3]"]
    meta["dataset_config"] = json.dumps({"image": {"n_events": 0}})
    assert "noise-free" in _warnings(result, meta)[0]
