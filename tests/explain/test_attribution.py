"""Cross-check attributions: closed forms on a linear model and agreement with PDA."""

from __future__ import annotations

import math

import numpy as np
import pytest
from explain_toys import LinearModel

from upclens.explain.attribution import (
    integrated_gradients,
    occlusion,
    rank_correlation,
    window_sums,
)
from upclens.explain.pda import prediction_difference, weight_of_evidence
from upclens.explain.sampling import MarginalSampler
from upclens.explain.windows import Windows

SHAPE = (12, 12)


@pytest.fixture
def linear(rng):
    weights = {"beta2": rng.normal(size=SHAPE), "skin_logit": 0.05 * rng.normal(size=SHAPE)}
    return LinearModel(weights), weights


def test_integrated_gradients_closed_form_on_a_linear_model(linear, rng):
    """IG_i = w_i (x_i - x'_i) exactly; logits in bits."""
    model, w = linear
    image, base = rng.random(SHAPE), rng.random(SHAPE)
    ig = integrated_gradients(model, image, base, steps=4)
    assert np.allclose(ig["beta2"], w["beta2"] * (image - base), atol=1e-5)
    assert np.allclose(ig["skin"], w["skin_logit"] * (image - base) / math.log(2), atol=1e-6)


def test_occlusion_equals_window_summed_integrated_gradients_on_a_linear_model(linear, rng):
    """Occluding a window with the baseline changes a linear output by sum_w w_i (x_i - x'_i):
    the window sum of IG.  For the classifier with N -> infinity the weight of evidence is the
    logit change in bits, again the IG window sum."""
    model, _ = linear
    image, base = rng.random(SHAPE), rng.random(SHAPE)
    windows = Windows.build(SHAPE, 3, 2)
    occ = occlusion(model, image, base, windows, n_train=10**12)
    ig = integrated_gradients(model, image, base, steps=2)
    for task in ("beta2", "skin"):
        assert np.allclose(occ[task], window_sums(ig[task], windows), atol=1e-4)
        assert rank_correlation(occ[task], window_sums(ig[task], windows)) > 0.999


def test_pda_with_marginal_sampling_converges_to_occlusion_with_the_mean(linear, rng):
    """For a linear regression, E[f(x_\\w)] over marginal samples is f with the window set to
    the data mean: PDA = occlusion(mean) up to the sampling error of S draws, whose standard
    deviation per window is std(sum_w w_i x_i over data) / sqrt(S); allow 5 of those (the
    heatmap averages windows, which only shrinks the error)."""
    model, w = linear
    data = rng.random((300, *SHAPE))
    windows = Windows.build(SHAPE, 3, 3)
    n_s = 200
    image = np.random.default_rng(7).random(SHAPE)
    res = prediction_difference(model, image, MarginalSampler(data), windows, n_s,
                                np.random.default_rng(5), n_train=300, batch_size=4096)
    occ = occlusion(model, image, data.mean(0), windows, n_train=300)
    sums = (data.reshape(300, -1)[:, windows.flat] * w["beta2"].ravel()[windows.flat]).sum(-1)
    sigma = sums.std(0) / math.sqrt(n_s)
    sigma_pixel = windows.spread(sigma)
    assert np.all(np.abs(res.heatmaps["beta2"] - occ["beta2"]) < 5 * sigma_pixel)
    assert rank_correlation(res.heatmaps["beta2"], occ["beta2"]) > 0.9


def test_occlusion_weight_of_evidence_uses_the_laplace_correction(linear, rng):
    model, w = linear
    image, base = rng.random(SHAPE), rng.random(SHAPE)
    windows = Windows.build(SHAPE, SHAPE[0], 1)          # one window: the whole image
    occ = occlusion(model, image, base, windows, n_train=50)
    logit = float((w["skin_logit"] * image).sum()) + 0.1
    logit0 = float((w["skin_logit"] * base).sum()) + 0.1
    expected = weight_of_evidence(1 / (1 + math.exp(-logit)), 1 / (1 + math.exp(-logit0)), 50)
    assert np.allclose(occ["skin"], expected, rtol=1e-5)


def test_rank_correlation_limits(rng):
    a = rng.random(50)
    assert rank_correlation(a, 3 * a + 1) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert math.isnan(rank_correlation(a, np.ones(50)))
