"""``upclens events``: a killed run resumed by the same command ends with the same files as an
uninterrupted one, files do not depend on the number of workers, bad input leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from upclens.cli import main
from upclens.data.eventfiles import four_momentum, read_parquet
from upclens.data.eventgen import EventConfig, generate_events

pytest.importorskip("pyhepmc")
pytest.importorskip("pyarrow")

# one rapidity (a ~2 s sampler set-up), small chunks so that a kill lands mid-run
PHYS = ["--nucleus", "Zr96", "--rapidity", "0", "--detector", "star", "--seed", "5",
        "--incoherent-fraction", "0.1"]
CFG = EventConfig(nucleus="Zr96", y_min=0.0, y_max=0.0, detector="star",
                  incoherent_fraction=0.1, chunk_size=50)
N = 3000


def _command(out, *extra):
    return [sys.executable, "-m", "upclens.cli", "events", "--n", str(N), "--out", str(out),
            "--chunk-size", "50", "--no-progress", *PHYS, *extra]


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    out = tmp_path / "killed"
    parts = tmp_path / "killed.parts"
    proc = subprocess.Popen(_command(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        t0 = time.monotonic()
        while len(list(parts.glob("chunk-*.npz"))) < 3 if parts.is_dir() else True:
            if proc.poll() is not None:
                pytest.fail(f"the run ended before it could be killed: {proc.stderr.read()}")
            if time.monotonic() - t0 > 120:
                pytest.fail("no chunks appeared")
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    n_before = len(list(parts.glob("chunk-*.npz")))
    assert 3 <= n_before < N // 50, "the kill must land in the middle of the run"
    assert not (tmp_path / "killed.parquet").exists()
    res = subprocess.run(_command(out), capture_output=True, text=True, timeout=300,
                         check=False)
    assert res.returncode == 0, res.stderr
    assert not parts.exists()
    ref = generate_events(CFG, N, 5, tmp_path / "whole", progress=False)
    for fmt, path in ref.items():
        assert (tmp_path / f"killed{path.suffix}").read_bytes() == path.read_bytes(), fmt


def test_files_do_not_depend_on_the_number_of_workers(tmp_path):
    cfg = EventConfig(nucleus="Zr96", y_min=0.0, y_max=0.0, chunk_size=500)
    one = generate_events(cfg, 1500, 9, tmp_path / "one", workers=1, progress=False)
    two = generate_events(cfg, 1500, 9, tmp_path / "two", workers=2, progress=False)
    for fmt in one:
        assert one[fmt].read_bytes() == two[fmt].read_bytes(), fmt
    t = read_parquet(one["parquet"])
    np.testing.assert_array_equal(t["event"], np.arange(1500))
    pair = four_momentum(t, "d1") + four_momentum(t, "d2")
    np.testing.assert_allclose(pair, four_momentum(t, "meson"), atol=1e-9, rtol=0)
    # a finished run is returned as it is; another seed on the same files is refused
    mtime = one["parquet"].stat().st_mtime_ns
    generate_events(cfg, 1500, 9, tmp_path / "one", progress=False)
    assert one["parquet"].stat().st_mtime_ns == mtime
    rc = main(["events", "--n", "1500", "--seed", "10", "--out", str(tmp_path / "one"),
               "--nucleus", "Zr96", "--rapidity", "0", "--chunk-size", "500", "--no-progress"])
    assert rc == 2


@pytest.mark.parametrize(("args", "words"), [
    (["--meson", "phi"], ["meson = 'phi'", "jpsi, psi2s, rho0"]),
    (["--detector", "atlas"], ["detector = 'atlas'", "star"]),
    (["--neutron-class", "1n1n"], ["neutron_class = '1n1n'", "XnXn"]),
    (["--detector", "alice-muon"], ["empty acceptance"]),
    (["--detector", "star", "--cut", "pt_min=3"], ["pt_min = 3.0", "empty acceptance"]),
    (["--n", "-5"], ["n = -5"]),
    (["--rapidity", "3", "5"], ["rapidity = (3.0, 5.0)", "4.17"]),
    (["--rapidity", "-1", "0", "1"], ["rapidity = [-1.0, 0.0, 1.0]"]),
])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(tmp_path, capsys, args, words):
    base = ["events", "--n", "100", "--seed", "1", "--out", str(tmp_path / "x"),
            "--no-progress"]
    assert main(base + args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for w in words:
        assert w in err
    assert list(tmp_path.iterdir()) == []
