"""Coverage of posterior samples on simulations: simulation-based calibration (SBC) and TARP.

Both take posterior samples (n_sims, n_samples, D) and the true parameters (n_sims, D) of
simulations the posterior never saw.

- SBC (Talts et al. 2018): the rank of each true value among its posterior samples is uniform
  when the posterior is calibrated; the central credible interval of level q (from the
  samples' quantiles) then covers the truth in a fraction q of the simulations, per parameter.
- TARP (Lemos et al. 2023, "Sampling-based accuracy testing of posterior estimators"): for a
  random reference point r_j per simulation, f_j = fraction of samples closer to r_j than the
  truth is; the expected coverage probability ECP(alpha) = mean_j [f_j < alpha] equals alpha
  for every alpha if and only if the joint posterior is calibrated (for references drawn from
  a distribution that covers the parameter space).  Distances are Euclidean in parameters
  scaled by ``scale`` (e.g. the prior widths), references uniform over the box ``bounds``.

A coverage is judged against binomial scatter: |observed - level| <= n_sd sqrt(level (1 -
level) / n_sims), plus the Monte Carlo error of the finite number of samples per simulation
(sqrt(level (1 - level) / n_samples), added in quadrature).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from upclens.errors import ParameterError

LEVELS = (0.5, 0.6827, 0.95)


def _check(samples: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(samples, dtype=float)
    t = np.asarray(truth, dtype=float)
    if s.ndim != 3 or t.ndim != 2 or s.shape[0] != t.shape[0] or s.shape[2] != t.shape[1]:
        raise ParameterError("samples", f"shape {s.shape}", f"must be (n_sims, n_samples, D) "
                             f"with truth (n_sims, D), got truth {t.shape}")
    if s.shape[0] == 0 or s.shape[1] < 2:
        raise ParameterError("samples", f"shape {s.shape}", "need >= 1 simulation and >= 2 "
                             "samples each")
    return s, t


def sbc_ranks(samples: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(n_sims, D) rank of the truth among the samples (0 .. n_samples)."""
    s, t = _check(samples, truth)
    return (s < t[:, None, :]).sum(axis=1)


def normalised_ranks(samples: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(n_sims, D) rank of the truth among the samples as a level in (0, 1):
    (rank + 1/2) / (n_samples + 1)."""
    s, t = _check(samples, truth)
    return (sbc_ranks(s, t) + 0.5) / (s.shape[1] + 1)


def rank_coverage(u: np.ndarray, levels: tuple[float, ...] = LEVELS) -> np.ndarray:
    """(D, L) fraction of the (n_sims, D) rank levels ``u`` inside each central interval:
    (1 - q)/2 < u < (1 + q)/2."""
    u = np.asarray(u, dtype=float)
    return np.array([[np.mean(np.abs(u[:, d] - 0.5) < 0.5 * q) for q in levels]
                     for d in range(u.shape[1])])


def interval_coverage(samples: np.ndarray, truth: np.ndarray,
                      levels: tuple[float, ...] = LEVELS) -> np.ndarray:
    """(D, L) fraction of simulations whose central credible interval of each level covers
    the truth (intervals from the ranks: (1 - q)/2 < rank / n_samples < (1 + q)/2)."""
    return rank_coverage(normalised_ranks(samples, truth), levels)


def tarp_ecp(samples: np.ndarray, truth: np.ndarray, rng: np.random.Generator,
             bounds: np.ndarray | None = None, scale: np.ndarray | None = None,
             alphas: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(alphas, ECP(alphas)) of TARP.  bounds (D, 2): box of the references (default: the
    range of the truths); scale (D,): distance units (default: the box widths)."""
    s, t = _check(samples, truth)
    lo, hi = ((t.min(axis=0), t.max(axis=0)) if bounds is None
              else (np.asarray(bounds, float)[:, 0], np.asarray(bounds, float)[:, 1]))
    w = np.where(hi > lo, hi - lo, 1.0) if scale is None else np.asarray(scale, float)
    ref = lo + (hi - lo) * rng.random(t.shape)
    d_truth = np.linalg.norm((t - ref) / w, axis=1)
    d_samp = np.linalg.norm((s - ref[:, None, :]) / w, axis=2)
    f = np.mean(d_samp < d_truth[:, None], axis=1)
    a = np.linspace(0.0, 1.0, 101) if alphas is None else np.asarray(alphas, float)
    return a, np.array([np.mean(f < x) for x in a])


def tolerance(level: float, n_sims: int, n_samples: int, n_sd: float = 2.0) -> float:
    """Allowed |observed - nominal| coverage: n_sd binomial standard errors over the
    simulations, with the Monte Carlo error of n_samples per simulation in quadrature."""
    v = level * (1.0 - level)
    return n_sd * float(np.sqrt(v / n_sims + v / n_samples))


@dataclass(frozen=True)
class CoverageReport:
    """levels (L,); interval (D, L) per-parameter coverage; tarp (L,) ECP at the levels;
    tol (L,) allowed deviations; passed: every entry within its tolerance."""

    names: tuple[str, ...]
    levels: tuple[float, ...]
    interval: np.ndarray
    tarp: np.ndarray
    tol: np.ndarray
    n_sims: int

    @property
    def passed(self) -> bool:
        lv = np.asarray(self.levels)
        return bool(np.all(np.abs(self.interval - lv) <= self.tol)
                    and np.all(np.abs(self.tarp - lv) <= self.tol))

    def to_dict(self) -> dict[str, object]:
        return {"levels": list(self.levels), "n_sims": self.n_sims, "passed": self.passed,
                "tolerance": [float(v) for v in self.tol],
                "tarp_ecp": [float(v) for v in self.tarp],
                "interval_coverage": {n: [float(v) for v in row]
                                      for n, row in zip(self.names, self.interval, strict=True)}}


def coverage_report(samples: np.ndarray, truth: np.ndarray, names: tuple[str, ...],
                    rng: np.random.Generator, bounds: np.ndarray | None = None,
                    levels: tuple[float, ...] = LEVELS, n_sd: float = 2.0) -> CoverageReport:
    """SBC interval coverage per parameter and TARP ECP at ``levels``, with tolerances."""
    s, t = _check(samples, truth)
    inter = interval_coverage(s, t, levels)
    _, ecp = tarp_ecp(s, t, rng, bounds=bounds, alphas=np.asarray(levels))
    tol = np.array([tolerance(q, s.shape[0], s.shape[1], n_sd) for q in levels])
    return CoverageReport(tuple(names), tuple(levels), inter, ecp, tol, int(s.shape[0]))
