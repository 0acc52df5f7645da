"""The typed results of the main job's stages: what each stage hands to the next ones and to
the report.  Each is a frozen dataclass stored as its plain form in ``stages/NAME.json`` (and
under ``stages`` in metrics.json); the report reads them by attribute, so a renamed or missing
field fails where it is read instead of dropping a section of the page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from upclens.stages import StageResult, typed_from_dict


@dataclass(frozen=True, kw_only=True)
class GenerateResult(StageResult):
    """parts: split name ('train', 'val', 'test') -> HDF5 file; n_images: images generated;
    examples: figures of two test images."""

    parts: dict[str, str]
    n_images: int
    examples: list[str]


@dataclass(frozen=True, kw_only=True)
class TrainResult(StageResult):
    """run_dir: the training run folder (model.pt, checkpoint.pt, history.json)."""

    run_dir: str


@dataclass(frozen=True, kw_only=True)
class TargetScores:
    """Test-split accuracy of one regression target (units of the target: fm for Delta r_np,
    none for beta2 and beta3; coverages are fractions of the test images)."""

    r2: float
    rmse: float
    mae: float
    coverage_68: float
    coverage_68_spread: float
    coverage_95: float


@dataclass(frozen=True, kw_only=True)
class SkinScores:
    """Skin classification on the test split: accuracy (fraction) and ROC AUC; threshold_fm:
    Delta r_np above it is the skin class; accuracy_from_delta_rnp: the class read from the
    regressed Delta r_np instead."""

    accuracy: float
    roc_auc: float | None
    threshold_fm: float | None = None
    accuracy_from_delta_rnp: float | None = None


@dataclass(frozen=True, kw_only=True)
class EvaluateResult(StageResult):
    """metrics: the evaluation's metrics.json (without absolute paths)."""

    metrics: dict[str, Any]

    @property
    def targets(self) -> dict[str, TargetScores]:
        """Scores of each regression target."""
        return {name: typed_from_dict(TargetScores, v)
                for name, v in self.metrics["targets"].items()}

    @property
    def skin(self) -> SkinScores:
        """Scores of the skin classification."""
        return typed_from_dict(SkinScores, self.metrics["skin"])


@dataclass(frozen=True, kw_only=True)
class SmallestN:
    """One measurement condition of the headline: the smallest number of J/psi for which the
    Cramer-Rao bound on Delta r_np reaches the target, with the protons known (n_known) and
    with their R, a and sigma_J/psiN from priors (n_priors); the bound (fm) at 10^4 J/psi
    both ways (sigma_known, sigma_priors) and with priors at 10^6 (sigma_priors_large, the
    near-floor the priors leave)."""

    condition: str
    n_known: float | None
    n_priors: float | None
    sigma_known: float | None
    sigma_priors: float | None
    sigma_priors_large: float | None


@dataclass(frozen=True, kw_only=True)
class Headline:
    """The smallest-N table: target (fm), nuisance prior widths (fm for R and a, relative for
    sigma_vn_scale), one row per condition and the same table as Markdown."""

    markdown: str
    rows: list[SmallestN]
    target: float
    nuisances: dict[str, float]


@dataclass(frozen=True, kw_only=True)
class InformationResult(StageResult):
    """point: (beta2, beta3, Delta r_np in fm) of the bound; settings: the information settings
    of the study's config (collision, switches, grid, background, smearing); table: sigma_CRB
    per N J/psi, with the protons known and with R, a priors; network_rmse: the test RMSE per
    target; notes: the bound's remarks; headline: the smallest-N table."""

    point: dict[str, float]
    settings: dict[str, Any]
    table: list[dict[str, float]]
    network_rmse: dict[str, float]
    notes: list[str]
    headline: Headline


@dataclass(frozen=True, kw_only=True)
class RegionShare:
    """Share of |relevance| in the bright-spot edge, the dark fringes and elsewhere, and the
    enrichment of the first two over their share of the image area (1: no preference)."""

    edge: float
    edge_enrichment: float
    fringe: float
    fringe_enrichment: float
    other: float


@dataclass(frozen=True, kw_only=True)
class ExplainResult(StageResult):
    """summary: explain.json without large arrays; ratios: the ratio maps' summary."""

    summary: dict[str, Any]
    ratios: dict[str, Any]

    @property
    def region_shares(self) -> dict[str, RegionShare]:
        """Region shares of each task's mean |relevance|."""
        return {task: typed_from_dict(RegionShare, v)
                for task, v in self.summary["region_shares"].items()}


@dataclass(frozen=True, kw_only=True)
class SensitivityRow:
    """One (observable, parameter) pair over the test images: Pearson correlation, the partial
    slope of a linear fit on (beta2, beta3, Delta r_np) with its error (observable units per
    parameter unit) and the separation (shift over one prior standard deviation, in residual
    standard deviations)."""

    observable: str
    parameter: str
    pearson: float | None
    partial_slope: float | None
    partial_slope_err: float | None
    separation: float | None


@dataclass(frozen=True, kw_only=True)
class ObservablesResult(StageResult):
    """sensitivity: the sensitivity study's summary (rows, n, residual spreads, ...)."""

    sensitivity: dict[str, Any]

    @property
    def n(self) -> int:
        """Test images measured."""
        return int(self.sensitivity["n"])

    @property
    def rows(self) -> list[SensitivityRow]:
        """Every (observable, parameter) pair."""
        return [typed_from_dict(SensitivityRow, r) for r in self.sensitivity["rows"]]


@dataclass(frozen=True, kw_only=True)
class AliceFit:
    """The shape fit of the coherent Pb208 spectrum to ALICE: chi2, degrees of freedom and the
    fitted normalisation (model over data)."""

    chi2: float
    ndf: int
    scale: float


@dataclass(frozen=True, kw_only=True)
class PhysicsChecksResult(StageResult):
    """alice: the fit to the ALICE coherent |t| spectrum."""

    alice: AliceFit


@dataclass(frozen=True, kw_only=True)
class LadderRowSummary:
    """One row of the realism ladder as the report shows it (the row's summary has more)."""

    row: str
    title: str
    n_events: int | None
    r2_beta2: float | None
    r2_beta3: float | None
    r2_delta_rnp: float | None
    rmse_delta_rnp: float | None
    sigma_crb_delta_rnp: float | None
    ratio_delta_rnp: float | None
    skin_accuracy: float | None


@dataclass(frozen=True, kw_only=True)
class LadderResult(StageResult):
    """rows: the ladder's row summaries (without large arrays)."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def summaries(self) -> list[LadderRowSummary]:
        """The rows as the report shows them."""
        return [typed_from_dict(LadderRowSummary, r) for r in self.rows]
