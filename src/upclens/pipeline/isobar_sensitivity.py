"""The isobar study's ``sensitivity`` stage (and ``upclens isobar-fisher``): the Fisher
information of the Ru/Zr measurement for the differences Ru - Zr of beta2^2, beta3^2 and
Delta r_np, in STAR's acceptance and neutron classes (``information/isobar_fisher.py``), with the
bound file ``sensitivity.json``, a Markdown table and the figure of sigma(difference) against N.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from upclens.errors import check_choice, check_range
from upclens.pipeline.results import DifferenceColumn, IsobarSensitivityResult

NUMERICS = ("full", "coarse")
"""Accuracy of the event densities: 'full' (the engine's defaults) or 'coarse' (8 x 16
orientations, 0.7 fm grid: for tests and quick looks)."""
SPECIES_ORDER = ("Ru", "Zr")
SIGNIFICANCE = (3.0, 5.0)


def numerics_of(name: str) -> Any:
    """The engine's Numerics for ``name`` (one of :data:`NUMERICS`)."""
    from upclens.physics.numerics import Numerics

    check_choice("numerics", name, NUMERICS)
    return Numerics() if name == "full" else Numerics(n_orient_cos=8, n_orient_azimuth=16,
                                                       dx=0.7)


def species_points() -> list[Any]:
    """Ru and Zr as the isobar study gives them (observables.isobar.SPECIES)."""
    from upclens.information.isobar_fisher import SpeciesPoint
    from upclens.observables.isobar import SPECIES

    return [SpeciesPoint(label, SPECIES[label].name, SPECIES[label].beta2,
                         SPECIES[label].beta3, SPECIES[label].delta_rnp,
                         SPECIES[label].skin_type) for label in SPECIES_ORDER]


def sensitivity(folder: Path, pt_max: float = 0.2, y_max: float = 1.0,
                numerics: str = "full", check_step: bool = True) -> IsobarSensitivityResult:
    """Compute the table, write ``sensitivity.json`` (the bound file), ``sensitivity.md`` and
    ``sensitivity.png`` into ``folder``; returns the typed result (files relative to
    ``folder``'s parent)."""
    from upclens.information import isobar_fisher as isf
    from upclens.io import atomic_path

    check_range("pt_max", pt_max, 0.02, 1.0)
    check_range("y_max", y_max, 0.0, 3.0)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.process_time()
    species = species_points()
    engines = {s.label: isf.engine_for(s, pt_max=pt_max, y_max=y_max,
                                       numerics=numerics_of(numerics)) for s in species}
    columns = isf.isobar_columns(pt_max=pt_max)
    if y_max == 0.0:
        from dataclasses import replace

        columns = {k: replace(a, rapidity=False) for k, a in columns.items()}
    table = isf.isobar_table(species, columns, engines, check_step=check_step,
                             significance=SIGNIFICANCE)
    cpu = time.process_time() - t0
    table["cpu_seconds"] = cpu
    table["pt_max"], table["y_max"], table["numerics"] = pt_max, y_max, numerics
    isf.write_bound(table, folder / isf.BOUND_FILE)
    with atomic_path(folder / "sensitivity.md", suffix=".md") as tmp:
        tmp.write_text(markdown(table))
    figure(table, folder / "sensitivity.png")
    rel = folder.name
    return IsobarSensitivityResult(
        files=[f"{rel}/{isf.BOUND_FILE}", f"{rel}/sensitivity.md", f"{rel}/sensitivity.png"],
        differences=table["differences"], n_values=table["n_values"],
        nuisances=table["nuisances"],
        columns=[DifferenceColumn(name=r["name"],
                                  neutron_classes=list(r["analysis"]["neutron_classes"]),
                                  angle=bool(r["analysis"]["angle"]), sigma=r["sigma"],
                                  sigma_known=r["sigma_known"], n_for=_finite(r["n_for"]),
                                  n_for_known=_finite(r["n_for_known"]))
                 for r in table["columns"]],
        largest_step_change=isf.largest_step_change(table), cpu_seconds=cpu, pt_max=pt_max,
        y_max=y_max, numerics=numerics, bound_file=f"{rel}/{isf.BOUND_FILE}")


def _finite(n_for: dict[str, dict[str, float]]) -> dict[str, dict[str, float | None]]:
    return {k: {d: (v if math.isfinite(v) else None) for d, v in row.items()}
            for k, row in n_for.items()}


def n_text(n: float | None) -> str:
    """An N per species in words (None or inf: beyond the search range)."""
    if n is None or not math.isfinite(n):
        return "> 1e12"
    return f"{n:,.0f}" if n < 1e6 else f"{n:.2e}"


LABELS = {"d_beta2sq": "beta2^2(Ru) - beta2^2(Zr)", "d_beta3sq": "beta3^2(Ru) - beta3^2(Zr)",
          "d_rnp": "Delta r_np(Ru) - Delta r_np(Zr) (fm)"}
TABLE_N = (200.0, 1e3, 1e4, 1e5)
"""The N per species of the Markdown table and the report."""


def markdown(table: dict[str, Any]) -> str:
    """sigma(difference) at :data:`TABLE_N` and the N for 3 and 5 sigma, per column (priors
    marginalised), then the same with the nuisances known."""
    from upclens.information.isobar_fisher import DIFFERENCES

    ns = [n for n in TABLE_N if n in table["n_values"]]
    idx = [table["n_values"].index(n) for n in ns]
    out = []
    for key, nkey, title in (("sigma", "n_for", "R, a per species and sigma_J/psiN (shared) "
                              "from their priors"),
                             ("sigma_known", "n_for_known", "R, a and sigma_J/psiN known")):
        out.append(f"\n{title}; model differences "
                   + ", ".join(f"{d} = {table['differences'][d]:+.4g}" for d in DIFFERENCES)
                   + "\n")
        for d in DIFFERENCES:
            head = (f"| {d}: analysis | " + " | ".join(f"sigma at N = {n:g}" for n in ns)
                    + " | N for 3 sigma | N for 5 sigma |")
            out += [head, "|---" * (len(ns) + 3) + "|"]
            for row in table["columns"]:
                cells = [f"{row[key][d][i]:.3g}" for i in idx]
                cells += [n_text(row[nkey][f"{k:g}"][d]) for k in SIGNIFICANCE]
                out.append(f"| {row['name']} | " + " | ".join(cells) + " |")
            out.append("")
    return "\n".join(out)


def figure(table: dict[str, Any], path: Path) -> None:
    """sigma(difference) against N per species, one panel per difference: one colour per class
    selection, dashed pT only, solid with the daughter angle (nuisance priors marginalised);
    grey: the last analysis with the daughter angle and the nuisances known; the horizontal
    lines |model difference| / 3 and / 5; STAR's ~200 per species dotted."""
    import numpy as np

    from upclens.information.isobar_fisher import DIFFERENCES
    from upclens.plots import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15.0, 4.4))
    n = np.asarray(table["n_values"])
    selections = list(dict.fromkeys(r["name"].split(":")[0] for r in table["columns"]))
    for ax, d in zip(axes, DIFFERENCES, strict=True):
        for row in table["columns"]:
            colour = f"C{selections.index(row['name'].split(':')[0])}"
            style = "-" if row["analysis"]["angle"] else "--"
            ax.plot(n, [np.inf if v is None else v for v in row["sigma"][d]], style,
                    color=colour, label=row["name"])
        both = [r for r in table["columns"] if r["analysis"]["angle"]][-1]
        ax.plot(n, [np.inf if v is None else v for v in both["sigma_known"][d]], "-",
                color="0.55", lw=0.8, label=f"{both['name']}, R, a, sigma_J/psiN known")
        diff = abs(table["differences"][d])
        for k, ls in zip(SIGNIFICANCE, (":", "-."), strict=True):
            ax.axhline(diff / k, color="k", ls=ls, lw=0.9, label=f"{k:g} sigma")
        ax.axvline(200.0, color="0.5", ls=":", lw=0.8, label="STAR ~200 per species")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("J/psi per species")
        ax.set_ylabel(f"sigma_CRB of {LABELS[d]}", fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.suptitle("Ru+Ru against Zr+Zr, 200 GeV, J/psi -> e+e-, STAR acceptance, b direction "
                 "unknown; dashed: pT only, solid: + daughter angle", fontsize=9)
    fig.tight_layout()
    save_figure(fig, str(path), tight=True)


# -- upclens isobar-fisher ----------------------------------------------------------------------
def register(sub: argparse._SubParsersAction) -> None:
    """Add ``isobar-fisher``."""
    p = sub.add_parser("isobar-fisher", help="Fisher information of the Ru/Zr measurement "
                       "for the differences of beta2^2, beta3^2 and Delta r_np",
                       description="Cramer-Rao bound on the Ru - Zr differences of beta2^2, "
                       "beta3^2 and Delta r_np from N J/psi per species in STAR's acceptance "
                       "and neutron classes, and the N for 3 and 5 sigma (docs/isobar.md).")
    p.add_argument("--out", default="isobar_fisher", help="output folder (default "
                   "isobar_fisher/)")
    p.add_argument("--pt-max", type=float, default=0.2,
                   help="pair-pT window in GeV (default 0.2)")
    p.add_argument("--numerics", default="full", choices=NUMERICS,
                   help="event-density accuracy: full (default) or coarse (quick look)")
    p.set_defaults(handler=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    """Handler of ``upclens isobar-fisher``."""
    from upclens.io import check_writable

    check_range("pt_max", args.pt_max, 0.02, 1.0)
    out = Path(args.out)
    check_writable(out / "sensitivity.json", "out", make_parents=True)
    res = sensitivity(out, pt_max=args.pt_max, numerics=args.numerics)
    print((out / "sensitivity.md").read_text())
    print(f"cpu: {res.cpu_seconds:.1f} s; largest step change {res.largest_step_change:.3g}")
    print(f"wrote {out / 'sensitivity.json'}, sensitivity.md, sensitivity.png")
    return 0

