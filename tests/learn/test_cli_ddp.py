"""The learning commands as subprocesses, and data-parallel training with 2 gloo processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TINY = ["--width", "4", "--blocks", "1,1", "--head", "8", "--batch-size", "32", "--lr", "0.01",
        "--no-progress"]


def _run(*args: str, module: str = "upclens.cli", launcher: list[str] | None = None,
         ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "error"}
    cmd = [sys.executable, *(launcher or []), "-m", module, *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)


def test_train_evaluate_predict_commands(twin_files: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    r = _run("train", "--data", str(twin_files["train"]), "--val", str(twin_files["val"]),
             "--out", str(run), "--epochs", "2", *TINY)
    assert r.returncode == 0, r.stderr
    assert (run / "model.pt").is_file()
    r = _run("evaluate", "--model", str(run), "--data", str(twin_files["test"]), "--out",
             str(tmp_path / "eval"), "--no-figures")
    assert r.returncode == 0, r.stderr
    assert "beta2: R2" in r.stdout
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["n"] == 128
    np.savez(tmp_path / "img.npz", intensity=np.ones((16, 16)))
    r = _run("predict", "--model", str(run), str(tmp_path / "img.npz"), "--json")
    assert r.returncode == 0, r.stderr
    assert set(json.loads(r.stdout)) >= {"beta2", "beta2_sigma", "p_skin"}


def test_bad_input_is_one_line(twin_files: dict[str, Path], tmp_path: Path) -> None:
    r = _run("train", "--data", str(tmp_path / "missing.h5"), "--val",
             str(twin_files["val"]), "--out", str(tmp_path / "run"), *TINY)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "missing.h5" in r.stderr
    r = _run("train", "--data", str(twin_files["train"]), "--val", str(twin_files["val"]),
             "--out", str(tmp_path / "run"), "--lr", "-1", *TINY[:-3])
    assert r.returncode == 2
    assert r.stderr.strip().startswith("upclens: error: lr = -1.0")
    np.savez(tmp_path / "nan.npz", intensity=np.full((16, 16), np.nan))
    r = _run("predict", "--model", str(tmp_path), str(tmp_path / "nan.npz"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1


@pytest.mark.slow
def test_ddp_two_gloo_processes(twin_files: dict[str, Path], tmp_path: Path) -> None:
    """torchrun with 2 CPU processes: one run folder written by rank 0, training that learns,
    and a resume under DDP continuing from the stored epoch."""
    run = tmp_path / "ddp"
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    args = ["train", "--data", str(twin_files["train"]), "--val", str(twin_files["val"]),
            "--out", str(run), "--epochs", "6", "--device", "cpu", *TINY]
    r = _run(*args, "--stop-after", "3", launcher=launcher)
    assert r.returncode == 0, r.stderr[-2000:]
    r = _run(*args, "--resume", launcher=launcher)
    assert r.returncode == 0, r.stderr[-2000:]
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history["history"]] == list(range(1, 7))
    assert history["history"][-1]["val_loss"] < history["history"][0]["val_loss"]
    import torch

    meta = torch.load(run / "model.pt", weights_only=True)["meta"]
    assert meta["world_size"] == 2
    assert meta["n_train"] == 256
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "history.json",
                                                     "model.pt"]


def test_command_line_starts_without_torch() -> None:
    code = ("import sys; import upclens.cli as c; c.build_parser(); "
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


def test_package_attributes_load_their_modules_on_first_use() -> None:
    code = ("import sys; import upclens.learn as L, upclens.data as D; "
            "print('torch' in sys.modules, 'h5py' in sys.modules); "
            "print(L.train.__module__, D.read_dataset.__module__, 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.split("\n")[:2] == ["False False",
                                        "upclens.learn.training upclens.data.store True"]
    import upclens.learn

    with pytest.raises(AttributeError, match=r"'upclens\.learn' has no attribute 'nothing'"):
        upclens.learn.nothing  # noqa: B018
