"""The data commands as a user meets them: exit codes, one-line errors (one run as a
subprocess, the error cases through ``upclens.cli.main`` in this process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

TINY = ["--pixels", "16", "--orientations", "2", "--chunk-size", "3"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "upclens.cli", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def _main(capsys, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``upclens ARGS`` run in this process."""
    from upclens.cli import main

    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(result: tuple[int, str, str], pattern: str) -> None:
    import re

    code, out, err = result
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("upclens: error: ")
    assert re.search(pattern, lines[0]), lines[0]


def test_generate_info_split(tmp_path, capsys):
    out = tmp_path / "d.h5"
    res = _run("generate", "--n", "5", "--seed", "1", "--out", str(out),
               "--scheduler", "processes", "--workers", "1", "--no-progress", *TINY,
               "--set", "priors.beta2.high=0.1")
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert f"wrote {out} (5 images)" in res.stdout
    code, stdout, err = _main(capsys, "dataset", "info", str(out), "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["n"] == 5
    assert summary["config"]["priors"]["beta2"]["high"] == 0.1
    assert summary["label_max"]["beta2"] <= 0.1
    code, stdout, _ = _main(capsys, "dataset", "info", str(out))
    assert "all 2 chunk checksums OK" in stdout
    code, _, err = _main(capsys, "dataset", "split", str(out), "--out-dir", str(tmp_path / "s"),
                         "--fractions", "0.6,0.2,0.2")
    assert code == 0, err
    assert (tmp_path / "s" / "d_test.h5").exists()


def test_printed_config_reads_back(tmp_path, capsys):
    code, out, err = _main(capsys, "dataset", "config", "--set", "physics.nucleus=Ru96",
                           "--orientations", "exact")
    assert code == 0, err
    path = tmp_path / "c.toml"
    path.write_text(out)
    from upclens.data import load_config

    cfg = load_config(path)
    assert cfg.physics.nucleus == "Ru96"
    assert cfg.image.orientations == "exact"


@pytest.mark.parametrize(("args", "pattern"), [
    (["--set", "priors.beta2.high=0.9"], r"priors\.beta2\.high = 0\.9 .*\[-0\.4, 0\.6\]"),
    (["--set", "physics.colour=red"], r"physics\.colour = 'red' .*unknown key"),
    (["--orientations", "lots"], r"image\.orientations = 'lots'"),
    (["--scheduler", "threads"], r"scheduler = 'threads'"),
    (["--set", "nokey"], r"'nokey' is not KEY=VALUE"),
])
def test_bad_generate_input_is_one_line(tmp_path, capsys, args, pattern):
    res = _main(capsys, "generate", "--n", "2", "--seed", "1", "--out", str(tmp_path / "x.h5"),
               "--no-progress", *TINY, *args)
    _one_line_error(res, pattern)
    assert not (tmp_path / "x.h5").exists()


def test_damaged_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    _one_line_error(_main(capsys, "dataset", "info", str(bad)),
                    r"bad\.h5 cannot be opened as HDF5")
    _one_line_error(_main(capsys, "dataset", "info", str(tmp_path / "none.h5")),
                    r"no such dataset")
    _one_line_error(_main(capsys, "dataset", "split", str(bad), "--out-dir", str(tmp_path),
                          "--fractions", "0.5,0.5"), r"fractions = \[0\.5, 0\.5\] .*three numbers")
