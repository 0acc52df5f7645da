"""What ``upclens run`` does at each size: the dataset size and split, the training settings and
the sizes of the explanation and information studies.  The physics lives in the dataset config
(TOML, the same file ``upclens generate --config`` reads); the plan only sets how much of it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from upclens.errors import ParameterError, check_choice, check_integer
from upclens.learn.settings import PAPER_TRAINING

if TYPE_CHECKING:
    from upclens.data.config import DatasetConfig, Prior


def _small_training() -> dict[str, Any]:
    return {}  # the measured TrainSettings defaults (docs/learning.md)


def _paper_training() -> dict[str, Any]:
    return dict(PAPER_TRAINING)


@dataclass(frozen=True)
class RunPlan:
    """Sizes of one study.

    n_images: images generated (then split by ``fractions`` into train / validation / test).
    training: overrides of :class:`upclens.learn.TrainSettings`.  explain_images: test images
    with PDA heatmaps.  reference_point: (beta2, beta3, Delta r_np in fm) of the information-limit
    panel.  n_events: J/psi counts of that panel.  ladder: size of the realism ladder run
    after the main study (a size of :func:`upclens.ladder.rows.ladder_size`; None: no ladder).
    decay_events: collisions of the events stage (decay events of the study's nucleus at the
    reference point).  comparison: the rows of the table of the model against published numbers
    (names of ``published.table.ROW_BUILDERS``; None: every row, () : no comparison stage).
    """

    name: str
    n_images: int
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    training: dict[str, Any] = field(default_factory=_small_training)
    explain_images: int = 8
    reference_point: tuple[float, float, float] = (0.15, 0.15, 0.1)
    n_events: tuple[float, ...] = (1e3, 1e4, 1e5, 1e6)
    seed: int = 1
    ladder: str | None = None
    decay_events: int = 200_000
    comparison: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.comparison:
            from upclens.published.table import ROW_BUILDERS

            for name in self.comparison:
                check_choice("comparison row", name, ROW_BUILDERS)
        for name, value, lo, hi in (("n_images", self.n_images, 10, 10**9),
                                    ("explain_images", self.explain_images, 1, 10**6),
                                    ("decay_events", self.decay_events, 1000, 10**9),
                                    ("seed", self.seed, 0, 2**63 - 1)):
            check_integer(name, value, lo, hi)
        if len(self.fractions) != 3 or abs(sum(self.fractions) - 1.0) > 1e-9 or min(
                self.fractions) <= 0:
            raise ParameterError("fractions", self.fractions,
                                 "must be three positive numbers (train, val, test) adding to 1")
        if min(self.n_images * f for f in self.fractions) < 1:
            raise ParameterError("n_images", self.n_images,
                                 "must leave at least one image in each of train, val, test")

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for metrics.json and the report)."""
        return {"name": self.name, "n_images": self.n_images, "fractions": list(self.fractions),
                "training": dict(self.training), "explain_images": self.explain_images,
                "reference_point": list(self.reference_point),
                "n_events": list(self.n_events), "seed": self.seed, "ladder": self.ladder,
                "decay_events": self.decay_events,
                # only when not every row: the plan.json of earlier studies stays the same
                **({} if self.comparison is None else {"comparison": list(self.comparison)})}


PRESETS: dict[str, RunPlan] = {
    # The embedded default: the seed's setting at a size that finishes on 2 cores in minutes.
    # 4800 training images; 1600 validation and 1600 test images, so that the 68 % interval
    # calibrated on the one and scored on the other is known to +-1.6 points (docs/learning.md).
    "small": RunPlan("small", n_images=8000, fractions=(0.6, 0.2, 0.2)),
    # The full-size study behind the learning targets.
    "paper": RunPlan("paper", n_images=25000, training=_paper_training(), explain_images=32,
                     ladder="paper"),
}


def plan_for(preset: str, seed: int | None = None, n_images: int | None = None) -> RunPlan:
    """The preset's plan with optional overrides of the seed and the number of images."""
    check_choice("preset", preset, tuple(PRESETS))
    plan = PRESETS[preset]
    if seed is not None:
        plan = replace(plan, seed=seed)
    if n_images is not None:
        plan = replace(plan, n_images=n_images)
    return plan


def _varies(prior: Prior | None) -> bool:
    """Whether a label drawn from ``prior`` can differ between images (None: a derived label)."""
    if prior is None:
        return True
    if prior.kind == "fixed":
        return False
    if prior.kind == "binary":
        return prior.value != 0.0 and 0.0 < prior.fraction < 1.0
    if prior.kind == "normal" and prior.sd == 0.0:
        return False
    return prior.low < prior.high


def check_sizes(plan: RunPlan, cfg: DatasetConfig) -> None:
    """Refuse, before any stage runs, a plan whose test split is too small for the stages that
    read it: the observables' joint fit over every label the config's priors vary
    (:func:`upclens.observables.sensitivity.minimum_images`; at least 2, which the explanation
    also needs)."""
    from upclens.data.split import split_sizes
    from upclens.observables.sensitivity import NOT_REGRESSORS, minimum_images

    varying = [c for c in cfg.columns if _varies(getattr(cfg.priors, c, None))]
    need = minimum_images(varying)
    test = split_sizes(plan.n_images, plan.fractions)[2]
    if test < need:
        n_min = plan.n_images
        while split_sizes(n_min, plan.fractions)[2] < need:
            n_min += 1
        fractions = "/".join(f"{f:g}" for f in plan.fractions)
        labels = ", ".join(c for c in varying if c not in NOT_REGRESSORS)
        raise ParameterError("n_images", plan.n_images,
                             f"must be at least {n_min}: the test split ({fractions}) must hold "
                             f"{need} images for the observables' joint fit on {labels}, "
                             f"not {test}")
