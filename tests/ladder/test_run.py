"""A tiny ladder end to end: rows, resume without redoing a finished row, table and CLI."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import upclens.learn
from upclens.cli import main
from upclens.ladder import run_ladder
from upclens.ladder.table import COLUMNS

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Run row 2 alone, then rows 2, 3b and the pooled 3m into the same folder, recording
    trainings."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("ladder")
    calls: list[str] = []
    real = upclens.learn.train
    mp = pytest.MonkeyPatch()

    def counted(train_path, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(Path(train_path).parent.parent.name)
        return real(train_path, *args, **kwargs)

    @dataclass(frozen=True)
    class ChangedDefaults(upclens.learn.TrainSettings):
        eps: float = 2.0e-3

    mp.setattr(upclens.learn, "train", counted)
    try:
        run_ladder(out, rows="2", size="tiny", progress=False)
        # the learning defaults change between runs: the ladder keeps its first settings
        mp.setattr(upclens.learn, "TrainSettings", ChangedDefaults)
        run_ladder(out, rows="2,3b,3m", size="tiny", progress=False)
    finally:
        mp.undo()
    return out, calls


def test_a_finished_row_is_not_redone(ladder: tuple[Path, list[str]]) -> None:
    out, calls = ladder
    assert calls == ["row-2", "row-3b", "row-3m"]
    pinned = json.loads((out / "train_settings.json").read_text())
    assert pinned["eps"] == 1.0e-3
    for row in ("2", "3b", "3m"):
        marker = json.loads((out / f"row-{row}" / "stages" / "train.json").read_text())
        assert marker["settings"] == pinned
    # row 2 and the parent of row 3b are the same exact dataset, generated once; 3a and 3b
    # are drawn from it once each (rows 3b and 3m share the 3b file)
    assert len(list((out / "datasets").glob("*.h5"))) == 3


def test_table_has_every_column_and_the_evaluation_numbers(
        ladder: tuple[Path, list[str]]) -> None:
    out, _ = ladder
    with open(out / "ladder.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COLUMNS)
    assert [r["row"] for r in rows] == ["2", "3b", "3ma", "3mb"]
    folders = ["row-2/evaluate", "row-3b/evaluate", "row-3m/evaluate/n1000",
               "row-3m/evaluate/n10000"]
    for r, folder in zip(rows, folders, strict=True):
        metrics = json.loads((out / folder / "metrics.json").read_text())
        for t in ("beta2", "beta3", "delta_rnp"):
            assert float(r[f"rmse_{t}"]) == pytest.approx(metrics["targets"][t]["rmse"])
            assert float(r[f"coverage_68_{t}"]) == pytest.approx(
                metrics["targets"][t]["coverage_68"])
        assert float(r["skin_accuracy"]) == pytest.approx(metrics["skin"]["accuracy"])
    noiseless, counted, pool_a, pool_b = rows
    assert noiseless["sigma_crb_beta2"] == ""  # no bound for noiseless images
    assert noiseless["n_ratio_beta2"] == "0"
    for t in ("beta2", "beta3", "delta_rnp"):
        sigma = float(counted[f"sigma_crb_{t}"])
        assert 0.0 < sigma < math.inf
        assert 0 <= int(counted[f"n_ratio_{t}"]) <= 3
        if counted[f"ratio_{t}"]:  # the ratio is the quotient of the two like-for-like columns
            assert float(counted[f"ratio_{t}"]) == pytest.approx(
                float(counted[f"rmse_at_bound_{t}"]) / float(counted[f"sigma_rms_{t}"]))
        else:
            assert counted[f"sigma_rms_{t}"] == ""
        # same test points as row 3b at 1e4 J/psi: the same bound
        assert float(pool_b[f"sigma_crb_{t}"]) == pytest.approx(sigma, rel=1e-9)
        # sigma_CRB scales as 1 / sqrt(N) without priors: 1e3 vs 1e4 J/psi
        assert float(pool_a[f"sigma_crb_{t}"]) == pytest.approx(math.sqrt(10) * sigma,
                                                                rel=1e-6)
    summary = json.loads((out / "ladder.json").read_text())
    assert summary["size"]["name"] == "tiny"
    assert [e["row"] for e in summary["rows"]] == ["2", "3b", "3ma", "3mb"]
    md = (out / "ladder.md").read_text()
    assert "| 3b | 1e+04 |" in md
    assert (out / "ladder.png").stat().st_size > 1000


def test_cli_reuses_the_folder_and_refuses_bad_rows(
        ladder: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = ladder
    assert main(["ladder", "--out", str(out), "--rows", "3b", "--size", "tiny",
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "| 3b |" in text
    assert "| 2 |" not in text
    assert main(["ladder", "--out", str(out), "--rows", "3b,9", "--size", "tiny"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "rows" in err[0]
    assert "9" in err[0]
    # another seed (or size) into the same folder would mix two studies in one table
    assert main(["ladder", "--out", str(out), "--rows", "3b", "--size", "tiny", "--seed", "2",
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "another size or seed" in err[0]
    # so would another image count; a count below 16 is refused before any work
    assert main(["ladder", "--out", str(out), "--rows", "3b", "--size", "tiny", "--images",
                 "80", "--quiet"]) == 2
    assert "another size or seed" in capsys.readouterr().err
    assert main(["ladder", "--out", str(out), "--size", "tiny", "--images", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "images = 3" in err[0]


def test_pooled_training_file_holds_every_count(ladder: tuple[Path, list[str]]) -> None:
    from upclens.data import read_dataset

    out, _ = ladder
    folder = out / "row-3m" / "data"
    images, labels, meta = read_dataset(folder / "train.h5")
    assert meta["columns"][-1] == "n_events"
    parts = [read_dataset(next((folder / f"n{n}").glob("*_train.h5"))) for n in (1000, 10_000)]
    assert images.shape[0] == sum(p[0].shape[0] for p in parts)
    start = 0
    for (im, lab, _), n in zip(parts, (1000, 10_000), strict=True):
        stop = start + im.shape[0]
        assert np.array_equal(images[start:stop], im)
        assert np.array_equal(labels["beta2"][start:stop], lab["beta2"])
        assert np.all(labels["n_events"][start:stop] == n)
        assert np.all(im.sum(axis=(1, 2)) == n)  # no smearing: every J/psi in the window
        start = stop
