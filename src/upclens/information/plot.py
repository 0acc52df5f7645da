"""Figure of sigma_CRB against the number of J/psi (matplotlib imported lazily)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def plot_crb_versus_n(curves: Mapping[str, Any] | Sequence[tuple[str, Mapping[str, Any]]],
                      ax: Any = None, network: Mapping[str, Mapping[str, Sequence[float]]]
                      | None = None, names: Sequence[str] = ("beta2", "beta3", "delta_rnp"),
                      path: str | None = None) -> Any:
    """Draw sigma_CRB of ``names`` against N_J/psi (log-log).

    curves: one result of :func:`upclens.information.crb_versus_n`, or a list of
    (label, result) to compare settings (solid, dashed, ... per entry, one colour per
    parameter).  network: optional overlay {name: {'n_events': [...], 'rmse': [...]}} of a
    network's RMSE, drawn as points.  path: also write the figure (PNG) atomically.
    Returns the axes.
    """
    from upclens.plots import PARAMETER_LABELS, pyplot, save_figure

    plt = pyplot()
    entries = [("", curves)] if isinstance(curves, Mapping) else list(curves)
    ax = ax or plt.figure(figsize=(5.5, 4.2)).gca()
    colours = dict(zip(names, ("C0", "C1", "C2", "C3"), strict=False))
    styles = ("-", "--", ":", "-.")
    for k, (label, res) in enumerate(entries):
        n = np.asarray(res["n_events"], dtype=float)
        for name in names:
            sig = np.asarray(res["sigma_crb"].get(name, np.full(n.size, np.nan)), dtype=float)
            ok = np.isfinite(sig)
            if ok.any():
                text = PARAMETER_LABELS.get(name, name) + (f" {label}" if label else "")
                ax.plot(n[ok], sig[ok], styles[k % len(styles)], color=colours[name],
                        marker="o", ms=3, label=text)
    for name, pts in (network or {}).items():
        ax.plot(pts["n_events"], pts["rmse"], "s", color=colours.get(name, "k"), mfc="none",
                label=f"network RMSE {PARAMETER_LABELS.get(name, name)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$N_{J/\psi}$")
    ax.set_ylabel(r"$\sigma_{\rm CRB}$")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    if path is not None:
        save_figure(ax.figure, str(path), dpi=130, tight=True)
    return ax
