"""``upclens fisher`` as a user meets it: a table, JSON, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "upclens.cli", "fisher", *args],
                          capture_output=True, text=True, timeout=300, check=False)


def test_fisher_prints_a_table_and_writes_json(tmp_path):
    out = tmp_path / "f.json"
    res = _run("--beta2", "0.1", "--beta3", "0.2", "--delta-rnp", "0.1", "--n-events", "1e4",
               "--pixels", "16", "--nuisances", "R,a:0.02", "--background", "0.1",
               "--smearing", "0.01", "--n-values", "1e4,1e6", "--json", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert "sigma_CRB" in res.stdout
    data = json.loads(out.read_text())
    assert data["names"] == ["beta2", "beta3", "delta_rnp", "R", "a"]
    assert data["priors"] == {"R": 0.02, "a": 0.02}
    assert data["settings"]["incoherent_fraction"] == 0.1
    sig = data["sigma_crb"]
    assert data["versus_n"]["sigma_crb"]["delta_rnp"][0] == pytest.approx(sig["delta_rnp"])
    # Known protons: the skin bound is tighter than with R and a marginalised.
    assert data["sigma_nuisances_known"]["delta_rnp"] < sig["delta_rnp"]
    assert data["converged"]


def test_bad_input_is_one_line_and_exit_2_in_a_subprocess():
    res = _run("--pixels", "16", "--nuisances", "R,bogus")
    assert res.returncode == 2
    assert res.stdout == ""
    assert res.stderr.strip().splitlines() == [
        "upclens: error: nuisances = 'bogus' is not allowed: must be among R, a, "
        "sigma_vn_scale (alias sigma), optionally name:width"]


@pytest.mark.parametrize(("flags", "name"), [
    (("--n-events", "-5"), "n_events"),
    (("--beta2", "nan"), "beta2"),
    (("--background", "1.5"), "incoherent_fraction"),
    (("--n-values", "1e3,x"), "n_values"),
    (("--nuisances", "R:-1"), "prior width"),
    (("--b-direction", "sideways"), "b-direction"),
])
def test_bad_input_is_one_line_and_exit_2(flags, name, capsys):
    from upclens.cli import main

    try:
        code = main(["fisher", "--pixels", "16", *flags])
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert name in lines[0]


def test_linear_uniform_flux_flags_match_the_grid_path(tmp_path, capsys):
    """``--linear --no-flux``: the command's bound (the engine takes the closed multipole form
    there) against the Fisher matrix of the general quadrature path, built here from the
    physics API.  A difference delta (weighted L1) of the two images enters the derivatives
    at most as delta / (h/2), h/2 = 0.005 the smallest half-step: that sets the tolerance."""
    from upclens.cli import main
    from upclens.information.fisher import fisher_from_model
    from upclens.information.model import PARAMETERS, SHAPE_PARAMETERS
    from upclens.physics.image import DoubleSlit
    from upclens.physics.nucleus import Nucleus
    from upclens.physics.settings import Collision, ImageGrid, ModelSwitches

    out = tmp_path / "f.json"
    assert main(["fisher", "--linear", "--no-flux", "--pixels", "16", "--beta2", "0.1",
                 "--beta3", "0.2", "--delta-rnp", "0.1", "--n-values", "1e4",
                 "--json", str(out)]) == 0
    assert "linear Gamma = T, uniform flux" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["settings"]["switches"]["glauber"] is False
    assert data["settings"]["switches"]["flux"] == "uniform"

    switches = ModelSwitches(glauber=False, flux="uniform")

    def image(point, method):
        nucleus = Nucleus.from_preset("Zr96", beta2=point["beta2"], beta3=point["beta3"],
                                      delta_rnp=point["delta_rnp"])
        sim = DoubleSlit(nucleus, Collision(b=15.0), switches, ImageGrid(16, 0.2))
        img = sim.image(method=method).intensity
        return img / img.sum()

    point = {"beta2": 0.1, "beta3": 0.2, "delta_rnp": 0.1}
    delta = float(np.abs(image(point, "grid") - image(point, "closed")).sum())
    assert delta < 1e-5
    grid = fisher_from_model(lambda p: image(p, "grid"), point,
                             [PARAMETERS[n] for n in SHAPE_PARAMETERS], 1e4)
    for name in SHAPE_PARAMETERS:
        assert data["sigma_crb"][name] == pytest.approx(grid.sigma_crb[name],
                                                        rel=4 * delta / 0.005), name


def test_rapidity_flag_reaches_the_settings(tmp_path):
    from upclens.cli import main

    out = tmp_path / "f.json"
    assert main(["fisher", "--pixels", "16", "--rapidity", "1", "--n-values", "1e4",
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text())["settings"]["collision"]["rapidity"] == 1.0
