"""Assemble the study's report (one self-contained HTML page) and metrics.json from the typed
stage results; nothing here recomputes physics or metrics, it only reads what the stages wrote.

Every number on the page is named in words with its unit (:mod:`upclens.pipeline.wording`);
metrics.json keeps the short keys of the headline numbers for scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from upclens import __version__
from upclens.io import write_json
from upclens.pipeline import wording
from upclens.pipeline.results import (
    ComparisonResult,
    EvaluateResult,
    EventsResult,
    ExplainResult,
    InformationResult,
    LadderResult,
    ObservablesResult,
    PhysicsChecksResult,
)
from upclens.report import Report, Section

if TYPE_CHECKING:
    from upclens.stages import StageResult

Results = dict[str, "StageResult"]

_CAPTIONS = {
    "crb_versus_n": "Cramer-Rao bound of beta2, beta3 and Delta r_np against the number of "
                    "J/psi (multinomial over pixels, exact orientation average as parent "
                    "distribution); dashed: with the protons' R and a priors marginalised; "
                    "squares: the network's test RMSE (finite-statistics images only).",
    "alice_tspectrum": "Coherent J/psi dsigma/d|t| of Pb208 at 5.02 TeV against ALICE "
                       "(shape, free normalisation).",
    "ratio_maps": "Physics ratio maps from the simulator (exact orientation averages).",
    "cos_n_delta_phi": "<cos 2 Delta phi> and <cos 4 Delta phi> of J/psi -> e+e- versus pair "
                       "pT, detector-free and inside STAR's acceptance with its momentum "
                       "resolution; error bars: one statistical standard deviation.",
    "spectra_by_neutron_class": "Normalised pair-pT spectrum (1/N dN/dpT, GeV^-1) per measured "
                                "forward-neutron class, detector-free (left) and STAR (right).",
}


def example_images(test_path: Path, folder: Path) -> list[Path]:
    """Figures of two test images (without and with skin), linear and log colour scale."""
    import numpy as np

    from upclens import plots
    from upclens.data import read_dataset
    from upclens.data.store import file_meta, open_checked

    with open_checked(test_path) as f:
        n = file_meta(f)["n"]
    images, labels, meta = read_dataset(test_path, indices=np.arange(min(64, n)))
    skin = np.asarray(labels["skin"])
    picks = [int(np.argmin(skin)), int(np.argmax(skin))]
    px, py = np.asarray(meta["px"]), np.asarray(meta["py"])
    plt = plots.pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for scale in ("linear", "log"):
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
        for ax, k in zip(axes, picks, strict=True):
            img = images[k] / images[k].max()
            shown = np.log10(np.maximum(img, 1e-6)) if scale == "log" else img
            m = ax.imshow(shown, origin="lower", extent=plots.extent(px, py), cmap="inferno")
            ax.set_xlabel(r"$p_x$ (GeV)")
            ax.set_ylabel(r"$p_y$ (GeV)")
            ax.set_title(rf"$\beta_2$={labels['beta2'][k]:.3f}, $\beta_3$={labels['beta3'][k]:.3f}"
                         rf", $\Delta r_{{np}}$={labels['delta_rnp'][k]:.2f} fm", fontsize=9)
            fig.colorbar(m, ax=ax, label="log10 I/I_max" if scale == "log" else "I/I_max")
        path = folder / f"examples_{scale}.png"
        plots.save_figure(fig, str(path))
        paths.append(path)
    return paths


def headline(results: Results) -> list[wording.Number]:
    """The numbers a reader looks for first, each with its metrics.json key, words and unit."""
    numbers: list[wording.Number] = []
    if "evaluate" in results:
        numbers += wording.accuracy_numbers(_typed(results["evaluate"], EvaluateResult))
    if "information" in results:
        numbers += wording.smallest_n_numbers(
            _typed(results["information"], InformationResult).headline)
    if "physics_checks" in results:
        numbers.append(wording.alice_number(
            _typed(results["physics_checks"], PhysicsChecksResult).alice))
    return numbers


def _typed(result: Any, cls: type) -> Any:
    """``result`` after checking that it is the typed result ``cls`` (not a plain dict)."""
    if not isinstance(result, cls):
        raise TypeError(f"the report needs a {cls.__name__}, got {type(result).__name__}")
    return result


def write_metrics(out: Path, results: Results, plan: dict[str, Any],
                  total_seconds: float) -> dict[str, Any]:
    """Write ``metrics.json``: the headline numbers under their short keys, the timing, the
    plan and every stage's stored result; returns it."""
    timing = {name: round(float(r.seconds), 2) for name, r in results.items()}
    metrics = {"upclens_version": __version__, "plan": plan,
               "headline": {n.key: n.value for n in headline(results)},
               "timing_s": timing, "total_seconds_this_call": round(total_seconds, 2),
               "stages": {name: {**{k: v for k, v in r.to_dict().items() if k != "files"},
                                 "skipped": r.skipped}
                          for name, r in results.items()}}
    write_json(metrics, out / "metrics.json")
    return metrics


def write_report(out: Path, results: Results, config_toml: str, plan: dict[str, Any],
                 total_seconds: float) -> dict[str, Any]:
    """Write ``report.html`` and ``metrics.json`` into ``out``; returns the metrics."""
    metrics = write_metrics(out, results, plan, total_seconds)
    rep = Report(f"upclens study: {plan['name']} preset",
                 lead=("Coherent J/psi photoproduction in ultra-peripheral collisions as a "
                       "femtometre double slit; a multi-task ResNet reads beta2, beta3 and the "
                       f"neutron skin from the (px, py) image.  upclens {__version__}."))
    headline_section(rep.section("Headline numbers"), results)
    configuration_section(rep.section("Configuration"), config_toml, plan)
    examples = results["generate"].examples if "generate" in results else []
    if examples:
        sec = rep.section("Example images")
        for path in examples:
            sec.figure(out / path, "Test images without (left) and with (right) neutron skin, "
                       + ("log" if "log" in path else "linear") + " colour scale.")
    _figures(rep.section("Physics ratio maps"), out, results, "explain", "ratios/")
    for stage, title, write_section, result_type, folder in (
            ("evaluate", "Network accuracy on the held-out test split", accuracy_section,
             EvaluateResult, "evaluate/"),
            ("information", "Information limit", information_section, InformationResult,
             "information/"),
            ("explain", "Where the network looks (Prediction Difference Analysis)",
             explain_section, ExplainResult, "explain/"),
            ("observables", "Observables and their sensitivity", observables_section,
             ObservablesResult, "observables/"),
            ("physics_checks", "Physics check against data", physics_section,
             PhysicsChecksResult, "physics/"),
            ("events", "Events a detector records", events_section, EventsResult, "events/"),
            ("comparison", "The model against published numbers", comparison_section,
             ComparisonResult, "comparison/"),
            ("ladder", "Realism ladder", ladder_section, LadderResult, "ladder/")):
        if stage in results:
            write_section(rep.section(title), _typed(results[stage], result_type))
            _figures(rep.sections[-1], out, results, stage, folder)
    timing_section(rep.section("Timing"), results)
    rep.write(out / "report.html")
    return metrics


def headline_section(sec: Section, results: Results) -> None:
    """The headline numbers in words, with their units."""
    sec.table([{"quantity": n.words, "value": n.value, "unit": n.unit}
               for n in headline(results)])


def configuration_section(sec: Section, config_toml: str, plan: dict[str, Any]) -> None:
    """The dataset configuration and the run plan."""
    sec.text("Dataset configuration (accepted by `upclens generate --config`):")
    sec.code(config_toml)
    sec.text("Run plan: " + json.dumps(plan))


def accuracy_section(sec: Section, evaluated: EvaluateResult) -> None:
    """Per-target scores and the skin classification."""
    sec.table([wording.target_row(name, scores) for name, scores in evaluated.targets.items()])
    sec.table(wording.skin_rows(evaluated.skin))


def information_section(sec: Section, info: InformationResult) -> None:
    """The bound against N J/psi, the network's RMSE beside it and the smallest-N table."""
    from upclens.information.headline import BACKGROUND

    sec.text(f"sigma_CRB at the reference point {wording.point_words(info.point)}; the "
             f"network's test RMSE on the images of this study: "
             f"{wording.values_words(info.network_rmse)}.  With finite-statistics images "
             "(image.n_events > 0) the RMSE is drawn at that N next to the bound; for "
             "noise-free images it is a different kind of number, and the realism ladder "
             "(upclens ladder) makes the like-for-like comparison.")
    sec.table([wording.crb_row(row) for row in info.table])
    for note in info.notes:
        sec.text(str(note))
    table = info.headline
    if table.rows:
        priors = ", ".join(wording.prior_words(k, v) for k, v in table.nuisances.items())
        sec.text(f"The smallest number of J/psi that measures Delta r_np to "
                 f"+-{table.target:g} fm at the reference point (Cramer-Rao bound; "
                 f"background: incoherent fraction {BACKGROUND['incoherent_fraction']:g}, "
                 f"smearing {BACKGROUND['smearing'] * 1000:g} MeV; priors: {priors}; "
                 "upclens headline):")
        sec.table([wording.smallest_n_row(row) for row in table.rows])


def explain_section(sec: Section, explained: ExplainResult) -> None:
    """Where the relevance lies: edge, fringes, elsewhere."""
    shares = explained.region_shares
    if shares:
        sec.text("Share of |relevance| in the bright-spot edge and dark-fringe regions, and the "
                 "enrichment over the regions' share of the image area (1 = no preference).")
        sec.table([wording.region_row(task, share) for task, share in shares.items()])


def observables_section(sec: Section, obs: ObservablesResult) -> None:
    """Correlations and partial slopes of the observables against the shape parameters."""
    rows = [r for r in obs.rows if r.parameter in ("beta2", "beta3", "delta_rnp")]
    if rows:
        sec.text(f"Over the {obs.n} test images: Pearson correlation, the partial slope of a "
                 "linear fit on (beta2, beta3, Delta r_np) with its error, and the separation "
                 "(shift over one prior standard deviation, in residual standard deviations); "
                 "docs/observables.md defines each observable.")
        sec.table([wording.sensitivity_row(r) for r in rows])


def physics_section(sec: Section, checks: PhysicsChecksResult) -> None:
    """The ALICE comparison in one sentence."""
    alice = checks.alice
    sec.text(f"Pb208 at 5.02 TeV vs ALICE: chi2/ndf = {alice.chi2:.1f}/{alice.ndf} "
             f"(shape only, fitted scale {alice.scale:.3g}).")


def events_section(sec: Section, ev: EventsResult) -> None:
    """The decay events: what was made, the class shares and cos n(Delta phi) per pT bin."""
    sec.text(f"{ev.n_generated} collisions of {wording.nucleus_words(ev.nucleus)} at "
             f"sqrt(s_NN) = {ev.sqrt_snn:g} GeV, meson rapidity {wording.range_words(ev.rapidity)},"
             " each with its own impact parameter, b direction and J/psi polarisation, decayed "
             "to e+e-; neutron classes drawn from each event's |b| (docs/events.md).  Delta phi: "
             "the azimuth between the pair pT and p(e+) - p(e-).")
    sec.table([wording.selection_row(s) for s in ev.selections])
    sec.table(wording.cos_n_rows(ev.selections))


def comparison_section(sec: Section, comp: ComparisonResult) -> None:
    """The table of ``upclens compare``: model, data, pull (or chi2) and the choices."""
    sec.text("Every published number the model predicts (docs/comparison.md; the data are "
             "shipped in upclens/reference).  Pull = (model - data) / sqrt(data error^2 + "
             "model error^2); spectra give a chi2 with its number of degrees of freedom; the "
             f"cos 2 Delta phi rows compare the sign only.  CPU time {comp.cpu_seconds:.0f} s.")
    sec.table([wording.published_row(r) for r in comp.rows])


def ladder_section(sec: Section, ladder: LadderResult) -> None:
    """One line per ladder row: accuracy next to the bound."""
    sec.text("Each row: the same network trained and evaluated on ever more realistic "
             "images, next to the Cramer-Rao bound at the same test points "
             "(docs/ladder.md).")
    sec.table([wording.ladder_row(row) for row in ladder.summaries])


def timing_section(sec: Section, results: Results) -> None:
    """Seconds per stage (of the run that made it)."""
    sec.table([{"stage": name, "seconds": round(float(r.seconds), 2),
                "skipped (already complete)": r.skipped} for name, r in results.items()])


def _figures(sec: Section, out: Path, results: Results, stage: str, prefix: str) -> None:
    result = results.get(stage)
    for path in (result.files if result is not None else []):
        if path.startswith(prefix) and path.endswith(".png"):
            stem = Path(path).stem
            sec.figure(out / path, _CAPTIONS.get(stem, stem.replace("_", " ")))
