"""``upclens isobar`` (and ``upclens run --preset isobar``): Ru+Ru against Zr+Zr at 200 GeV as
STAR records them, resumable stage by stage.

Stages: ``ratios`` (events of both species with their literature structure, STAR's acceptance
and neutron classes; the Ru/Zr ratios of the pT spectrum and of <cos 2 Delta phi> from a large
model sample and from a sample of STAR-like size, with statistical errors) and
``systematics`` (each systematic effect varied in both species together, on the same events,
and its shift of each species alone and of the ratios) and ``sensitivity`` (the Fisher
information of the ratio measurement for the Ru - Zr differences of beta2^2, beta3^2 and
Delta r_np: sigma against N per species and the N for 3 and 5 sigma, with the bound file
``isobar/sensitivity.json``).  The output folder holds ``isobar/``, ``stages/*.json`` and
``report.html``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, replace
from functools import cache, partial
from pathlib import Path
from typing import Any

from upclens.errors import check_integer
from upclens.pipeline.results import (
    BinnedCurve,
    IsobarCurves,
    IsobarRatiosResult,
    IsobarSensitivityResult,
    IsobarSystematicsResult,
    SystematicRow,
)
from upclens.stages import Stage, StageResult

SPECIES_ORDER = ("Ru", "Zr")


@dataclass(frozen=True)
class IsobarPlan:
    """Sizes of the isobar study.

    model_events: collisions per species for the model curves and the systematic shifts.
    star_counts: accepted J/psi per species in each neutron selection, the size of the
    STAR-like sample (docs/isobar.md: the estimate behind 200).  rapidity: the J/psi rapidity
    range; sqrt_snn in GeV; seed: base seed.  fisher_numerics: accuracy of the event densities
    of the sensitivity stage ('full' or 'coarse'); fisher_pt_max: its pair-pT window (GeV).
    """

    model_events: int = 2_000_000
    star_counts: int = 200
    seed: int = 1
    rapidity: tuple[float, float] = (-1.0, 1.0)
    sqrt_snn: float = 200.0
    fisher_numerics: str = "full"
    fisher_pt_max: float = 0.2

    def __post_init__(self) -> None:
        from upclens.errors import check_choice, check_range
        from upclens.pipeline.isobar_sensitivity import NUMERICS

        check_choice("fisher_numerics", self.fisher_numerics, NUMERICS)
        check_range("fisher_pt_max", self.fisher_pt_max, 0.02, 1.0)
        check_integer("model_events", self.model_events, 10_000, 10**9)
        check_integer("star_counts", self.star_counts, 10, 10**8)
        check_integer("seed", self.seed, 0, 2**63 - 1)


def _production(plan: IsobarPlan, sigma_vn_scale: float = 1.0) -> Any:
    from upclens.observables.eventstudy import Production
    from upclens.physics.settings import ModelSwitches

    return Production(sqrt_snn=plan.sqrt_snn, rapidity=plan.rapidity,
                      switches=ModelSwitches(polarization="vector",
                                             sigma_vn_scale=sigma_vn_scale))


def _raw(plan: IsobarPlan, species: str, sigma_vn_scale: float = 1.0) -> Any:
    """The collisions of one species (the nominal ones kept for the process: both stages read
    them)."""
    if sigma_vn_scale == 1.0:
        return _nominal(plan, species)
    return _simulate(plan, species, sigma_vn_scale)


@cache
def _nominal(plan: IsobarPlan, species: str) -> Any:
    return _simulate(plan, species, 1.0)


def _simulate(plan: IsobarPlan, species: str, sigma_vn_scale: float) -> Any:
    from upclens.observables.eventstudy import simulate
    from upclens.observables.isobar import SPECIES

    stream = SPECIES_ORDER.index(species)
    return simulate(SPECIES[species].nucleus(), plan.model_events, plan.seed,
                    _production(plan, sigma_vn_scale), stream=stream)


def _observables(sample: Any) -> dict[str, Any]:
    from upclens.observables.eventstudy import observables
    from upclens.observables.isobar import ISOBAR_PT_EDGES

    obs = observables(sample, ISOBAR_PT_EDGES)
    return {"spectrum": obs.spectrum, "cos2": obs.cos2}


def _curve(b: Any) -> BinnedCurve:
    from upclens.observables.eventstudy import binned_dict

    return BinnedCurve(**binned_dict(b))


def ratios_stage(out: Path, plan: IsobarPlan, _: dict[str, Any]) -> IsobarRatiosResult:
    """The Ru/Zr ratios: model curves (all but the first ``star_counts`` events of each class)
    and a STAR-sized sample (those first events), for each neutron selection."""
    from upclens.observables import isobar as iso
    from upclens.observables.eventstudy import select

    folder = out / "isobar"
    folder.mkdir(parents=True, exist_ok=True)
    measured = {sp: select(_raw(plan, sp), iso.STAR) for sp in SPECIES_ORDER}
    curves = []
    for cls in iso.NEUTRON_SELECTIONS:
        model, star = {}, {}
        for sp in SPECIES_ORDER:
            sample = measured[sp].of_class(cls)
            star[sp] = (_observables(sample.first(plan.star_counts)),
                        len(sample.first(plan.star_counts)))
            model[sp] = (_observables(sample.rest(plan.star_counts)),
                         len(sample.rest(plan.star_counts)))
        model_ratio = iso.ratios(model["Ru"][0], model["Zr"][0])
        star_ratio = iso.ratios(star["Ru"][0], star["Zr"][0])
        _ratio_figure(cls, model, star, model_ratio, star_ratio,
                      folder / f"ratios_{cls}.png")
        curves.append(IsobarCurves(
            neutron_class=cls, n_model={sp: model[sp][1] for sp in SPECIES_ORDER},
            n_star={sp: star[sp][1] for sp in SPECIES_ORDER},
            spectrum_ratio=_curve(model_ratio["spectrum"]),
            spectrum_ratio_star=_curve(star_ratio["spectrum"]),
            cos2={sp: _curve(model[sp][0]["cos2"]) for sp in SPECIES_ORDER},
            cos2_star={sp: _curve(star[sp][0]["cos2"]) for sp in SPECIES_ORDER},
            cos2_ratio=_curve(model_ratio["cos2"]), cos2_ratio_star=_curve(star_ratio["cos2"]),
            cos2_difference_star=_curve(star_ratio["cos2_difference"])))
    return IsobarRatiosResult(
        files=sorted(f"isobar/{p.name}" for p in folder.glob("ratios_*.png")),
        species={sp: asdict(iso.SPECIES[sp]) for sp in SPECIES_ORDER},
        sqrt_snn=plan.sqrt_snn, rapidity=list(plan.rapidity), model_events=plan.model_events,
        star_counts=plan.star_counts, selections=curves)


def systematics_stage(out: Path, plan: IsobarPlan, _: dict[str, Any]
                      ) -> IsobarSystematicsResult:
    """Each systematic effect varied in both species together: the shift of the Ru spectrum
    and <cos 2 Delta phi> alone and of the Ru/Zr ratios, relative and in statistical errors of
    the STAR-sized sample."""
    import numpy as np

    from upclens.observables import isobar as iso
    from upclens.observables.eventstudy import select

    folder = out / "isobar"
    folder.mkdir(parents=True, exist_ok=True)

    def observed(selection: Any, scale: float = 1.0) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {cls: {} for cls in iso.NEUTRON_SELECTIONS}
        for sp in SPECIES_ORDER:
            measured = select(_raw(plan, sp, scale), selection)
            for cls in iso.NEUTRON_SELECTIONS:
                found[cls][sp] = _observables(measured.of_class(cls))
        return found

    nominal = observed(iso.STAR)
    star_errors = {}
    for cls in iso.NEUTRON_SELECTIONS:
        # statistical errors at STAR-like counts: the model sample's, scaled by sqrt(N / n)
        n_model = {sp: nominal[cls][sp]["spectrum"].counts.sum() for sp in SPECIES_ORDER}
        k = {sp: np.sqrt(n_model[sp] / plan.star_counts) for sp in SPECIES_ORDER}
        ratio = iso.ratios(nominal[cls]["Ru"], nominal[cls]["Zr"])
        star_errors[cls] = {
            "spectrum_Ru": nominal[cls]["Ru"]["spectrum"].error * k["Ru"],
            "cos2_Ru": nominal[cls]["Ru"]["cos2"].error * k["Ru"],
            "spectrum_ratio": ratio["spectrum"].error * np.sqrt(k["Ru"] * k["Zr"]),
            "cos2_ratio": ratio["cos2"].error * np.sqrt(k["Ru"] * k["Zr"]),
            "cos2_difference": ratio["cos2_difference"].error * np.sqrt(k["Ru"] * k["Zr"])}
    rows = []
    for syst in iso.SYSTEMATICS:
        varied = observed(syst.selection or iso.STAR, syst.sigma_vn_scale)
        for cls in iso.NEUTRON_SELECTIONS:
            rows.append(_systematic_row(syst, cls, nominal[cls], varied[cls], star_errors[cls]))
    _systematics_figure(rows, folder / "systematics.png")
    return IsobarSystematicsResult(files=["isobar/systematics.png"], rows=rows,
                                   star_counts=plan.star_counts)


def sensitivity_stage(out: Path, plan: IsobarPlan, _: dict[str, Any]
                      ) -> IsobarSensitivityResult:
    """The Fisher information of the ratio measurement for the Ru - Zr differences, at the
    plan's rapidity reach (|y| < max |rapidity|), in STAR's acceptance and neutron classes."""
    from upclens.pipeline.isobar_sensitivity import sensitivity

    y_max = max(abs(v) for v in plan.rapidity)
    return sensitivity(out / "isobar", pt_max=plan.fisher_pt_max, y_max=y_max,
                       numerics=plan.fisher_numerics)


def _systematic_row(syst: Any, cls: str, nominal: dict[str, Any], varied: dict[str, Any],
                    errors: dict[str, Any]) -> SystematicRow:
    """The shifts of one effect in one neutron selection."""
    import numpy as np

    from upclens.observables import isobar as iso
    from upclens.observables.events import Binned

    def relative(a: Binned, b: Binned) -> float:
        return iso.shift_in_errors(a, b, np.abs(a.value))

    def absolute(a: Binned, b: Binned) -> float:
        return iso.shift_in_errors(a, b, np.ones_like(a.value))

    r_nom = iso.ratios(nominal["Ru"], nominal["Zr"])
    r_var = iso.ratios(varied["Ru"], varied["Zr"])
    ru_n, ru_v = nominal["Ru"], varied["Ru"]
    return SystematicRow(
        effect=syst.name, variation=syst.variation, neutron_class=cls,
        spectrum_alone=relative(ru_n["spectrum"], ru_v["spectrum"]),
        spectrum_ratio=relative(r_nom["spectrum"], r_var["spectrum"]),
        spectrum_ratio_in_errors=iso.shift_in_errors(r_nom["spectrum"], r_var["spectrum"],
                                                     errors["spectrum_ratio"]),
        cos2_alone=absolute(ru_n["cos2"], ru_v["cos2"]),
        cos2_difference=absolute(r_nom["cos2_difference"], r_var["cos2_difference"]),
        cos2_difference_in_errors=iso.shift_in_errors(
            r_nom["cos2_difference"], r_var["cos2_difference"], errors["cos2_difference"]),
        cos2_ratio_in_errors=iso.shift_in_errors(r_nom["cos2"], r_var["cos2"],
                                                 errors["cos2_ratio"]),
        cos2_alone_in_errors=iso.shift_in_errors(ru_n["cos2"], ru_v["cos2"], errors["cos2_Ru"]),
        noise_in_errors=_noise(r_nom["spectrum"], r_var["spectrum"], errors["spectrum_ratio"]))


def _noise(nominal: Any, varied: Any, error: Any, pt_max: float = 0.2) -> float:
    """Sampling noise that a shift of the ratio would carry were the two samples independent:
    rms over the bins below ``pt_max`` of sqrt(sigma_nominal^2 + sigma_varied^2) in units of
    ``error``.  Shifts on the same events (every effect but sigma_J/psiN) carry far less."""
    import numpy as np

    noise = np.hypot(nominal.error, varied.error) / error
    inside = (nominal.edges[1:] <= pt_max + 1e-12) & np.isfinite(noise)
    return float(np.sqrt(np.mean(noise[inside] ** 2))) if np.any(inside) else float("nan")


def _ratio_figure(cls: str, model: dict[str, Any], star: dict[str, Any],
                  model_ratio: dict[str, Any], star_ratio: dict[str, Any], path: Path) -> None:
    """Three panels: the spectrum ratio, <cos 2 Delta phi> of each species, the cos 2 ratio;
    lines: the model sample; points: the STAR-sized sample with its statistical errors."""
    import numpy as np

    from upclens.plots import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15.0, 4.0))

    def line(ax: Any, b: Any, label: str, colour: str) -> None:
        ax.fill_between(b.centres, b.value - b.error, b.value + b.error, color=colour,
                        alpha=0.25, lw=0)
        ax.plot(b.centres, b.value, "-", color=colour, label=label)

    def points(ax: Any, b: Any, label: str, colour: str, shift: float = 0.0) -> None:
        ax.errorbar(b.centres + shift, b.value, yerr=b.error, fmt="o", ms=4, capsize=2,
                    color=colour, label=label)

    ax = axes[0]
    line(ax, model_ratio["spectrum"], "model (large sample)", "C0")
    points(ax, star_ratio["spectrum"], "STAR-sized sample", "k")
    ax.axhline(1.0, color="0.5", lw=0.6)
    ax.set_ylabel("Ru/Zr of $(1/N)\\,dN/dp_T$")
    ax = axes[1]
    for k, (sp, colour) in enumerate(zip(SPECIES_ORDER, ("C3", "C2"), strict=True)):
        line(ax, model[sp][0]["cos2"], f"{sp}+{sp} model", colour)
        points(ax, star[sp][0]["cos2"], f"{sp}+{sp} STAR-sized", colour, (k - 0.5) * 0.003)
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.set_ylabel(r"$\langle\cos 2\Delta\phi\rangle$")
    ax = axes[2]
    line(ax, model_ratio["cos2"], "model (large sample)", "C0")
    points(ax, star_ratio["cos2"], "STAR-sized sample", "k")
    ax.axhline(1.0, color="0.5", lw=0.6)
    finite = np.asarray(model_ratio["cos2"].value)
    finite = finite[np.isfinite(finite)]
    if finite.size:
        ax.set_ylim(min(-1.0, finite.min() - 0.5), max(3.0, min(finite.max() + 0.5, 6.0)))
    ax.set_ylabel(r"Ru/Zr of $\langle\cos 2\Delta\phi\rangle$")
    for ax in axes:
        ax.set_xlabel("pair $p_T$ (GeV)")
        ax.legend(fontsize=7)
    fig.suptitle(f"Ru+Ru / Zr+Zr, 200 GeV, J/psi -> e+e-, STAR acceptance, {cls}", fontsize=10)
    fig.tight_layout()
    save_figure(fig, str(path), tight=True)


def _systematics_figure(rows: list[SystematicRow], path: Path) -> None:
    """Bars, one row of panels per neutron selection: each effect's shift of the Ru spectrum
    alone and of the Ru/Zr spectrum ratio (relative, rms over pT < 0.2 GeV), and of Ru's
    <cos 2 Delta phi> alone and of the cos 2 ratio in statistical errors at STAR-like counts."""
    import numpy as np

    from upclens.plots import pyplot, save_figure

    classes = list(dict.fromkeys(r.neutron_class for r in rows))
    plt = pyplot()
    fig, axes = plt.subplots(len(classes), 2, figsize=(13.0, 3.6 * len(classes)),
                             squeeze=False)
    for (left, right), cls in zip(axes, classes, strict=True):
        mine = [r for r in rows if r.neutron_class == cls]
        y = np.arange(len(mine))
        left.barh(y - 0.2, [r.spectrum_alone for r in mine], 0.4, label="Ru spectrum alone")
        left.barh(y + 0.2, [r.spectrum_ratio for r in mine], 0.4,
                  label="Ru/Zr spectrum ratio")
        left.set_xlabel("relative shift (rms over pair pT < 0.2 GeV)")
        left.set_xscale("symlog", linthresh=1e-3)
        right.barh(y - 0.2, [r.cos2_alone_in_errors for r in mine], 0.4,
                   label="Ru <cos 2 Delta phi> alone")
        right.barh(y + 0.2, [r.cos2_ratio_in_errors for r in mine], 0.4,
                   label="Ru/Zr <cos 2 Delta phi> ratio")
        right.axvline(float(np.mean([r.noise_in_errors for r in mine])), color="0.4", ls=":",
                      label="noise of independent samples")
        right.set_xlabel("shift in statistical errors at STAR-like counts (rms, pT < 0.2 GeV)")
        for ax in (left, right):
            ax.set_yticks(y)
            ax.legend(fontsize=7)
        left.set_yticklabels([r.effect for r in mine], fontsize=8)
        right.set_yticklabels([])
        left.set_title(f"{cls}: both species varied together", fontsize=9)
    fig.tight_layout()
    save_figure(fig, str(path), tight=True)


def build_stages(out: Path, plan: IsobarPlan) -> list[Stage]:
    """The stages of the isobar study into folder ``out``."""
    return [Stage("ratios", partial(ratios_stage, out, plan),
                  "Ru/Zr ratios of the pT spectrum and of cos 2(Delta phi)", IsobarRatiosResult),
            Stage("systematics", partial(systematics_stage, out, plan),
                  "systematic effects varied in both species together",
                  IsobarSystematicsResult),
            Stage("sensitivity", partial(sensitivity_stage, out, plan),
                  "Fisher information of the Ru - Zr differences", IsobarSensitivityResult)]


def run_isobar(out: str | Path, plan: IsobarPlan | None = None, progress: bool = True
               ) -> dict[str, StageResult]:
    """Run (or continue) the isobar study into ``out`` and write its report; returns the
    stage results.  A folder holding a study of another plan is refused."""
    import json

    from upclens.errors import ParameterError
    from upclens.io import atomic_path, check_writable
    from upclens.pipeline.isobar_page import write_isobar_report
    from upclens.stages import run_stages

    out = Path(out)
    plan = plan or IsobarPlan()
    check_writable(out / "plan.json", "out", make_parents=True)
    text = json.dumps({"isobar": asdict(plan)}, indent=2, sort_keys=True)
    path = out / "plan.json"
    if path.exists() and path.read_text() != text:
        raise ParameterError("out", str(out), "holds a study with a different plan.json: use a "
                             "new folder or the same sizes")
    if not path.exists():
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    t0 = time.perf_counter()
    results = run_stages(out, build_stages(out, plan), progress)
    write_isobar_report(out, results, plan, time.perf_counter() - t0)
    return results


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``isobar``."""
    p = sub.add_parser("isobar", help="Ru+Ru against Zr+Zr as STAR records them: ratios and "
                       "systematic effects, with an HTML report",
                       description="Ru+Ru against Zr+Zr at 200 GeV as STAR records them: the "
                       "Ru/Zr ratios of the pT spectrum and of cos 2(Delta phi), and which "
                       "systematic effects cancel in them (docs/isobar.md).")
    add_arguments(p)
    p.add_argument("--out", default="isobar", help="output folder (default isobar/)")
    p.add_argument("--seed", type=int, default=1, help="base seed (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=run_from_args)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The sizes of the isobar study (shared with ``upclens run --preset isobar``)."""
    p.add_argument("--model-events", type=int, default=IsobarPlan.model_events,
                   help="collisions per species for the model curves and systematics "
                        f"(default {IsobarPlan.model_events})")
    p.add_argument("--star-counts", type=int, default=IsobarPlan.star_counts,
                   help="accepted J/psi per species and neutron selection in the STAR-sized "
                        f"sample (default {IsobarPlan.star_counts})")


def run_from_args(args: argparse.Namespace) -> int:
    """Handler of ``upclens isobar`` and ``upclens run --preset isobar``."""
    seed = 1 if getattr(args, "seed", None) is None else args.seed
    plan = replace(IsobarPlan(), model_events=args.model_events, star_counts=args.star_counts,
                   seed=seed)
    results = run_isobar(args.out, plan, progress=not args.quiet)
    for name, r in results.items():
        print(f"{name:>16s}: {r.seconds:8.1f} s")
    print(f"wrote {Path(args.out) / 'report.html'}")
    return 0
