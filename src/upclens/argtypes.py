"""argparse value types shared by the command modules: parse only; range checks come later,
from the API, with the parameter's name and allowed range."""

from __future__ import annotations

import argparse


def number(text: str) -> float:
    """Any float, NaN and inf included (the API rejects them with context)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def integer(text: str) -> int:
    """An integer."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
