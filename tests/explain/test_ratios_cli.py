"""Ratio maps from the simulator (physics checks) and the ``explain`` / ``ratio-maps`` CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from explain_toys import double_slit_images, write_dataset

from upclens.explain.ratios import ratio_maps
from upclens.physics.settings import ImageGrid


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "upclens.cli", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def test_ratio_maps_show_skin_at_the_edge_and_deformation_in_the_fringes(tmp_path):
    """96Zr, b = 15 fm, 32 x 32 pixels.

    Deformation: the orientation variance <|G|^2> - |<G>|^2 fills the dark fringes, which for
    the sphere are empty but for the flux gradient, so deformed / sphere is well above 1 there
    (fringe filling 0.04 -> 0.86 over 0.10-0.16 GeV for (0.3, 0.3)) and below 1 at the edge
    (normalisation).  Skin: a 0.2 fm halo raises the matter r^2 by ~2 r dr = 2 x 4.34 x
    (56/96 x 0.2) = 1.0 fm^2, so |F(q)|^2 ~ exp(-q^2 r^2 / 3) drops by exp(-q^2 x 0.34 fm^2)
    = 0.95-0.79 over the edge, q = 0.07-0.155 GeV (0.35-0.79 fm^-1), times ~1.03 from the
    normalisation: the edge median lies in 0.8-0.97."""
    summary = ratio_maps("Zr96", tmp_path, grid=ImageGrid(32, 0.2))
    deform = summary["region_stats"]["deformed_over_sphere"]
    skin = summary["region_stats"]["skin_over_no_skin"]
    assert deform["fringe"]["median_ratio"] > 1.1
    assert deform["fringe"]["median_ratio"] > deform["edge"]["median_ratio"]
    assert 0.8 < skin["edge"]["median_ratio"] < 0.97
    with np.load(tmp_path / "ratio_maps.npz") as data:
        ratio = data["ratio_skin_over_no_skin"]
        assert np.allclose(ratio, data["image_skin"] / data["image_no_skin"])
        # both images are normalised: the skin moves intensity inwards, ratio > 1 at p ~ 0
        centre = np.hypot(data["px"][None, :], data["py"][:, None]) < 0.03
        assert np.median(ratio[centre]) > 1.0
    assert json.loads((tmp_path / "ratio_maps.json").read_text())["nucleus"] == "Zr96"
    assert (tmp_path / "ratio_maps.png").stat().st_size > 1000
    assert math.isfinite(skin["fringe"]["median_abs_log_ratio"])


def test_sensitivity_agreement_prefers_the_matching_ratio_map(tmp_path, rng):
    """A heatmap that is a monotone function of |ln(skin ratio)| has rank correlation 1 with
    it and a lower one with an unrelated deformation map; another grid is refused."""
    from upclens.errors import ParameterError
    from upclens.explain.ratios import sensitivity_agreement

    axis = np.linspace(-0.2, 0.2, 16)
    skin = np.exp(rng.normal(0, 0.1, (16, 16)))
    deform = np.exp(rng.normal(0, 0.3, (16, 16)))
    path = tmp_path / "ratio_maps.npz"
    np.savez(path, px=axis, py=axis, ratio_skin_over_no_skin=skin,
             ratio_deformed_over_sphere=deform)
    corr = sensitivity_agreement({"delta_rnp": np.abs(np.log(skin)) ** 2}, path, axis)
    assert corr["delta_rnp"]["skin"] == pytest.approx(1.0)
    assert abs(corr["delta_rnp"]["deformation"]) < 0.5
    with pytest.raises(ParameterError, match="grid"):
        sensitivity_agreement({"beta2": skin}, path, axis[:8])


@pytest.mark.slow
def test_explain_cli_runs_a_trained_model(tmp_path, rng):
    """A real (tiny) model from ``upclens train`` explained from the command line."""
    images, labels = double_slit_images(24, 16, rng)
    data = write_dataset(tmp_path / "d.h5", images, labels)
    from upclens.learn import TrainSettings, train

    run_dir = train(data, data, tmp_path / "runs" / "tiny",
                    settings=TrainSettings(epochs=1, batch_size=8, width=4, blocks=(1,), head=8),
                    progress=False)
    res = _cli("explain", "--model", str(run_dir), "--data", str(data), "--out",
               str(tmp_path / "ex"), "--images", "2", "--window", "4", "--stride", "4",
               "--samples", "2", "--cross-check", "1")
    assert res.returncode == 0, res.stderr
    assert "heatmaps" in res.stdout
    summary = json.loads((tmp_path / "ex" / "explain.json").read_text())
    assert set(summary["region_shares"]) == {"skin", "beta2", "beta3", "delta_rnp"}


def test_cli_errors_are_one_line(tmp_path, rng):
    images, labels = double_slit_images(6, 16, rng)
    data = write_dataset(tmp_path / "d.h5", images, labels)
    res = _cli("explain", "--model", str(tmp_path / "nope"), "--data", str(data),
               "--out", str(tmp_path / "ex"))
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1
    assert "model" in res.stderr



def test_ratio_maps_bad_input_is_one_line(tmp_path, capsys):
    from upclens.cli import main

    assert main(["ratio-maps", "--beta2", "5", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "beta2" in err
