"""Dataset configs: the shipped default, TOML round trips, rejected input, prior statistics."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import truncnorm

from upclens.data import config_to_toml, load_config
from upclens.data.config import Prior, config_from_dict
from upclens.data.priors import draw, draw_labels
from upclens.errors import ParameterError


def test_default_reproduces_the_seed_setting():
    cfg = load_config()
    ph, im, pr = cfg.physics, cfg.image, cfg.priors
    assert (ph.nucleus, ph.sqrt_snn, ph.rapidity, ph.b) == ("Zr96", 200.0, 0.0, 15.0)
    assert (ph.b_magnitude, ph.b_direction) == ("fixed", "fixed")
    assert (im.pixels, im.pmax, im.orientations, im.n_events) == (64, 0.2, 128, 0)
    assert (pr.beta2.kind, pr.beta2.low, pr.beta2.high) == ("uniform", 0.0, 0.3)
    assert (pr.beta3.kind, pr.beta3.low, pr.beta3.high) == ("uniform", 0.0, 0.3)
    assert (pr.delta_rnp.kind, pr.delta_rnp.value, pr.delta_rnp.fraction) == ("binary", 0.2, 0.5)
    assert ph.skin_type == "halo"
    assert cfg.columns == ["beta2", "beta3", "delta_rnp", "skin"]


@pytest.mark.parametrize("overrides", [
    {},
    {"priors.R.kind": "normal", "priors.R.mean": 5.02, "priors.R.sd": 0.05,
     "priors.a.kind": "uniform", "priors.a.low": 0.44, "priors.a.high": 0.48,
     "priors.b.kind": "fixed", "priors.b.value": 16.5,
     "priors.sigma_vn_scale.kind": "uniform", "priors.sigma_vn_scale.low": 0.8,
     "priors.sigma_vn_scale.high": 1.2, "image.orientations": "exact",
     "priors.delta_rnp.kind": "uniform", "priors.delta_rnp.low": 0.0,
     "priors.delta_rnp.high": 0.3, "physics.nucleus": "Ru96", "image.smearing": 0.013,
     "run.scheduler": "dask"},
])
def test_toml_round_trip_is_exact(tmp_path, overrides):
    cfg = load_config(overrides=overrides)
    path = tmp_path / "cfg.toml"
    path.write_text(config_to_toml(cfg))
    back = load_config(path)
    assert back == cfg
    assert config_to_toml(back) == path.read_text()


def test_normal_prior_defaults_to_three_sigma_truncation():
    cfg = load_config(overrides={"priors.R.kind": "normal", "priors.R.mean": 5.0,
                                 "priors.R.sd": 0.1})
    assert cfg.priors.R.support() == pytest.approx((4.7, 5.3))
    assert cfg.columns[-1] == "R"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"priors.beta2.high": 0.9}, r"priors\.beta2\.high = 0\.9 .*\[-0\.4, 0\.6\]"),
    ({"priors.beta3.low": -0.1}, r"priors\.beta3\.low = -0\.1"),
    ({"physics.nucleus": "Xe129"}, r"physics\.nucleus = 'Xe129'"),
    ({"physics.b": 1.0}, r"physics\.b = 1\.0 .*\[2, 200\]"),
    ({"physics.flux": "sideways"}, r"physics\.flux = 'sideways'"),
    ({"physics.glauber": "yes"}, r"physics\.glauber = 'yes' .*true or false"),
    ({"physics.colour": 1}, r"physics\.colour = 1 .*unknown key"),
    ({"priors.zeta.kind": "fixed"}, r"priors\.zeta .*unknown key"),
    ({"priors.beta2.mean": 0.1}, r"priors\.beta2\.mean .*not used by a uniform prior"),
    ({"priors.beta2.kind": "binary"}, r"priors\.beta2\.kind .*only for priors\.delta_rnp"),
    ({"priors.beta2.kind": "gamma"}, r"priors\.beta2\.kind = 'gamma'"),
    ({"priors.R.kind": "normal", "priors.R.mean": 5.0, "priors.R.sd": -1.0},
     r"priors\.R\.high = 2\.0 .*>= low"),
    ({"priors.R.kind": "uniform", "priors.R.low": 5.0, "priors.R.high": 12.0},
     r"priors\.R\.high = 12\.0 .*\[1, 10\]"),
    ({"priors.delta_rnp.threshold": 0.3}, r"priors\.delta_rnp\.threshold = 0\.3"),
    ({"priors.delta_rnp.value": 0.8}, r"priors\.delta_rnp\.high = 0\.8 .*\[-0\.2, 0\.5\]"),
    ({"priors.b.kind": "fixed", "priors.b.value": 14.0, "physics.b_magnitude": "upc"},
     r"priors\.b .*b_magnitude = 'fixed'"),
    ({"image.pixels": 4}, r"image\.pixels = 4"),
    ({"image.pixels": 16.5}, r"image\.pixels = 16\.5 .*integer"),
    ({"image.orientations": 0}, r"image\.orientations = 0"),
    ({"image.orientations": "many"}, r"image\.orientations = 'many'"),
    ({"image.incoherent_fraction": 1.0}, r"image\.incoherent_fraction = 1\.0"),
    ({"image.smearing": float("nan")}, r"image\.smearing = nan .*finite"),
    ({"run.chunk_size": 0}, r"run\.chunk_size = 0"),
    ({"run.scheduler": "threads"}, r"run\.scheduler = 'threads'"),
    ({"run.scheduler": "tcp://127.0.0.1:8786"},
     r"run\.scheduler = .tcp://127\.0\.0\.1:8786. is not allowed: .*never in a config file"),
    ({"schema_version": 7}, r"schema_version = 7 .*must be 1"),
])
def test_bad_values_name_their_dotted_key(overrides, message):
    with pytest.raises(ParameterError, match=message):
        load_config(overrides=overrides)


def test_bad_config_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[physics\nnucleus = 'Zr96'\n")
    with pytest.raises(ParameterError, match=r"is not valid TOML"):
        load_config(bad)
    with pytest.raises(ParameterError, match=r"must be an existing TOML file"):
        load_config(tmp_path / "missing.toml")


N_DRAWS = 20000


def test_uniform_and_binary_priors_have_their_moments():
    rng = np.random.default_rng(5)
    u = np.array([draw(Prior("uniform", low=0.1, high=0.4), rng) for _ in range(N_DRAWS)])
    # mean 0.25, variance 0.3^2/12; the sample mean has sd 0.3/sqrt(12 N) = 6.1e-4.
    assert u.min() >= 0.1
    assert u.max() <= 0.4
    assert abs(u.mean() - 0.25) < 5 * 0.3 / math.sqrt(12 * N_DRAWS)
    assert u.var() == pytest.approx(0.09 / 12, rel=0.05)
    b = np.array([draw(Prior("binary", value=0.2, fraction=0.3), rng) for _ in range(N_DRAWS)])
    assert set(np.unique(b)) == {0.0, 0.2}
    # binomial: sd of the fraction is sqrt(0.3 * 0.7 / N) = 3.2e-3
    assert abs(np.mean(b > 0) - 0.3) < 5 * math.sqrt(0.21 / N_DRAWS)


def test_truncated_normal_prior_matches_scipy_truncnorm():
    prior = Prior("normal", mean=5.0, sd=0.2, low=4.9, high=5.5)
    rng = np.random.default_rng(6)
    x = np.array([draw(prior, rng) for _ in range(N_DRAWS)])
    ref = truncnorm((4.9 - 5.0) / 0.2, (5.5 - 5.0) / 0.2, loc=5.0, scale=0.2)
    assert x.min() >= 4.9
    assert x.max() <= 5.5
    assert abs(x.mean() - ref.mean()) < 5 * ref.std() / math.sqrt(N_DRAWS)
    assert x.std() == pytest.approx(ref.std(), rel=0.03)


def test_labels_follow_the_skin_threshold_and_abs_beta3():
    cfg = load_config(overrides={"priors.delta_rnp.kind": "uniform",
                                 "priors.delta_rnp.low": 0.0, "priors.delta_rnp.high": 0.3,
                                 "priors.delta_rnp.threshold": 0.15})
    rng = np.random.default_rng(7)
    rows = [draw_labels(cfg, rng) for _ in range(2000)]
    for r in rows:
        assert r["skin"] == (1.0 if r["delta_rnp"] > 0.15 else 0.0)
        assert 0.0 <= r["beta3"] <= 0.3
    assert 0.4 < np.mean([r["skin"] for r in rows]) < 0.6


@given(
    pixels=st.integers(8, 128),
    pmax=st.floats(0.01, 1.0, allow_nan=False),
    lo=st.floats(0.0, 0.25, allow_nan=False),
    width=st.floats(0.0, 0.25, allow_nan=False),
    orientations=st.one_of(st.just("exact"), st.integers(1, 4096)),
    nucleus=st.sampled_from(["Zr96", "Ru96", "Au197", "Pb208", "U238"]),
)
@settings(max_examples=40, deadline=None)
def test_any_valid_config_round_trips(pixels, pmax, lo, width, orientations, nucleus):
    cfg = load_config(overrides={"image.pixels": pixels, "image.pmax": pmax,
                                 "image.orientations": orientations, "physics.nucleus": nucleus,
                                 "priors.beta2.low": lo, "priors.beta2.high": lo + width,
                                 "priors.R.kind": "normal", "priors.R.mean": 6.0,
                                 "priors.R.sd": width + 0.01})
    assert config_from_dict(tomllib.loads(config_to_toml(cfg))) == cfg
