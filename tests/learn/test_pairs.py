"""The posterior of species differences (Ru - Zr) from two event-set posteriors: the algebra,
the calibration of exact twins and of a trained learner on unseen pairs, and the failure of an
over-confident version."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.learn.coverage import interval_coverage, tolerance
from upclens.learn.pairs import (
    DIFFERENCES,
    difference_box,
    differences,
    pair_coverage,
    prior_difference_mean,
    prior_difference_sd,
    shrink,
    summarise_pairs,
)

BOX = np.array([[0.0, 0.3], [0.0, 0.3], [0.0, 0.3]])


def test_differences_and_their_prior() -> None:
    """Squares of the betas, Delta r_np itself; the box is the image of the two boxes; the
    analytic prior mean and sd agree with 400,000 prior draws (MC error ~0.2 %)."""
    a = np.array([[0.2, 0.1, 0.05]])
    b = np.array([[0.1, 0.3, 0.15]])
    assert np.allclose(differences(a, b), [[0.03, -0.08, -0.10]])
    box_b = np.array([[0.05, 0.2], [0.0, 0.25], [0.1, 0.2]])
    assert np.allclose(difference_box(BOX, box_b),
                       [[-0.04, 0.09 - 0.0025], [-0.0625, 0.09], [-0.2, 0.2]])
    rng = np.random.default_rng(5)
    ta = rng.uniform(BOX[:, 0], BOX[:, 1], (400_000, 3))
    tb = rng.uniform(box_b[:, 0], box_b[:, 1], (400_000, 3))
    d = differences(ta, tb)
    sd = prior_difference_sd(BOX, box_b)
    assert np.allclose(d.std(axis=0), sd, rtol=0.01)
    assert np.allclose(d.mean(axis=0), prior_difference_mean(BOX, box_b), atol=3 * sd / 600)
    # beta2 uniform in [0, 0.3]: Var(beta2^2) = 0.3^4 (1/5 - 1/9), two species add
    assert math.isclose(prior_difference_sd(BOX, BOX)[0], math.sqrt(2 * 0.3**4 * (1 / 5 - 1 / 9)))
    lo, hi = difference_box(BOX, box_b).T
    assert np.all((d >= lo) & (d <= hi))
    with pytest.raises(ParameterError, match="theta"):
        differences(a, b[:, :2])
    with pytest.raises(ParameterError, match="prior box"):
        difference_box(-BOX, BOX)


def _gaussian_species(rng: np.random.Generator, n: int, s: int, width: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """theta ~ N(0.15, 0.05^2) per component, x = theta + N(0, 0.03^2): exact posterior
    N(m, v) with v = 1 / (1/0.05^2 + 1/0.03^2); samples drawn with sd multiplied by width."""
    p, e = 0.05, 0.03
    theta = 0.15 + p * rng.normal(size=(n, 3))
    x = theta + e * rng.normal(size=(n, 3))
    v = 1.0 / (1 / p**2 + 1 / e**2)
    m = v * (0.15 / p**2 + x / e**2)
    return m[:, None, :] + width * math.sqrt(v) * rng.normal(size=(n, s, 3)), theta


def test_exact_pair_posterior_passes_and_shrunk_fails() -> None:
    """Independent exact posteriors of two species give calibrated differences (the squares
    included: a function of exact samples is exact); the same samples shrunk by 3 about their
    mean cover 68 % intervals in ~26 % of pairs, far below 0.68 - 2 binomial sd."""
    rng = np.random.default_rng(7)
    n, s = 500, 400
    sa, ta = _gaussian_species(rng, n, s, 1.0)
    sb, tb = _gaussian_species(rng, n, s, 1.0)
    samples, truth = differences(sa, sb), differences(ta, tb)
    bounds = np.array([[-0.1, 0.1], [-0.1, 0.1], [-0.3, 0.3]])
    rep = pair_coverage(samples, truth, bounds, seed=3, n_sd=3.0)
    assert rep["passed"], rep
    over = pair_coverage(shrink(samples, 3.0), truth, bounds, seed=3, n_sd=3.0)
    assert not over["passed"]
    cov68 = interval_coverage(shrink(samples, 3.0), truth)[:, 1]
    assert np.all(cov68 < 0.6827 - 4 * tolerance(0.6827, n, s, 1.0)), cov68
    summ = summarise_pairs(samples, truth)
    assert set(summ) == set(DIFFERENCES)
    # RMSE of the posterior mean for d_rnp: sqrt(2 v) = 0.036 fm, within its 5 % MC scatter
    v = 1.0 / (1 / 0.05**2 + 1 / 0.03**2)
    assert summ["d_rnp"]["rmse"] == pytest.approx(math.sqrt(2 * v), rel=0.1)
    assert abs(summ["d_rnp"]["interval68_coverage"] - 0.6827) < 3 * math.sqrt(0.22 / n)
    with pytest.raises(ParameterError, match="factor"):
        shrink(samples, 0.0)


# -- a trained learner on synthetic sets --------------------------------------------------------
torch = pytest.importorskip("torch")
pytest.importorskip("zuko")

from eventset_twin import synthetic_sets  # noqa: E402

N = 256


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One network and flow on synthetic sets (Delta r_np sets the pT scale, beta2 the cos 2
    Delta phi modulation, beta3 nothing); both 'species' read through it, test sets of two
    other seeds paired index-wise."""
    from upclens.learn.eventset import SetSettings, train_sets
    from upclens.learn.posterior import FlowSettings, fit_posterior

    d = tmp_path_factory.mktemp("pairs")
    files = {"train": synthetic_sets(d / "train.h5", 256, N, 21),
             "val": synthetic_sets(d / "val.h5", 640, N, 22),
             "test_a": synthetic_sets(d / "test_a.h5", 240, N, 23),
             "test_b": synthetic_sets(d / "test_b.h5", 240, N, 24)}
    run = train_sets(files["train"], files["val"], d / "run", N,
                     SetSettings(width=32, head=64, epochs=15, batch_size=16, lr=3e-3))
    fit_posterior(run, files["val"], FlowSettings(epochs=80, hidden=32, transforms=2))
    return {"run": run, **files}


def test_learner_on_unseen_pairs_is_calibrated(trained: dict[str, Path]) -> None:
    """240 pairs of sets neither the network nor the flow saw: SBC per difference and TARP at
    50 / 68 / 95 % within 3 binomial sd (12 coverages at once, as the single-species test);
    the same samples shrunk by 3 fail.  Delta r_np is measured (the pair sd well below the
    prior's 0.122 fm); beta3 has no handle (d_beta3sq stays near its prior sd 0.038)."""
    from upclens.learn.eventset import load_sets
    from upclens.learn.pairs import pair_samples

    a, b = load_sets(trained["test_a"], N), load_sets(trained["test_b"], N)
    samples = pair_samples(trained["run"], trained["run"], a.feats, b.feats, 400, seed=2)
    truth = differences(a.targets, b.targets)
    bounds = difference_box(BOX, BOX)
    rep = pair_coverage(samples, truth, bounds, seed=2, n_sd=3.0)
    assert rep["passed"], rep
    over = pair_coverage(shrink(samples, 3.0), truth, bounds, seed=2, n_sd=3.0)
    assert not over["passed"], over
    prior_sd = prior_difference_sd(BOX, BOX)
    summ = summarise_pairs(samples, truth)
    assert summ["d_rnp"]["posterior_sd"] < 0.5 * prior_sd[2]
    assert summ["d_rnp"]["rmse"] < 0.5 * prior_sd[2]
    assert summ["d_beta3sq"]["posterior_sd"] > 0.8 * prior_sd[1]


def test_the_two_species_are_sampled_independently(trained: dict[str, Path]) -> None:
    """The same set on both sides: the d_rnp samples have mean ~0 and sd sqrt(2) times the
    single posterior's (one stream for both would give exactly 0).  The flow's tails make the
    sd of 20,000 samples scatter by ~2 % (measured: ~4.5 % between seeds at 4000), so the
    ratio is checked to 12 %."""
    from upclens.learn.eventset import load_sets
    from upclens.learn.pairs import pair_samples
    from upclens.learn.posterior import sample_posterior

    a = load_sets(trained["test_a"], N)
    s = 20_000
    d = pair_samples(trained["run"], trained["run"], a.feats[:4], a.feats[:4], s, seed=5)
    one = sample_posterior(trained["run"], a.feats[:4], s, seed=9)
    ratio = d[..., 2].std(axis=1) / one[..., 2].std(axis=1)
    assert np.allclose(ratio, math.sqrt(2), rtol=0.12), ratio
    assert np.all(np.abs(d[..., 2].mean(axis=1)) < 4 * d[..., 2].std(axis=1) / math.sqrt(s))
    with pytest.raises(ParameterError, match="pairs"):
        pair_samples(trained["run"], trained["run"], a.feats[:4], a.feats[:3], 10)
