"""``upclens fisher`` as a user meets it: a table, JSON, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

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
