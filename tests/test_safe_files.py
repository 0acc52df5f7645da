"""upclens writes only regular files it created: no device, folder or symbolic link is replaced,
no planted link is followed, a lock has one holder at a time, and no network address comes from
a config file."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from upclens.cli import main
from upclens.errors import ParameterError
from upclens.io import FileLock, LockedError, atomic_path, check_writable

TINY = ["--pixels", "16", "--orientations", "2", "--chunk-size", "2", "--no-progress",
        "--scheduler", "processes", "--workers", "1"]


def _generate(out: Path, *extra: str) -> int:
    return main(["generate", "--n", "2", "--seed", "1", "--out", str(out), *TINY, *extra])


def test_device_pipe_folder_and_link_targets_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    link = tmp_path / "link.h5"
    link.symlink_to(victim)
    for target, kind in ((fifo, "a pipe"), (link, "a symbolic link"),
                         (Path("/dev/null"), "a device")):
        with pytest.raises(ParameterError, match=kind):
            check_writable(target)
    with pytest.raises(ParameterError, match="a pipe"), atomic_path(fifo) as tmp:
        tmp.write_text("x")
    assert fifo.is_fifo()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_generate_refuses_a_pipe_and_a_link_as_out(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    assert _generate(fifo) == 2
    assert fifo.is_fifo()  # not replaced by a regular file
    victim = tmp_path / "victim.h5"
    victim.write_bytes(b"keep")
    (tmp_path / "link.h5").symlink_to(victim)
    assert _generate(tmp_path / "link.h5") == 2
    assert victim.read_bytes() == b"keep"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert all(line.startswith("upclens: error: out = ") for line in err)


def test_a_planted_lock_link_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "d.h5.lock").symlink_to(victim)
    assert _generate(tmp_path / "d.h5") == 2
    assert victim.read_text() == "precious"
    assert not (tmp_path / "d.h5").exists()


def test_a_planted_staging_link_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    parts = tmp_path / "d.h5.parts"
    parts.mkdir()
    (parts / ".manifest.json.tmp").symlink_to(victim)
    (parts / ".chunk-00000000.npz.tmp").symlink_to(victim)
    assert _generate(tmp_path / "d.h5") == 0
    assert victim.read_text() == "precious"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "e.h5.parts").symlink_to(elsewhere)
    assert _generate(tmp_path / "e.h5") == 2
    assert list(elsewhere.iterdir()) == []


def _contend(path: str, marker: str, seconds: float, queue) -> None:
    """Take and release the lock repeatedly; inside it, a marker made with O_EXCL proves that
    no one else holds the lock at the same moment."""
    from upclens.data.staging import WriterLock

    held = clash = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with WriterLock(Path(path)):
                try:
                    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    clash += 1
                    continue
                held += 1
                time.sleep(0.0005)
                os.close(fd)
                os.unlink(marker)
        except LockedError:
            pass
    queue.put((held, clash))


def test_lock_has_one_holder_among_concurrent_processes(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(str(tmp_path / "x.h5"), str(tmp_path / "in"),
                                                1.5, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sum(h for h, _ in results) > 20  # the lock changed hands many times
    assert sum(c for _, c in results) == 0  # and never had two holders
    assert not (tmp_path / "x.h5.lock").exists()  # removed by its last holder


def test_lock_refuses_while_held_and_survives_a_removed_file(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    busy = rf"A is being written by another upclens process \(pid {os.getpid()}\)"
    with FileLock(path, "A"), pytest.raises(LockedError, match=busy):
        FileLock(path, "A").__enter__()
    assert not path.exists()  # removed by its holder: the next one makes a new file
    with FileLock(path, "A"):
        assert path.is_file()


def test_run_folder_is_locked(tmp_path: Path, capsys) -> None:
    out = tmp_path / "study"
    out.mkdir()
    with FileLock(out / "run.lock", str(out)):
        assert main(["run", "--out", str(out), "--quiet", "--n-images", "40"]) == 2
        assert sorted(p.name for p in out.iterdir()) == ["run.lock"]  # the holder's only
    assert "is being written by another upclens process" in capsys.readouterr().err


def test_scheduler_address_in_a_config_file_is_refused(tmp_path: Path, capsys) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[run]\nscheduler = "tcp://127.0.0.1:9"\n')
    t0 = time.monotonic()
    assert _generate(tmp_path / "d.h5", "--config", str(toml)) == 2
    assert main(["run", "--out", str(tmp_path / "r"), "--config", str(toml), "--quiet"]) == 2
    assert time.monotonic() - t0 < 10  # refused up front, no connection attempted
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert all("run.scheduler = 'tcp://127.0.0.1:9'" in e for e in err)
    assert "never in a config file" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]


def test_scheduler_comes_from_the_command_line_or_the_environment(tmp_path: Path, capsys,
                                                                  monkeypatch) -> None:
    base = ["generate", "--n", "2", "--seed", "1", "--out", str(tmp_path / "d.h5"),
            "--pixels", "16", "--orientations", "2", "--no-progress"]
    monkeypatch.setenv("UPCLENS_DASK_SCHEDULER", "threads")
    assert main(base) == 2
    assert "scheduler = 'threads'" in capsys.readouterr().err  # the variable is read
    assert main([*base, "--scheduler", "processes", "--workers", "1"]) == 0  # the flag wins
    assert (tmp_path / "d.h5").is_file()
