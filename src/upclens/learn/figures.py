"""Evaluation figures (matplotlib imported lazily, Agg): each function writes one PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from upclens.learn.metrics import coverage_curve, reliability
from upclens.plots import PARAMETER_LABELS, pyplot, save_figure


def predicted_vs_true(true: dict[str, np.ndarray], pred: dict[str, np.ndarray],
                      r2: dict[str, float | None], path: Path) -> Path:
    """One panel per target: prediction against truth, the diagonal and R^2 in the title."""
    plt = pyplot()
    names = list(true)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4.0), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        t, p = true[name], pred[name]
        lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        ax.scatter(t, p, s=4, alpha=0.5)
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        score = "n/a" if r2[name] is None else f"{r2[name]:.4f}"
        ax.set(xlabel=f"true {PARAMETER_LABELS.get(name, name)}",
               ylabel=f"predicted {PARAMETER_LABELS.get(name, name)}", title=f"$R^2$ = {score}")
    fig.tight_layout()
    save_figure(fig, str(path))
    return path


def residuals_vs_true(true: dict[str, np.ndarray], pred: dict[str, np.ndarray],
                      sigma: dict[str, np.ndarray], path: Path) -> Path:
    """Residual (predicted - true) against truth, with the median predicted +-1 sigma band."""
    plt = pyplot()
    names = list(true)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        t, r = true[name], pred[name] - true[name]
        ax.scatter(t, r, s=4, alpha=0.5)
        s = float(np.median(sigma[name]))
        ax.axhspan(-s, s, color="C1", alpha=0.2, label=r"median $\pm1\sigma$")
        ax.axhline(0.0, color="k", lw=1)
        ax.set(xlabel=f"true {PARAMETER_LABELS.get(name, name)}", ylabel="predicted - true")
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    save_figure(fig, str(path))
    return path


def confusion_matrix(confusion: list[list[int]], path: Path) -> Path:
    """2x2 skin confusion matrix with counts."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(3.8, 3.4))
    m = np.asarray(confusion)
    ax.imshow(m, cmap="Blues")
    for i in range(2):
        for j in range(2):
            ax.text(j, i, str(m[i, j]), ha="center", va="center",
                    color="white" if m[i, j] > m.max() / 2 else "black")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["no skin", "skin"],
           yticklabels=["no skin", "skin"], xlabel="predicted", ylabel="true")
    fig.tight_layout()
    save_figure(fig, str(path))
    return path


def calibration(true: dict[str, np.ndarray], pred: dict[str, np.ndarray],
                sigma: dict[str, np.ndarray], logits: np.ndarray, labels: np.ndarray,
                path: Path) -> Path:
    """Left: observed vs nominal coverage of the central intervals per target.  Right:
    reliability of P(skin) (observed skin fraction per predicted-probability bin)."""
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.0, 4.0))
    for name in true:
        lv, obs = coverage_curve(pred[name], sigma[name], true[name])
        a1.plot(lv, obs, "o-", ms=3, label=PARAMETER_LABELS.get(name, name))
    a1.plot([0, 1], [0, 1], "k--", lw=1)
    a1.set(xlabel="nominal coverage", ylabel="observed coverage", title="intervals")
    a1.legend(fontsize=8)
    mean_p, frac, count = reliability(logits, labels)
    ok = count > 0
    a2.plot(mean_p[ok], frac[ok], "o-")
    a2.plot([0, 1], [0, 1], "k--", lw=1)
    a2.set(xlabel="predicted P(skin)", ylabel="observed skin fraction", title="skin class")
    fig.tight_layout()
    save_figure(fig, str(path))
    return path
