"""The plan check refuses, before any stage runs, a study too small for its own stages."""

from __future__ import annotations

import pytest

from upclens.data import load_config
from upclens.errors import ParameterError
from upclens.observables.stats import linear_fit, min_points
from upclens.pipeline.plan import check_sizes, plan_for


def test_the_smallest_accepted_test_split_is_what_the_observables_fit_needs():
    """Default config: beta2, beta3 and Delta r_np vary, so the joint fit has 3 slopes and
    needs 5 test images: 25 images at 0.6/0.2/0.2, and 24 leave 4."""
    cfg = load_config(None)
    check_sizes(plan_for("small", n_images=25), cfg)
    with pytest.raises(ParameterError, match=r"at least 25: .* must hold 5 images .* not 4"):
        check_sizes(plan_for("small", n_images=24), cfg)


def test_varying_nuisance_labels_raise_the_minimum_and_fixed_ones_do_not():
    varied = load_config(None, {"priors.R.kind": "uniform", "priors.R.low": 4.9,
                                "priors.R.high": 5.1, "priors.a.kind": "fixed",
                                "priors.a.value": 0.46, "priors.beta3.kind": "fixed",
                                "priors.beta3.value": 0.1})
    # regressors beta2, delta_rnp, R (beta3 and a fixed): 5 images, as for the default
    check_sizes(plan_for("small", n_images=25), varied)
    wide = load_config(None, {"priors.R.kind": "uniform", "priors.R.low": 4.9,
                              "priors.R.high": 5.1, "priors.a.kind": "normal",
                              "priors.a.mean": 0.46, "priors.a.sd": 0.01})
    with pytest.raises(ParameterError, match=r"at least 35: .* 7 images .* beta2, beta3, "
                                             r"delta_rnp, R, a, not 5"):
        check_sizes(plan_for("small", n_images=25), wide)


def test_the_minimum_is_the_fit_s_own():
    """min_points(p) points fit p slopes; one fewer is refused by the fit itself."""
    x = [[0, 1], [1, 0], [1, 1], [2, 3]]
    assert linear_fit(x, [1.0, 2.0, 2.5, 5.5]).n == min_points(2)
    with pytest.raises(ParameterError, match="at least 4 images for 2 slopes"):
        linear_fit(x[:3], [1.0, 2.0, 2.5])


def test_run_refuses_a_too_small_study_up_front(tmp_path, capsys):
    from upclens.cli import main

    config = tmp_path / "tiny.toml"
    config.write_text('schema_version = 1\n[image]\npixels = 16\norientations = 8\n')
    out = tmp_path / "out"
    assert main(["run", "--out", str(out), "--config", str(config), "--n-images", "20",
                 "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["upclens: error: n_images = 20 is not allowed: must be at least 25: the "
                     "test split (0.6/0.2/0.2) must hold 5 images for the observables' joint "
                     "fit on beta2, beta3, delta_rnp, not 4"]
    assert not out.exists()
