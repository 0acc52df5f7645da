"""Project exceptions: every bad input names the parameter, its value and what is allowed."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

__all__ = ["ParameterError", "UpclensError", "check_choice", "check_range"]


class UpclensError(ValueError):
    """Base class of all upclens errors that a user can fix by changing input."""


class ParameterError(UpclensError):
    """A parameter outside its allowed range or set.

    Carries ``name``, ``value`` and ``allowed`` so the message is one self-explaining line;
    picklable so that it survives transport from worker processes.
    """

    def __init__(self, name: str, value: object, allowed: str) -> None:
        self.name = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{name} = {value!r} is not allowed: {allowed}")

    def __reduce__(self) -> tuple[type, tuple[str, object, str]]:
        return (type(self), (self.name, self.value, self.allowed))


def check_range(
    name: str,
    value: float,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """Return ``float(value)`` if it is finite and inside [lo, hi] (open ends as flagged).

    Raises ParameterError naming the parameter and the allowed interval otherwise.
    """
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    left, right = "(" if lo_open else "[", ")" if hi_open else "]"
    allowed = f"must be a finite number in {left}{lo_s}, {hi_s}{right}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(name, value, allowed) from None
    if not math.isfinite(v):
        raise ParameterError(name, value, allowed)
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ParameterError(name, value, allowed)
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise ParameterError(name, value, allowed)
    return v


def check_integer(name: str, value: object, lo: int, hi: int | None = None) -> int:
    """Return ``int(value)`` if it is a whole number (not a bool) in [lo, hi] (hi None: no
    upper end); raises ParameterError naming the parameter and the allowed range otherwise."""
    allowed = (f"must be an integer >= {lo}" if hi is None
               else f"must be an integer in [{lo}, {hi}]")
    try:
        whole = not isinstance(value, bool) and int(value) == value  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or value < lo or (hi is not None and value > hi):  # type: ignore[operator]
        raise ParameterError(name, value, allowed)
    return int(value)  # type: ignore[call-overload]


@contextlib.contextmanager
def flag_names(names: dict[str, str]) -> Iterator[None]:
    """Re-raise a ParameterError of the API under the command-line name of the same value
    (``{"n_boot": "bootstrap"}``), so that the message names what the user typed."""
    try:
        yield
    except ParameterError as exc:
        if exc.name not in names:
            raise
        raise ParameterError(names[exc.name], exc.value, exc.allowed) from None


def check_choice(name: str, value: object, choices: tuple[object, ...]) -> object:
    """Return ``value`` if it is one of ``choices``; raise ParameterError otherwise."""
    if value not in choices:
        raise ParameterError(name, value, "must be one of " + ", ".join(map(str, choices)))
    return value
