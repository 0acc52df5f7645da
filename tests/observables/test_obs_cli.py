"""``upclens observables``, ``sensitivity`` and ``v3-study`` as a user meets them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from upclens.cli import main
from upclens.physics.image import Image


@pytest.fixture
def image_npz(tmp_path) -> str:
    """A Gaussian spot with v2 = 0.1 relative to b at 0.4 rad, stored like `upclens simulate`."""
    axis = (np.arange(32) + 0.5 - 16) * 0.4 / 32
    px, py = np.meshgrid(axis, axis)
    phi = np.arctan2(py, px)
    inten = np.exp(-(px**2 + py**2) / (2 * 0.05**2)) * (1 + 0.2 * np.cos(2 * (phi - 0.4)))
    path = tmp_path / "img.npz"
    Image(axis, axis.copy(), inten, {"collision": {"b_angle": 0.4}}).save_npz(str(path))
    return str(path)


def test_observables_of_an_image_with_json(image_npz, tmp_path, capsys) -> None:
    out = tmp_path / "obs.json"
    assert main(["observables", image_npz, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "v2[0.14-0.16]" in printed
    data = json.loads(out.read_text())
    assert data["b_angle"] == 0.4
    assert data["observables"]["v2[0.14-0.16]"]["value"] == pytest.approx(0.1, abs=5e-3)
    assert data["observables"]["v2[0.14-0.16]"]["error"] is None


def test_expected_errors_for_n_events(image_npz, tmp_path, capsys) -> None:
    out = tmp_path / "obs.json"
    assert main(["observables", image_npz, "--events", "1e4", "--subpixels", "1",
                 "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    err = data["observables"]["v3[0.14-0.16]"]["error"]
    n_window = data["n_window"]["0.14-0.16"]
    # pixel centres: sqrt(<cos^2 3 phi> / N_window) with <cos^2 3 phi> = 1/2 + <cos 6 phi>/2,
    # and <cos 6 phi> of this v2-only image on a square grid is at the lattice level (< 1 %)
    assert err == pytest.approx(np.sqrt(0.5 / n_window), rel=0.02)
    assert "sigma" in capsys.readouterr().out


def test_dataset_table(tmp_path, capsys) -> None:
    from upclens.data import generate_dataset, load_config

    cfg = load_config(None, {"image.pixels": 16, "image.orientations": 2,
                             "image.n_events": 3000, "run.chunk_size": 4})
    data = tmp_path / "d.h5"
    generate_dataset(cfg, 4, 1, data, workers=1, progress=False)
    csv = tmp_path / "t.csv"
    assert main(["observables", str(data), "--csv", str(csv), "--bootstrap", "20"]) == 0
    assert "event counts" in capsys.readouterr().out
    rows = csv.read_text().splitlines()
    assert len(rows) == 5
    header = rows[0].split(",")
    first = dict(zip(header, rows[1].split(","), strict=True))
    assert float(first["v3[0.14-0.16]_err"]) > 0  # counts: every observable has an error


def test_bad_input_is_one_line_and_exit_2(image_npz) -> None:
    res = subprocess.run([sys.executable, "-m", "upclens.cli", "observables", image_npz,
                          "--window", "0.2:0.1"], capture_output=True, text=True, timeout=120,
                         check=False)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1
    assert "window high edge" in res.stderr
    assert main(["observables", image_npz, "--subpixels", "0"]) == 2
    assert main(["observables", image_npz + ".missing"]) == 2


def test_sensitivity_rejects_a_non_dataset(tmp_path) -> None:
    assert main(["sensitivity", str(tmp_path / "none.h5"), "--out", str(tmp_path / "o")]) == 2
