"""The command line as a user meets it: subprocesses, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "upclens.cli", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def test_simulate_writes_the_documented_npz(tmp_path):
    out = tmp_path / "img.npz"
    res = _run("simulate", "--nucleus", "Zr96", "--beta2", "0.1", "--beta3", "0.2",
               "--delta-rnp", "0.0", "--b", "15", "--pixels", "64", "--pmax", "0.2", "--exact",
               "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    with np.load(out) as data:
        px, py, inten = data["px"], data["py"], data["intensity"]
        config = json.loads(str(data["config"]))
    assert inten.shape == (64, 64)
    assert np.allclose(px, -px[::-1])
    assert np.allclose(py, -py[::-1])
    assert abs(px).max() < 0.2
    assert config["nucleus"]["beta2"] == 0.1
    assert config["orientations"] == "exact"
    assert np.sum(inten) * (px[1] - px[0]) ** 2 == pytest.approx(1.0)


def test_simulate_with_events_and_every_switch(tmp_path):
    out = tmp_path / "ev.npz"
    res = _run("simulate", "--pixels", "16", "--orientations", "4", "--seed", "3", "--linear",
               "--no-flux", "--qz", "--vector", "--radius", "5.1", "--diffuseness", "0.5",
               "--events", "1000", "--incoherent-fraction", "0.1", "--smearing", "0.01",
               "--out", str(out))
    assert res.returncode == 0, res.stderr
    with np.load(out) as data:
        assert data["intensity"].sum() <= 1000
        assert json.loads(str(data["config"]))["nucleus"]["R"] == 5.1


def test_tspectrum_csv_header(tmp_path):
    out = tmp_path / "t.csv"
    res = _run("tspectrum", "--nucleus", "Pb208", "--sqrt-snn", "5020", "--tmax", "0.012",
               "--out", str(out))
    assert res.returncode == 0, res.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "t_GeV2,dsigma_dt"
    t, s = np.loadtxt(out, delimiter=",", skiprows=1).T
    assert t[-1] == pytest.approx(0.012)
    assert np.all(np.diff(s[1:]) < 0)  # falls monotonically below the first minimum


@pytest.mark.parametrize(
    ("args", "name"),
    [(["--beta2", "0.9"], "beta2"), (["--beta2", "-0.9"], "beta2"), (["--beta3", "-0.2"], "beta3"),
     (["--nucleus", "Xe129"], "nucleus"), (["--pixels", "4"], "pixels"),
     (["--pmax", "0"], "pmax"), (["--pmax", "-1"], "pmax"), (["--beta2", "nan"], "beta2"),
     (["--b", "inf"], "b"), (["--delta-rnp", "3"], "delta_rnp"), (["--orientations", "0"],
                                                                   "orientations")],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, name):
    res = _run("simulate", *args, "--out", str(tmp_path / "x.npz"))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert name in lines[0]
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "x.npz").exists()


def test_unwritable_output_is_refused(tmp_path):
    res = _run("simulate", "--out", str(tmp_path / "missing" / "x.npz"))
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1
    assert "out" in res.stderr


def test_help_documents_units():
    res = _run("simulate", "--help")
    assert res.returncode == 0
    for unit in ("fm", "GeV"):
        assert unit in res.stdout
