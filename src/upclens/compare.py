"""Comparison of the model with published measurements (shape fits with free normalisation)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from upclens.physics.nucleus import Nucleus
from upclens.physics.settings import ModelSwitches
from upclens.physics.tspectrum import coherent_tspectrum, minimum_t

ALICE_COHERENT_PB = "alice_2021_coherent_jpsi_dsigma_dt_PbPb5TeV.csv"


@dataclass(frozen=True)
class ShapeFit:
    """Result of a one-parameter (normalisation) fit: chi2, ndf, the scale and the binned model."""

    chi2: float
    ndf: int
    scale: float
    data: np.ndarray
    errors: np.ndarray
    model: np.ndarray
    t_low: np.ndarray
    t_high: np.ndarray

    @property
    def chi2_per_ndf(self) -> float:
        """chi2 / ndf."""
        return self.chi2 / self.ndf


def read_alice_coherent(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """ALICE PLB 817 (2021) 136280 coherent J/psi d sigma/d|t| in Pb-Pb at 5.02 TeV (mb/GeV^2).

    Without ``path`` the copy shipped with upclens (same numbers and provenance) is read.
    """
    text = (Path(path).read_text() if path is not None
            else resources.files("upclens.reference").joinpath(ALICE_COHERENT_PB).read_text())
    rows = [r for r in csv.reader(line for line in text.splitlines() if not line.startswith("#"))]
    header, body = rows[0], np.array(rows[1:], dtype=float)
    return {name: body[:, i] for i, name in enumerate(header)}


def bin_averages(spectrum: Callable[[np.ndarray], np.ndarray], t_low: np.ndarray,
                 t_high: np.ndarray, t_min: float, points_per_bin: int = 64) -> np.ndarray:
    """(1 / (t_high - t_low)) * integral of ``spectrum`` over each |t| bin (GeV^2).

    The coherent spectrum is zero below ``t_min`` and jumps there to its forward value, so each
    bin is integrated over its physical part [max(t_low, t_min), t_high] only (Gauss-Legendre,
    ``points_per_bin`` nodes: the integrand is smooth there) and divided by the full bin width,
    as a measured d sigma/d|t| is the bin's cross section over its width.  A rule with a node
    below t_min would instead smear the step over a whole node spacing.
    """
    x, w = np.polynomial.legendre.leggauss(points_per_bin)
    out = np.zeros(len(t_low))
    for i, (a, b) in enumerate(zip(t_low, t_high, strict=True)):
        lo = max(float(a), t_min)
        if lo >= b:
            continue
        half = 0.5 * (b - lo)
        out[i] = half * np.dot(w, spectrum(lo + half * (x + 1.0))) / (b - a)
    return out


def fit_alice_coherent_pb(nucleus: Nucleus | None = None, switches: ModelSwitches | None = None,
                          path: str | Path | None = None, points_per_bin: int = 64) -> ShapeFit:
    """Fit the bin-averaged coherent Pb208 spectrum at 5.02 TeV to ALICE with free normalisation.

    Uncertainties: statistical and uncorrelated systematic in quadrature (the correlated and
    photon-flux parts move all bins together and are absorbed by the free normalisation).
    """
    nucleus = nucleus or Nucleus.from_preset("Pb208")
    data = read_alice_coherent(path)
    lo, hi = data["t_low_GeV2"], data["t_high_GeV2"]
    model = bin_averages(lambda t: coherent_tspectrum(nucleus, t, 5020.0, 0.0, switches),
                         lo, hi, minimum_t(5020.0, 0.0), points_per_bin)
    values = data["dsigma_dt_mb_per_GeV2"]
    errors = np.hypot(data["stat"], data["syst_uncorr"])
    w = 1.0 / errors**2
    scale = float(np.sum(w * values * model) / np.sum(w * model**2))
    chi2 = float(np.sum(w * (values - scale * model) ** 2))
    return ShapeFit(chi2=chi2, ndf=lo.size - 1, scale=scale, data=values, errors=errors,
                    model=model, t_low=lo, t_high=hi)
