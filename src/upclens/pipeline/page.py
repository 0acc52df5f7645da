"""Assemble the study's report (one self-contained HTML page) and metrics.json from the stage
results; nothing here recomputes physics or metrics, it only reads what the stages wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from upclens import __version__
from upclens.io import write_json
from upclens.report import Report

Results = dict[str, dict[str, Any]]

_CAPTIONS = {
    "crb_versus_n": "Cramer-Rao bound of beta2, beta3 and Delta r_np against the number of "
                    "J/psi (multinomial over pixels, exact orientation average as parent "
                    "distribution); dashed: with the protons' R and a priors marginalised; "
                    "squares: the network's test RMSE (finite-statistics images only).",
    "alice_tspectrum": "Coherent J/psi dsigma/d|t| of Pb208 at 5.02 TeV against ALICE "
                       "(shape, free normalisation).",
    "ratio_maps": "Physics ratio maps from the simulator (exact orientation averages).",
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


def headline(results: Results) -> dict[str, Any]:
    """The numbers a reader looks for first."""
    metrics = results.get("evaluate", {}).get("metrics", {})
    out: dict[str, Any] = {}
    for name, values in metrics.get("targets", {}).items():
        if isinstance(values, dict):
            out[f"r2_{name}"] = values.get("r2")
            out[f"rmse_{name}"] = values.get("rmse")
            out[f"coverage68_{name}"] = values.get("coverage_68")
            out[f"coverage68_spread_{name}"] = values.get("coverage_68_spread")
    skin = metrics.get("skin", {})
    if isinstance(skin, dict):
        out["skin_accuracy"] = skin.get("accuracy")
        out["skin_roc_auc"] = skin.get("roc_auc")
    smallest = results.get("information", {}).get("headline", {})
    for row in smallest.get("rows", []):
        key = row["condition"].replace(",", "").replace(" ", "_")
        out[f"n_jpsi_delta_rnp_{smallest['target']:g}fm_{key}_protons_known"] = row["n_known"]
        out[f"n_jpsi_delta_rnp_{smallest['target']:g}fm_{key}_nuisance_priors"] = row["n_priors"]
    alice = results.get("physics_checks", {}).get("alice")
    if alice:
        out["alice_pb208_chi2_per_ndf"] = alice["chi2"] / alice["ndf"]
    return out


def write_report(out: Path, results: Results, config_toml: str, plan: dict[str, Any],
                 total_seconds: float) -> dict[str, Any]:
    """Write ``report.html`` and ``metrics.json`` into ``out``; returns the metrics."""
    heads = headline(results)
    timing = {name: round(float(r.get("seconds", 0.0)), 2) for name, r in results.items()}
    metrics = {"upclens_version": __version__, "plan": plan, "headline": heads,
               "timing_s": timing, "total_seconds_this_call": round(total_seconds, 2),
               "stages": {name: {k: v for k, v in r.items() if k not in ("files",)}
                          for name, r in results.items()}}
    write_json(metrics, out / "metrics.json")

    rep = Report(f"upclens study: {plan['name']} preset",
                 lead=("Coherent J/psi photoproduction in ultra-peripheral collisions as a "
                       "femtometre double slit; a multi-task ResNet reads beta2, beta3 and the "
                       f"neutron skin from the (px, py) image.  upclens {__version__}."))
    sec = rep.section("Headline numbers")
    sec.table([{"quantity": k, "value": v} for k, v in heads.items()])
    sec = rep.section("Configuration")
    sec.text("Dataset configuration (accepted by `upclens generate --config`):")
    sec.code(config_toml)
    sec.text("Run plan: " + json.dumps(plan))
    examples = results.get("generate", {}).get("examples", [])
    if examples:
        sec = rep.section("Example images")
        for path in examples:
            sec.figure(out / path, "Test images without (left) and with (right) neutron skin, "
                       + ("log" if "log" in path else "linear") + " colour scale.")
    _figures(rep.section("Physics ratio maps"), out, results, "explain", "ratios/")
    sec = rep.section("Network accuracy on the held-out test split")
    ev = results.get("evaluate", {}).get("metrics", {})
    sec.table([{"target": k, **{m: v.get(m) for m in ("r2", "rmse", "mae", "coverage_68",
                                                        "coverage_68_spread", "coverage_95")}}
               for k, v in ev.get("targets", {}).items() if isinstance(v, dict)])
    if isinstance(ev.get("skin"), dict):
        sec.table([{"skin class": k, "value": v} for k, v in ev["skin"].items()
                   if not isinstance(v, list | dict)])
    _figures(sec, out, results, "evaluate", "evaluate/")
    sec = rep.section("Information limit")
    info = results.get("information", {})
    sec.text("sigma_CRB at the reference point " + json.dumps(info.get("point", {}))
             + "; the network's test RMSE on the images of this study: "
             + json.dumps(info.get("network_rmse", {})) + ". With finite-statistics images "
             "(image.n_events > 0) the RMSE is drawn at that N next to the bound; for "
             "noise-free images it is a different kind of number, and the realism ladder "
             "(upclens ladder) makes the like-for-like comparison.")
    sec.table(info.get("table", []))
    for note in info.get("notes", []):
        sec.text(str(note))
    smallest = info.get("headline", {})
    if smallest.get("rows"):
        from upclens.information.headline import BACKGROUND

        priors = ", ".join(f"{k} +-{v:g}" for k, v in smallest.get("nuisances", {}).items())
        sec.text(f"The smallest number of J/psi that measures Delta r_np to "
                 f"+-{smallest['target']:g} fm at the reference point (Cramer-Rao bound; "
                 f"background: incoherent fraction {BACKGROUND['incoherent_fraction']:g}, "
                 f"smearing {BACKGROUND['smearing']:g} GeV; priors (fm, relative for "
                 f"sigma_vn_scale): {priors}; upclens headline):")
        sec.table(smallest["rows"])
    _figures(sec, out, results, "information", "information/")
    sec = rep.section("Where the network looks (Prediction Difference Analysis)")
    shares = results.get("explain", {}).get("summary", {}).get("region_shares", {})
    if isinstance(shares, dict) and shares:
        sec.text("Share of |relevance| in the bright-spot edge and dark-fringe regions, and the "
                 "enrichment over the regions' share of the image area (1 = no preference).")
        cols = ("edge", "edge_enrichment", "fringe", "fringe_enrichment", "other")
        sec.table([{"task": k, **{c: v.get(c) for c in cols}} for k, v in shares.items()
                   if isinstance(v, dict)])
    _figures(sec, out, results, "explain", "explain/")
    sec = rep.section("Observables and their sensitivity")
    sens = results.get("observables", {}).get("sensitivity", {})
    rows = [r for r in sens.get("rows", []) if r.get("parameter") in ("beta2", "beta3",
                                                                      "delta_rnp")]
    if rows:
        sec.text(f"Over the {sens.get('n', '?')} test images: Pearson correlation, the partial "
                 "slope of a linear fit on (beta2, beta3, Delta r_np) with its error, and the "
                 "separation (shift over one prior standard deviation, in residual standard "
                 "deviations); docs/observables.md defines each observable.")
        sec.table([{k: r.get(k) for k in ("observable", "parameter", "pearson",
                                          "partial_slope", "partial_slope_err", "separation")}
                   for r in rows])
    _figures(sec, out, results, "observables", "observables/")
    sec = rep.section("Physics check against data")
    alice = results.get("physics_checks", {}).get("alice")
    if alice:
        sec.text(f"Pb208 at 5.02 TeV vs ALICE: chi2/ndf = {alice['chi2']:.1f}/{alice['ndf']} "
                 f"(shape only, fitted scale {alice['scale']:.3g}).")
    _figures(sec, out, results, "physics_checks", "physics/")
    if "ladder" in results:
        sec = rep.section("Realism ladder")
        sec.text("Each row: the same network trained and evaluated on ever more realistic "
                 "images, next to the Cramer-Rao bound at the same test points "
                 "(docs/ladder.md).")
        cols = ("row", "title", "n_events", "r2_beta2", "r2_beta3", "r2_delta_rnp",
                "rmse_delta_rnp", "sigma_crb_delta_rnp", "ratio_delta_rnp", "skin_accuracy")
        sec.table([{c: r.get(c) for c in cols} for r in results["ladder"].get("rows", [])])
        _figures(sec, out, results, "ladder", "ladder/")
    sec = rep.section("Timing")
    sec.table([{"stage": k, "seconds": v,
                "skipped (already complete)": results[k].get("skipped", False)}
               for k, v in timing.items()])
    rep.write(out / "report.html")
    return metrics


def _figures(sec: Any, out: Path, results: Results, stage: str, prefix: str) -> None:
    for path in results.get(stage, {}).get("files", []):
        if path.startswith(prefix) and path.endswith(".png"):
            stem = Path(path).stem
            sec.figure(out / path, _CAPTIONS.get(stem, stem.replace("_", " ")))
