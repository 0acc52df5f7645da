"""The main job end to end on a tiny study: every stage runs, the report renders in a browser,
finished stages are skipped, and a run killed during training resumes to the same result."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from browser import browser_skip_reason, check_page
from upclens.pipeline import RunPlan, run_study
from upclens.stages import Stage, completed, run_stages

TINY_CONFIG = """
schema_version = 1
[physics]
nucleus = "Zr96"
[image]
pixels = 16
pmax = 0.2
orientations = 8
[run]
chunk_size = 16
workers = 1
"""
TINY_TRAINING = {"width": 4, "blocks": (1,), "head": 16, "epochs": 3, "batch_size": 16,
                 "patience": 3}


def tiny_plan(epochs: int = 3, ladder: str | None = None) -> RunPlan:
    return RunPlan("tiny", n_images=96, training={**TINY_TRAINING, "epochs": epochs,
                                                   "patience": epochs},
                   explain_images=1, n_events=(1e3, 1e5), ladder=ladder, decay_events=20_000)


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    config = folder / "tiny.toml"
    config.write_text(TINY_CONFIG)
    out = folder / "out"
    metrics = run_study(out, config, plan=tiny_plan(ladder="tiny"), progress=False)
    return out, config, metrics


def test_stage_runner_skips_finished_stages_and_redoes_missing_files(tmp_path):
    calls: list[str] = []

    def make(name: str):
        def run(_):
            calls.append(name)
            (tmp_path / f"{name}.txt").write_text(name)
            return {"files": [f"{name}.txt"]}
        return run

    stages = [Stage("a", make("a")), Stage("b", make("b"))]
    run_stages(tmp_path, stages, progress=False)
    assert calls == ["a", "b"]
    res = run_stages(tmp_path, stages, progress=False)
    assert calls == ["a", "b"]
    assert res["a"]["skipped"] and res["b"]["skipped"]  # noqa: PT018
    (tmp_path / "b.txt").unlink()
    assert completed(tmp_path, "b") is None
    run_stages(tmp_path, stages, progress=False)
    assert calls == ["a", "b", "b"]


def test_typed_stage_results_round_trip_and_a_missing_field_fails(tmp_path):
    from upclens.pipeline.results import Headline, InformationResult, SmallestN
    from upclens.stages import StageResult

    row = SmallestN(condition="fixed b direction", n_known=6900.0, n_priors=19600.0,
                    sigma_known=0.04, sigma_priors=0.07, sigma_priors_large=0.03)
    result = InformationResult(files=["a.png"], point={"beta2": 0.1}, settings={}, table=[],
                               network_rmse={}, notes=[], headline=Headline(
                                   markdown="", rows=[row], target=0.05, nuisances={"R": 0.02}))
    plain = json.loads(json.dumps(result.to_dict()))
    assert InformationResult.from_dict(plain) == result
    del plain["headline"]["rows"][0]["n_priors"]
    with pytest.raises(TypeError, match="n_priors"):
        InformationResult.from_dict(plain)

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Made(StageResult):
        value: float

    calls = []

    def run(_):
        calls.append(1)
        (tmp_path / "made.txt").write_text("x")
        return Made(files=["made.txt"], value=2.5)

    stage = Stage("made", run, result=Made)
    first = run_stages(tmp_path, [stage], progress=False)["made"]
    assert (first.value, first.skipped) == (2.5, False)
    again = run_stages(tmp_path, [stage], progress=False)["made"]
    assert (again.value, again.skipped, len(calls)) == (2.5, True, 1)
    # a marker without a field the result needs (an older layout) is run again
    marker = tmp_path / "stages" / "made.json"
    marker.write_text(json.dumps({"files": ["made.txt"], "seconds": 1.0}))
    assert completed(tmp_path, "made", Made) is None
    run_stages(tmp_path, [stage], progress=False)
    assert len(calls) == 2
    with pytest.raises(TypeError, match="returned dict"):
        run_stages(tmp_path / "other", [Stage("made", lambda _: {"files": []}, result=Made)],
                   progress=False)


def test_the_report_names_numbers_in_words_and_shows_no_raw_key(tiny_study):
    import re

    from upclens.pipeline.page import headline
    from upclens.pipeline.results import EvaluateResult, InformationResult

    out, _, metrics = tiny_study
    page = (out / "report.html").read_text()
    for key in metrics["headline"]:
        assert key not in page, key
    headers = re.findall(r"<th>(.*?)</th>", page)
    assert headers
    snake = [h for h in headers if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", h)]
    assert snake == []
    assert "N J/psi for sigma(Delta r_np) = 0.05 fm, b fixed, protons known" in page
    assert "RMSE of the network&#x27;s Delta r_np on the test split" in page
    # the words of the page and the keys of metrics.json come from the same list
    stages = metrics["stages"]
    results = {"evaluate": EvaluateResult.from_dict(stages["evaluate"]),
               "information": InformationResult.from_dict(stages["information"])}
    numbers = headline(results)
    assert all(n.unit for n in numbers)
    assert {n.key: n.value for n in numbers}.items() <= metrics["headline"].items()


def test_tiny_study_writes_every_part(tiny_study):
    out, _, metrics = tiny_study
    for name in ("report.html", "metrics.json", "config.toml", "evaluate/metrics.json",
                 "information/crb_versus_n.png", "information/headline.png",
                 "information/headline.json", "explain/explain.json",
                 "ratios/ratio_maps.png", "physics/alice_tspectrum.png", "ladder/ladder.png",
                 "events/cos_n_delta_phi.png", "events/spectra_by_neutron_class.png",
                 "comparison/comparison.md", "comparison/comparison.json"):
        assert (out / name).exists(), name
    heads = metrics["headline"]
    for key in ("r2_beta2", "r2_beta3", "skin_accuracy", "alice_pb208_chi2_per_ndf"):
        assert key in heads
    # the skin headline: priors can only raise the number of J/psi needed
    known = heads["n_jpsi_delta_rnp_0.05fm_fixed_b_direction_protons_known"]
    assert 0 < known < heads["n_jpsi_delta_rnp_0.05fm_fixed_b_direction_nuisance_priors"]
    assert "smallest number of J/psi" in (out / "report.html").read_text()
    assert set(metrics["timing_s"]) == {"generate", "train", "evaluate", "information",
                                        "explain", "observables", "physics_checks", "events",
                                        "comparison", "ladder"}
    assert json.loads((out / "metrics.json").read_text())["headline"] == heads


def test_events_stage_shows_the_j_psi_sign_and_the_neutron_classes(tiny_study):
    """J/psi -> e+e- below 40 MeV: <cos 2 Delta phi> negative (the lepton tensor against a
    meson polarised along its pT), by more than 3 standard deviations with 20,000 events; the
    neutron classes of Zr at RHIC ordered 0n0n > 0nXn > XnXn (m(b) < 1 at the b of UPC
    J/psi); the report names the numbers in words."""
    import numpy as np

    from upclens.pipeline.results import EventsResult

    out, _, metrics = tiny_study
    ev = EventsResult.from_dict(metrics["stages"]["events"])
    assert [s.selection for s in ev.selections] == ["detector-free",
                                                    "STAR acceptance and resolution"]
    free, star = ev.selections
    assert free.n_events == ev.n_generated == 20_000
    assert 0 < star.n_events < free.n_events
    for sel in ev.selections:
        value = np.array(sel.cos2.value[:2])
        error = np.array(sel.cos2.error[:2])
        assert np.sum(value / error**2) / np.sqrt(np.sum(1 / error**2)) < -3.0
        shares = sel.class_fractions
        assert abs(sum(shares.values()) - 1) < 1e-12
        assert shares["0n0n"] > shares["0nXn"] > shares["XnXn"] > 0
        assert set(sel.spectra) == {"any", "0n0n", "0nXn", "XnXn"}
    page = (out / "report.html").read_text()
    assert "Events a detector records" in page
    assert "&lt;cos 4 Delta phi&gt;, STAR acceptance and resolution" in page


def test_comparison_stage_shows_the_table_of_upclens_compare(tiny_study):
    """The report carries every row of the published comparison, as comparison.md has it."""
    from upclens.pipeline.results import ComparisonResult
    from upclens.published.table import ComparisonRow, ComparisonTable

    out, _, metrics = tiny_study
    comp = ComparisonResult.from_dict(metrics["stages"]["comparison"])
    assert len(comp.rows) >= 10
    assert comp.cpu_seconds > 0
    rows = [ComparisonRow(**{k: (float("nan") if v is None else v)
                             for k, v in dataclasses.asdict(r).items()}) for r in comp.rows]
    assert ComparisonTable(rows=tuple(rows)).markdown() == (
        out / "comparison" / "comparison.md").read_text()
    page = (out / "report.html").read_text()
    assert "The model against published numbers" in page
    assert "rho0 strong-interaction radius of Au" in page
    assert "STAR, PRC 77 (2008) 034910" in page


def test_written_config_is_accepted_by_generate(tiny_study):
    from upclens.data import load_config

    out, config, _ = tiny_study
    assert load_config(out / "config.toml") == load_config(config)


def test_second_call_skips_everything_and_other_config_is_refused(tiny_study, tmp_path):
    from upclens.errors import ParameterError

    out, config, _ = tiny_study
    t0 = time.perf_counter()
    metrics = run_study(out, config, plan=tiny_plan(ladder="tiny"), progress=False)
    assert time.perf_counter() - t0 < 30
    assert all(s["skipped"] for s in metrics["stages"].values())
    other = tmp_path / "other.toml"
    other.write_text(TINY_CONFIG.replace("orientations = 8", "orientations = 4"))
    with pytest.raises(ParameterError, match=r"different config\.toml"):
        run_study(out, other, plan=tiny_plan(), progress=False)


@pytest.mark.parametrize(("kwargs", "name"), [({"n_images": 5}, "n_images"),
                                              ({"seed": -1}, "seed"),
                                              ({"preset": "huge"}, "preset")])
def test_bad_plans_are_refused_before_the_folder_is_claimed(tmp_path, kwargs, name):
    from upclens.errors import ParameterError

    with pytest.raises(ParameterError, match=name):
        run_study(tmp_path / "out", progress=False, **kwargs)
    assert not (tmp_path / "out").exists()


def test_report_renders_in_chromium(tiny_study):
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    out, _, _ = tiny_study
    seen = check_page(out / "report.html", out / "report_screenshot.png")
    assert seen.console_errors == []
    assert seen.page_errors == []
    assert seen.n_images >= 8
    assert seen.broken_images == []


_DRIVER = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from pipeline.test_pipeline import tiny_plan
from upclens.pipeline import run_study
run_study(Path({out!r}), {config!r}, plan=tiny_plan(epochs=6), progress=False)
"""


@pytest.mark.slow
def test_study_killed_during_training_resumes_to_the_same_metrics(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_CONFIG)
    tests = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def driver(out: Path) -> list[str]:
        return [sys.executable, "-c", _DRIVER.format(tests=tests, out=str(out),
                                                       config=str(config))]

    def finish(out: Path) -> None:
        res = subprocess.run(driver(out), env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-2000:]

    ref = tmp_path / "ref"
    finish(ref)
    out = tmp_path / "killed"
    proc = subprocess.Popen(driver(out), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    checkpoint = out / "model" / "checkpoint.pt"
    deadline = time.time() + 300
    while not checkpoint.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before its first checkpoint"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "stages" / "train.json").exists()
    generated = (out / "stages" / "generate.json").stat().st_mtime_ns
    finish(out)
    assert (out / "stages" / "generate.json").stat().st_mtime_ns == generated
    assert not [str(p) for p in out.rglob(".*")], "hidden temporaries were left behind"
    a = json.loads((ref / "evaluate" / "metrics.json").read_text())
    b = json.loads((out / "evaluate" / "metrics.json").read_text())
    for key in ("targets", "skin"):
        assert a[key] == b[key]


def test_a_study_at_y_1_records_y_1_in_its_information_settings(tmp_path, monkeypatch):
    """The information stage of a study reads the study's own config, rapidity included: the
    bound, the headline and the recorded settings are all at y = 1 (the bound computations are
    replaced by spies that record the settings they are given)."""
    import numpy as np

    import upclens.information as information_module
    import upclens.information.headline as headline_module
    from upclens.data import load_config
    from upclens.pipeline.results import EvaluateResult, InformationResult
    from upclens.pipeline.steps import Study, information

    given = []

    def crb_versus_n(point, settings, n_events, nuisances=None):
        given.append(settings)
        sigma = {k: np.full(len(n_events), 0.1) for k in point}
        return {"n_events": np.asarray(n_events), "sigma_crb": sigma, "notes": []}

    def write_headline(folder, point, base):
        given.append(base)
        return {"markdown": "", "rows": [], "target": 0.05, "nuisances": {}}

    monkeypatch.setattr(information_module, "crb_versus_n", crb_versus_n)
    monkeypatch.setattr(information_module, "plot_crb_versus_n", lambda *a, **k: None)
    monkeypatch.setattr(headline_module, "write_headline", write_headline)
    cfg = load_config(None, {"physics.rapidity": 1.0, "image.pixels": 8})
    study = Study(tmp_path, cfg, RunPlan("y1", n_images=96, n_events=(1e4,)), progress=False)
    scores = {"r2": 0.5, "rmse": 0.05, "mae": 0.04, "coverage_68": 0.7,
              "coverage_68_spread": 0.05, "coverage_95": 0.95}
    evaluated = EvaluateResult(metrics={"targets": dict.fromkeys(("beta2", "beta3", "delta_rnp"),
                                                                 scores)})
    result = information(study, {"evaluate": evaluated})
    assert isinstance(result, InformationResult)
    assert result.settings["collision"]["rapidity"] == 1.0
    assert result.settings["grid"]["pixels"] == 8
    assert [s.collision.rapidity for s in given] == [1.0, 1.0, 1.0]
    assert result.network_rmse == {"beta2": 0.05, "beta3": 0.05, "delta_rnp": 0.05}
