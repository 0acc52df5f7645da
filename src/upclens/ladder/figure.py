"""The ladder figure: network RMSE and sigma_CRB per row, one panel per parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from upclens.learn.settings import TARGETS


def _values(entries: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([np.nan if e.get(key) is None else float(e[key]) for e in entries])


def ladder_figure(entries: list[dict[str, Any]], path: str | Path) -> Path:
    """Three panels (beta2, beta3, Delta r_np), rows in ladder order, log scale: the network's
    RMSE over the whole test split (grey), and like for like over the points that enter the
    ratio (sigma_CRB < 1/4 of the prior width) its RMSE (filled) and the RMS of sigma_CRB
    (open squares).  Written atomically as PNG."""
    from upclens.plots import PARAMETER_LABELS, pyplot, save_figure

    plt = pyplot()
    names = [str(e["row"]) for e in entries]
    x = np.arange(len(entries))
    fig, axes = plt.subplots(1, len(TARGETS), figsize=(4.2 * len(TARGETS), 3.6),
                             constrained_layout=True)
    for ax, t in zip(np.atleast_1d(axes), TARGETS, strict=True):
        rmse = _values(entries, f"rmse_{t}")
        at_bound = _values(entries, f"rmse_at_bound_{t}")
        crb = _values(entries, f"sigma_rms_{t}")
        ax.plot(x, rmse, "o", color="0.7", ms=4, label="network RMSE, all test points")
        if np.isfinite(crb).any():
            ax.plot(x, at_bound, "o", color="C0", label="network RMSE, bound points")
            ax.plot(x, crb, "s", color="C1", mfc="none", label=r"RMS $\sigma_{CRB}$, same points")
        ax.set_xticks(x, names, rotation=45)
        ax.set_xlabel("ladder row")
        ax.set_title(PARAMETER_LABELS[t])
        finite = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in (rmse, at_bound, crb)])
        if finite.size:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    save_figure(fig, str(path))
    return Path(path)
