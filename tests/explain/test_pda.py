"""Prediction Difference Analysis: the weight of evidence, locality, batching."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from explain_toys import LinearModel

from upclens.errors import ParameterError
from upclens.explain.pda import (
    expected_without,
    laplace,
    prediction_difference,
    weight_of_evidence,
)
from upclens.explain.sampling import MarginalSampler
from upclens.explain.windows import Windows


def test_laplace_and_weight_of_evidence_by_hand():
    assert laplace(0.5, 100) == pytest.approx(0.5)
    assert laplace(1.0, 8) == pytest.approx(9 / 10)
    # p = 0.9 vs 0.6 with N = 18: corrected 17.2/20 and 11.8/20
    we = weight_of_evidence(0.9, 0.6, 18)
    assert we == pytest.approx(math.log2(17.2 / 2.8) - math.log2(11.8 / 8.2), rel=1e-12)
    # large N: WE -> difference of logits in bits
    assert weight_of_evidence(0.8, 0.3, 10**9) == pytest.approx(
        (math.log(4.0) - math.log(3 / 7)) / math.log(2), rel=1e-6)
    with pytest.raises(ParameterError, match="n_train"):
        weight_of_evidence(0.5, 0.5, 0)


def test_weight_of_evidence_of_a_one_pixel_classifier():
    """logit = 1.5 x[3, 3] - 1; every data image has x[3, 3] = 0, the explained one 2: windows
    covering (3, 3) carry WE = log2 odds(lap(sigmoid(2))) - log2 odds(lap(sigmoid(-1)))."""
    w = np.zeros((8, 8))
    w[3, 3] = 1.5
    model = LinearModel({"skin_logit": w})
    model.c = torch.tensor([-1.0])
    data = np.zeros((3, 8, 8))
    image = np.zeros((8, 8))
    image[3, 3] = 2.0
    windows = Windows.build((8, 8), 3, 1)
    res = prediction_difference(model, image, MarginalSampler(data), windows, 4,
                                np.random.default_rng(0), n_train=100)

    def lap_odds(logit):
        p = 1 / (1 + math.exp(-logit))
        q = (100 * p + 1) / 102
        return math.log2(q / (1 - q))

    expected = lap_odds(2.0) - lap_odds(-1.0)
    assert res.prediction["skin"] == pytest.approx(1 / (1 + math.exp(-2.0)), rel=1e-6)
    hit = np.array([3 in range(y0, y0 + 3) and 3 in range(x0, x0 + 3)
                    for y0, x0 in windows.starts])
    assert np.allclose(res.window_relevance["skin"][hit], expected, rtol=1e-5)
    assert np.all(res.window_relevance["skin"][~hit] == 0.0)
    heat = res.heatmaps["skin"]
    assert heat[3, 3] == pytest.approx(expected, rel=1e-5)      # every window over it hits
    assert heat[6, 6] == 0.0                                     # none does
    # (3, 5) is covered by windows x0 in 3..5 and y0 in 1..3; those with x0 = 3 hit: 1/3
    assert heat[3, 5] == pytest.approx(expected / 3, rel=1e-5)


def test_a_model_reading_one_region_gets_all_its_evidence_there(rng):
    """f = sum of the pixels in a 3 x 5 mask; the data are 0 there and the explained image 1.
    The relevance of a window is then exactly its overlap with the mask: zero on every pixel
    whose windows all miss the mask, and every mask pixel (mean overlap >= 2 x 2) above every
    pixel outside it (<= 1 x 3)."""
    shape = (16, 16)
    mask = np.zeros(shape, bool)
    mask[5:8, 6:11] = True                 # two pixels or more from the border
    model = LinearModel({"beta3": mask.astype(float)})
    data = np.where(mask, 0.0, rng.random((40, *shape)))
    image = np.where(mask, 1.0, rng.random(shape))
    windows = Windows.build(shape, 3, 1)
    res = prediction_difference(model, image, MarginalSampler(data), windows, 8,
                                np.random.default_rng(1), n_train=40)
    heat = res.heatmaps["beta3"]
    reach = np.zeros(shape, bool)          # pixels sharing a window with the mask
    reach[3:10, 4:13] = True
    assert np.all(heat[~reach] == 0.0)
    assert heat[mask].min() == pytest.approx(4.0, rel=1e-6)
    assert heat[~mask].max() == pytest.approx(3.0, rel=1e-6)
    assert heat[6, 8] == pytest.approx(7.0, rel=1e-6)


def test_batches_do_not_change_the_expectation(rng):
    shape = (8, 8)
    model = LinearModel({"beta2": rng.normal(size=shape), "skin_logit": rng.normal(size=shape)})
    windows = Windows.build(shape, 2, 2)
    values = rng.random((windows.count, 5, 4))
    image = rng.random(shape)
    a = expected_without(model, image, windows, values, batch_size=7)
    b = expected_without(model, image, windows, values, batch_size=10_000)
    for task in ("beta2", "skin"):
        assert np.allclose(a[task], b[task], rtol=1e-12, atol=0)
    # and equal to evaluating every replaced image on its own
    k = 3
    x = image.copy().ravel()
    mean = 0.0
    for s in range(5):
        x2 = x.copy()
        x2[windows.flat[k]] = values[k, s]
        mean += float(model(torch.as_tensor(x2.reshape(1, 1, 8, 8),
                                            dtype=torch.float32))["beta2"][0]) / 5
    assert a["beta2"][k] == pytest.approx(mean, rel=1e-5)


def test_bad_window_and_samples_are_named():
    with pytest.raises(ParameterError, match="window"):
        Windows.build((8, 8), 9, 1)
    with pytest.raises(ParameterError, match="stride"):
        Windows.build((8, 8), 3, 4)
    model = LinearModel({"beta2": np.ones((8, 8))})
    with pytest.raises(ParameterError, match="n_samples"):
        prediction_difference(model, np.zeros((8, 8)), MarginalSampler(np.zeros((2, 8, 8))),
                              Windows.build((8, 8), 2, 2), 0, np.random.default_rng(0), 10)


def test_windows_cover_every_pixel_and_average():
    windows = Windows.build((10, 7), 3, 2)
    assert set(windows.starts[:, 0]) == {0, 2, 4, 6, 7}
    assert set(windows.starts[:, 1]) == {0, 2, 4}
    assert windows.coverage().min() >= 1
    assert np.allclose(windows.spread(np.full(windows.count, 2.5)), 2.5)


def test_standard_errors_of_a_linear_regression(rng):
    """With marginal sampling and a linear model the spread of f(x_\\w) over samples is the
    spread of sum_w w_i x_i over the data: the standard error is std / sqrt(S).  The sample
    standard deviation of S = 400 draws is off by ~1/sqrt(2 S) = 3.5 %; allow 20 %."""
    shape = (8, 8)
    w = rng.normal(size=shape)
    model = LinearModel({"beta2": w})
    data = rng.random((500, *shape))
    windows = Windows.build(shape, 4, 4)
    n_s = 400
    res = prediction_difference(model, data[0], MarginalSampler(data), windows, n_s,
                                np.random.default_rng(2), n_train=500, batch_size=2048)
    sums = (data.reshape(500, -1)[:, windows.flat] * w.ravel()[windows.flat]).sum(-1)
    expected = sums.std(0) / np.sqrt(n_s)
    assert np.allclose(res.window_error["beta2"], expected, rtol=0.2)
    # non-overlapping windows: each pixel has one window, the same error
    assert np.allclose(res.heatmap_error["beta2"], windows.spread(res.window_error["beta2"]))


def test_weight_of_evidence_error_is_the_delta_method():
    """se(WE) against a numerical derivative of WE with respect to the mean probability."""
    from upclens.explain.pda import relevance_errors

    p_bar, se, n = np.array([0.3, 0.7]), np.array([0.01, 0.02]), 50
    err = relevance_errors({"skin": p_bar}, {"skin": se}, n)["skin"]
    h = 1e-6
    up, down = weight_of_evidence(0.6, p_bar + h, n), weight_of_evidence(0.6, p_bar - h, n)
    slope = (up - down) / (2 * h)
    assert np.allclose(err, np.abs(slope) * se, rtol=1e-6)
