"""Incoherent J/psi |t| spectrum of Pb at 5.02 TeV against ALICE: size, shape, slope and the
ratio to the coherent cross section.

Data: ALICE, PRL 132 (2024) 162302 (arXiv:2305.06169), incoherent d sigma(gamma Pb)/d|t| in
0.04 < |t| < 1 GeV^2 (microbarn/GeV^2), and the coherent ALICE PLB 817 (2021) 136280 spectrum
that :mod:`upclens.compare` reads.  Model: the nucleon-level Good-Walker ensemble of
:mod:`upclens.physics.incoherent` and the coherent spectrum of :mod:`upclens.physics.tspectrum`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.optimize import curve_fit

from upclens.compare import read_alice_coherent
from upclens.physics.incoherent import GoodWalker, IncoherentSettings
from upclens.physics.nucleus import Nucleus
from upclens.physics.settings import ModelSwitches
from upclens.physics.tspectrum import coherent_tspectrum

ALICE_INCOHERENT_PB = "alice_2024_incoherent_jpsi_dsigma_dt_PbPb5TeV.csv"
MUB_PER_MB = 1.0e3


def read_alice_incoherent(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """ALICE incoherent J/psi d sigma/d|t| in Pb-Pb at 5.02 TeV (microbarn/GeV^2) by column."""
    text = (Path(path).read_text() if path is not None
            else resources.files("upclens.reference").joinpath(ALICE_INCOHERENT_PB).read_text())
    rows = list(csv.reader(line for line in text.splitlines() if not line.startswith("#")))
    header, body = rows[0], np.array(rows[1:], dtype=float)
    return {name: body[:, i] for i, name in enumerate(header)}


def _bin_nodes(lo: np.ndarray, hi: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes (n_bins, n) and weights (sum 1 per bin) for bin averages."""
    u, w = np.polynomial.legendre.leggauss(n)
    nodes = 0.5 * (hi - lo)[:, None] * u[None, :] + 0.5 * (hi + lo)[:, None]
    return nodes, np.broadcast_to(0.5 * w, nodes.shape)


def _exp_bin_average(lo: np.ndarray, hi: np.ndarray, norm: float, slope: float) -> np.ndarray:
    """Bin average of norm exp(-slope |t|)."""
    return norm * (np.exp(-slope * lo) - np.exp(-slope * hi)) / (slope * (hi - lo))


def fit_slope(lo: np.ndarray, hi: np.ndarray, values: np.ndarray,
              errors: np.ndarray) -> tuple[float, float]:
    """Exponential slope (GeV^-2) and its error of bin averages of N exp(-b |t|)."""
    popt, pcov = curve_fit(lambda _, n, b: _exp_bin_average(lo, hi, n, b), np.zeros_like(lo),
                           values, p0=(values[0] * 1.2, 3.0), sigma=errors, absolute_sigma=True)
    return float(popt[1]), float(np.sqrt(pcov[1, 1]))


@dataclass(frozen=True)
class IncoherentComparison:
    """Model against ALICE incoherent J/psi (microbarn/GeV^2 unless stated).

    chi2_absolute: with the full covariance (stat and uncorrelated syst on the diagonal, the
    correlated syst fully correlated, the model's Monte-Carlo error added), ndf = bins.
    scale, chi2_shape: free normalisation (data / model), stat and uncorrelated syst, ndf - 1.
    slope_*: exponential slopes (GeV^-2) of data and model over the same bins.
    ratio_*: sigma_inc(0.04 < |t| < 1) / sigma_coh(|t| < 0.0121 GeV^2), data and model.
    coherent_scale: the data / model normalisation of the coherent spectrum over its bins.
    """

    t_low: np.ndarray
    t_high: np.ndarray
    data: np.ndarray
    errors: np.ndarray
    correlated: np.ndarray
    model: np.ndarray
    model_error: np.ndarray
    chi2_absolute: float
    scale: float
    scale_error: float
    chi2_shape: float
    ndf_shape: int
    slope_data: float
    slope_data_error: float
    slope_model: float
    slope_model_error: float
    ratio_data: float
    ratio_data_error: float
    ratio_model: float
    coherent_scale: float


def compare_alice_incoherent(settings: IncoherentSettings | None = None,
                             switches: ModelSwitches | None = None,
                             nucleus: Nucleus | None = None,
                             nodes_per_bin: int = 6) -> IncoherentComparison:
    """Compare the Good-Walker incoherent Pb spectrum at 5.02 TeV, y = 0, with ALICE."""
    nucleus = nucleus or Nucleus.from_preset("Pb208")
    switches = switches or ModelSwitches()
    data = read_alice_incoherent()
    lo, hi = data["t_low_GeV2"], data["t_high_GeV2"]
    values = data["dsigma_dt_mub_per_GeV2"]
    errors = np.hypot(data["stat"], data["syst_uncorr"])
    correlated = data["syst_corr"]

    nodes, weights = _bin_nodes(lo, hi, nodes_per_bin)
    gw = GoodWalker(nucleus, 5020.0, 0.0, switches, settings)
    spec = gw.spectrum(nodes.ravel())
    inc = spec.incoherent.reshape(nodes.shape) * MUB_PER_MB
    inc_err = spec.incoherent_error.reshape(nodes.shape) * MUB_PER_MB
    model = np.sum(weights * inc, axis=1)
    # the Monte-Carlo errors of nodes in one bin are correlated: add them linearly (an upper bound)
    model_error = np.sum(weights * inc_err, axis=1)

    cov = np.diag(errors**2 + model_error**2) + np.outer(correlated, correlated)
    resid = values - model
    chi2_abs = float(resid @ np.linalg.solve(cov, resid))

    w = 1.0 / (errors**2 + model_error**2)
    scale = float(np.sum(w * values * model) / np.sum(w * model**2))
    scale_error = float(1.0 / np.sqrt(np.sum(w * model**2)))
    chi2_shape = float(np.sum(w * (values - scale * model) ** 2))

    slope_d, slope_d_err = fit_slope(lo, hi, values, errors)
    slope_m, slope_m_err = fit_slope(lo, hi, model, np.maximum(model_error, 1e-9 * model))

    widths = hi - lo
    inc_data = float(np.sum(values * widths))
    inc_data_err = float(np.sqrt(np.sum((errors * widths) ** 2)) + np.sum(correlated * widths))
    inc_model = float(np.sum(model * widths))
    coh = read_alice_coherent()
    clo, chi = coh["t_low_GeV2"], coh["t_high_GeV2"]
    cvals = coh["dsigma_dt_mb_per_GeV2"] * MUB_PER_MB
    cerr_unc = np.hypot(coh["stat"], coh["syst_uncorr"]) * MUB_PER_MB
    cerr_corr = np.hypot(coh["syst_corr"], coh["syst_photonflux"]) * MUB_PER_MB
    cwidths = chi - clo
    coh_data = float(np.sum(cvals * cwidths))
    coh_data_err = float(np.sqrt(np.sum((cerr_unc * cwidths) ** 2)) + np.sum(cerr_corr * cwidths))
    cnodes, cweights = _bin_nodes(clo, chi, 16)
    coh_model_bins = np.sum(cweights * coherent_tspectrum(nucleus, cnodes, 5020.0, 0.0, switches),
                            axis=1) * MUB_PER_MB
    coh_model = float(np.sum(coh_model_bins * cwidths))
    cw = 1.0 / cerr_unc**2
    coherent_scale = float(np.sum(cw * cvals * coh_model_bins) / np.sum(cw * coh_model_bins**2))
    ratio_data = inc_data / coh_data
    # the two measurements' uncertainties are treated as independent (an upper bound: the
    # luminosity and photon-flux parts cancel in the ratio)
    ratio_err = ratio_data * float(np.hypot(inc_data_err / inc_data, coh_data_err / coh_data))

    return IncoherentComparison(
        t_low=lo, t_high=hi, data=values, errors=errors, correlated=correlated, model=model,
        model_error=model_error, chi2_absolute=chi2_abs, scale=scale, scale_error=scale_error,
        chi2_shape=chi2_shape, ndf_shape=lo.size - 1, slope_data=slope_d,
        slope_data_error=slope_d_err, slope_model=slope_m, slope_model_error=slope_m_err,
        ratio_data=ratio_data, ratio_data_error=ratio_err, ratio_model=inc_model / coh_model,
        coherent_scale=coherent_scale)
