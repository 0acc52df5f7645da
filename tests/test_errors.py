"""The shared input checks: one clear message naming the value and the allowed range."""

from __future__ import annotations

import pytest

from upclens.errors import ParameterError, check_integer


@pytest.mark.parametrize("value", [5, 5.0, 0, 100])
def test_whole_numbers_in_range_pass(value):
    assert check_integer("n", value, 0, 100) == int(value)


@pytest.mark.parametrize("value", [5.5, True, "x", float("nan"), float("inf"), -1, 101, None])
def test_everything_else_names_value_and_range(value):
    with pytest.raises(ParameterError, match=r"n = .* must be an integer in \[0, 100\]"):
        check_integer("n", value, 0, 100)


def test_open_upper_end_is_stated():
    with pytest.raises(ParameterError, match="must be an integer >= 1"):
        check_integer("steps", 0, 1)
