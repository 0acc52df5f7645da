"""CLI command ``upclens ladder``: the realism ladder study (table and figure)."""

from __future__ import annotations

import argparse
import sys


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


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


def _ladder(args: argparse.Namespace) -> int:
    from upclens.ladder.run import run_ladder

    summary = run_ladder(args.out, rows=args.rows, size=args.size, seed=args.seed,
                         progress=not args.quiet, n_images=args.images)
    from pathlib import Path

    sys.stdout.write((Path(args.out) / "ladder.md").read_text())
    sys.stdout.write(f"wrote {', '.join(summary['files'])} in {args.out}\n")
    return 0
