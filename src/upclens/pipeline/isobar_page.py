"""The isobar study's report (one self-contained HTML page) from its typed stage results; every
number named in words with its unit, nothing recomputed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from upclens import __version__
from upclens.pipeline.page import _typed
from upclens.pipeline.results import (
    IsobarCurves,
    IsobarRatiosResult,
    IsobarSensitivityResult,
    IsobarSystematicsResult,
    SystematicRow,
)
from upclens.report import Report, Section

if TYPE_CHECKING:
    from upclens.pipeline.isobar import IsobarPlan
    from upclens.stages import StageResult

CANCELS_BELOW = 1.0 / 3.0
"""An effect cancels in a ratio when it moves the ratio by less than this share of what it
moves one species alone."""

MATTERS_ABOVE = 0.3
"""An effect matters at STAR-like counts when it moves a ratio by more than this many
statistical errors (rms over the bins)."""


def write_isobar_report(out: Path, results: dict[str, StageResult], plan: IsobarPlan,
                        total_seconds: float) -> Path:
    """Write ``report.html`` of the isobar study into ``out``."""
    rep = Report("upclens: Ru+Ru against Zr+Zr at 200 GeV, as STAR records them",
                 lead=("Coherent J/psi -> e+e- in ultra-peripheral Ru+Ru and Zr+Zr collisions, "
                       "one collision per event, inside STAR's acceptance and forward-neutron "
                       f"classes; upclens {__version__}.  docs/isobar.md explains every choice."))
    if "ratios" in results:
        ratios = _typed(results["ratios"], IsobarRatiosResult)
        structure_section(rep.section("The two nuclei"), ratios)
        for curves in ratios.selections:
            sec = rep.section(f"Ru/Zr ratios, neutron class {curves.neutron_class}")
            ratio_section(sec, curves, ratios.star_counts)
            sec.figure(out / f"isobar/ratios_{curves.neutron_class}.png",
                       "Left: Ru/Zr of the normalised pair-pT spectra; middle: <cos 2 Delta "
                       "phi> of each species; right: their ratio.  Bands: the model sample "
                       "(one standard deviation); points: the STAR-sized sample with its "
                       "statistical errors.")
    if "systematics" in results:
        syst = _typed(results["systematics"], IsobarSystematicsResult)
        systematics_section(rep.section("Which systematic effects cancel in the ratio"), syst)
        rep.sections[-1].figure(out / "isobar/systematics.png",
                                "Shift of one species alone against the shift of the Ru/Zr "
                                "ratio for each effect (first neutron selection).")
    if "sensitivity" in results:
        sens = _typed(results["sensitivity"], IsobarSensitivityResult)
        sensitivity_section(rep.section("Sensitivity of the ratio: the Ru - Zr differences"),
                            sens)
        rep.sections[-1].figure(
            out / "isobar/sensitivity.png",
            "Cramer-Rao bound on each Ru - Zr difference against the J/psi per species, nuisance "
            "priors marginalised; dashed: pT only, solid: with the daughter angle; horizontal: "
            "the model difference divided by 3 and by 5 (a 3 and a 5 sigma observation where a "
            "curve crosses them); dotted vertical: STAR's ~200 per species.")
    sec = rep.section("Timing")
    sec.table([{"stage": name, "seconds": round(float(r.seconds), 2),
                "skipped (already complete)": r.skipped} for name, r in results.items()])
    sec.text(f"This call: {total_seconds:.1f} s.  Plan: {plan.model_events} collisions per "
             f"species, {plan.star_counts} accepted J/psi per species and neutron selection in "
             f"the STAR-sized sample, seed {plan.seed}.")
    return rep.write(out / "report.html")


def structure_section(sec: Section, ratios: IsobarRatiosResult) -> None:
    """The structure of each species and the sizes."""
    lo, hi = ratios.rapidity
    sec.text(f"sqrt(s_NN) = {ratios.sqrt_snn:g} GeV, J/psi rapidity {lo:g} < y < {hi:g}, "
             f"{ratios.model_events} collisions per species; the STAR-sized sample holds "
             f"{ratios.star_counts} accepted J/psi per species in each neutron class.  Sources "
             "and choices: docs/physics.md, section 16.")
    sec.table([structure_row(name, s) for name, s in ratios.species.items()])


def structure_row(name: str, s: dict[str, Any]) -> dict[str, Any]:
    """One species' structure in words."""
    return {"species": f"{name}+{name} ({s['name']})", "beta2": s["beta2"], "beta3": s["beta3"],
            "Delta r_np (fm)": s["delta_rnp"], "skin made on": (
                "the neutrons' diffuseness (halo)" if s["skin_type"] == "halo"
                else "the neutrons' radius")}


def ratio_section(sec: Section, c: IsobarCurves, star_counts: int) -> None:
    """Per pair-pT bin: the ratios with their errors, model and STAR-sized sample."""
    sec.text(f"Model sample: {c.n_model['Ru']} Ru+Ru and {c.n_model['Zr']} Zr+Zr accepted "
             f"events of class {c.neutron_class}; STAR-sized sample: {c.n_star['Ru']} and "
             f"{c.n_star['Zr']} (requested {star_counts}).  All numbers dimensionless; errors "
             "are one statistical standard deviation.")
    rows = []
    edges = c.spectrum_ratio.edges
    for k in range(len(edges) - 1):
        rows.append({
            "pair pT bin (GeV)": f"{edges[k]:g} - {edges[k + 1]:g}",
            "Ru/Zr spectrum ratio, model": c.spectrum_ratio.value[k],
            "error of the model spectrum ratio": c.spectrum_ratio.error[k],
            "Ru/Zr spectrum ratio, STAR-sized": c.spectrum_ratio_star.value[k],
            "error of the STAR-sized spectrum ratio": c.spectrum_ratio_star.error[k],
            "<cos 2 Delta phi> Ru, model": c.cos2["Ru"].value[k],
            "<cos 2 Delta phi> Zr, model": c.cos2["Zr"].value[k],
            "Ru/Zr cos 2 ratio, model": c.cos2_ratio.value[k],
            "Ru/Zr cos 2 ratio, STAR-sized": c.cos2_ratio_star.value[k],
            "error of the STAR-sized cos 2 ratio": c.cos2_ratio_star.error[k],
            "Ru - Zr cos 2 difference, STAR-sized": c.cos2_difference_star.value[k],
            "error of the STAR-sized cos 2 difference": c.cos2_difference_star.error[k]})
    sec.table(rows)


def verdict(alone: float, ratio: float, in_errors: float) -> str:
    """Whether an effect cancels in the ratio and whether what is left matters."""
    cancels = ratio < CANCELS_BELOW * alone if alone > 0 else ratio == 0
    left = ("negligible at STAR-like counts" if in_errors < MATTERS_ABOVE
            else "matters at STAR-like counts")
    return ("cancels" if cancels else "does not cancel") + f"; {left}"


def systematic_row(r: SystematicRow) -> dict[str, Any]:
    """One effect in one neutron selection, in words."""
    return {"effect": r.effect, "variation (both species)": r.variation,
            "neutron class": r.neutron_class,
            "Ru spectrum alone: relative shift": r.spectrum_alone,
            "Ru/Zr spectrum ratio: relative shift": r.spectrum_ratio,
            "Ru/Zr spectrum ratio: shift in statistical errors": r.spectrum_ratio_in_errors,
            "spectrum ratio": verdict(r.spectrum_alone, r.spectrum_ratio,
                                      r.spectrum_ratio_in_errors),
            "Ru <cos 2 Delta phi> alone: shift": r.cos2_alone,
            "Ru - Zr cos 2 difference: shift": r.cos2_difference,
            "Ru - Zr cos 2 difference: shift in statistical errors":
                r.cos2_difference_in_errors,
            "Ru/Zr cos 2 ratio: shift in statistical errors": r.cos2_ratio_in_errors,
            "cos 2 difference": verdict(r.cos2_alone, r.cos2_difference,
                                        r.cos2_difference_in_errors),
            "sampling noise of the ratio shift for independent samples (statistical errors)":
                r.noise_in_errors}


def systematics_section(sec: Section, syst: IsobarSystematicsResult) -> None:
    """The table of effects and the rule behind its verdicts."""
    sec.text("Each effect is changed in both species together on the same events, so the "
             "shift is the effect's alone.  Shifts are root mean squares over the pair-pT bins "
             "below 0.2 GeV; relative shifts are fractions of the nominal value; 'in "
             f"statistical errors' refers to the STAR-sized sample ({syst.star_counts} accepted "
             "J/psi per species and class).  An effect 'cancels' when the ratio (or the cos 2 "
             f"difference) moves by less than {CANCELS_BELOW:.2g} of what one species alone "
             f"moves; it 'matters' when the ratio moves by more than {MATTERS_ABOVE:g} "
             "statistical errors.")
    sec.table([systematic_row(r) for r in syst.rows])


DIFFERENCE_WORDS = {"d_beta2sq": "beta2^2(Ru) - beta2^2(Zr)",
                    "d_beta3sq": "beta3^2(Ru) - beta3^2(Zr)",
                    "d_rnp": "Delta r_np(Ru) - Delta r_np(Zr) (fm)"}
REPORT_N = (200.0, 1e3, 1e4, 1e5)


def _n_words(n: float | None) -> str:
    from upclens.pipeline.isobar_sensitivity import n_text

    return n_text(n)


def sensitivity_section(sec: Section, s: IsobarSensitivityResult) -> None:
    """sigma of each difference at a few N per species and the N for 3 and 5 sigma, per
    analysis, with the nuisance priors and with the nuisances known."""
    diffs = ", ".join(f"{DIFFERENCE_WORDS[d]} = {v:+.4g}" for d, v in s.differences.items())
    sec.text("Cramer-Rao bound of the Ru/Zr measurement on the differences of the two nuclei "
             f"(model values: {diffs}), from N J/psi -> e+e- per species with the direction of "
             f"b unknown, |y| < {s.y_max:g}, pair pT < {s.pt_max:g} GeV, inside STAR's "
             "acceptance; only the shapes count (the ratio cancels flux, efficiency and "
             "luminosity).  Marginalised: the other structure parameters, R and a of each "
             f"species (priors {s.nuisances.get('R', float('nan')):g} and "
             f"{s.nuisances.get('a', float('nan')):g} fm) and the shared sigma_J/psiN scale "
             f"(prior {s.nuisances.get('sigma_vn_scale', float('nan')):g}).  Largest change of "
             f"a per-species bound when the finite-difference step was halved: "
             f"{s.largest_step_change:.2%}; CPU time {s.cpu_seconds:.0f} s "
             f"({s.numerics} numerics).  Bound file: {s.bound_file}.")
    for key, nkey, title in (("sigma", "n_for", "nuisance priors"),
                             ("sigma_known", "n_for_known", "nuisances known")):
        rows = []
        for c in s.columns:
            for d in s.differences:
                row: dict[str, Any] = {"analysis": c.name, "difference": DIFFERENCE_WORDS[d],
                                       "nuisances": title}
                for n in REPORT_N:
                    if n in s.n_values:
                        row[f"sigma at {n:g} per species"] = getattr(c, key)[d][
                            s.n_values.index(n)]
                for k in ("3", "5"):
                    row[f"N per species for {k} sigma"] = _n_words(getattr(c, nkey)[k][d])
                rows.append(row)
        sec.table(rows)
