"""A minimal resumable stage runner: each stage's result is a JSON marker written atomically after
the stage finished; a stage whose marker exists and whose files are all present is skipped."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from upclens.io import json_ready, write_json


@dataclass(frozen=True)
class Stage:
    """A named step: ``run(previous_results) -> result`` (JSON-able dict).

    A result may list the files it made under the key ``files`` (paths relative to the output
    folder); the stage counts as complete only while all of them exist.
    """

    name: str
    run: Callable[[dict[str, dict[str, Any]]], dict[str, Any]]
    description: str = ""


def marker_path(out: Path, name: str) -> Path:
    """Where the completion marker of stage ``name`` lives."""
    return out / "stages" / f"{name}.json"


def completed(out: Path, name: str) -> dict[str, Any] | None:
    """The stored result of a finished stage, or None if it must (re)run."""
    path = marker_path(out, name)
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not all((out / f).exists() for f in result.get("files", [])):
        return None
    return result


def run_stages(out: Path, stages: Sequence[Stage], progress: bool = True
               ) -> dict[str, dict[str, Any]]:
    """Run ``stages`` in order into ``out``, skipping finished ones; returns name -> result
    (each with ``seconds``: the time of the run that made it, and ``skipped``)."""
    from tqdm import tqdm

    (out / "stages").mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    bar = tqdm(total=len(stages), desc="upclens run", unit="stage", disable=not progress,
               position=0)
    try:
        for stage in stages:
            bar.set_postfix_str(stage.name)
            done = completed(out, stage.name)
            if done is not None:
                done["skipped"] = True
                results[stage.name] = done
                bar.update()
                continue
            t0 = time.perf_counter()
            result = json_ready({**stage.run(results), "seconds": time.perf_counter() - t0})
            write_json(result, marker_path(out, stage.name))
            results[stage.name] = {**result, "skipped": False}
            bar.update()
    finally:
        bar.close()
    return results
