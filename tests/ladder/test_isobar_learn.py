"""``upclens isobar-learn`` at its tiny size: Ru96 and Zr96 event sets in STAR's acceptance,
one network and flow per species and N, the posterior of the differences on test pairs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("zuko")
pytest.importorskip("particle")

from upclens.cli import main
from upclens.data.eventsets import read_event_sets
from upclens.errors import ParameterError
from upclens.ladder.isopairs import SIZES, pair_config, pair_size, read_pair_bound
from upclens.learn.pairs import DIFFERENCES


def test_sizes_configs_and_bound_file(tmp_path: Path) -> None:
    assert pair_size("tiny", (60, 20, 20)).counts == (20, 60)
    with pytest.raises(ParameterError, match="counts"):
        pair_size("tiny", (61,))
    with pytest.raises(ParameterError, match="size"):
        pair_size("huge")
    cfg = pair_config(SIZES["default"], "Ru96")
    assert cfg.events.detector == "star"
    assert cfg.events.accepted_only
    assert cfg.events.neutron_class == "0nXn"
    assert cfg.events.nucleus == "Ru96"
    # each species' own nuisance priors: R centred on its preset (Ru 5.085, Zr 5.02 fm)
    assert cfg.priors.R.mean == pytest.approx(5.085)
    assert pair_config(SIZES["default"], "Zr96").priors.R.mean == pytest.approx(5.02)
    p = tmp_path / "b.json"
    p.write_text(json.dumps({"200": {"d_beta2sq": 0.05, "d_rnp": 0.3, "beta2": 1.0}}))
    assert read_pair_bound(p) == {200: {"d_beta2sq": 0.05, "d_rnp": 0.3}}
    p.write_text(json.dumps({"200": {"d_rnp": -0.1}}))
    with pytest.raises(ParameterError, match="finite and > 0"):
        read_pair_bound(p)
    p.write_text("[1, 2]")
    with pytest.raises(ParameterError, match="bound"):
        read_pair_bound(p)
    # the bound file of upclens isobar-fisher: n_values and a sigma list per column
    table = {"n_values": [200.0, 2000.0], "columns": [
        {"name": "0nXn: pT", "sigma": {"d_beta2sq": [0.41, 0.13], "d_beta3sq": [0.3, 0.09],
                                       "d_rnp": [0.38, 0.128]}},
        {"name": "0nXn: pT + daughter angle",
         "sigma": {"d_beta2sq": [0.40, 0.128], "d_beta3sq": [0.28, 0.09],
                   "d_rnp": [0.37, 0.127]}}]}
    p.write_text(json.dumps(table))
    assert read_pair_bound(p)[2000] == {"d_beta2sq": 0.128, "d_beta3sq": 0.09, "d_rnp": 0.127}
    assert read_pair_bound(p, "0nXn: pT")[200]["d_rnp"] == 0.38
    with pytest.raises(ParameterError, match="column"):
        read_pair_bound(p, "XnXn: pT")
    table["columns"][1]["sigma"]["d_rnp"] = [None, 0.127]  # an infinite sigma is refused
    p.write_text(json.dumps(table))
    with pytest.raises(ParameterError, match="finite and > 0"):
        read_pair_bound(p)


def test_tiny_isobar_learn_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    """Every N scored on the index-paired test sets; prior widths as computed by hand; the
    ratio column from the bound file; a rerun reuses every file and gives the same numbers."""
    bound = tmp_path / "bound.json"
    bound.write_text(json.dumps({"20": {"d_beta2sq": 0.05, "d_beta3sq": 0.05, "d_rnp": 0.2}}))
    out = tmp_path / "il"
    args = ["isobar-learn", "--size", "tiny", "--out", str(out), "--quiet", "--bound",
            str(bound)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "d_rnp" in printed
    assert "isobar_learn.json" in printed
    summary = json.loads((out / "isobar_learn.json").read_text())
    assert [e["n_events"] for e in summary["entries"]] == list(SIZES["tiny"].counts)
    prior = {"d_beta2sq": math.sqrt(2 * 0.3**4 * (1 / 5 - 1 / 9)),
             "d_beta3sq": math.sqrt(2 * 0.3**4 * (1 / 5 - 1 / 9)),
             "d_rnp": math.sqrt(2 * 0.3**2 / 12)}
    width = {"d_beta2sq": 0.18, "d_beta3sq": 0.18, "d_rnp": 0.6}
    for e in summary["entries"]:
        assert e["n_pairs"] == SIZES["tiny"].n_test
        assert set(e["species"]) == {"Ru", "Zr"}
        for name in DIFFERENCES:
            d = e["differences"][name]
            assert d["prior_sd"] == pytest.approx(prior[name])
            # the posterior mean lies in the prior's support: its error is below its width
            assert 0 < d["rmse"] < width[name]
            assert d["posterior_sd"] < 1.5 * prior[name]
            if e["n_events"] == 20:
                assert d["ratio_bound"] == pytest.approx(d["rmse"] / d["sigma_bound"])
            else:
                assert d["ratio_bound"] is None
            # shrinking about the mean can only lose coverage of central intervals
            cov = e["coverage"]["interval_coverage"][name]
            assert e["overconfident"]["interval_coverage"][name][1] <= cov[1]
        assert (out / e["corner"]).is_file()
        with np.load(out / e["pairs_file"]) as z:
            assert z["samples"].shape == (SIZES["tiny"].n_test, 1000, 3)
            assert np.all(z["lo68"] <= z["hi68"])
            assert np.allclose(z["mean"], z["samples"].mean(axis=1), atol=1e-6)
            assert list(z["names"]) == list(DIFFERENCES)
        p0 = e["pair0"]["posterior"]["d_rnp"]
        assert p0["lo68"] <= p0["median"] <= p0["hi68"]
    # the Zr sets that share the Ru set's sigma_J/psi-N keep every other label (same streams)
    with np.load(out / "sets_Zr_test_shared_sigma_vn.npz") as z:
        shared_targets, shared_feats = z["targets"], z["feats"]
    zr_feats, zr_labels, _ = read_event_sets(out / "sets_Zr_test.h5")
    assert np.array_equal(shared_targets[:, 0], zr_labels["beta2"])
    assert np.array_equal(shared_targets[:, 2], zr_labels["delta_rnp"])
    assert not np.array_equal(shared_feats, zr_feats)  # another absorption, other events
    for e in summary["entries"]:
        assert e["shared_sigma_vn"]["n_pairs"] == SIZES["tiny"].n_test
    for f in summary["files"]:
        assert (out / f).is_file(), f
    assert main(args) == 0
    again = json.loads((out / "isobar_learn.json").read_text())
    assert again["entries"][0]["differences"] == summary["entries"][0]["differences"]
