"""CLI: ``upclens compare --out DIR``: the model against every published number it predicts."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` command."""
    p = sub.add_parser(
        "compare", help="the model against published measurements: one table (about 30 s)",
        description="Compute the model's prediction for every published measurement shipped "
                    "in upclens/reference (ALICE, STAR, PREX) and write comparison.md, .csv "
                    "and .json with the data, the pulls and the choices each row rests on.")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from upclens.io import check_folder
    from upclens.published.table import compare_published, write_table

    check_folder(args.out)  # refused before the minutes of computing
    table = compare_published()
    paths = write_table(table, args.out)
    sys.stdout.write(table.markdown())
    sys.stdout.write("wrote " + ", ".join(str(p) for p in paths) + "\n")
    return 0
