"""Training on the tractable twin: it learns, resumes to the same weights, stops early."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from upclens.errors import ParameterError
from upclens.learn import TrainSettings, evaluate, load_model, train
from upclens.learn.metrics import coverage_spread

TINY = TrainSettings(width=4, blocks=(1, 1), head=16, epochs=4, batch_size=32, lr=1e-2,
                     patience=50, seed=5)


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoint.pt", weights_only=True)["model"]


def test_learns_the_twin(twin_files: dict[str, Path], tmp_path: Path) -> None:
    """15 epochs on 256 twin images: R^2 > 0.5 for the betas and > 90 % skin accuracy (a
    network that ignores its input scores R^2 = 0 and 50 %; measured 0.74 / 0.78 / 0.84)."""
    settings = TrainSettings(**{**TINY.to_dict(), "epochs": 15, "blocks": (1, 1)})
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    run = train(twin_files["train"], twin_files["val"], tmp_path / "run", settings=settings,
                progress=False)
    # training seeds torch itself; the caller's global random stream continues untouched
    assert torch.equal(torch.get_rng_state(), before)
    history = json.loads((run / "history.json").read_text())
    assert len(history["history"]) == 15
    assert history["history"][-1]["val_loss"] < history["history"][0]["val_loss"] - 0.5
    m = evaluate(run, twin_files["test"], tmp_path / "eval", figures=False)
    assert m["targets"]["beta2"]["r2"] > 0.5
    assert m["targets"]["beta3"]["r2"] > 0.5
    assert m["skin"]["accuracy"] > 0.7
    # The test coverage scatters by the calibration on the validation set and the test count.
    assert m["targets"]["beta2"]["coverage_68_spread"] == pytest.approx(
        coverage_spread(0.6827, m["n"], 64))
    # Recalibrated sigmas: +-1 sigma covers 68.27 % of the validation set (64 images; the
    # quantile interpolates between neighbouring cases, hence 1.5 cases of slack).
    v = evaluate(run, twin_files["val"], tmp_path / "eval_val", figures=False)
    for name in ("beta2", "beta3", "delta_rnp"):
        assert abs(v["targets"][name]["coverage_68"] - 0.6827) <= 1.5 / 64
    _model, meta = load_model(run)
    assert len(meta["sigma_scale"]) == 3
    assert meta["shape"] == [16, 16]
    assert meta["settings"]["width"] == 4
    assert json.loads(meta["dataset_config"])["kind"] == "tractable twin"


def test_resume_gives_the_same_weights(twin_files: dict[str, Path], tmp_path: Path) -> None:
    """Two epochs, leave, resume for two more == four epochs in one go, bit for bit."""
    whole = train(twin_files["train"], twin_files["val"], tmp_path / "whole", settings=TINY,
                  progress=False)
    part = train(twin_files["train"], twin_files["val"], tmp_path / "part", settings=TINY,
                 progress=False, stop_after=2)
    assert json.loads((part / "history.json").read_text())["epoch"] == 2
    # A kill between epochs leaves only complete files: copy the folder as it stands.
    shutil.copytree(part, tmp_path / "killed")
    train(twin_files["train"], twin_files["val"], tmp_path / "killed", settings=TINY,
          resume=True, progress=False)
    a, b = _weights(whole), _weights(tmp_path / "killed")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    ha = json.loads((whole / "history.json").read_text())["history"]
    hb = json.loads((tmp_path / "killed" / "history.json").read_text())["history"]
    assert [r["val_loss"] for r in ha] == [r["val_loss"] for r in hb]
    assert not list((tmp_path / "killed").glob(".*"))  # no temporary files left behind


def test_existing_run_needs_resume(twin_files: dict[str, Path], tmp_path: Path) -> None:
    settings = TrainSettings(**{**TINY.to_dict(), "epochs": 1})
    train(twin_files["train"], twin_files["val"], tmp_path / "run", settings=settings,
          progress=False)
    with pytest.raises(ParameterError, match="pass --resume"):
        train(twin_files["train"], twin_files["val"], tmp_path / "run", settings=settings,
              progress=False)


def test_early_stopping(twin_files: dict[str, Path], tmp_path: Path) -> None:
    """A learning rate too small to move the weights: no improvement, stop after patience,
    but not in the first half of the epochs."""
    settings = TrainSettings(**{**TINY.to_dict(), "epochs": 30, "patience": 2, "lr": 1e-9,
                                "schedule": "constant", "augment": "none"})
    run = train(twin_files["train"], twin_files["val"], tmp_path / "run", settings=settings,
                progress=False)
    history = json.loads((run / "history.json").read_text())
    assert not torch.are_deterministic_algorithms_enabled()  # global state restored
    assert history["bad"] >= 2
    assert history["epoch"] == max(15, history["best_epoch"] + 2)


@pytest.mark.slow
def test_sigkill_then_resume(twin_files: dict[str, Path], tmp_path: Path) -> None:
    """A training process killed with SIGKILL mid-run, then resumed with the same command, ends
    with the weights of an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    settings = TrainSettings(**{**TINY.to_dict(), "epochs": 40})
    run = tmp_path / "killed"
    cmd = [sys.executable, "-m", "upclens.cli", "train", "--data", str(twin_files["train"]),
           "--val", str(twin_files["val"]), "--out", str(run), "--no-progress", "--width", "4",
           "--blocks", "1,1", "--head", "16", "--epochs", "40", "--batch-size", "32", "--lr",
           "0.01", "--patience", "50", "--seed", "5"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (run / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = torch.load(run / "checkpoint.pt", weights_only=True)["run"]["epoch"]
    assert 1 <= done < 40
    subprocess.run([*cmd, "--resume"], env=env, check=True, capture_output=True)
    whole = train(twin_files["train"], twin_files["val"], tmp_path / "whole", settings=settings,
                  progress=False)
    a, b = _weights(whole), _weights(run)
    for key in a:
        assert torch.equal(a[key], b[key]), key
