"""CLI commands of the data layer: ``generate`` and ``dataset info|split|config``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from upclens.argtypes import integer as _integer
from upclens.errors import ParameterError


def _assignment(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. image.pixels=32)")
    return key.strip(), value.strip()


def _add_config_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("configuration")
    g.add_argument("--config", help="dataset config TOML (default: the shipped default, see "
                                    "`upclens dataset config`)")
    g.add_argument("--set", dest="assignments", action="append", type=_assignment, default=[],
                   metavar="KEY=VALUE",
                   help="override a config key, e.g. --set image.pixels=32 --set "
                        "priors.beta2.high=0.2 (repeatable)")
    g.add_argument("--pixels", type=_integer, help="= --set image.pixels=N")
    g.add_argument("--pmax", type=float, help="= --set image.pmax=GeV")
    g.add_argument("--orientations", help="pairs per image or 'exact' (= --set "
                                          "image.orientations=...)")
    g.add_argument("--events", type=_integer, help="J/psi per image (= --set image.n_events=N)")
    g.add_argument("--chunk-size", type=_integer, help="= --set run.chunk_size=N")


def _config(args: argparse.Namespace) -> Any:
    from upclens.data.tomlio import load_config, parse_value

    overrides: dict[str, Any] = {k: parse_value(v) for k, v in args.assignments}
    for flag, key in (("pixels", "image.pixels"), ("pmax", "image.pmax"),
                      ("orientations", "image.orientations"), ("events", "image.n_events"),
                      ("chunk_size", "run.chunk_size")):
        value = getattr(args, flag, None)
        if value is not None:
            overrides[key] = parse_value(value) if isinstance(value, str) else value
    return load_config(args.config, overrides)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``generate`` and ``dataset``."""
    g = sub.add_parser(
        "generate",
        description="Simulate N labelled (px, py) images into an HDF5 dataset, on local "
                    "processes or a Dask cluster; rerun the same command to resume.")
    g.add_argument("--n", type=_integer, required=True, help="number of images")
    g.add_argument("--seed", type=_integer, required=True, help="base seed (item k uses "
                                                                "default_rng([seed, k]))")
    g.add_argument("--out", required=True, help="output .h5 file")
    g.add_argument("--workers", type=_integer,
                   help="start a local Dask cluster of N workers (0 = one per core); with "
                        "--scheduler processes: N local processes (default: the config's "
                        "run.workers local processes)")
    g.add_argument("--scheduler",
                   help="'processes' (the default without --workers), 'dask' (a local Dask "
                        "cluster of --workers) or tcp://HOST:PORT of a running Dask scheduler")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_config_arguments(g)
    g.set_defaults(handler=_generate)

    d = sub.add_parser("dataset",
                       description="Inspect, check and split upclens dataset files.")
    dsub = d.add_subparsers(dest="dataset_command", required=True,
                            parser_class=type(d))
    i = dsub.add_parser("info", help="summary of a file after checking every chunk")
    i.add_argument("file", help="dataset .h5 file")
    i.add_argument("--json", action="store_true", help="print the summary as JSON")
    i.set_defaults(handler=_info)
    s = dsub.add_parser("split", help="train / val / test files")
    s.add_argument("file", help="dataset .h5 file")
    s.add_argument("--out-dir", required=True, help="folder for <stem>_train.h5, _val, _test")
    s.add_argument("--fractions", default="0.8,0.1,0.1",
                   help="train,val,test fractions adding to 1 (default 0.8,0.1,0.1)")
    s.add_argument("--seed", type=_integer, default=0, help="permutation seed (default 0)")
    s.set_defaults(handler=_split)
    c = dsub.add_parser("config", help="print the resolved dataset config as TOML")
    _add_config_arguments(c)
    c.set_defaults(handler=_print_config)


def _generate(args: argparse.Namespace) -> int:
    from upclens.data.generate import generate_dataset

    cfg = _config(args)
    scheduler = args.scheduler
    if scheduler is None and args.workers is not None:
        scheduler = "dask"  # --workers N alone: a local Dask cluster of N workers
    out = generate_dataset(cfg, args.n, args.seed, args.out, workers=args.workers,
                           scheduler=scheduler, progress=not args.no_progress)
    print(f"wrote {out} ({args.n} images)")
    return 0


def _summary_text(info: dict[str, Any]) -> str:
    cfg = info["config"]
    ph, im = cfg["physics"], cfg["image"]
    lines = [
        f"file        {info['path']} ({info['file_bytes'] / 1e6:.2f} MB), all "
        f"{info['n_chunks']} chunk checksums OK",
        f"images      {info['n']} x {info['shape'][1]} x {info['shape'][2]} float32 over "
        f"|p| < {im['pmax']} GeV, orientations {im['orientations']}, events {im['n_events']}",
        f"physics     {ph['nucleus']} sqrt(sNN) = {ph['sqrt_snn']} GeV, y = {ph['rapidity']}, "
        f"b = {ph['b']} fm ({ph['b_magnitude']}, direction {ph['b_direction']}), "
        f"glauber {ph['glauber']}, flux {ph['flux']}",
        f"made by     upclens {info['upclens_version']}, seed {info['seed']}, chunk size "
        f"{info['chunk_size']}",
    ]
    if "source" in info:
        lines.append(f"split of    {info['source']}")
    lines.append("labels      column: min / mean / max")
    for col in info["columns"]:
        lines.append(f"  {col:>14s}: {info['label_min'][col]:.4g} / "
                     f"{info['label_mean'][col]:.4g} / {info['label_max'][col]:.4g}")
    return "\n".join(lines)


def _info(args: argparse.Namespace) -> int:
    from upclens.data.store import dataset_info

    info = dataset_info(args.file)
    if args.json:
        skip = {"px", "py", "stats", "source_indices"}
        print(json.dumps({k: v for k, v in info.items() if k not in skip}, indent=1))
    else:
        print(_summary_text(info))
    return 0


def _split(args: argparse.Namespace) -> int:
    from upclens.data.split import split_dataset

    try:
        fractions = [float(x) for x in args.fractions.split(",")]
    except ValueError:
        raise ParameterError("fractions", args.fractions,
                             "must be three comma-separated numbers adding to 1") from None
    parts = split_dataset(args.file, args.out_dir, fractions=fractions, seed=args.seed)
    for name, path in parts.items():
        print(f"{name:>5s}: {path}")
    return 0


def _print_config(args: argparse.Namespace) -> int:
    from upclens.data.tomlio import config_to_toml

    sys.stdout.write(config_to_toml(_config(args)))
    return 0
