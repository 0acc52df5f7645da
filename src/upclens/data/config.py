"""Dataset configuration: frozen dataclasses for the physics, the image, the label priors and the
run, built from plain dicts (TOML) with every key checked and every error naming its dotted path.

Ranges are not duplicated here: each physics value is checked by building the physics engine's
own object (Nucleus, Collision, ModelSwitches, ImageGrid) with it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from upclens.errors import ParameterError, UpclensError, check_choice, check_range

SCHEMA_VERSION = 1
PRIOR_KINDS = ("fixed", "uniform", "normal", "binary")
NUISANCE_NAMES = ("b", "R", "a", "sigma_vn_scale")
NUISANCE_PRIORS = {"R": 0.02, "a": 0.01, "sigma_vn_scale": 0.2}
"""Default Gaussian prior widths of the nuisances: the protons' Woods-Saxon R and a (fm) and
the factor on sigma_J/psi-N (20 %); the ladder's nuisance rows, the event sets and the bound's
marginalisation all use these."""
SCHEDULERS = ("processes", "dask")
PRIOR_KEYS = {"fixed": ("value",), "uniform": ("low", "high"),
              "normal": ("mean", "sd", "low", "high"), "binary": ("value", "fraction")}


@dataclass(frozen=True)
class PhysicsConfig:
    """Physics settings shared by every image of a dataset (see docs/physics.md).

    nucleus: preset name. sqrt_snn (GeV), rapidity, b (fm, |b| when b_magnitude is 'fixed'),
    b_magnitude 'fixed'|'upc', b_direction 'fixed'|'random', glauber (quantum Glauber, else
    linear), flux 'pointwise'|'uniform', polarization 'scalar'|'vector', qz (coherence phase),
    sigma_vn_scale, skin_type 'halo'|'skin' (how Delta r_np is made).
    """

    nucleus: str = "Zr96"
    sqrt_snn: float = 200.0
    rapidity: float = 0.0
    b: float = 15.0
    b_magnitude: str = "fixed"
    b_direction: str = "fixed"
    glauber: bool = True
    flux: str = "pointwise"
    polarization: str = "scalar"
    qz: bool = False
    sigma_vn_scale: float = 1.0
    skin_type: str = "halo"


@dataclass(frozen=True)
class ImageConfig:
    """Image settings: pixels per axis over [-pmax, pmax] GeV; orientations (pairs per image, or
    'exact' for the infinite-orientation average); n_events (0: no finite statistics, else that
    many J/psi per image, Poisson-distributed when poisson_events); incoherent_fraction; smearing
    (Gaussian pT resolution in GeV)."""

    pixels: int = 64
    pmax: float = 0.2
    orientations: int | str = 128
    n_events: int = 0
    poisson_events: bool = False
    incoherent_fraction: float = 0.0
    smearing: float = 0.0


@dataclass(frozen=True)
class Prior:
    """One label or nuisance prior.

    kind 'fixed' (``value``), 'uniform' on [low, high], 'normal' (mean, sd) truncated to
    [low, high] (default mean -+ 3 sd), 'binary' (``value`` with probability ``fraction``,
    else 0; Delta r_np only).  ``threshold``: Delta r_np above it is the skin class (fm).
    """

    kind: str = "fixed"
    value: float = 0.0
    low: float = 0.0
    high: float = 0.0
    mean: float = 0.0
    sd: float = 0.0
    fraction: float = 0.5
    threshold: float = 0.1

    def to_dict(self, with_threshold: bool = False) -> dict[str, Any]:
        """The keys that matter for this kind (and ``threshold`` when asked)."""
        d: dict[str, Any] = {"kind": self.kind}
        d.update({k: getattr(self, k) for k in PRIOR_KEYS[self.kind]})
        if with_threshold:
            d["threshold"] = self.threshold
        return d

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the prior can draw."""
        if self.kind == "fixed":
            return self.value, self.value
        if self.kind == "binary":
            return min(0.0, self.value), max(0.0, self.value)
        return self.low, self.high


@dataclass(frozen=True)
class PriorsConfig:
    """Priors of the labels (beta2, |beta3|, Delta r_np) and of optional nuisance parameters
    (None: the physics value is used for every image and no label column is written)."""

    beta2: Prior = Prior("uniform", low=0.0, high=0.3)
    beta3: Prior = Prior("uniform", low=0.0, high=0.3)
    delta_rnp: Prior = Prior("binary", value=0.2, fraction=0.5, threshold=0.1)
    b: Prior | None = None
    R: Prior | None = None
    a: Prior | None = None
    sigma_vn_scale: Prior | None = None

    def nuisance(self) -> list[tuple[str, Prior]]:
        """The nuisance priors that are set, in the fixed column order."""
        out = []
        for name in NUISANCE_NAMES:
            prior = getattr(self, name)
            if prior is not None:
                out.append((name, prior))
        return out


@dataclass(frozen=True)
class RunConfig:
    """How a dataset is produced (does not change its content except through chunk_size, the
    number of images per work unit and per stored checksum): scheduler 'processes' (local worker
    processes) or 'dask' (a local Dask cluster); an existing Dask cluster is named only on the
    command line or in the environment, never in a file that may have come from elsewhere;
    workers: processes or Dask workers (0: one per CPU core)."""

    chunk_size: int = 64
    scheduler: str = "processes"
    workers: int = 0


@dataclass(frozen=True)
class DatasetConfig:
    """Everything that defines a dataset, apart from its size and seed."""

    physics: PhysicsConfig = PhysicsConfig()
    image: ImageConfig = ImageConfig()
    priors: PriorsConfig = PriorsConfig()
    run: RunConfig = RunConfig()
    schema_version: int = SCHEMA_VERSION

    @property
    def columns(self) -> list[str]:
        """Label column names in stored order."""
        return ["beta2", "beta3", "delta_rnp", "skin", *(n for n, _ in self.priors.nuisance())]

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (only the keys each prior uses), the form stored in files."""
        priors = {"beta2": self.priors.beta2.to_dict(), "beta3": self.priors.beta3.to_dict(),
                  "delta_rnp": self.priors.delta_rnp.to_dict(with_threshold=True)}
        priors.update({name: p.to_dict() for name, p in self.priors.nuisance()})
        return {"schema_version": self.schema_version,
                "physics": dataclasses.asdict(self.physics),
                "image": dataclasses.asdict(self.image), "priors": priors,
                "run": dataclasses.asdict(self.run)}

    def content_dict(self) -> dict[str, Any]:
        """The part that fixes the images and labels: everything but scheduler and workers."""
        d = self.to_dict()
        d["run"] = {"chunk_size": self.run.chunk_size}
        return d


# -- building from plain dicts ------------------------------------------------------------------
def _where(path: str, exc: ParameterError) -> ParameterError:
    """Re-raise a physics ParameterError under the dotted config path."""
    return ParameterError(path, exc.value, exc.allowed)


def _typed(path: str, value: Any, kind: type) -> Any:
    """Check the TOML type of one value (int accepted for float)."""
    if kind is bool:
        if not isinstance(value, bool):
            raise ParameterError(path, value, "must be true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(path, value, "must be an integer")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(path, value, "must be a number")
        v = float(value)
        if not math.isfinite(v):
            raise ParameterError(path, value, "must be a finite number")
        return v
    if not isinstance(value, str):
        raise ParameterError(path, value, "must be a string")
    return value


def _fill(cls: type, path: str, raw: Any, kinds: dict[str, type]) -> Any:
    """Build dataclass ``cls`` from dict ``raw``: unknown keys rejected, types checked."""
    if not isinstance(raw, dict):
        raise ParameterError(path, raw, "must be a table")
    known = [f.name for f in fields(cls)]
    for key in raw:
        if key not in known:
            raise ParameterError(f"{path}.{key}" if path else key, raw[key],
                                 f"unknown key; allowed: {', '.join(known)}")
    values = {}
    for key, value in raw.items():
        full = f"{path}.{key}" if path else key
        kind = kinds.get(key)
        values[key] = value if kind is None else _typed(full, value, kind)
    return cls(**values)


_PHYSICS_TYPES = {"nucleus": str, "sqrt_snn": float, "rapidity": float, "b": float,
                  "b_magnitude": str, "b_direction": str, "glauber": bool, "flux": str,
                  "polarization": str, "qz": bool, "sigma_vn_scale": float, "skin_type": str}
_IMAGE_TYPES = {"pixels": int, "pmax": float, "n_events": int, "poisson_events": bool,
                "incoherent_fraction": float, "smearing": float}
_PRIOR_TYPES = {"kind": str, "value": float, "low": float, "high": float, "mean": float,
                "sd": float, "fraction": float, "threshold": float}
_RUN_TYPES = {"chunk_size": int, "scheduler": str, "workers": int}


def _prior(path: str, raw: Any) -> Prior:
    if not isinstance(raw, dict):
        raise ParameterError(path, raw, "must be a table with a kind")
    kind = check_choice(f"{path}.kind", raw.get("kind", "fixed"), PRIOR_KINDS)
    used = {"kind", *PRIOR_KEYS[str(kind)]}
    if path == "priors.delta_rnp":
        used.add("threshold")
    elif kind == "binary":
        raise ParameterError(f"{path}.kind", kind, "binary is only for priors.delta_rnp")
    for key in raw:
        if key not in used:
            raise ParameterError(f"{path}.{key}", raw[key],
                                 f"not used by a {kind} prior; allowed: {', '.join(sorted(used))}")
    if isinstance(raw, dict) and raw.get("kind") == "normal":
        raw = dict(raw)
        try:
            mean, sd = float(raw["mean"]), float(raw["sd"])
        except (KeyError, TypeError, ValueError):
            raise ParameterError(path, raw, "a normal prior needs numbers mean and sd") from None
        raw.setdefault("low", mean - 3.0 * sd)
        raw.setdefault("high", mean + 3.0 * sd)
    prior = _fill(Prior, path, raw, _PRIOR_TYPES)
    if prior.kind in ("uniform", "normal") and not prior.low <= prior.high:
        raise ParameterError(f"{path}.high", prior.high, f"must be >= low = {prior.low}")
    if prior.kind == "normal":
        check_range(f"{path}.sd", prior.sd, 0.0, None, lo_open=True)
        if not prior.low <= prior.mean <= prior.high:
            raise ParameterError(f"{path}.mean", prior.mean,
                                 f"must lie in [low, high] = [{prior.low}, {prior.high}]")
    if prior.kind == "binary":
        check_range(f"{path}.fraction", prior.fraction, 0.0, 1.0)
    return prior


def config_from_dict(raw: dict[str, Any]) -> DatasetConfig:
    """Validated DatasetConfig from a nested dict (missing keys take the defaults)."""
    if not isinstance(raw, dict):
        raise ParameterError("config", raw, "must be a table")
    allowed = [f.name for f in fields(DatasetConfig)]
    for key in raw:
        if key not in allowed:
            raise ParameterError(key, raw[key], f"unknown key; allowed: {', '.join(allowed)}")
    version = _typed("schema_version", raw.get("schema_version", SCHEMA_VERSION), int)
    if version != SCHEMA_VERSION:
        raise ParameterError("schema_version", version, f"must be {SCHEMA_VERSION}")
    physics = _fill(PhysicsConfig, "physics", raw.get("physics", {}), _PHYSICS_TYPES)
    image_raw = raw.get("image", {})
    image = _fill(ImageConfig, "image", image_raw, _IMAGE_TYPES)
    priors_raw = raw.get("priors", {})
    if not isinstance(priors_raw, dict):
        raise ParameterError("priors", priors_raw, "must be a table")
    names = [f.name for f in fields(PriorsConfig)]
    for key in priors_raw:
        if key not in names:
            raise ParameterError(f"priors.{key}", priors_raw[key],
                                 f"unknown key; allowed: {', '.join(names)}")
    defaults = PriorsConfig()
    priors = PriorsConfig(**{
        name: (_prior(f"priors.{name}", priors_raw[name]) if name in priors_raw
               else getattr(defaults, name)) for name in names})
    run = _fill(RunConfig, "run", raw.get("run", {}), _RUN_TYPES)
    cfg = DatasetConfig(physics=physics, image=image, priors=priors, run=run)
    validate(cfg)
    return cfg


# -- validation through the physics engine ------------------------------------------------------
def _check_orientations(value: Any) -> None:
    if value == "exact":
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError("image.orientations", value, "must be 'exact' or an integer >= 1")
    check_range("image.orientations", value, 1, 10**6)


def _check_run(run: RunConfig) -> None:
    check_range("run.chunk_size", run.chunk_size, 1, 100000)
    check_range("run.workers", run.workers, 0, 4096)
    if run.scheduler not in SCHEDULERS:
        raise ParameterError("run.scheduler", run.scheduler,
                             "must be 'processes' or 'dask'; a Dask scheduler address is "
                             "given with --scheduler or UPCLENS_DASK_SCHEDULER, never in a "
                             "config file")


def validate(cfg: DatasetConfig) -> None:
    """Check every setting by building the physics objects with it (and with the extremes of
    each prior); raise ParameterError named by the dotted config path."""
    from upclens.physics.events import expected_image
    from upclens.physics.nucleus import SKIN_TYPES, Nucleus
    from upclens.physics.presets import preset
    from upclens.physics.settings import Collision, ImageGrid

    ph, im, pr = cfg.physics, cfg.image, cfg.priors
    try:
        preset(ph.nucleus)
    except ParameterError as exc:
        raise _where("physics.nucleus", exc) from None
    check_choice("physics.skin_type", ph.skin_type, SKIN_TYPES)
    for key in ("sqrt_snn", "rapidity", "b", "b_magnitude", "b_direction"):
        try:
            Collision(**{key: getattr(ph, key)})
        except ParameterError as exc:
            raise _where(f"physics.{key}", exc) from None
    _check_switches("physics", ph)
    for key in ("pixels", "pmax"):
        try:
            ImageGrid(**{key: getattr(im, key)})
        except ParameterError as exc:
            raise _where(f"image.{key}", exc) from None
    _check_orientations(im.orientations)
    check_range("image.n_events", im.n_events, 0, 1e9)
    try:
        expected_image(np.ones((8, 8)), ImageGrid(8, 0.2), im.incoherent_fraction, im.smearing)
    except ParameterError as exc:
        raise _where(f"image.{exc.name}", exc) from None
    _check_run(cfg.run)
    # Label priors: every extreme must give a valid nucleus.
    if pr.delta_rnp.kind == "binary" and not 0.0 <= pr.delta_rnp.threshold < pr.delta_rnp.value:
        raise ParameterError("priors.delta_rnp.threshold", pr.delta_rnp.threshold,
                             f"must be in [0, value = {pr.delta_rnp.value}) for a binary prior")
    if pr.b is not None and ph.b_magnitude != "fixed":
        raise ParameterError("priors.b", pr.b.kind,
                             "a prior of |b| needs physics.b_magnitude = 'fixed'")
    if pr.beta3.support()[0] < 0.0:
        raise ParameterError("priors.beta3.low", pr.beta3.support()[0],
                             "must be >= 0 (|beta3| is the label; its sign is unobservable)")
    base = {"skin_type": ph.skin_type}
    for name in ("R", "a"):
        if getattr(pr, name) is not None:
            lo, hi = getattr(pr, name).support()
            for end, v in (("low", lo), ("high", hi)):
                _nucleus_ok(Nucleus, ph.nucleus, f"priors.{name}.{end}", {**base, name: v})
    for name in ("beta2", "beta3", "delta_rnp"):
        for end, v in zip(("low", "high"), getattr(pr, name).support(), strict=True):
            _nucleus_ok(Nucleus, ph.nucleus, f"priors.{name}.{end}", {**base, name: v})
    for b2 in pr.beta2.support():
        for b3 in pr.beta3.support():
            _nucleus_ok(Nucleus, ph.nucleus, "priors.beta2, priors.beta3",
                        {**base, "beta2": b2, "beta3": b3})
    if pr.b is not None:
        for end, v in zip(("low", "high"), pr.b.support(), strict=True):
            try:
                Collision(b=v)
            except ParameterError as exc:
                raise _where(f"priors.b.{end}", exc) from None
    if pr.sigma_vn_scale is not None:
        for end, v in zip(("low", "high"), pr.sigma_vn_scale.support(), strict=True):
            try:
                _check_switches("", dataclasses.replace(ph, sigma_vn_scale=v))
            except ParameterError as exc:
                raise ParameterError(f"priors.sigma_vn_scale.{end}", v, exc.allowed) from None


def _check_switches(prefix: str, ph: PhysicsConfig) -> None:
    from upclens.physics.settings import ModelSwitches

    for key, value in (("flux", ph.flux), ("polarization", ph.polarization),
                       ("sigma_vn_scale", ph.sigma_vn_scale)):
        try:
            ModelSwitches(**{key: value})
        except ParameterError as exc:
            raise _where(f"{prefix}.{key}" if prefix else key, exc) from None


def _nucleus_ok(nucleus_cls: type, name: str, path: str, params: dict[str, Any]) -> None:
    try:
        nucleus_cls.from_preset(name, **params)
    except ParameterError as exc:
        raise ParameterError(path, exc.value, exc.allowed) from None


class ConfigMismatchError(UpclensError):
    """An existing file or partial run was made with another config, seed or size."""
