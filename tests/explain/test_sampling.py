"""Window samplers: the conditional Gaussian against a known Gaussian, the marginal sampler."""

from __future__ import annotations

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.explain.sampling import ConditionalSampler, MarginalSampler
from upclens.explain.windows import Windows

SHAPE = (6, 6)
N_DATA = 20_000


def _known_gaussian() -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.meshgrid(np.arange(6), np.arange(6), indexing="ij")
    r = np.stack([yy.ravel(), xx.ravel()], 1).astype(float)
    d2 = ((r[:, None, :] - r[None, :, :]) ** 2).sum(-1)
    cov = np.exp(-d2 / (2 * 1.5**2)) + 0.1 * np.eye(36)
    mean = 2.0 + 0.1 * np.arange(36)
    return mean, cov


def test_conditional_sampler_recovers_the_gaussian_conditional(rng):
    """Fitted on N draws of a known 36-dim Gaussian, the conditional mean and covariance of an
    interior 2 x 2 window given its 12-pixel frame match the analytic ones.  Sample-covariance
    errors are ~ sqrt(2/N) = 1 % of the entries (~1), so the conditional covariance is off by
    ~0.005; the conditional mean adds the gain error times frame deviations of ~2, ~0.02-0.03
    over seeds.  The tolerances are about three times those."""
    mean, cov = _known_gaussian()
    data = rng.multivariate_normal(mean, cov, size=N_DATA).reshape(N_DATA, *SHAPE)
    windows = Windows.build(SHAPE, 2, 2)
    sampler = ConditionalSampler.fit(data, windows, padding=1, space="linear", shrinkage=0.0)
    p = int(np.flatnonzero((windows.starts == [2, 2]).all(1))[0])
    w, o = windows.flat[p], windows.frame(p, 1)
    assert o.size == 12
    image = rng.multivariate_normal(mean, cov).reshape(SHAPE)
    gain = cov[np.ix_(w, o)] @ np.linalg.inv(cov[np.ix_(o, o)])
    mu_true = mean[w] + gain @ (image.ravel()[o] - mean[o])
    cov_true = cov[np.ix_(w, w)] - gain @ cov[np.ix_(o, w)]
    means, roots = sampler.conditional(image)
    assert np.allclose(means[p], mu_true, atol=0.08)
    assert np.allclose(roots[p] @ roots[p].T, cov_true, atol=0.02)
    # draws follow that conditional: sample mean within 5 standard errors
    draws = sampler.draw(image, windows, 4000, np.random.default_rng(3))[p]
    err = np.sqrt(np.diag(cov_true) / 4000)
    assert np.all(np.abs(draws.mean(0) - means[p]) < 5 * err)
    assert np.allclose(np.cov(draws, rowvar=False), roots[p] @ roots[p].T, atol=0.02)


def test_conditional_mean_follows_the_frame(rng):
    """A larger frame value pulls the conditional mean up (positive correlations)."""
    mean, cov = _known_gaussian()
    data = rng.multivariate_normal(mean, cov, size=2000).reshape(2000, *SHAPE)
    windows = Windows.build(SHAPE, 2, 2)
    sampler = ConditionalSampler.fit(data, windows, padding=1, space="linear")
    low = mean.reshape(SHAPE).copy()
    high = low + 1.0
    assert np.all(sampler.conditional(high)[0] > sampler.conditional(low)[0])


def test_log_space_samples_are_non_negative(rng):
    data = rng.lognormal(0.0, 1.0, size=(200, 8, 8)) * np.linspace(0, 1, 8)[None, None, :]
    windows = Windows.build((8, 8), 3, 1)
    sampler = ConditionalSampler.fit(data, windows, padding=2, space="log")
    draws = sampler.draw(data[0], windows, 16, np.random.default_rng(0))
    assert draws.shape == (windows.count, 16, 9)
    assert draws.min() >= 0.0
    assert np.all(np.isfinite(draws))


def test_marginal_sampler_takes_whole_windows_of_data_images(rng):
    data = rng.random((5, 6, 6))
    windows = Windows.build((6, 6), 3, 3)
    draws = MarginalSampler(data).draw(data[0], windows, 7, np.random.default_rng(1))
    flat = data.reshape(5, -1)
    for p in range(windows.count):
        for s in range(7):
            assert any(np.array_equal(draws[p, s], flat[i, windows.flat[p]]) for i in range(5))


def test_bad_sampler_settings_are_named(rng):
    windows = Windows.build((6, 6), 2, 2)
    data = rng.random((10, 6, 6))
    with pytest.raises(ParameterError, match="space"):
        ConditionalSampler.fit(data, windows, space="sqrt")
    with pytest.raises(ParameterError, match="padding"):
        ConditionalSampler.fit(data, windows, padding=0)
    with pytest.raises(ParameterError, match="data"):
        MarginalSampler(data[:1])
    other = Windows.build((6, 6), 3, 3)
    with pytest.raises(ParameterError, match="windows"):
        ConditionalSampler.fit(data, windows).draw(data[0], other, 2, np.random.default_rng(0))
