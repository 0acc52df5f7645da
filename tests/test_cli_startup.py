"""The command line loads a command's module only when that command runs: ``upclens --help``
imports none of them (nor NumPy, SciPy, torch), yet lists every command, and every command's
own ``--help`` shows its full options."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from upclens.cli import COMMANDS, build_parser, main

HEAVY = ("numpy", "scipy", "torch", "matplotlib", "h5py", "dask", "distributed", "tqdm")


def test_top_level_parser_imports_no_command_module_and_no_heavy_library():
    code = ("import sys; import upclens.cli as c; c.build_parser().format_help(); "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            f"{HEAVY!r} or m.startswith('upclens.') and m not in "
            "('upclens.cli', 'upclens.errors'))))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == ""


def test_help_lists_every_command_with_its_help_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps long lines
    for name, (_, help_line) in COMMANDS.items():
        assert f"{name} {' '.join(help_line.split())}" in text, name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_help_shows_its_own_options(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: upclens {name} ")
    parser = build_parser(name)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    own = [a for a in sub.choices[name]._actions if not isinstance(a, argparse._HelpAction)]
    assert own, f"{name} has no options or sub-commands"
    assert all(s in out for a in own for s in a.option_strings)


class _Recorder:
    """Collects the names a module's ``register`` defines."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        self.names.append(name)
        kwargs.pop("help", None)
        return argparse.ArgumentParser(**kwargs)


def test_the_table_names_every_command_each_module_defines():
    for module in dict.fromkeys(m for m, _ in COMMANDS.values()):
        rec = _Recorder()
        importlib.import_module(module).register(rec)
        assert sorted(rec.names) == sorted(n for n, (m, _) in COMMANDS.items() if m == module)


def test_unknown_command_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "invalid choice: 'bogus'" in err[0]
