"""Cramer-Rao bounds from exact double-slit images (small grid, coarse quadrature)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.information import (
    ExactImageModel,
    InformationSettings,
    crb_at_points,
    crb_versus_n,
    fisher_matrix,
    plot_crb_versus_n,
    realism_ladder,
)
from upclens.physics.events import expected_image, fold_background_smearing
from upclens.physics.image import DoubleSlit
from upclens.physics.nucleus import Nucleus, density_profile
from upclens.physics.numerics import Numerics
from upclens.physics.settings import ModelSwitches

POINT = {"beta2": 0.1, "beta3": 0.2, "delta_rnp": 0.1}


@pytest.fixture(scope="module")
def small() -> InformationSettings:
    """16x16 pixels over |p| < 0.2 GeV with a coarse orientation quadrature (~0.1 s/image)."""
    return InformationSettings.build(
        pixels=16, numerics=Numerics(n_orient_cos=8, n_orient_azimuth=16, dx=0.7))


def test_the_model_folds_with_the_engines_fold(small, monkeypatch):
    """Background and smearing come from the physics engine's one fold function, applied to the
    model's coherent image and the density profile of the point."""
    import upclens.information.model as model_module

    s = replace(small, incoherent_fraction=0.3, smearing=0.01)
    model = ExactImageModel(s)
    calls = []

    def spy(coherent, grid, fraction, smearing, profile):
        calls.append((coherent, grid, fraction, smearing, profile))
        return fold_background_smearing(coherent, grid, fraction, smearing, profile)

    monkeypatch.setattr(model_module, "fold_background_smearing", spy)
    out = model(POINT)
    (coherent, grid, fraction, smearing, profile), = calls
    np.testing.assert_array_equal(coherent, model.coherent(POINT)[0])
    assert (grid, fraction, smearing) == (s.grid, 0.3, 0.01)
    assert profile.nucleus == Nucleus.from_preset("Zr96", **POINT)
    # the generator's expectation of the same coherent image (which it renormalises)
    np.testing.assert_allclose(out, expected_image(coherent, s.grid, 0.3, 0.01, profile),
                               rtol=1e-12)


@pytest.mark.parametrize("settings", [
    {},                                                    # b along px: quadrature
    {"b_direction": "random"},                             # azimuthal average
    {"switches": ModelSwitches(glauber=False, flux="uniform")},  # closed multipole form
])
def test_the_models_image_is_the_engines_exact_image(small, settings):
    s = InformationSettings.build(pixels=16, numerics=small.numerics, **settings)
    coh, _ = ExactImageModel(s).coherent(POINT)
    nucleus = Nucleus.from_preset("Zr96", **POINT)
    image = DoubleSlit(nucleus, s.collision, s.switches, s.grid, s.numerics).image().intensity
    np.testing.assert_allclose(coh, image / image.sum(), rtol=1e-12, atol=1e-16)


def test_bound_scales_as_one_over_sqrt_n_and_steps_converge(small):
    res = fisher_matrix(POINT, small, 1e4)
    assert res.names == ["beta2", "beta3", "delta_rnp"]
    # Central differences of smooth exact images: halving h changes sigma by ~ h^2 terms.
    assert max(res.step_change.values()) < 1e-3
    assert res.converged
    curve = crb_versus_n(POINT, small, (1e3, 1e5))["sigma_crb"]
    for name in res.names:
        assert curve[name][0] == pytest.approx(res.sigma_crb[name] * 10**0.5, rel=1e-10)
        assert curve[name][1] == pytest.approx(res.sigma_crb[name] / 10**0.5, rel=1e-10)


def test_nuisance_priors_on_the_physics_images(small):
    known = fisher_matrix(POINT, small, 1e4)
    fixed = fisher_matrix(POINT, small, 1e4, nuisances={"R": 0.0, "a": 0.0})
    assert fixed.sigma_crb == known.sigma_crb
    prior = fisher_matrix(POINT, small, 1e4, nuisances="R,a")
    wide = fisher_matrix(POINT, small, 1e4, nuisances={"R": 1e6, "a": 1e6})
    for name in known.names:
        assert prior.sigma_crb[name] >= known.sigma_crb[name]
        assert wide.sigma_crb[name] >= prior.sigma_crb[name]
    # The image sees the matter density: the skin is degenerate with the proton R and a.
    assert prior.sigma_crb["delta_rnp"] > 1.2 * known.sigma_crb["delta_rnp"]
    # With the protons' R and a free, only the priors limit the skin: no 1/sqrt(N) at large N.
    curve = crb_versus_n(POINT, small, (1e4, 1e6), nuisances="R,a")["sigma_crb"]["delta_rnp"]
    assert curve[1] > 0.3 * curve[0]


def test_smearing_never_adds_information(small):
    """Smearing is a parameter-free stochastic map: I_smeared <= I in the Loewner order."""
    sharp = fisher_matrix(POINT, small, 1.0, check_step=False).matrix
    blurred = fisher_matrix(POINT, replace(small, smearing=0.02), 1.0, check_step=False).matrix
    assert np.linalg.eigvalsh(sharp - blurred).min() > -1e-9 * np.abs(sharp).max()


def test_known_normalisation_adds_information(small):
    multi = fisher_matrix(POINT, small, 1e4, nuisances="sigma").sigma_crb
    pois = fisher_matrix(POINT, replace(small, likelihood="poisson"), 1e4,
                         nuisances="sigma").sigma_crb
    for name, value in multi.items():
        assert pois[name] <= value * (1 + 1e-9)
    # The yield measures sigma_J/psi-N far better than its 20 % prior.
    assert pois["sigma_vn_scale"] < 0.9 * multi["sigma_vn_scale"]


def test_beta3_boundary_is_continuous_through_its_square(small):
    at_zero = fisher_matrix({**POINT, "beta3": 0.0}, small, 1e4)
    assert math.isinf(at_zero.sigma_crb["beta3"])
    assert "beta3_squared" in at_zero.names
    near = fisher_matrix({**POINT, "beta3": 0.01}, small, 1e4)
    # sigma(beta3^2) = 2 beta3 sigma(beta3); the image is smooth in beta3^2.
    assert 0.02 * near.sigma_crb["beta3"] == pytest.approx(at_zero.sigma_crb["beta3_squared"],
                                                           rel=0.03)
    for name in ("beta2", "delta_rnp"):
        assert near.sigma_crb[name] == pytest.approx(at_zero.sigma_crb[name], rel=0.02)


def test_points_of_a_test_set_share_one_model(small):
    labels = {"beta2": [0.1, 0.1], "beta3": [0.2, 0.0], "delta_rnp": [0.1, 0.1],
              "skin": [0.0, 0.0], "n_events": [1e4, 4e4]}
    out = crb_at_points(labels, small, n_events=None)
    assert out["errors"] == [None, None]
    single = fisher_matrix(POINT, small, 1e4)
    assert out["sigma_crb"]["beta2"][0] == pytest.approx(single.sigma_crb["beta2"], rel=1e-12)
    assert math.isinf(out["sigma_crb"]["beta3"][1])
    assert np.isfinite(out["sigma_crb"]["beta3_squared"][1])
    np.testing.assert_array_equal(out["n_events"], [1e4, 4e4])
    with pytest.raises(ParameterError, match="nuisances"):
        crb_at_points(labels, small, nuisances="R,bogus")


def test_realism_ladder_and_plot(small, tmp_path):
    ladder = realism_ladder(small)
    assert list(ladder) == ["fixed_b", "random_b_direction", "upc_b", "background_10",
                            "background_30", "smearing_10MeV", "nuisances"]
    assert ladder["nuisances"][1] == ("R", "a", "sigma_vn_scale")
    assert ladder["smearing_10MeV"][0].smearing == 0.01
    curves = crb_versus_n(POINT, small, (1e3, 1e4, 1e5))
    out = tmp_path / "crb.png"
    plot_crb_versus_n(curves, network={"beta2": {"n_events": [1e4], "rmse": [0.1]}},
                      path=str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_frozen_b_weights_reproduce_the_upc_image_and_drop_its_information(small):
    s = replace(small, collision=replace(small.collision, b_magnitude="upc"),
                numerics=replace(small.numerics, n_b=4))
    physical = ExactImageModel(s)
    frozen = ExactImageModel(replace(s, b_weights="frozen"))
    frozen.set_reference(POINT)
    # At the reference point the fixed-|b| mixture is the engine's UPC average.
    np.testing.assert_allclose(frozen(POINT), physical(POINT), rtol=1e-9, atol=1e-14)
    sig_phys = fisher_matrix(POINT, s, 1e4, check_step=False).sigma_crb
    sig_frozen = fisher_matrix(POINT, replace(s, b_weights="frozen"), 1e4,
                               check_step=False).sigma_crb
    # The parameter dependence of the |b| distribution is information the frozen bound lacks.
    assert sig_frozen["delta_rnp"] > sig_phys["delta_rnp"]


def test_score_of_sampled_event_images_has_the_fisher_variance(small):
    """Event images drawn by the event generator (multinomial pixels, uniform in the pixel,
    background, smearing) against the model: the score S = sum_i n_i d log p_i has mean 0 and
    variance N I per image, I from fisher_matrix, within 3 sigma of the sampling error."""
    from upclens.physics.events import event_image

    s = replace(small, incoherent_fraction=0.1, smearing=0.01)
    model = ExactImageModel(s)
    h = 0.005
    p = model(POINT)
    p = p / p.sum()
    up, down = (model({**POINT, "delta_rnp": 0.1 + d}) for d in (h, -h))
    dlogp = ((up / up.sum() - down / down.sum()) / (2 * h)) / p
    coh, _ = model.coherent(POINT)
    profile = density_profile(Nucleus.from_preset("Zr96", **POINT), s.numerics)
    n_events, n_rep = 2000, 400
    scores, kept = [], []
    for rep in range(n_rep):
        counts = event_image(coh, s.grid, n_events, np.random.default_rng([11, rep]), 0.1, 0.01,
                             profile)
        scores.append(np.sum(counts * dlogp))
        kept.append(counts.sum())
    info = fisher_matrix(POINT, s, float(np.mean(kept)), parameters=("delta_rnp",),
                         check_step=False).matrix[0, 0]
    scores = np.asarray(scores)
    assert abs(scores.mean()) < 4.0 * math.sqrt(info / n_rep)
    assert np.var(scores, ddof=1) / info == pytest.approx(1.0, abs=3.0 * math.sqrt(2 / n_rep))
