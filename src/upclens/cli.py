"""The ``upclens`` command line: a thin layer over the Python API.

``COMMANDS`` lists every command with the module that defines it and its one-line help; a
command's module is imported only when that command runs, so ``upclens --help`` starts without
NumPy or SciPy.  Each module exposes ``register(subparsers)``; its handlers take the parsed
arguments and return an exit code.  Input errors become one line on stderr and exit code 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from upclens import __version__
from upclens.errors import UpclensError

#: command -> (module whose ``register`` defines it, the help line of ``upclens --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("upclens.physics.commands", "one coherent J/psi (px, py) image"),
    "tspectrum": ("upclens.physics.commands", "coherent d sigma / d|t| of one nucleus"),
    "run": ("upclens.pipeline", "the main job: data, network, information limit, explanation, "
                                "observables and an HTML report"),
    "isobar": ("upclens.pipeline.isobar", "Ru+Ru against Zr+Zr as STAR records them: ratios "
                                          "and systematic effects, with an HTML report"),
    "isobar-fisher": ("upclens.pipeline.isobar_sensitivity",
                      "Fisher information of the Ru/Zr ratio for the Ru - Zr differences"),
    "generate": ("upclens.data.commands", "simulate a labelled image dataset into an HDF5 file"),
    "dataset": ("upclens.data.commands", "inspect, check, split dataset files"),
    "events": ("upclens.data.eventcommands",
               "vector-meson events with decays, neutron classes and a detector"),
    "headline": ("upclens.information.commands",
                 "smallest N_J/psi measuring Delta r_np to a target precision"),
    "fisher": ("upclens.information.commands",
               "Cramer-Rao bound of (beta2, beta3, Delta r_np) from exact images"),
    "event-fisher": ("upclens.information.commands",
                     "Cramer-Rao bound of (beta2, beta3, Delta r_np) from measured events"),
    "train": ("upclens.learn.commands", "train the multi-task ResNet on an HDF5 dataset"),
    "evaluate": ("upclens.learn.commands", "score a trained model on a held-out dataset"),
    "predict": ("upclens.learn.commands", "predict nuclear shape from one image or event list"),
    "infer": ("upclens.learn.commands",
              "posterior of beta2, beta3, Delta r_np from a measured list of decays"),
    "explain": ("upclens.explain.commands", "PDA heatmaps of a trained model on a dataset"),
    "ratio-maps": ("upclens.explain.commands",
                   "skin / no-skin and deformed / sphere ratio maps from the simulator"),
    "observables": ("upclens.observables.commands",
                    "bright-spot area, dark fringes, <pT>, low-pT ratio, v_n"),
    "sensitivity": ("upclens.observables.commands",
                    "observables against beta2, beta3 and the skin over a dataset"),
    "v3-study": ("upclens.observables.commands",
                 "what q_z, finite statistics and binning do to v3"),
    "ladder": ("upclens.ladder.commands",
               "realism ladder: the network and the Cramer-Rao bound row by row"),
    "event-ladder": ("upclens.ladder.commands",
                     "event-set network against the ResNet on histograms of the same events"),
    "isobar-learn": ("upclens.ladder.commands",
                     "posterior of the Ru - Zr differences from pairs of event lists"),
    "compare": ("upclens.published.commands",
                "the model against every published number it can predict"),
}


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"upclens: error: {message}\n")
        raise SystemExit(2)


class _OneCommand:
    """Stands in for the sub-parsers while a command module registers its commands: only
    ``name`` gets a real parser (with the help line of ``COMMANDS``, which is also its
    description unless the module gives one); the module's other commands are built on
    parsers that are thrown away."""

    def __init__(self, sub: argparse._SubParsersAction, name: str, help_line: str) -> None:
        self.sub, self.name, self.help_line = sub, name, help_line
        self.parser: argparse.ArgumentParser | None = None

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.pop("help", None)
        if name != self.name:
            return _Parser(prog=f"upclens {name}", **kwargs)
        kwargs.setdefault("description", self.help_line)
        self.parser = self.sub.add_parser(name, help=self.help_line, **kwargs)
        return self.parser


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser listing every command; the full parser of ``command`` (its module imported)
    when it names one, a light entry for every other."""
    parser = _Parser(prog="upclens", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"upclens {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (module, help_line) in COMMANDS.items():
        if name != command:
            sub.add_parser(name, help=help_line, add_help=False)
            continue
        one = _OneCommand(sub, name, help_line)
        importlib.import_module(module).register(one)
        if one.parser is None:
            raise RuntimeError(f"{module}.register does not define the command {name!r}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``upclens`` script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # The top level has only flags, so the first word that is not one names the command.
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
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
