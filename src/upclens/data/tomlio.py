"""TOML in and out for :class:`DatasetConfig`: the shipped default, files, ``key=value``
overrides, and a writer whose output reads back to the identical config."""

from __future__ import annotations

import math
import os
import tomllib
from importlib import resources
from typing import Any

from upclens.data.config import DatasetConfig, config_from_dict
from upclens.errors import ParameterError

DEFAULT_CONFIG_NAME = "default.toml"


def default_config_text() -> str:
    """The text of the shipped default config (upclens/data/default.toml)."""
    return resources.files("upclens.data").joinpath(DEFAULT_CONFIG_NAME).read_text("utf-8")


def _read(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    if path is None:
        return tomllib.loads(default_config_text())
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ParameterError("config", str(path), "must be an existing TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError("config", str(path), f"is not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ParameterError("config", str(path), "must be a TOML text file (it is binary, "
                             "not UTF-8)") from None
    except OSError as exc:
        raise ParameterError("config", str(path),
                             f"must be a readable TOML file ({exc.strerror})") from None


def parse_value(text: str) -> Any:
    """A command-line value as TOML (numbers, true/false, quoted strings); bare words stay
    strings, so ``--set physics.nucleus=Pb208`` works."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Set dotted keys (``image.pixels``, ``priors.R.kind``) in a nested dict (copied).

    Overriding ``priors.X.kind`` starts that prior afresh, so its other keys come from the
    overrides alone (``--set priors.delta_rnp.kind=uniform --set priors.delta_rnp.high=0.3``).
    """
    out = _copy(raw)
    for key, value in overrides.items():
        parts = str(key).split(".")
        if len(parts) == 3 and parts[0] == "priors" and parts[2] == "kind":
            priors = out.setdefault("priors", {})
            if isinstance(priors, dict) and priors.get(parts[1], {}).get("kind") != value:
                priors[parts[1]] = {}
    for key, value in overrides.items():
        parts = str(key).split(".")
        if not all(parts):
            raise ParameterError("override", key, "must be a dotted key such as image.pixels")
        node = out
        for i, part in enumerate(parts[:-1]):
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ParameterError(".".join(parts[: i + 1]), nxt, "is a value, not a table")
            node = nxt
        node[parts[-1]] = value
    return out


def _copy(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in d.items()}


def load_config(path: str | os.PathLike[str] | None = None,
                overrides: dict[str, Any] | None = None) -> DatasetConfig:
    """Read a dataset config (None: the shipped default) and apply dotted-key overrides.

    Unknown keys and bad values raise ParameterError naming the dotted key.
    """
    raw = _read(path)
    if overrides:
        raw = apply_overrides(raw, overrides)
    return config_from_dict(raw)


# -- writer --------------------------------------------------------------------------------------
def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ParameterError("config value", v, "must be finite to be written as TOML")
        return repr(v)
    if isinstance(v, str):
        escaped = v.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    raise TypeError(f"cannot write {type(v).__name__} as a TOML value")


def _table(lines: list[str], name: str, d: dict[str, Any]) -> None:
    scalars = {k: v for k, v in d.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in d.items() if isinstance(v, dict)}
    if scalars or not tables:
        if name:
            lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {_value(v)}" for k, v in scalars.items())
    for k, v in tables.items():
        _table(lines, f"{name}.{k}" if name else k, v)


def dict_to_toml(d: dict[str, Any]) -> str:
    """Nested dict of scalars as TOML text (tables after the scalars of each level)."""
    lines: list[str] = []
    _table(lines, "", d)
    return "\n".join(lines).lstrip("\n") + "\n"


def config_to_toml(cfg: DatasetConfig) -> str:
    """TOML text of ``cfg``; ``load_config`` of it gives back an equal config."""
    return dict_to_toml(cfg.to_dict())
