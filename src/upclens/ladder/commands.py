"""CLI command ``upclens ladder``: the realism ladder study (table and figure)."""

from __future__ import annotations

import argparse
import sys

from upclens.argtypes import integer as _integer
from upclens.argtypes import number as _number


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``ladder``."""
    from upclens.ladder.rows import SIZES

    p = sub.add_parser(
        "ladder", help="realism ladder: the network and the Cramer-Rao bound row by row",
        description="Train and evaluate the same network on each row of the realism ladder "
                    "(seed setting, exact average, finite statistics, background and smearing, "
                    "random b, hidden nuisances) and compare it with the Cramer-Rao bound at "
                    "the same test points. Resumable: rerun the same command to continue.")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--rows", default=None,
                   help="comma-separated rows, e.g. 1,2,3b,3d,4a,5a,6b (default: the size's)")
    p.add_argument("--size", default="workstation", choices=SIZES,
                   help="tiny (a test), small (a quick look), workstation (every row, < 2 h "
                        "on 2 cores; the default) or paper (the full study)")
    p.add_argument("--images", type=_integer, default=None,
                   help="images per row instead of the size's (6000 for workstation)")
    p.add_argument("--seed", type=_integer, default=1, help="seed of data, split and training")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_ladder)

    from upclens.ladder.events import EVENT_SIZES
    from upclens.physics.detector import DETECTORS

    DETECTOR_NAMES = tuple(DETECTORS)

    e = sub.add_parser(
        "event-ladder", help="event-set network against the ResNet on histogram images of the "
                             "same events, at several event counts",
        description="Generate labelled event sets (Zr96, J/psi -> e+e-, random b direction, "
                    "neutron classes, nuisances R, a, sigma_J/psi-N), train the event-set "
                    "network and the ResNet on the (|pT|, Delta phi) and lab (px, py) images "
                    "of the same events at each N, and tabulate the RMSE per parameter "
                    "(and RMSE / sigma_CRB with --bound). Resumable: rerun to continue.")
    e.add_argument("--out", required=True, help="output folder")
    e.add_argument("--size", default="default", choices=EVENT_SIZES,
                   help="tiny (a test, < 1 min), small (N = 1e4, 1e5 with their bound on "
                        "half the sets, no replica or flow-only split: one more column of "
                        "the bound, about 1 h) or default (N = 1e3, 1e4, 1e5 with their "
                        "bound; about 2 h on 2 cores, docs/learning.md)")
    e.add_argument("--counts", default=None,
                   help="comma-separated event counts N instead of the size's")
    e.add_argument("--bound", default=None,
                   help="the event Cramer-Rao bound for RMSE / sigma_CRB: event_fisher.json of "
                        "upclens event-fisher, or JSON {N: {beta2: sigma, beta3: ..., "
                        "delta_rnp: ...}}")
    e.add_argument("--bound-column", default="+ rapidity",
                   help="column of event_fisher.json matching the sets (default '+ rapidity')")
    e.add_argument("--pt-max", type=_number, default=0.3,
                   help="pair pT window of the sets in GeV (default 0.3; 0.05-1)")
    e.add_argument("--acceptance", default="none", choices=DETECTOR_NAMES,
                   help="keep only events whose two daughters lie in this detector's "
                        "acceptance (its resolution off; default none)")
    e.add_argument("--incoherent", type=_number, default=0.0,
                   help="share of nucleon-level incoherent events in the sets (0-0.9; "
                        "default 0); the bound reads the same background at this share")
    e.add_argument("--workers", type=_integer, default=1,
                   help="processes generating the sets (0: one per core)")
    e.add_argument("--seed", type=_integer, default=1, help="seed of data and training")
    e.add_argument("--quiet", action="store_true", help="no progress bars")
    e.set_defaults(handler=_event_ladder)

    from upclens.ladder.isopairs import PAIR_SIZES

    i = sub.add_parser(
        "isobar-learn", help="joint posterior of the Ru - Zr differences from pairs of event "
                             "lists, with its coverage",
        description="Generate labelled Ru96 and Zr96 event sets (J/psi -> e+e- in STAR's "
                    "acceptance, one neutron class), train per species an event-set network "
                    "and its flow posterior at each N, and read index-paired test sets of the "
                    "two species for the posterior of d_beta2sq, d_beta3sq, d_rnp: RMSE, "
                    "prior width, SBC / TARP coverage (and RMSE / bound with --bound). "
                    "Resumable: rerun to continue.")
    i.add_argument("--out", required=True, help="output folder")
    i.add_argument("--size", default="default", choices=PAIR_SIZES,
                   help="tiny (a test, < 1 min) or default (N = 200 and 2000 per species, "
                        "500 sets per species; about 25 CPU min, docs/benchmarks.md)")
    i.add_argument("--counts", default=None,
                   help="comma-separated event counts N per species instead of the size's")
    i.add_argument("--bound", default=None,
                   help="the bound for RMSE / sigma_bound: sensitivity.json of upclens "
                        "isobar-fisher, or JSON {N: {d_beta2sq: sigma, d_beta3sq: ..., "
                        "d_rnp: ...}}")
    i.add_argument("--bound-column", default="0nXn: pT + daughter angle",
                   help="column of sensitivity.json matching the sets (default '0nXn: pT + "
                        "daughter angle')")
    i.add_argument("--workers", type=_integer, default=1,
                   help="processes generating the sets (0: one per core)")
    i.add_argument("--seed", type=_integer, default=1, help="seed of data and training")
    i.add_argument("--quiet", action="store_true", help="no progress bars")
    i.set_defaults(handler=_isobar_learn)


def _ladder(args: argparse.Namespace) -> int:
    from upclens.ladder.run import run_ladder

    summary = run_ladder(args.out, rows=args.rows, size=args.size, seed=args.seed,
                         progress=not args.quiet, n_images=args.images)
    from pathlib import Path

    sys.stdout.write((Path(args.out) / "ladder.md").read_text())
    sys.stdout.write(f"wrote {', '.join(summary['files'])} in {args.out}\n")
    return 0


def _counts(text: str | None) -> tuple[int, ...] | None:
    """--counts 'N1,N2,...' as integers (None when not given)."""
    from upclens.errors import ParameterError

    if not text:
        return None
    try:
        return tuple(int(c) for c in text.split(","))
    except ValueError:
        raise ParameterError("counts", text, "must be comma-separated integers") from None


def _event_ladder(args: argparse.Namespace) -> int:
    from pathlib import Path

    from upclens.ladder.events import run_event_ladder

    counts = _counts(args.counts)
    summary = run_event_ladder(args.out, size=args.size, seed=args.seed, bound=args.bound,
                               bound_column=args.bound_column, workers=args.workers,
                               counts=counts, progress=not args.quiet, pt_max=args.pt_max,
                               acceptance=args.acceptance, incoherent=args.incoherent)
    sys.stdout.write((Path(args.out) / "event_ladder.md").read_text())
    sys.stdout.write(f"wrote {', '.join(summary['files'])} in {args.out}\n")
    return 0


def _isobar_learn(args: argparse.Namespace) -> int:
    from pathlib import Path

    from upclens.ladder.isopairs import run_isobar_learn

    summary = run_isobar_learn(args.out, size=args.size, seed=args.seed, bound=args.bound,
                               bound_column=args.bound_column, workers=args.workers,
                               counts=_counts(args.counts), progress=not args.quiet)
    sys.stdout.write((Path(args.out) / "isobar_learn.md").read_text())
    sys.stdout.write(f"wrote {', '.join(summary['files'])} in {args.out}\n")
    return 0
