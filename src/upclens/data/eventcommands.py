"""CLI command ``upclens events``: vector-meson events as a detector records them, written as
Parquet and HepMC3 files."""

from __future__ import annotations

import argparse
from typing import Any

from upclens.argtypes import integer as _integer
from upclens.argtypes import number as _number
from upclens.errors import ParameterError


def _cut(text: str) -> tuple[str, float]:
    key, _, value = text.partition("=")
    try:
        return key.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE (e.g. pt_min=0.2)"
                                         ) from None


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``events``."""
    from upclens.data.eventfiles import FORMATS
    from upclens.data.eventgen import NEUTRON_CLASSES
    from upclens.physics.detector import DETECTORS

    e = sub.add_parser(
        "events", help="vector-meson events with decays, neutron classes and a detector",
        description="Simulate coherent vector-meson events (one collision each: its own b, "
                    "rapidity, polarisation and decay) into Parquet and HepMC3 files; rerun "
                    "the same command to resume.")
    e.add_argument("--n", type=_integer, required=True, help="number of events generated")
    e.add_argument("--seed", type=_integer, required=True,
                   help="base seed (chunk c uses SeedSequence([seed, c]))")
    e.add_argument("--out", required=True,
                   help="output stem: writes STEM.parquet and/or STEM.hepmc3")
    g = e.add_argument_group("physics")
    g.add_argument("--nucleus", default="Au197", help="nucleus preset of both beams "
                                                      "(default Au197)")
    g.add_argument("--meson", default="jpsi", help="jpsi, psi2s or rho0 (default jpsi)")
    g.add_argument("--channel", help="ee or mumu for jpsi/psi2s, pipi for rho0 (default: ee, "
                                     "pipi)")
    g.add_argument("--sqrt-snn", type=_number, default=200.0, help="GeV (default 200)")
    g.add_argument("--rapidity", type=_number, nargs="+", default=[-1.0, 1.0], metavar="Y",
                   help="meson rapidity range LO HI, or one rapidity (default -1 1)")
    g.add_argument("--neutron-class", default="any",
                   help=f"forward-neutron class: {', '.join(NEUTRON_CLASSES)} (default any)")
    g.add_argument("--pt-max", type=_number, default=0.3, help="largest meson pT, coherent "
                                                               "or not, GeV (default 0.3)")
    g.add_argument("--incoherent-fraction", type=_number, default=0.0,
                   help="share of incoherent events in the window (Good-Walker with hot "
                        "spots; default 0)")
    d = e.add_argument_group("detector")
    d.add_argument("--detector", default="none",
                   help=f"acceptance and resolution preset: {', '.join(DETECTORS)} "
                        "(default none)")
    d.add_argument("--cut", dest="cuts", action="append", type=_cut, default=[],
                   metavar="NAME=VALUE",
                   help="replace a preset value: eta_min, eta_max, pt_min, p_min (GeV), "
                        "res_const, res_slope (repeatable)")
    d.add_argument("--accepted-only", action="store_true",
                   help="keep only events with both daughters accepted")
    r = e.add_argument_group("run")
    r.add_argument("--formats", default=",".join(FORMATS),
                   help=f"comma-separated: {', '.join(FORMATS)} (default both)")
    r.add_argument("--chunk-size", type=_integer, default=10_000,
                   help="events per work chunk (part of the random streams; default 10000)")
    r.add_argument("--workers", type=_integer, default=1,
                   help="local processes or Dask workers (0 = one per core; default 1)")
    r.add_argument("--scheduler", default="processes",
                   help="'processes' (default), 'dask' or tcp://HOST:PORT")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.set_defaults(handler=_events)


def _config(args: argparse.Namespace) -> Any:
    from upclens.data.eventgen import EventConfig

    if len(args.rapidity) > 2:
        raise ParameterError("rapidity", args.rapidity, "must be LO HI or one value")
    y_min, y_max = args.rapidity[0], args.rapidity[-1]
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    if not formats:
        raise ParameterError("formats", args.formats, "must name parquet and/or hepmc3")
    return EventConfig(nucleus=args.nucleus, meson=args.meson, channel=args.channel,
                       sqrt_snn=args.sqrt_snn, y_min=y_min, y_max=y_max,
                       neutron_class=args.neutron_class, detector=args.detector,
                       cuts=tuple(args.cuts), incoherent_fraction=args.incoherent_fraction,
                       pt_max=args.pt_max, accepted_only=args.accepted_only,
                       chunk_size=args.chunk_size, formats=formats)


def _events(args: argparse.Namespace) -> int:
    from upclens.data.eventgen import generate_events

    paths = generate_events(_config(args), args.n, args.seed, args.out, workers=args.workers,
                            scheduler=args.scheduler, progress=not args.no_progress)
    for fmt, path in paths.items():
        print(f"{fmt:>8s}: {path}")
    return 0
