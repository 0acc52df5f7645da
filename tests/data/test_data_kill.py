"""SIGKILL of ``generate`` alone (not its process group): its workers end with it, and the same
command again finishes to the same images and labels as an uninterrupted run, leaving no hidden
file behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from upclens.data import generate_dataset, load_config, read_dataset

ARGS = ["--pixels", "16", "--orientations", "2", "--chunk-size", "2", "--seed", "21",
        "--no-progress", "--workers", "2"]
N = 24  # 12 chunks


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _kill_and_resume(tmp_path: Path, scheduler: str) -> None:
    out = tmp_path / "killed.h5"
    parts = tmp_path / "killed.h5.parts"
    cmd = [sys.executable, "-m", "upclens.cli", "generate", "--n", str(N), "--out", str(out),
           "--scheduler", scheduler, *ARGS]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        t0 = time.monotonic()
        while len(list(parts.glob("chunk-*.npz"))) < 2:
            if proc.poll() is not None or time.monotonic() - t0 > 180:
                pytest.fail(f"the run ended or stalled before the kill: {proc.stderr.read()}")
            time.sleep(0.01)
        workers = _children(proc.pid)
        assert workers, "the run has worker processes"
        proc.send_signal(signal.SIGKILL)  # the parent only: its workers must follow by themselves
        proc.communicate(timeout=30)
        t0 = time.monotonic()
        while any(_alive(w) for w in workers) and time.monotonic() - t0 < 30:
            time.sleep(0.05)
        left = [w for w in workers if _alive(w)]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left, so that the test cleans up
    assert left == [], f"worker processes {left} outlived the killed run"
    assert not out.exists()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr
    cfg = load_config(overrides={"image.pixels": 16, "image.orientations": 2,
                                 "run.chunk_size": 2})
    ref = generate_dataset(cfg, N, 21, tmp_path / "whole.h5", workers=1, progress=False)
    (im_a, lab_a, _), (im_b, lab_b, _) = read_dataset(out), read_dataset(ref)
    assert im_a.tobytes() == im_b.tobytes()
    assert all(lab_a[k].tobytes() == lab_b[k].tobytes() for k in lab_b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed.h5", "whole.h5"]


_PARENT = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
import multiprocessing
from upclens.data.lifetime import die_with_parent
if __name__ == "__main__":
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"),
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(time.sleep, 600) for _ in range(2)]
        print("started", flush=True)
        time.sleep(600)
"""


def test_workers_end_with_a_killed_parent(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(_PARENT)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        t0 = time.monotonic()
        while len(_children(proc.pid)) < 2 and time.monotonic() - t0 < 60:
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert workers
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        t0 = time.monotonic()
        while any(_alive(w) for w in workers) and time.monotonic() - t0 < 20:
            time.sleep(0.05)
        left = [w for w in workers if _alive(w)]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
    assert left == []


@pytest.mark.slow
def test_sigkill_of_generate_ends_its_worker_processes(tmp_path: Path) -> None:
    _kill_and_resume(tmp_path, "processes")


@pytest.mark.slow
def test_sigkill_of_generate_ends_its_dask_workers(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    _kill_and_resume(tmp_path, "dask")
