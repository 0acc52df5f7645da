"""The ladder figure: network RMSE and sigma_CRB per row, one panel per parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from upclens.learn.settings import TARGETS

LABELS = {"beta2": r"$\beta_2$", "beta3": r"$\beta_3$", "delta_rnp": r"$\Delta r_{np}$ (fm)"}


def _values(entries: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([np.nan if e.get(key) is None else float(e[key]) for e in entries])


def ladder_figure(entries: list[dict[str, Any]], path: str | Path) -> Path:
    """Three panels (beta2, beta3, Delta r_np): the network's test RMSE and the median
    sigma_CRB of each row on a log scale, rows in ladder order.  Written atomically as PNG."""
    from upclens.plots import pyplot, save_figure

    plt = pyplot()
    names = [str(e["row"]) for e in entries]
    x = np.arange(len(entries))
    fig, axes = plt.subplots(1, len(TARGETS), figsize=(4.2 * len(TARGETS), 3.6),
                             constrained_layout=True)
    for ax, t in zip(np.atleast_1d(axes), TARGETS, strict=True):
        rmse = _values(entries, f"rmse_{t}")
        crb = _values(entries, f"sigma_crb_{t}")
        ax.plot(x, rmse, "o", label="network RMSE")
        if np.isfinite(crb).any():
            ax.plot(x, crb, "s", mfc="none", label=r"median $\sigma_{CRB}$")
        ax.set_xticks(x, names, rotation=45)
        ax.set_xlabel("ladder row")
        ax.set_title(LABELS[t])
        finite = np.concatenate([rmse[np.isfinite(rmse) & (rmse > 0)],
                                 crb[np.isfinite(crb) & (crb > 0)]])
        if finite.size:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=8)
    save_figure(fig, str(path))
    return Path(path)
