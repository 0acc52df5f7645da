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
