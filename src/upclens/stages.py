"""A minimal resumable stage runner: each stage's result is a JSON marker written atomically after
the stage finished; a stage whose marker exists and whose files are all present is skipped.

A stage returns either a plain JSON-able dict or a typed result, a frozen dataclass derived from
:class:`StageResult`; a typed result is stored as its plain form and read back with
:meth:`StageResult.from_dict`, so a finished stage hands the next one the same object as a
fresh run, and a missing field is an error rather than an empty section further on.
"""

from __future__ import annotations

import dataclasses
import json
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from upclens.io import json_ready, write_json

R = TypeVar("R", bound="StageResult")


@dataclass(frozen=True, kw_only=True)
class StageResult:
    """What every typed stage result holds: ``files`` the stage made (paths relative to the
    output folder; the stage counts as complete only while all of them exist), ``seconds`` the
    run that made it took, and ``skipped`` (True when this call found it finished)."""

    files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (nested typed results as dicts), without ``skipped``."""
        return {f.name: json_ready(_plain(getattr(self, f.name))) for f in fields(self)
                if f.name != "skipped"}

    @classmethod
    def from_dict(cls: type[R], data: Mapping[str, Any]) -> R:
        """The typed result of its plain form; a missing field raises TypeError."""
        return typed_from_dict(cls, data)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def typed_from_dict(cls: type[R], data: Mapping[str, Any]) -> R:
    """Build dataclass ``cls`` from ``data``: fields that are dataclasses (or lists / dicts of
    them) are built in turn; keys that are not fields are ignored; a field without a default
    that ``data`` lacks raises TypeError naming it."""
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            values[f.name] = _build(hints[f.name], data[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise TypeError(f"{cls.__name__} needs the field {f.name!r}")
    return cls(**values)


def _build(hint: Any, value: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return typed_from_dict(hint, value)
    if value is None:
        return None
    if origin in (list, tuple) and args and isinstance(value, list | tuple):
        return [_build(args[0], v) for v in value]
    if origin is dict and len(args) == 2 and isinstance(value, Mapping):
        return {k: _build(args[1], v) for k, v in value.items()}
    if args and type(None) in args:  # X | None
        inner = [a for a in args if a is not type(None)]
        return _build(inner[0], value) if len(inner) == 1 else value
    return value


@dataclass(frozen=True)
class Stage:
    """A named step: ``run(previous_results) -> result``.

    ``result``: the :class:`StageResult` subclass the step returns (None: a JSON-able dict,
    which may list the files it made under the key ``files``).
    """

    name: str
    run: Callable[[dict[str, Any]], Any]
    description: str = ""
    result: type[StageResult] | None = None


def marker_path(out: Path, name: str) -> Path:
    """Where the completion marker of stage ``name`` lives."""
    return out / "stages" / f"{name}.json"


def completed(out: Path, name: str, result: type[StageResult] | None = None) -> Any:
    """The stored result of a finished stage (typed when ``result`` is given), or None if it
    must (re)run: no marker, a file it lists is gone, or a marker of another layout."""
    path = marker_path(out, name)
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not all((out / f).exists() for f in stored.get("files", [])):
        return None
    if result is None:
        return stored
    try:
        return result.from_dict({**stored, "skipped": True})
    except (TypeError, ValueError):
        return None


def run_stages(out: Path, stages: Sequence[Stage], progress: bool = True) -> dict[str, Any]:
    """Run ``stages`` in order into ``out``, skipping finished ones; returns name -> result
    (each with ``seconds``: the time of the run that made it, and ``skipped``)."""
    from tqdm import tqdm

    (out / "stages").mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    bar = tqdm(total=len(stages), desc="upclens run", unit="stage", disable=not progress,
               position=0)
    try:
        for stage in stages:
            bar.set_postfix_str(stage.name)
            done = completed(out, stage.name, stage.result)
            if done is not None:
                if stage.result is None:
                    done["skipped"] = True
                results[stage.name] = done
                bar.update()
                continue
            results[stage.name] = _run_one(out, stage, results)
            bar.update()
    finally:
        bar.close()
    return results


def _run_one(out: Path, stage: Stage, results: dict[str, Any]) -> Any:
    """Run one stage, write its marker and return its result as a later call would read it."""
    t0 = time.perf_counter()
    value = stage.run(results)
    if stage.result is not None:
        if not isinstance(value, stage.result):
            raise TypeError(f"stage {stage.name} returned {type(value).__name__}, "
                            f"not {stage.result.__name__}")
        value = value.to_dict()
    stored = json_ready({**value, "seconds": time.perf_counter() - t0})
    write_json(stored, marker_path(out, stage.name))
    if stage.result is None:
        return {**stored, "skipped": False}
    return stage.result.from_dict(stored)
