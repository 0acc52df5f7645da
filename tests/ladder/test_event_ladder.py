"""The event ladder at its tiny size, the histogram images of event sets, the bound file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("particle")

from upclens.cli import main
from upclens.data.eventimages import image_axes, set_images
from upclens.errors import ParameterError
from upclens.ladder.events import (
    COLUMN_LEARNERS,
    LEARNER_READS,
    LEARNERS,
    SIZES,
    image_preprocess,
    read_bound,
)


def test_images_count_every_event_in_its_pixel() -> None:
    rng = np.random.default_rng(0)
    n = 500
    pt = 0.29 * np.sqrt(rng.random(n))
    phi = rng.uniform(-math.pi, math.pi, n)
    dphi = rng.uniform(-math.pi, math.pi, n)
    f = np.stack([pt * np.cos(phi), pt * np.sin(phi), dphi, np.zeros(n), np.zeros(n)], axis=1)
    lab = set_images(f[None], "lab", 8, 0.3)[0]
    pd = set_images(f[None], "pt_dphi", 8, 0.3)[0]
    assert lab.sum() == n
    assert pd.sum() == n
    ex, ey = image_axes("pt_dphi", 8, 0.3)
    i, j = np.searchsorted(ey, pt[0]) - 1, np.searchsorted(ex, dphi[0]) - 1
    assert pd[i, j] >= 1
    # the pT row sums are the |pT| histogram, the same in both images' radial content
    assert np.array_equal(pd.sum(axis=1), np.histogram(pt, ey)[0])
    with pytest.raises(ParameterError, match="image kind"):
        set_images(f[None], "polar", 8, 0.3)


def test_preprocess_follows_the_occupancy() -> None:
    full = np.ones((3, 1, 4, 4))
    assert image_preprocess(full) == "log_pixel"
    full[:, 0, 2, 1] = 0.0
    assert image_preprocess(full) == "log_global"


def test_bound_file(tmp_path: Path) -> None:
    p = tmp_path / "b.json"
    p.write_text(json.dumps({"1000": {"beta2": 0.02, "delta_rnp": 0.01}}))
    assert read_bound(p) == {1000: {"beta2": 0.02, "delta_rnp": 0.01}}
    p.write_text("[1, 2]")
    with pytest.raises(ParameterError, match="bound"):
        read_bound(p)
    # the table of upclens event-fisher: n_values and a sigma list per column
    table = {"n_values": [1e4, 1e5], "columns": [
        {"name": "+ daughter angle", "sigma": {"beta2": [0.1, 0.03]}},
        {"name": "+ rapidity", "sigma": {"beta2": [0.05, 0.016], "delta_rnp": [0.02, 0.006]}}]}
    p.write_text(json.dumps(table))
    assert read_bound(p) == {10000: {"beta2": 0.05, "delta_rnp": 0.02},
                             100000: {"beta2": 0.016, "delta_rnp": 0.006}}
    assert read_bound(p, "+ daughter angle")[100000] == {"beta2": 0.03}
    with pytest.raises(ParameterError, match="bound column"):
        read_bound(p, "+ nothing")


def test_best_learner_of_a_column() -> None:
    """A column's candidates read no more than it does and have learnt the parameter: a learner
    at the prior (test RMSE ~ prior sd) that scores ~0 at the fiducial point, the prior's
    centre, is not the best; one reading less is a candidate of a fuller column."""
    from upclens.ladder.events import best_per_column

    def entry(learner, reads, column, fid, test, sigma):
        e = {"n_events": 100, "learner": learner, "reads": list(reads), "bound_column": column,
             "ratio_basis": "fiducial"}
        for t in ("beta2", "beta3", "delta_rnp"):
            e.update({f"fid_rmse_{t}": fid, f"rmse_{t}": test, f"sigma_crb_{t}": sigma,
                      f"learned_{t}": test < 0.9 * 0.0866})
        return e

    entries = [entry("full", ("pt", "angle", "classes", "rapidity"), "event sets", 0.04, 0.05,
                     0.02),
               entry("pt", ("pt",), "pT only", 0.03, 0.05, 0.025),
               entry("at prior", ("pt", "angle"), "+ daughter angle", 0.001, 0.088, 0.024)]
    best = best_per_column(entries)
    assert best[(100, "event sets")]["beta2"] == (pytest.approx(0.03 / 0.02), "pt")
    assert best[(100, "pT only")]["beta2"] == (pytest.approx(0.03 / 0.025), "pt")
    assert best[(100, "+ daughter angle")]["beta2"][1] == "pt"
    # one bound given for every learner (--bound FILE): every learner is a candidate of it
    for e in entries:
        e["bound_column"] = "+ rapidity"
    entries[1]["fid_rmse_beta2"] = 0.05
    assert best_per_column(entries)[(100, "+ rapidity")]["beta2"][1] == "full"


def test_tiny_event_ladder_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    """Three learners and the event-set network of each partial column at three N, the same
    test and fiducial sets; the ratio column from a bound file (RMSE at the fiducial point
    over it); the event-set network's per-event network is trained once (at phi_n) and its
    head refitted at every N."""
    bound = tmp_path / "bound.json"
    bound.write_text(json.dumps({"100": {"beta2": 0.05, "beta3": 0.05, "delta_rnp": 0.05}}))
    out = tmp_path / "el"
    assert main(["event-ladder", "--size", "tiny", "--out", str(out), "--quiet",
                 "--bound", str(bound)]) == 0
    summary = json.loads((out / "event_ladder.json").read_text())
    entries = summary["entries"]
    assert len(entries) == len(SIZES["tiny"].counts) * (len(LEARNERS) + len(COLUMN_LEARNERS))
    assert {e["learner"] for e in entries} == set(LEARNER_READS)
    assert all(isinstance(e["learned_beta2"], bool) for e in entries)
    for e in entries:
        for t in ("beta2", "beta3", "delta_rnp"):
            # tiny training: nowhere near the bound, but bounded by the prior's range (0.3)
            assert 0.0 < e[f"rmse_{t}"] < 0.3
            assert 0.0 <= e[f"fid_rmse_{t}"] < 0.3
        assert (e["ratio_beta2"] is None) == (e["n_events"] != 100)
        if e["ratio_beta2"] is not None:
            assert e["ratio_beta2"] == pytest.approx(e["fid_rmse_beta2"] / 0.05)
            # the prior-aware reference lies below the bound: (0.05^-2 + 0.0866^-2)^-1/2
            assert e["ratio_ref_beta2"] == pytest.approx(e["fid_rmse_beta2"] / 0.04330, rel=1e-3)
        if e["learner"] == "eventset":  # the posterior's coverage is measured (8 test sets)
            assert len(e["tarp_ecp"]) == 3
            assert set(e["interval_coverage"]) == {"beta2", "beta3", "delta_rnp"}
    assert (out / "event_ladder.png").stat().st_size > 0
    assert all((out / f"corner_N{n}.png").stat().st_size > 0 for n in (30, 100, 300))
    table = (out / "event_ladder.md").read_text()  # the coverage table, both test splits
    assert "| 30 | test |" in table
    assert "| 30 | replica |" in table
    assert (out / "sets_flow.h5").is_file()  # sets for the flows only, never histogrammed
    assert not list(out.glob("images_*_flow.h5"))
    assert "resnet_pt_dphi" in capsys.readouterr().out
    tiny = SIZES["tiny"]
    refit = [e for e in entries if e["learner"] == "eventset"]
    assert {e["phi_from_n"] for e in refit} == {tiny.phi_n}
    from upclens.learn.eventset import load_set_model

    for n in tiny.counts:  # disjoint N-windows of the stored 300 events feed each head
        assert load_set_model(out / f"eventset_N{n}")[1]["windows"] == tiny.n_max // n
    from upclens.ladder.events import CALIBRATION
    from upclens.learn.posterior import load_posterior

    flow, meta = load_posterior(out / "eventset_N30")
    assert meta["calibration_method"] == CALIBRATION
    assert len(flow.flows) == meta["settings"]["flows"] == tiny.flows == 2
    _a_grown_flow_split_calls_for_a_new_posterior(out, meta)
    for learner, reads in COLUMN_LEARNERS.items():  # phi and the head read only their handles
        model, meta = load_set_model(out / f"{learner}_N{tiny.counts[-1]}")
        assert model.reads == reads == tuple(meta["settings"]["reads"])
        assert not (out / f"{learner}_N{tiny.counts[-1]}" / "posterior.pt").exists()
    from upclens.ladder.events import FIDUCIAL
    from upclens.learn.eventset import load_sets

    fid = load_sets(out / "sets_fiducial.h5")
    for t, v in FIDUCIAL.items():
        assert np.allclose(fid.labels[t], v)
    assert np.ptp(fid.labels["R"]) > 0  # the nuisances still vary
    assert main(["event-ladder", "--size", "tiny", "--out", str(out), "--counts", "5000"]) == 2


def _a_grown_flow_split_calls_for_a_new_posterior(out: Path, meta: dict) -> None:
    """The finished tiny ladder's posterior matches its settings and sets; once the flow
    split is extended by two sets (as a resumed ladder of a larger n_flow does) it no longer
    does, so the resumed ladder refits it."""
    from upclens.data.eventsets import config_from_dict, generate_event_sets, read_meta
    from upclens.ladder.events import SPLIT_SEEDS, _posterior_matches
    from upclens.learn.posterior import FlowSettings

    settings = FlowSettings(**meta["settings"])
    sets = [out / "sets_val.h5", out / "sets_flow.h5"]
    assert meta["n_sets"] == SIZES["tiny"].n_val + SIZES["tiny"].n_flow
    assert _posterior_matches(out / "eventset_N30", settings, sets)
    flow = read_meta(sets[1])
    generate_event_sets(config_from_dict(flow["config"]), flow["n"] + 2,
                        10 + SPLIT_SEEDS["flow"], sets[1], progress=False)
    assert read_meta(sets[1])["n"] == flow["n"] + 2
    assert not _posterior_matches(out / "eventset_N30", settings, sets)
