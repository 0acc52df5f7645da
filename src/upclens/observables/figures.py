"""Figures of the observable studies (matplotlib imported lazily, Agg backend)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from upclens.plots import pyplot, save_figure

if TYPE_CHECKING:
    from upclens.observables.table import ObservableTable


def sensitivity_figure(table: ObservableTable, result: dict[str, Any],
                       path: str | os.PathLike[str], names: list[str] | None = None) -> None:
    """Grid of scatter plots: each observable (rows; default all but v1 and v4, which vanish or
    are lattice effects) against each parameter (columns), with the straight-line fit and its
    Pearson r; error bars where the images have finite counts."""
    plt = pyplot()
    params = result["parameters"]
    names = names or [k for k in table.names if not k.startswith(("v1[", "v4["))]
    fig, axes = plt.subplots(len(names), len(params), squeeze=False,
                             figsize=(2.6 * len(params), 1.9 * len(names)))
    fig.subplots_adjust(left=0.12, right=0.98, bottom=0.05, top=0.98, hspace=0.6, wspace=0.35)
    lookup = {(r["observable"], r["parameter"]): r for r in result["rows"]}
    for i, name in enumerate(names):
        y, e = table.column(name), table.error(name)
        for j, p in enumerate(params):
            ax = axes[i, j]
            x = table.labels[p]
            if np.all(np.isfinite(e)):
                ax.errorbar(x, y, yerr=e, fmt=".", ms=3, lw=0.5, alpha=0.6)
            else:
                ax.plot(x, y, ".", ms=3, alpha=0.6)
            r = lookup[(name, p)]
            if r["slope"] is not None:
                xs = np.linspace(x.min(), x.max(), 2)
                ax.plot(xs, np.mean(y) + r["slope"] * (xs - np.mean(x)), color="C3", lw=1)
            pear = r["pearson"]
            ax.set_title(f"r = {pear:.2f}" if np.isfinite(pear) else "constant (rounding)",
                         fontsize=7)
            ax.tick_params(labelsize=6)
            if i == len(names) - 1:
                ax.set_xlabel(p, fontsize=8)
            if j == 0:
                ax.set_ylabel(name, fontsize=7)
    save_figure(fig, str(path))


def v3_study_figure(result: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Three panels of the v3 study: |v3| against the number of orientation pairs (q_z on/off),
    against the number of events with the 1/sqrt(2 N_window) noise floor, and against an
    off-centre shift of the pixel grid."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), constrained_layout=True)
    ax = axes[0]
    for key, label, colour in (("qz", r"$q_z$ phase, $\beta_3$ as given", "C3"),
                               ("qz_beta3_0", r"$q_z$ phase, $\beta_3 = 0$", "C1"),
                               ("no_qz", "without $q_z$", "C0")):
        rows = result["orientations"][key]
        n = np.array([r["pairs"] for r in rows], dtype=float)
        rms = np.array([max(r["rms_v3"], 1e-17) for r in rows])
        ax.loglog(n, rms, "o-", color=colour, label=label)
    exact = result["exact"]
    ax.axhline(max(abs(exact["qz"]["v3"]), 1e-17), color="C3", ls=":",
               label="exact average, $q_z$")
    ax.set_xlabel("orientation pairs per image")
    ax.set_ylabel(f"rms $v_3$ in {result['window']} GeV over seeds")
    ax.legend(fontsize=8)
    ax.set_title("coherence phase: Friedel's law broken per event")
    ax = axes[1]
    rows = result["events"]
    n = np.array([r["n_events"] for r in rows], dtype=float)
    ax.loglog(n, [r["rms_v3"] for r in rows], "o", color="k", label="rms over experiments")
    ax.loglog(n, [r["mean_error"] for r in rows], "-", color="C2", label="quoted error (mean)")
    ax.loglog(n, [r["floor"] for r in rows], "--", color="C1",
              label=r"$1/\sqrt{2 N_{window}}$")
    ax.loglog(n, [r["qz_noise"] for r in rows], ":", color="C3",
              label="added by $q_z$ (one pair per event)")
    ax.set_xlabel(r"J/$\psi$ events per image")
    ax.set_ylabel("$v_3$")
    ax.legend(fontsize=8)
    ax.set_title("finite statistics: noise, not signal")
    ax = axes[2]
    rows = result["binning"]
    shift = np.array([r["shift_pixels"] for r in rows])
    for key, style in (("v1", "o-"), ("v3", "s-")):
        ax.plot(shift, [r[key] for r in rows], style, label=key)
    ax.set_xlabel("grid offset along px (pixels)")
    ax.set_ylabel(f"spurious $v_n$ in {result['window']} GeV")
    ax.legend(fontsize=8)
    ax.set_title("off-centre binning")
    save_figure(fig, str(path))


def _binned_curves(ax: Any, curves: dict[str, Any]) -> None:
    """Draw each Binned of ``curves`` ({label: Binned}) versus pair pT with error bars, the
    curves shifted by 2 MeV from one another so that their bars do not overlap."""
    for k, (label, b) in enumerate(curves.items()):
        shift = (k - 0.5 * (len(curves) - 1)) * 0.002
        ax.errorbar(b.centres + shift, b.value, yerr=b.error, fmt="o-", ms=3, lw=1,
                    capsize=2, label=label)


def cos2_figure(panels: dict[str, dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """One panel per title of ``panels`` ({title: {label: Binned}}): <cos 2 Delta phi> versus
    pair pT with error bars."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 3.8), squeeze=False)
    for ax, (title, curves) in zip(axes[0], panels.items(), strict=True):
        _binned_curves(ax, curves)
        ax.axhline(0.0, color="0.5", lw=0.6)
        ax.set_xlabel("pair $p_T$ (GeV)")
        ax.set_ylabel(r"$\langle\cos 2\Delta\phi\rangle$")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, tight=True)


def cos_n_figure(curves: dict[str, dict[int, Any]], path: str | os.PathLike[str]) -> None:
    """Two panels, <cos 2 Delta phi> and <cos 4 Delta phi> versus pair pT, one curve per label
    of ``curves`` ({label: {2: Binned, 4: Binned}}), with error bars."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.8), squeeze=False)
    for ax, n in zip(axes[0], (2, 4), strict=True):
        _binned_curves(ax, {label: by_n[n] for label, by_n in curves.items()})
        ax.axhline(0.0, color="0.5", lw=0.6)
        ax.set_xlabel("pair $p_T$ (GeV)")
        ax.set_ylabel(rf"$\langle\cos {n}\Delta\phi\rangle$")
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, str(path), tight=True)


def spectra_figure(panels: dict[str, dict[str, Any]], path: str | os.PathLike[str],
                   ylabel: str = r"$(1/N)\,dN/dp_T$ (GeV$^{-1}$)", log: bool = True) -> None:
    """One panel per title of ``panels`` ({title: {label: Binned}}): a binned quantity versus
    pair pT with error bars (log scale by default)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 3.8), squeeze=False)
    for ax, (title, curves) in zip(axes[0], panels.items(), strict=True):
        _binned_curves(ax, curves)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("pair $p_T$ (GeV)")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, str(path), tight=True)
