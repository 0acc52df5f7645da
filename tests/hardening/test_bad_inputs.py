"""Every bad input of the table (bad_inputs.py) is refused as upclens promises: exit code 2, one
line ``upclens: error: ...`` naming the value, no traceback, no file left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_inputs import COMMANDS, Case, all_cases, run_case

CASES = all_cases()


def test_the_table_covers_every_command_with_300_cases() -> None:
    from upclens.cli import COMMANDS as CLI_COMMANDS

    assert set(CLI_COMMANDS) <= set(COMMANDS)  # a new command adds its rows to the table
    assert len(CASES) >= 300
    assert len({c.id for c in CASES}) == len(CASES)  # every row names a distinct input


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_in_one_line(case: Case, hardening_root: tuple[Path, Path]
                                          ) -> None:
    materials, root = hardening_root
    work = root / "cases" / str(CASES.index(case))
    outcome = run_case(case, materials, work)
    assert outcome.problems(case) == [], outcome.trace or outcome.err


@pytest.mark.parametrize("argv", [
    ("infer", "{m}/list.csv", "--model", "{m}/set_model", "--out", "{o}/a", "--samples", "10"),
    ("infer", "{m}/list.parquet", "--model", "{m}/set_model", "--out", "{o}/b", "--samples",
     "10"),
    ("predict", "--model", "{m}/model_random_b", "{m}/events.csv")])
def test_the_files_the_rows_damage_are_accepted(argv: tuple[str, ...],
                                                hardening_root: tuple[Path, Path]) -> None:
    """The undamaged list and model behind the infer and predict rows pass, so each row is
    refused for the one thing it changes."""
    materials, root = hardening_root
    outcome = run_case(Case("accepted", argv[0], argv), materials, root / "accepted")
    assert (outcome.code, outcome.trace) == (0, ""), outcome.err
