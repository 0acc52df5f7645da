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


@dataclass(frozen=True, kw_only=True)
class BinnedCurve:
    """A quantity per pair-pT bin: edges (GeV), value and its one-standard-deviation error
    (None in empty bins), events per bin."""

    edges: list[float]
    value: list[float | None]
    error: list[float | None]
    counts: list[float]


@dataclass(frozen=True, kw_only=True)
class EventSelectionSummary:
    """The events one selection keeps: selection (words), n_events kept, the share of each
    measured neutron class, <cos 2 Delta phi> and <cos 4 Delta phi> versus pair pT (all
    classes) and the normalised pT spectrum (GeV^-1) per neutron class ('any': all)."""

    selection: str
    n_events: int
    class_fractions: dict[str, float]
    cos2: BinnedCurve
    cos4: BinnedCurve
    spectra: dict[str, BinnedCurve]


@dataclass(frozen=True, kw_only=True)
class EventsResult(StageResult):
    """Decay events of the study's nucleus at its reference shape: nucleus (name, beta2, beta3,
    Delta r_np in fm), sqrt_snn (GeV), the meson rapidity range, events generated, and one
    summary per selection (detector-free, STAR-like)."""

    nucleus: dict[str, Any]
    sqrt_snn: float
    rapidity: list[float]
    n_generated: int
    selections: list[EventSelectionSummary]


@dataclass(frozen=True, kw_only=True)
class IsobarCurves:
    """The Ru/Zr comparison in one neutron selection (STAR acceptance): events per species in
    the model sample (n_model) and in the STAR-sized sample (n_star); the ratio of the
    normalised pT spectra, <cos 2 Delta phi> of each species, their ratio and (STAR-sized
    sample) their difference, each versus pair pT with statistical errors."""

    neutron_class: str
    n_model: dict[str, int]
    n_star: dict[str, int]
    spectrum_ratio: BinnedCurve
    spectrum_ratio_star: BinnedCurve
    cos2: dict[str, BinnedCurve]
    cos2_star: dict[str, BinnedCurve]
    cos2_ratio: BinnedCurve
    cos2_ratio_star: BinnedCurve
    cos2_difference_star: BinnedCurve


@dataclass(frozen=True, kw_only=True)
class IsobarRatiosResult(StageResult):
    """species: the structure of each (preset name, beta2, beta3, Delta r_np in fm, skin
    type); sqrt_snn (GeV); the J/psi rapidity range; collisions per species (model_events);
    accepted J/psi per species and neutron selection in the STAR-sized sample (star_counts);
    one comparison per neutron selection."""

    species: dict[str, dict[str, Any]]
    sqrt_snn: float
    rapidity: list[float]
    model_events: int
    star_counts: int
    selections: list[IsobarCurves]


@dataclass(frozen=True, kw_only=True)
class SystematicRow:
    """One systematic effect varied in both species together, in one neutron selection: root
    mean square over pair pT < 0.2 GeV of the relative shift of the Ru spectrum alone and of
    the Ru/Zr spectrum ratio, and of the latter in statistical errors of the STAR-sized sample;
    the absolute shift of Ru's <cos 2 Delta phi> alone and of the Ru - Zr difference (also in
    statistical errors of the STAR-sized sample), and the
    shifts of the cos 2 ratio and of Ru's cos 2 in statistical errors of the STAR-sized sample
    (a relative shift of the cos 2 ratio is not given: <cos 2 Delta phi> crosses zero near
    0.08 GeV); noise_in_errors: the sampling noise the spectrum-ratio shift would carry were
    the nominal and varied samples independent (as for sigma_J/psiN), in the same errors."""

    effect: str
    variation: str
    neutron_class: str
    spectrum_alone: float
    spectrum_ratio: float
    spectrum_ratio_in_errors: float
    cos2_alone: float
    cos2_difference: float
    cos2_difference_in_errors: float
    cos2_ratio_in_errors: float
    cos2_alone_in_errors: float
    noise_in_errors: float


@dataclass(frozen=True, kw_only=True)
class IsobarSystematicsResult(StageResult):
    """rows: one per (effect, neutron selection); star_counts: the STAR-sized sample's
    accepted J/psi per species and selection that the errors refer to."""

    rows: list[SystematicRow]
    star_counts: int


@dataclass(frozen=True, kw_only=True)
class DifferenceColumn:
    """One analysis of the isobar ratio measurement: its name, the neutron classes kept (each
    tagged), whether the daughter angle is read; sigma_CRB of each difference (d_beta2sq,
    d_beta3sq dimensionless; d_rnp in fm) at each N per species with the nuisance priors
    (sigma) and with the nuisances known (sigma_known); the N per species for a k-sigma
    observation of each difference, n_for['3'] and n_for['5'] (None: beyond 10^12 J/psi)."""

    name: str
    neutron_classes: list[str]
    angle: bool
    sigma: dict[str, list[float]]
    sigma_known: dict[str, list[float]]
    n_for: dict[str, dict[str, float | None]]
    n_for_known: dict[str, dict[str, float | None]]


@dataclass(frozen=True, kw_only=True)
class IsobarSensitivityResult(StageResult):
    """The Fisher information of the Ru/Zr measurement for the differences Ru - Zr:
    differences (the model's values), n_values (J/psi per species), nuisances (prior widths:
    R and a in fm per species, sigma_vn_scale shared), one :class:`DifferenceColumn` per
    analysis, the largest relative change of a per-species bound when the finite-difference
    step was halved, the CPU seconds of the stage and the bound file (relative path)."""

    differences: dict[str, float]
    n_values: list[float]
    nuisances: dict[str, float]
    columns: list[DifferenceColumn]
    largest_step_change: float
    cpu_seconds: float
    pt_max: float
    y_max: float
    numerics: str
    bound_file: str


@dataclass(frozen=True, kw_only=True)
class PublishedRow:
    """One published number against the model (``published.table.ComparisonRow``): what is
    compared, its unit, the model's value and error, the data and its one-sigma error (for a
    chi2 row the ndf), the pull (or the chi2), the metric ('pull', 'chi2/ndf', 'sign'), the
    source and what the comparison rests on.  NaN values are stored as None."""

    quantity: str
    unit: str
    model: float | None
    model_error: float | None
    data: float | None
    data_error: float | None
    pull: float | None
    metric: str
    source: str
    choices: str


@dataclass(frozen=True, kw_only=True)
class ComparisonResult(StageResult):
    """The table of ``upclens compare``: one :class:`PublishedRow` per published number, and
    the CPU seconds it took."""

    rows: list[PublishedRow]
    cpu_seconds: float
