"""Exact expected J/psi images as a function of the parameters, for the Fisher matrix.

The image of N J/psi, each from its own orientation pair, is drawn from the exact
orientation-averaged distribution (the parent): ``DoubleSlit(...).image()`` without sampling.
The exact image is the physics engine's own (``DoubleSlit.exact_raw``) and background and
smearing are folded in by its ``fold_background_smearing``: the bound differentiates the images
the generator draws from.  Images are cached by parameter point.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from upclens.errors import ParameterError, check_choice, check_range
from upclens.information.fisher import LIKELIHOODS, Parameter
from upclens.physics.events import fold_background_smearing, incoherent_image
from upclens.physics.image import DoubleSlit
from upclens.physics.nucleus import (
    BETA2_RANGE,
    BETA3_RANGE,
    DELTA_RNP_RANGE,
    DIFFUSENESS_RANGE,
    RADIUS_RANGE,
    DensityProfile,
    Nucleus,
    density_profile,
)
from upclens.physics.numerics import Numerics
from upclens.physics.settings import Collision, ImageGrid, ModelSwitches

if TYPE_CHECKING:
    from upclens.data.config import DatasetConfig

B_WEIGHTS = ("physical", "frozen")
SHAPE_PARAMETERS = ("beta2", "beta3", "delta_rnp")
NUISANCE_PRIORS = {"R": 0.02, "a": 0.01, "sigma_vn_scale": 0.2}
"""Default Gaussian prior widths of the nuisances: the protons' Woods-Saxon R and a (fm) and
the factor on sigma_J/psi-N (20 %)."""
POINT_KEYS = ("beta2", "beta3", "delta_rnp", "R", "a", "sigma_vn_scale", "b", "skin")
NUISANCE_ALIASES = {"sigma": "sigma_vn_scale", "sigma_vn": "sigma_vn_scale"}

PARAMETERS = {
    "beta2": Parameter("beta2", 0.01, *BETA2_RANGE),
    "beta3": Parameter("beta3", 0.01, *BETA3_RANGE, even=True),
    "delta_rnp": Parameter("delta_rnp", 0.01, *DELTA_RNP_RANGE),
    "R": Parameter("R", 0.02, *RADIUS_RANGE),
    "a": Parameter("a", 0.01, *DIFFUSENESS_RANGE),
    "sigma_vn_scale": Parameter("sigma_vn_scale", 0.04, 0.0, 5.0),
}
"""Differentiable parameters with their default finite-difference steps (h; h/2 is used)."""


@dataclass(frozen=True)
class InformationSettings:
    """Everything but the parameter point: nucleus preset, collision, model, binning, realism.

    incoherent_fraction: incoherent share of the events in the window.  smearing: Gaussian pT
    resolution (GeV) on px and py.  likelihood: 'multinomial' (N in the window given, the
    default) or 'poisson' (normalisation known: the coherent yield's parameter dependence adds
    information).  b_weights (UPC |b| only): 'physical', the engine's |b| average, whose
    weights move with the parameters (hadronic veto P_noHad(b), per-|b| yields), or 'frozen',
    the weights of the reference point held fixed (no information from the |b| distribution).
    """

    nucleus: str = "Zr96"
    skin_type: str = "halo"
    collision: Collision = field(default_factory=Collision)
    switches: ModelSwitches = field(default_factory=ModelSwitches)
    grid: ImageGrid = field(default_factory=ImageGrid)
    numerics: Numerics = field(default_factory=Numerics)
    incoherent_fraction: float = 0.0
    smearing: float = 0.0
    likelihood: str = "multinomial"
    b_weights: str = "physical"

    def __post_init__(self) -> None:
        check_choice("skin_type", self.skin_type, ("halo", "skin"))
        check_range("incoherent_fraction", self.incoherent_fraction, 0.0, 1.0, hi_open=True)
        check_range("smearing", self.smearing, 0.0, 1.0)
        check_choice("likelihood", self.likelihood, LIKELIHOODS)
        check_choice("b_weights", self.b_weights, B_WEIGHTS)
        Nucleus.from_preset(self.nucleus)  # rejects an unknown preset early

    @classmethod
    def from_config(cls, cfg: DatasetConfig, **options: object) -> InformationSettings:
        """The settings of the images of a dataset (or study) config: its physics, binning,
        background and smearing through :func:`upclens.data.engine.engine_settings`, the
        translation the generator uses.  ``options``: numerics, likelihood, b_weights."""
        from upclens.data.engine import engine_settings

        eng = engine_settings(cfg)
        return cls(nucleus=eng.nucleus, skin_type=eng.skin_type, collision=eng.collision,
                   switches=eng.switches, grid=eng.grid,
                   incoherent_fraction=eng.incoherent_fraction, smearing=eng.smearing,
                   **options)  # type: ignore[arg-type]

    @classmethod
    def build(cls, nucleus: str = "Zr96", *, b: float = 15.0, b_direction: str = "fixed",
              b_magnitude: str = "fixed", sqrt_snn: float = 200.0, pixels: int = 64,
              pmax: float = 0.2, incoherent_fraction: float = 0.0, smearing: float = 0.0,
              likelihood: str = "multinomial", skin_type: str = "halo",
              b_weights: str = "physical", switches: ModelSwitches | None = None,
              numerics: Numerics | None = None) -> InformationSettings:
        """Settings from plain keywords (the flags of ``upclens fisher``)."""
        return cls(nucleus=nucleus, skin_type=skin_type,
                   collision=Collision(sqrt_snn=sqrt_snn, b=b, b_direction=b_direction,
                                       b_magnitude=b_magnitude),
                   switches=switches or ModelSwitches(), grid=ImageGrid(pixels, pmax),
                   numerics=numerics or Numerics(), incoherent_fraction=incoherent_fraction,
                   smearing=smearing, likelihood=likelihood, b_weights=b_weights)


def realism_ladder(base: InformationSettings | None = None) -> dict[str, tuple[
        InformationSettings, tuple[str, ...]]]:
    """The realism ladder: name -> (settings, nuisances marginalised), from the ideal image
    (b fixed along x) to the full set of effects.  Each step adds one effect to the previous."""
    s0 = base or InformationSettings()
    rnd = replace(s0, collision=replace(s0.collision, b_direction="random"))
    upc = replace(rnd, collision=replace(rnd.collision, b_magnitude="upc"))
    bg10 = replace(upc, incoherent_fraction=0.1)
    bg30 = replace(upc, incoherent_fraction=0.3)
    smear = replace(bg10, smearing=0.01)
    nuis = ("R", "a", "sigma_vn_scale")
    return {"fixed_b": (s0, ()), "random_b_direction": (rnd, ()), "upc_b": (upc, ()),
            "background_10": (bg10, ()), "background_30": (bg30, ()),
            "smearing_10MeV": (smear, ()), "nuisances": (smear, nuis)}


def normalise_nuisances(nuisances: object) -> dict[str, float]:
    """Nuisances as name -> prior width from None, a sequence of names (default widths), a
    comma-separated string ('R,a,sigma' or 'R:0.05,a') or a mapping name -> width."""
    if nuisances is None or nuisances == "":
        return {}
    if isinstance(nuisances, str):
        items: list[tuple[str, float | None]] = []
        for part in nuisances.split(","):
            name, _, width = part.strip().partition(":")
            items.append((name, float(width) if width else None))
    elif isinstance(nuisances, Mapping):
        items = list(nuisances.items())
    else:
        items = [(str(n), None) for n in nuisances]  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for name, width in items:
        key = NUISANCE_ALIASES.get(name, name)
        if key not in NUISANCE_PRIORS:
            raise ParameterError("nuisances", name, "must be among R, a, sigma_vn_scale "
                                 "(alias sigma), optionally name:width")
        w = NUISANCE_PRIORS[key] if width is None else float(width)
        if not w >= 0:
            raise ParameterError(f"prior width of {key}", width, "must be >= 0")
        out[key] = w
    return out


class ExactImageModel:
    """Expected pixel yields per J/psi at a parameter point (cached).

    Parameters of a point: beta2, beta3, delta_rnp and optionally R, a (proton Woods-Saxon, fm),
    sigma_vn_scale, b (fm, fixed |b|) and skin (0 halo, 1 skin type).  Missing ones take the
    preset / settings values.  Yields sum to 1 over the window at ``reference`` (before
    smearing losses); with the 'poisson' likelihood the coherent part scales with the coherent
    yield relative to the reference.
    """

    def __init__(self, settings: InformationSettings | None = None,
                 cache_size: int = 512) -> None:
        self.settings = settings or InformationSettings()
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[tuple, tuple[np.ndarray, float]] = OrderedDict()
        self.reference_yield: float | None = None
        self._b_mixture: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # -- the physics ---------------------------------------------------------------------
    def _objects(self, point: Mapping[str, float]) -> tuple[Nucleus, Collision, ModelSwitches]:
        s = self.settings
        skin = point.get("skin")
        skin_type = s.skin_type if skin is None else ("skin" if float(skin) >= 0.5 else "halo")
        nucleus = Nucleus.from_preset(
            s.nucleus, beta2=point.get("beta2"), beta3=point.get("beta3"),
            delta_rnp=point.get("delta_rnp", 0.0), R=point.get("R"), a=point.get("a"),
            skin_type=skin_type)
        collision = s.collision
        if "b" in point and collision.b_magnitude == "fixed":
            collision = replace(collision, b=float(point["b"]))
        switches = s.switches
        if "sigma_vn_scale" in point:
            switches = replace(switches, sigma_vn_scale=float(point["sigma_vn_scale"]))
        return nucleus, collision, switches

    def _raw(self, point: Mapping[str, float], b: float | None = None) -> np.ndarray:
        """Unnormalised exact coherent image (the engine's normalisation); ``b``: at this
        fixed |b| (fm) instead of the settings' |b| mode."""
        nucleus, collision, switches = self._objects(point)
        if b is not None:
            collision = replace(collision, b_magnitude="fixed", b=float(b))
        s = self.settings
        return DoubleSlit(nucleus, collision, switches, s.grid, s.numerics).exact_raw()

    def _cached(self, key: tuple, make) -> tuple[np.ndarray, float]:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        raw = make()
        total = float(raw.sum())
        value = (raw / total, total)
        self._cache[key] = value
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return value

    def coherent(self, point: Mapping[str, float]) -> tuple[np.ndarray, float]:
        """Normalised coherent pixel probabilities (pixels, pixels) and the coherent yield in
        the window (arbitrary but fixed units: comparable between points of one settings)."""
        if self._frozen_b:
            if self._b_mixture is None:
                raise ParameterError("reference", None,
                                     "set_reference(point) must be called for frozen b weights")
            b_nodes, weights, pi = self._b_mixture
            parts = [self._node(point, b) for b in b_nodes]
            mix = sum(w * c for w, (c, _) in zip(pi, parts, strict=True))
            total = float(sum(w * y for w, (_, y) in zip(weights, parts, strict=True)))
            return mix / mix.sum(), total
        return self._cached(self._key(point), lambda: self._raw(point))

    def _node(self, point: Mapping[str, float], b: float) -> tuple[np.ndarray, float]:
        """Cached normalised image and yield at the fixed |b| node ``b`` (fm)."""
        return self._cached((*self._key(point), ("b_node", float(b))),
                            lambda: self._raw(point, b))

    @property
    def _frozen_b(self) -> bool:
        s = self.settings
        return s.b_weights == "frozen" and s.collision.b_magnitude == "upc"

    def _b_nodes(self, point: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """|b| nodes (fm) and the weights of their raw images in the engine's UPC average."""
        nucleus, collision, switches = self._objects(point)
        s = self.settings
        sim = DoubleSlit(nucleus, collision, switches, s.grid, s.numerics)
        dist = sim.b_distribution
        b, w = dist.quadrature(s.numerics.n_b)
        if not sim.closed_form_applies:
            w = w / dist.flux_at(b)  # each |b| image carries its own flux
        return b, w

    def profile(self, point: Mapping[str, float]) -> DensityProfile:
        """The density profile of the nucleus at ``point`` (it shapes the background)."""
        nucleus, _, _ = self._objects(point)
        return density_profile(nucleus, self.settings.numerics)

    def background(self, point: Mapping[str, float]) -> np.ndarray:
        """Incoherent pixel probabilities (sum 1) of the nucleus at ``point``."""
        return incoherent_image(self.settings.grid, self.profile(point))

    def __call__(self, point: Mapping[str, float]) -> np.ndarray:
        """Expected yields per event (pixels, pixels) after background and smearing."""
        s = self.settings
        coh, total = self.coherent(point)
        if s.likelihood == "poisson":
            if self.reference_yield is None:
                raise ParameterError("reference", None,
                                     "set_reference(point) must be called for 'poisson'")
            coh = coh * (total / self.reference_yield)
        profile = self.profile(point) if s.incoherent_fraction > 0.0 else None
        return fold_background_smearing(coh, s.grid, s.incoherent_fraction, s.smearing, profile)

    def set_reference(self, point: Mapping[str, float]) -> None:
        """Reference point: coherent yield 1 there (the 'poisson' likelihood) and, with frozen
        |b| weights, the |b| nodes and the mixture weights of the image there."""
        if self._frozen_b:
            b, w = self._b_nodes(point)
            yields = np.array([self._node(point, x)[1] for x in b])
            self._b_mixture = (b, w, w * yields / np.sum(w * yields))
        self.reference_yield = self.coherent(point)[1]

    @staticmethod
    def _key(point: Mapping[str, float]) -> tuple:
        return tuple(sorted((k, round(float(v), 12)) for k, v in point.items()
                            if k in POINT_KEYS and v is not None and not math.isnan(float(v))))
