"""Joint posterior of the differences of two species (Ru - Zr) from their event-set posteriors.

Each species has its own event-set network and flow (``upclens.learn.eventset``,
``upclens.learn.posterior``), trained on that species' sets with its own priors and nuisances.
Given independent data (two event lists) and independent priors, the joint posterior of the two
parameter vectors factorises, p(theta_a, theta_b | x_a, x_b) = p(theta_a | x_a) p(theta_b | x_b),
so samples of any function of the pair are that function of independent samples of the two
posteriors.  The differences read are (``DIFFERENCES``, order kept throughout)

    d_beta2sq = beta2_a^2 - beta2_b^2,  d_beta3sq = beta3_a^2 - beta3_b^2,
    d_rnp     = Delta r_np,a - Delta r_np,b  (fm),

the squares because the isobar observables (flow, the coherent spectrum) are linear in
beta_n^2 to leading order.  A nuisance shared by the two species (sigma_J/psi-N) is treated
here as one per species (docs/physics.md, section 16.1: conservative for the differences).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from upclens.errors import ParameterError, check_range

DIFFERENCES = ("d_beta2sq", "d_beta3sq", "d_rnp")


def differences(theta_a: np.ndarray, theta_b: np.ndarray) -> np.ndarray:
    """(..., 3) differences of (beta2, beta3, Delta r_np) arrays (..., 3) of species a and b:
    (beta2^2, beta3^2, Delta r_np [fm]) of a minus those of b."""
    a, b = np.asarray(theta_a, dtype=float), np.asarray(theta_b, dtype=float)
    if a.shape != b.shape or a.shape[-1] != 3:
        raise ParameterError("theta", f"shapes {a.shape}, {b.shape}",
                             "must be equal and end in 3 (beta2, beta3, Delta r_np)")
    return np.stack([a[..., 0] ** 2 - b[..., 0] ** 2, a[..., 1] ** 2 - b[..., 1] ** 2,
                     a[..., 2] - b[..., 2]], axis=-1)


def difference_box(box_a: np.ndarray, box_b: np.ndarray) -> np.ndarray:
    """(3, 2) support of the differences for prior boxes (3, 2) of (beta2, |beta3|, Delta r_np)
    with non-negative beta bounds (as ``posterior.prior_box`` gives them)."""
    a, b = np.asarray(box_a, dtype=float), np.asarray(box_b, dtype=float)
    if a.shape != (3, 2) or b.shape != (3, 2) or np.any(a[:2] < 0) or np.any(b[:2] < 0):
        raise ParameterError("prior box", f"shapes {a.shape}, {b.shape}",
                             "must be (3, 2) with beta bounds >= 0")
    return np.array([[a[0, 0] ** 2 - b[0, 1] ** 2, a[0, 1] ** 2 - b[0, 0] ** 2],
                     [a[1, 0] ** 2 - b[1, 1] ** 2, a[1, 1] ** 2 - b[1, 0] ** 2],
                     [a[2, 0] - b[2, 1], a[2, 1] - b[2, 0]]])


def _uniform_moment(lo: float, hi: float, k: int) -> float:
    """E[x^k] for x uniform in [lo, hi]."""
    return (hi ** (k + 1) - lo ** (k + 1)) / ((k + 1) * (hi - lo))


def prior_difference_sd(box_a: np.ndarray, box_b: np.ndarray) -> np.ndarray:
    """(3,) standard deviation of the differences under independent uniform priors on the boxes:
    Var(x^2) = E x^4 - (E x^2)^2 for the squares, width^2 / 12 for Delta r_np; the variances
    of the two species add."""
    var = np.zeros(3)
    for box in (np.asarray(box_a, float), np.asarray(box_b, float)):
        for k in range(2):
            lo, hi = box[k]
            var[k] += _uniform_moment(lo, hi, 4) - _uniform_moment(lo, hi, 2) ** 2
        var[2] += (box[2, 1] - box[2, 0]) ** 2 / 12.0
    return np.sqrt(var)


def prior_difference_mean(box_a: np.ndarray, box_b: np.ndarray) -> np.ndarray:
    """(3,) mean of the differences under independent uniform priors on the boxes."""
    out = np.zeros(3)
    for sign, box in ((1.0, np.asarray(box_a, float)), (-1.0, np.asarray(box_b, float))):
        out[0] += sign * _uniform_moment(box[0, 0], box[0, 1], 2)
        out[1] += sign * _uniform_moment(box[1, 0], box[1, 1], 2)
        out[2] += sign * _uniform_moment(box[2, 0], box[2, 1], 1)
    return out


def pair_samples(run_a: str | Path, run_b: str | Path, feats_a: np.ndarray,
                 feats_b: np.ndarray, n_samples: int = 1000, seed: int = 0) -> np.ndarray:
    """(n, n_samples, 3) posterior samples of the differences for n pairs of sets: set k of
    species a (``feats_a`` (n, N, 5), model ``run_a``) with set k of species b.  The two flows
    are sampled from independent streams (the same stream would correlate the two species'
    samples and make the differences too narrow)."""
    from upclens.learn.posterior import sample_posterior

    if len(feats_a) != len(feats_b):
        raise ParameterError("pairs", f"{len(feats_a)} and {len(feats_b)} sets",
                             "must have as many sets of each species")
    seed_a, seed_b = (int(s.generate_state(1)[0])
                      for s in np.random.SeedSequence(seed).spawn(2))
    sa = sample_posterior(run_a, feats_a, n_samples, seed_a)
    sb = sample_posterior(run_b, feats_b, n_samples, seed_b)
    return differences(sa, sb)


def summarise_differences(samples: np.ndarray) -> dict[str, dict[str, float]]:
    """One pair's samples (S, 3) of the differences: per difference the mean, sd, median and
    the central 68.27 % and 95 % intervals (``inference.summarise``)."""
    from upclens.learn.inference import summarise

    return summarise(np.asarray(samples, float), DIFFERENCES)


def shrink(samples: np.ndarray, factor: float) -> np.ndarray:
    """Samples (n, S, D) moved towards their per-simulation mean by ``factor`` (> 0): an
    over-confident posterior of the same centre (factor 3: one third of the width)."""
    check_range("factor", factor, 0.0, 1e6, lo_open=True)
    s = np.asarray(samples, dtype=float)
    m = s.mean(axis=1, keepdims=True)
    return m + (s - m) / factor


def summarise_pairs(samples: np.ndarray, truth: np.ndarray) -> dict[str, dict[str, float]]:
    """Per difference over n pairs (samples (n, S, 3), truth (n, 3)): RMSE of the posterior
    mean, mean posterior sd, and the share of pairs whose central 68.27 % interval covers the
    truth."""
    s, t = np.asarray(samples, float), np.asarray(truth, float)
    mean = s.mean(axis=1)
    lo, hi = np.quantile(s, [0.158655, 0.841345], axis=1)
    out = {}
    for k, name in enumerate(DIFFERENCES):
        r = mean[:, k] - t[:, k]
        out[name] = {"rmse": float(np.sqrt(np.mean(r * r))),
                     "posterior_sd": float(s[:, :, k].std(axis=1).mean()),
                     "interval68_coverage": float(np.mean((lo[:, k] <= t[:, k])
                                                          & (t[:, k] <= hi[:, k])))}
    return out


def pair_coverage(samples: np.ndarray, truth: np.ndarray, bounds: np.ndarray, seed: int = 0,
                  n_sd: float = 2.0) -> dict[str, Any]:
    """SBC interval coverage per difference and TARP's ECP at 50 / 68 / 95 % (references
    uniform over ``bounds`` (3, 2), distances in units of its widths), as
    ``coverage.coverage_report``'s dict."""
    from upclens.learn.coverage import coverage_report

    rep = coverage_report(samples, truth, DIFFERENCES, np.random.default_rng(seed),
                          bounds=np.asarray(bounds, float), n_sd=n_sd)
    return rep.to_dict()
