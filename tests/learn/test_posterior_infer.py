"""Joint posteriors from the flow on the event-set summary, and ``upclens infer`` on event
lists in four formats with its refusals."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("zuko")
pytest.importorskip("particle")

from eventset_twin import synthetic_sets  # noqa: E402

from upclens.cli import main  # noqa: E402
from upclens.errors import ParameterError  # noqa: E402
from upclens.learn.eventset import SetSettings, train_sets  # noqa: E402
from upclens.learn.posterior import (  # noqa: E402
    FlowSettings,
    check_posterior,
    corner_plot,
    fit_posterior,
    prior_box,
    sample_posterior,
    to_bounded,
    to_unbounded,
)

N = 256


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("post")
    files = {"train": synthetic_sets(d / "train.h5", 384, N, 11),
             "val": synthetic_sets(d / "val.h5", 768, N, 12),
             "test": synthetic_sets(d / "test.h5", 300, N, 13)}
    out = train_sets(files["train"], files["val"], d / "run", N,
                     SetSettings(width=32, head=64, epochs=20, batch_size=16, lr=3e-3))
    fit_posterior(out, files["val"], FlowSettings(epochs=100, hidden=32, transforms=2, flows=2))
    return {"run": out, **files}


@pytest.mark.parametrize("support", ["probit", "logit"])
def test_box_map_is_inverse_and_prior_bounded(support: str) -> None:
    box = torch.tensor([[0.0, 0.3], [0.0, 0.3], [-0.1, 0.3]])
    th = torch.tensor([[0.01, 0.15, 0.29], [0.2, 0.0001, -0.05]])
    assert torch.allclose(to_bounded(to_unbounded(th, box, support), box, support), th,
                          atol=1e-6)
    far = to_bounded(torch.tensor([[-40.0, 40.0, 0.0]]), box, support)
    assert torch.all((far >= box[:, 0]) & (far <= box[:, 1]))
    assert prior_box({"priors": {"beta2": {"kind": "uniform", "low": 0.0, "high": 0.3},
                                 "beta3": {"kind": "uniform", "low": -0.2, "high": 0.3},
                                 "delta_rnp": {"kind": "normal", "low": -0.1, "high": 0.3}}}
                     ).tolist() == [[0.0, 0.3], [0.0, 0.3], [-0.1, 0.3]]
    with pytest.raises(ParameterError, match="uniform or normal"):
        prior_box({"priors": {"beta2": {"kind": "binary"}}})


def test_probit_support_makes_the_uniform_prior_the_flows_base() -> None:
    """theta uniform in its box -> u = Phi^-1 of its position is standard normal: its
    quantiles are the normal's (to the sampling error of 10^5 draws, sd < 0.01 at these
    levels), the box's last per cent lies beyond |u| = 2.33; the logit's is logistic
    (sd pi / sqrt 3 = 1.81), whose tails a normal base lacks."""
    from scipy.stats import norm

    box = torch.tensor([[0.0, 0.3]], dtype=torch.float64)
    th = torch.from_numpy(np.random.default_rng(0).uniform(0.0, 0.3, (100_000, 1)))
    levels = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    u = to_unbounded(th, box, "probit").numpy()[:, 0]
    assert np.allclose(np.quantile(u, levels), norm.ppf(levels), atol=0.04)
    assert abs(u.std() - 1.0) < 0.01
    assert abs(to_unbounded(th, box, "logit").numpy().std() - math.pi / math.sqrt(3)) < 0.02
    with pytest.raises(ParameterError, match="support"):
        to_unbounded(th, box, "tanh")


def test_a_posterior_fitted_before_the_support_choice_reads_as_logit(
        run: dict[str, Path], tmp_path: Path) -> None:
    """Posteriors stored without ``support`` were fitted on the logit; they load so, and
    their samples map back through it."""
    import shutil

    from upclens.learn.posterior import POSTERIOR_FILE, load_posterior

    copy = tmp_path / "old"
    shutil.copytree(run["run"], copy)
    obj = torch.load(copy / POSTERIOR_FILE, weights_only=False)
    assert obj["meta"]["settings"]["support"] == "probit"
    del obj["meta"]["settings"]["support"]
    torch.save(obj, copy / POSTERIOR_FILE)
    assert load_posterior(copy)[1]["settings"]["support"] == "logit"
    from upclens.learn.eventset import load_sets

    feats = load_sets(run["test"], N).feats[:3]
    old, new = (sample_posterior(r, feats, 200, 5) for r in (copy, run["run"]))
    assert np.all((old >= 0.0) & (old <= 0.3))
    assert not np.allclose(old, new)


def test_an_ensemble_of_flows_is_their_equal_mixture() -> None:
    """Two flows as an ensemble: its density is the mean of theirs at every point, its
    samples come half from each (two stand-ins 100 sd apart, so each sample's origin
    shows), and a bare flow's state (an older posterior) loads as an ensemble of one."""
    from upclens.learn.posterior import FlowEnsemble, _flow

    torch.manual_seed(0)
    settings = FlowSettings(transforms=1, hidden=8)
    a, b = _flow(settings), _flow(settings)
    c = torch.randn(5, 7)
    u = torch.randn(5, 3)
    ens = FlowEnsemble([a, b])
    mean = 0.5 * (a(c).log_prob(u).exp() + b(c).log_prob(u).exp())
    assert torch.allclose(ens.log_prob(c, u).exp(), mean, rtol=1e-5)
    with torch.no_grad():
        shifted = FlowEnsemble([_Unit(0.0), _Unit(100.0)]).sample(c, 1001)
    assert shifted.shape == (1001, 5, 3)
    assert (shifted[:, :, 0] > 50.0).sum(dim=0).tolist() == [500] * 5
    assert (shifted[:500, 0, 0] > 50.0).any()
    assert (shifted[:500, 0, 0] < 50.0).any()
    one = FlowEnsemble([_flow(settings)])
    one.load_state_dict({f"flows.0.{k}": v for k, v in a.state_dict().items()})
    assert torch.allclose(one.log_prob(c, u), a(c).log_prob(u))


class _Unit(torch.nn.Module):
    """A stand-in flow: N(shift, 1) in 3 dimensions whatever the context (so that the
    mixture's parts can be told apart)."""

    def __init__(self, shift: float) -> None:
        super().__init__()
        self.shift = shift

    def forward(self, c: torch.Tensor) -> torch.distributions.Distribution:
        loc = torch.full((c.shape[0], 3), self.shift)
        return torch.distributions.Independent(torch.distributions.Normal(loc, 1.0), 1)


def test_posterior_is_calibrated_on_unseen_sets(run: dict[str, Path]) -> None:
    """SBC interval coverage and TARP at 50 / 68 / 95 % on 300 test sets neither the network
    nor the flow saw.  Twelve coverages are checked at once: a calibrated posterior has all
    twelve within 2 binomial sd in only ~55 % of seeds, within 3 sd in ~97 %; 3 sd here (the
    over-confident twin of test_coverage fails by more than 5 sd)."""
    rep = check_posterior(run["run"], run["test"], n_samples=400, n_sd=3.0)
    assert rep["passed"], rep
    assert json.loads((run["run"] / "coverage.json").read_text())["passed"]


def test_posterior_carries_its_cross_fitted_inflation(run: dict[str, Path]) -> None:
    """The factor was measured on five held-out fifths of the sets (every set once, up to 10
    windows each) and brought their coverage nearer the levels; the samples are widened by it
    about their median."""
    from upclens.learn.coverage import LEVELS
    from upclens.learn.posterior import load_posterior

    _, meta = load_posterior(run["run"])
    cal = meta["calibration"]
    assert meta["folds"] == cal["folds"] == 5
    assert len(meta["inflation"]) == 3
    assert all(0.5 <= f <= 3.0 for f in meta["inflation"])
    assert cal["n_held_out"] == meta["n_sets"] * min(meta["windows"], 10)
    for name in cal["coverage_after"]:
        miss = [np.sum((np.array(cal[k][name]) - LEVELS) ** 2 / (np.array(LEVELS) *
                                                                 (1 - np.array(LEVELS))))
                for k in ("coverage_before", "coverage_after")]
        assert miss[1] <= miss[0]


def test_posterior_carries_its_quantile_map_and_refits_bit_for_bit(run: dict[str, Path],
                                                                    tmp_path: Path) -> None:
    """The quantile map is stored beside the factor (monotone, 0 to 1), brings the held-out
    ranks to their levels within the discreteness of 200 samples, and moves the samples within
    their range only; a fit with the same sets, settings and seed is the same flow bit for bit
    (results reproducible from a seed)."""
    import shutil

    import torch

    from upclens.learn.coverage import LEVELS
    from upclens.learn.eventset import load_sets
    from upclens.learn.posterior import POSTERIOR_FILE, load_posterior

    _, meta = load_posterior(run["run"])
    qmap = np.asarray(meta["quantile_map"])
    assert qmap.shape == (3, len(meta["quantile_knots"]))
    assert np.all(np.diff(qmap, axis=1) > 0)
    assert np.allclose(qmap[:, [0, -1]], [0.0, 1.0])
    for name, cov in meta["calibration"]["coverage_after_quantile"].items():
        assert np.allclose(cov, LEVELS, atol=0.02), (name, cov)
    data = load_sets(run["test"], N)
    s_map = sample_posterior(run["run"], data.feats[:5], 400, 3, method="quantile")
    s_inf = sample_posterior(run["run"], data.feats[:5], 400, 3, method="inflation")
    assert np.all(s_map.min(axis=1) >= s_inf.min(axis=1) - 1e-9)
    assert np.all(s_map.max(axis=1) <= s_inf.max(axis=1) + 1e-9)
    settings = FlowSettings(epochs=4, hidden=8, transforms=1, folds=2, calibration="quantile")
    states = []
    for k in range(2):
        copy = tmp_path / f"run{k}"
        shutil.copytree(run["run"], copy)
        (copy / POSTERIOR_FILE).unlink()
        fit_posterior(copy, run["val"], settings, sets=slice(0, 40))
        states.append(torch.load(copy / POSTERIOR_FILE, weights_only=False))
    assert all(torch.equal(states[0]["state_dict"][k], states[1]["state_dict"][k])
               for k in states[0]["state_dict"])
    assert states[0]["meta"]["quantile_map"] == states[1]["meta"]["quantile_map"]


def test_the_flows_may_learn_from_several_files(run: dict[str, Path], tmp_path: Path) -> None:
    """Files of the model's configuration are concatenated in order; a file whose sets hold
    another number of events is refused in one line."""
    from upclens.learn.eventset import load_set_model, load_sets
    from upclens.learn.posterior import _load_all

    config = load_set_model(run["run"])[1]["dataset_config"]
    both = _load_all([run["val"], run["test"]], config, None)
    val, test = load_sets(run["val"]), load_sets(run["test"])
    assert len(both) == len(val) + len(test)
    assert np.array_equal(both.targets[len(val):], test.targets)
    other = synthetic_sets(tmp_path / "short.h5", 4, N // 2, 5)
    with pytest.raises(ParameterError, match="sets"):
        _load_all([run["val"], other], config, None)


def test_posterior_narrows_where_there_is_information(run: dict[str, Path]) -> None:
    """Delta r_np (the pT scale) is measured: its posterior sd is well below the prior's 0.087;
    beta3 has no handle in these sets: its posterior stays near the uniform prior."""
    from upclens.learn.eventset import load_sets

    test = load_sets(run["test"], N)
    s = sample_posterior(run["run"], test.feats[:40], 400)
    assert s.shape == (40, 400, 3)
    assert np.all((s >= 0.0) & (s <= 0.3))
    sd = s.std(axis=1).mean(axis=0)
    prior_sd = 0.3 / math.sqrt(12)
    assert sd[2] < 0.5 * prior_sd
    assert sd[1] > 0.8 * prior_sd
    path = corner_plot(s[0], run["run"] / "corner.png", truth=test.targets[0])
    assert path.stat().st_size > 0


# -- upclens infer ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def table() -> dict[str, np.ndarray]:
    """N events of the sets' default physics (Zr96, |y| < 1), classes drawn per event."""
    from upclens.data.eventgen import EventConfig, event_table
    from upclens.data.eventsets import CLASS_CODES, EventSetConfig, _sampler, class_codes

    cfg = EventSetConfig(n_events=N)
    labels = {"beta2": 0.1, "beta3": 0.1, "delta_rnp": 0.15}
    rng = np.random.default_rng(3)
    ev = EventConfig(nucleus="Zr96", y_min=-1.0, y_max=1.0, formats=("parquet",))
    t = event_table(ev, _sampler(cfg, labels).sample(N, rng), 0, rng, rng)
    codes = class_codes(np.asarray(t["truth_b_fm"]), cfg, rng)
    t["neutron_class"] = np.array([CLASS_CODES[c] for c in codes], dtype=object)
    return t


def _write(table: dict[str, np.ndarray], path: Path, fmt: str) -> Path:
    from upclens.data.eventfiles import write_hepmc3, write_parquet
    from upclens.data.eventgen import EventConfig, manifest

    man = manifest(EventConfig(nucleus="Zr96", y_min=-1.0, y_max=1.0), N, 0)
    cols = [f"d{k}_{c}" for k in (1, 2) for c in ("e", "px", "py", "pz")]
    if fmt == "parquet":
        return write_parquet(path, man, [table])
    if fmt == "hepmc3":
        return write_hepmc3(path, man, [table])
    if fmt == "csv":
        rows = [",".join([*cols, "neutron_class"])]
        rows += [",".join([*(repr(float(table[c][i])) for c in cols), table["neutron_class"][i]])
                 for i in range(N)]
        path.write_text("\n".join(rows) + "\n")
        return path
    uproot = pytest.importorskip("uproot")
    codes = {"0n0n": 0, "0nXn": 1, "XnXn": 2}
    with uproot.recreate(path) as f:  # a TTree (a plain dict would make an RNTuple)
        tree = f.mktree("events", {**dict.fromkeys(cols, np.float64),
                                   "neutron_class": np.int32})
        tree.extend({**{c: np.asarray(table[c], float) for c in cols},
                     "neutron_class": np.array([codes[c] for c in table["neutron_class"]],
                                               dtype=np.int32)})
    return path


@pytest.mark.parametrize("fmt", ["parquet", "hepmc3", "csv", "root"])
def test_infer_reads_every_format_alike(run: dict[str, Path], table: dict[str, np.ndarray],
                                        tmp_path: Path, fmt: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    suffix = {"parquet": ".parquet", "hepmc3": ".hepmc3", "csv": ".csv", "root": ".root"}[fmt]
    path = _write(table, tmp_path / f"ev{suffix}", fmt)
    out = tmp_path / "post"
    assert main(["infer", str(path), "--model", str(run["run"]), "--out", str(out),
                 "--samples", "300", "--seed", "4"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_events"] == N
    assert (out / "corner.png").stat().st_size > 0
    samples = np.load(out / "samples.npz")["samples"]
    assert samples.shape == (300, 3)
    ref = tmp_path / "ref.parquet"
    if fmt != "parquet":  # the same events in Parquet give the same samples
        _write(table, ref, "parquet")
        main(["infer", str(ref), "--model", str(run["run"]), "--out", str(tmp_path / "r"),
              "--samples", "300", "--seed", "4"])
        np.testing.assert_allclose(np.load(tmp_path / "r" / "samples.npz")["samples"],
                                   samples, rtol=1e-4, atol=1e-5)
    printed = capsys.readouterr().out
    assert "68 %" in printed
    # the run's coverage was checked (and passed) by the test above when run together;
    # either way the summary says whether the intervals are known to be calibrated
    cov = run["run"] / "coverage.json"
    calibrated = cov.is_file() and json.loads(cov.read_text())["passed"]
    assert (summary["warnings"] == []) == calibrated


def _refused(args: list[str], capsys: pytest.CaptureFixture[str], text: str) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert text in err, err


def test_infer_refusals(run: dict[str, Path], table: dict[str, np.ndarray], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    m = ["--model", str(run["run"])]
    good = _write(table, tmp_path / "ev.csv", "csv")
    lines = good.read_text().splitlines()
    (tmp_path / "ev.txt").write_text("x")
    _refused(["infer", str(tmp_path / "ev.txt"), *m], capsys, "unknown format")
    (tmp_path / "cols.csv").write_text("\n".join(l.split(",", 1)[1] for l in lines) + "\n")
    _refused(["infer", str(tmp_path / "cols.csv"), *m], capsys, "lacks the columns")
    nan = lines.copy()
    nan[5] = "nan," + nan[5].split(",", 1)[1]
    (tmp_path / "nan.csv").write_text("\n".join(nan) + "\n")
    _refused(["infer", str(tmp_path / "nan.csv"), *m], capsys, "non-finite momenta")
    (tmp_path / "empty.csv").write_text(lines[0] + "\n")
    _refused(["infer", str(tmp_path / "empty.csv"), *m], capsys, "no events")
    (tmp_path / "few.csv").write_text("\n".join(lines[:100]) + "\n")
    _refused(["infer", str(tmp_path / "few.csv"), *m], capsys, "trained on sets of 256")
    anyc = [lines[0]] + [l.rsplit(",", 1)[0] + ",any" for l in lines[1:]]
    (tmp_path / "any.csv").write_text("\n".join(anyc) + "\n")
    _refused(["infer", str(tmp_path / "any.csv"), *m], capsys, "neutron class")
    far = {k: v.copy() for k, v in table.items()}
    for c in ("d1_pz", "d2_pz"):  # boost along z: rapidity outside |y| < 1
        far[c] = table[c] * math.cosh(1.5) + table[c.replace("pz", "e")] * math.sinh(1.5)
    for c in ("d1_e", "d2_e"):
        far[c] = table[c] * math.cosh(1.5) + table[c.replace("_e", "_pz")] * math.sinh(1.5)
    _refused(["infer", str(_write(far, tmp_path / "far.csv", "csv")), *m], capsys,
             "rapidities")
    wide = {k: v.copy() for k, v in table.items()}
    wide["d1_px"] = table["d1_px"] + 0.5
    _refused(["infer", str(_write(wide, tmp_path / "wide.csv", "csv")), *m], capsys,
             "pT above")
    # a model from another configuration: the manifest names another nucleus
    from upclens.data.eventfiles import write_parquet
    from upclens.data.eventgen import EventConfig, manifest

    au = write_parquet(tmp_path / "au.parquet",
                       manifest(EventConfig(nucleus="Au197", y_min=-1.0, y_max=1.0), N, 0),
                       [table])
    _refused(["infer", str(au), *m], capsys, "nucleus = Au197")
    # an image model, and a model without its posterior
    _refused(["infer", str(good), "--model", str(tmp_path)], capsys, "model")
    from upclens.learn.posterior import load_posterior

    with pytest.raises(ParameterError, match="posterior"):
        load_posterior(tmp_path)
