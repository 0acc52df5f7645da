"""The realism ladder: the same network trained and evaluated on ever more realistic images,
each row next to its Cramer-Rao bound (one table, one figure)."""

from upclens.ladder.rows import LadderSize, Row, ladder_rows, ladder_size
from upclens.ladder.run import run_ladder

__all__ = ["LadderSize", "Row", "ladder_rows", "ladder_size", "run_ladder"]
