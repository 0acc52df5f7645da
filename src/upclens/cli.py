"""The ``upclens`` command line: a thin layer over the Python API.

Each command module exposes ``register(subparsers)``; its handlers take the parsed arguments and
return an exit code.  Input errors become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from upclens import __version__
from upclens.errors import UpclensError

COMMAND_MODULES = (
    "upclens.physics.commands",
    "upclens.pipeline",
    "upclens.pipeline.isobar",
    "upclens.data.commands",
    "upclens.data.eventcommands",
    "upclens.information.commands",
    "upclens.learn.commands",
    "upclens.explain.commands",
    "upclens.observables.commands",
    "upclens.ladder.commands",
)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"upclens: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every registered command."""
    parser = _Parser(prog="upclens", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"upclens {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``upclens`` script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UpclensError as exc:
        sys.stderr.write(f"upclens: error: {exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"upclens: error: {exc.filename or ''}: {exc.strerror or exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("upclens: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
