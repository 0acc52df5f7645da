"""The v3 study: Friedel's law without q_z, what q_z, finite statistics and binning do."""

from __future__ import annotations

import json

import pytest

from upclens.errors import ParameterError
from upclens.observables.v3study import v3_study, write_v3_study


@pytest.fixture(scope="module")
def study() -> dict:
    return v3_study(pixels=24, pairs=(1, 16), seeds=6, events=(10**3, 10**5), experiments=24,
                    shifts=(0.0, 0.25, 0.5), seed=3)


def test_exact_images_obey_friedel(study: dict) -> None:
    for key in ("no_qz", "qz"):  # q_z breaks p -> -p per event, not for the ensemble average
        exact = study["exact"][key]
        assert exact["friedel_violation"] < 1e-12
        assert abs(exact["v1"]) < 1e-12
        assert abs(exact["v3"]) < 1e-12
        assert exact["v2"] > 0.05


def test_qz_breaks_friedel_per_orientation_pair_only(study: dict) -> None:
    orient = study["orientations"]
    assert all(row["rms_v3"] < 1e-12 for row in orient["no_qz"])
    one, many = orient["qz"]
    assert one["rms_v3"] > 1e-3
    # the rms falls like 1/sqrt(N) (12 seeds: the rms is known to ~30 %, a factor 2 band)
    assert many["rms_v3"] == pytest.approx(one["rms_v3"] / 4, rel=1.0)
    assert many["rms_v3"] < one["rms_v3"]


def test_finite_statistics_is_noise_at_the_expected_floor(study: dict) -> None:
    for row in study["events"]:
        # 24 experiments: an rms is known to 1/sqrt(48) = 15 %; 50 % is > 3 sigma.
        assert row["rms_v3"] == pytest.approx(row["floor"], rel=0.5)
        assert row["mean_error"] == pytest.approx(row["floor"], rel=0.3)
        assert row["pull_sd"] == pytest.approx(1.0, abs=0.5)
        # the q_z phase adds far less than counting noise
        assert row["qz_noise"] < 0.1 * row["floor"]


def test_off_centre_binning_makes_odd_harmonics_linear_in_the_offset(study: dict) -> None:
    zero, quarter, half = study["binning"]
    assert abs(zero["v1"]) < 1e-12
    assert abs(zero["v3"]) < 1e-12
    assert abs(quarter["v1"]) > 1e-2
    assert abs(quarter["v3"]) > 1e-4
    # linear response to first order: doubling the offset doubles v1 (10 % for the curvature)
    assert half["v1"] == pytest.approx(2 * quarter["v1"], rel=0.1)


def test_outputs_and_bad_input(study: dict, tmp_path) -> None:
    assert write_v3_study(study, tmp_path / "v3", plots=False) == ["v3_study.json", "v3_study.md"]
    assert json.loads((tmp_path / "v3" / "v3_study.json").read_text())["pixels"] == 24
    assert "Off-centre binning" in (tmp_path / "v3" / "v3_study.md").read_text()
    with pytest.raises(ParameterError, match="shift"):
        v3_study(pixels=16, shifts=(0.1,))
    with pytest.raises(ParameterError, match="window"):
        v3_study(pixels=16, window=(0.5, 0.6))
