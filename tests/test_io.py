"""The one JSON writer: NumPy and non-finite values made JSON-safe, the file written whole."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.io import write_json


def test_numpy_values_paths_and_non_finite_numbers(tmp_path: Path) -> None:
    data = {"a": np.float32(0.5), "b": np.arange(3), "c": [math.nan, math.inf, 1.0],
            "d": Path("x/y"), 7: np.int64(2)}
    write_json(data, tmp_path / "out.json")
    text = (tmp_path / "out.json").read_text()
    assert json.loads(text) == {"a": 0.5, "b": [0, 1, 2], "c": [None, None, 1.0], "d": "x/y",
                                "7": 2}
    assert text.endswith("\n")
    assert list(tmp_path.iterdir()) == [tmp_path / "out.json"]  # no temporary file left


def test_unwritable_target_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    with pytest.raises(ParameterError):
        write_json({"a": 1}, tmp_path / "missing" / "out.json")
    (tmp_path / "keep.json").write_text("{}")
    with pytest.raises(TypeError):  # not JSON at all: the old file stays as it was
        write_json({"a": object()}, tmp_path / "keep.json")
    assert (tmp_path / "keep.json").read_text() == "{}"
