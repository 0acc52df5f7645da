"""Killed runs: SIGKILL in the middle, then the same command again, gives the same file as an
uninterrupted run; a partial run with other settings is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from upclens.data import generate_dataset, load_config, read_dataset
from upclens.data.config import ConfigMismatchError

ARGS = ["--pixels", "16", "--orientations", "2", "--chunk-size", "2", "--seed", "21"]
N = 24  # 12 chunks


def _command(out, *extra):
    return [sys.executable, "-m", "upclens.cli", "generate", "--n", str(N), "--out", str(out),
            "--scheduler", "processes", "--workers", "1", "--no-progress", *ARGS, *extra]


def _wait_for_chunks(folder, count, proc, timeout=120.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if folder.is_dir() and len(list(folder.glob("chunk-*.npz"))) >= count:
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be killed: {proc.stderr.read()}")
        time.sleep(0.01)
    pytest.fail("no chunks appeared")


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    out = tmp_path / "killed.h5"
    parts = tmp_path / "killed.h5.parts"
    proc = subprocess.Popen(_command(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        _wait_for_chunks(parts, 3, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    n_before = len(list(parts.glob("chunk-*.npz")))
    assert 3 <= n_before < N // 2, "the kill must land in the middle of the run"
    # A stale temporary file (a chunk being written at the kill) must be ignored.
    (parts / ".chunk-00000011.npz.tmp").write_bytes(b"half a chunk")
    res = subprocess.run(_command(out), capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    assert not parts.exists()
    cfg = load_config(overrides={"image.pixels": 16, "image.orientations": 2,
                                 "run.chunk_size": 2})
    ref = generate_dataset(cfg, N, 21, tmp_path / "whole.h5", workers=1, progress=False)
    a_img, a_lab, _ = read_dataset(out)
    b_img, b_lab, _ = read_dataset(ref)
    assert a_img.tobytes() == b_img.tobytes()
    for col in a_lab:
        assert a_lab[col].tobytes() == b_lab[col].tobytes()
    with h5py.File(out, "r") as fa, h5py.File(ref, "r") as fb:
        assert np.array_equal(fa["chunk_sha256"][()], fb["chunk_sha256"][()])
        assert np.all(fa["chunk_done"][()] == 1)


def test_partial_run_with_other_settings_is_refused(tiny_cfg, tmp_path):
    out = tmp_path / "p.h5"
    parts = tmp_path / "p.h5.parts"
    # Leave a partial run behind: the staging folder with chunk 0 of an 8-item run.
    from upclens.data.generate import _manifest
    from upclens.data.staging import Staging

    generate_dataset(tiny_cfg, 4, 5, tmp_path / "full.h5", workers=1, progress=False)
    partial = Staging(out, _manifest(tiny_cfg, 8, 5))
    partial.open()
    images, labels, _ = read_dataset(tmp_path / "full.h5")
    partial.write(0, images, np.stack(list(labels.values()), axis=1))
    with pytest.raises(ConfigMismatchError, match=r"p\.h5\.parts holds a partial run"):
        generate_dataset(tiny_cfg, 8, 6, out, workers=1, progress=False)
    # The same settings resume: chunk 0 comes from the folder, chunk 1 is computed.
    generate_dataset(tiny_cfg, 8, 5, out, workers=1, progress=False)
    assert not parts.exists()
    first, _, _ = read_dataset(out, indices=range(4))
    assert first.tobytes() == images.tobytes()
