"""Comparison of the model with published measurements (shape fits with free normalisation)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from upclens.physics.nucleus import Nucleus
from upclens.physics.settings import ModelSwitches
from upclens.physics.tspectrum import coherent_tspectrum

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


def fit_alice_coherent_pb(nucleus: Nucleus | None = None, switches: ModelSwitches | None = None,
                          path: str | Path | None = None, points_per_bin: int = 64) -> ShapeFit:
    """Fit the bin-averaged coherent Pb208 spectrum at 5.02 TeV to ALICE with free normalisation.

    Uncertainties: statistical and uncorrelated systematic in quadrature (the correlated and
    photon-flux parts move all bins together and are absorbed by the free normalisation).
    """
    nucleus = nucleus or Nucleus.from_preset("Pb208")
    data = read_alice_coherent(path)
    lo, hi = data["t_low_GeV2"], data["t_high_GeV2"]
    model = np.empty(lo.size)
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        t = np.linspace(a, b, points_per_bin)
        model[i] = np.trapezoid(coherent_tspectrum(nucleus, t, 5020.0, 0.0, switches), t) / (b - a)
    values = data["dsigma_dt_mb_per_GeV2"]
    errors = np.hypot(data["stat"], data["syst_uncorr"])
    w = 1.0 / errors**2
    scale = float(np.sum(w * values * model) / np.sum(w * model**2))
    chi2 = float(np.sum(w * (values - scale * model) ** 2))
    return ShapeFit(chi2=chi2, ndf=lo.size - 1, scale=scale, data=values, errors=errors,
                    model=model, t_low=lo, t_high=hi)
