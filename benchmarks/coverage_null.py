"""How often an exact posterior passes the pooled coverage check, and how far its largest miss
reaches: the yardstick for reading the event ladder's coverage tables.

The check (``upclens.learn.coverage``): central-interval coverage of each of D = 3 parameters and
TARP's expected coverage at 50 / 68.27 / 95 %, twelve numbers, each within ``n_sd`` binomial
standard errors of its level on n sets.  The exact posterior of a linear-Gaussian twin stands in
for a calibrated one: theta uniform in the unit box, u = Phi^-1(theta) standard normal,
x = u + noise (sd 0.3 / 1.0 / 0.5 per parameter, a well, a barely and a medium measured one),
posterior N(x / (1 + s^2), s^2 / (1 + s^2)) in u, its samples mapped back to the box.

    python benchmarks/coverage_null.py                  # n = 900 sets, 1000 samples, 300 repeats
    python benchmarks/coverage_null.py --sets 300       # one ladder split
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import norm

from upclens.learn.coverage import LEVELS, interval_coverage, tarp_ecp

NOISE = np.array([0.3, 1.0, 0.5])


def largest_misses(n_sets: int, n_samples: int, repeats: int, seed: int = 0) -> np.ndarray:
    """(repeats, 2) largest |coverage - level| in binomial sd of n_sets, over all twelve checks
    and over the nine SBC interval checks alone, for exact posteriors."""
    rng = np.random.default_rng(seed)
    lv = np.asarray(LEVELS)
    sd = np.sqrt(lv * (1.0 - lv) / n_sets)
    var = NOISE**2 / (1.0 + NOISE**2)
    out = []
    for _ in range(repeats):
        u = rng.standard_normal((n_sets, 3))
        x = u + NOISE * rng.standard_normal((n_sets, 3))
        post = x / (1.0 + NOISE**2)
        samples = norm.cdf(post[:, None, :] + np.sqrt(var) * rng.standard_normal(
            (n_sets, n_samples, 3)))
        truth = norm.cdf(u)
        z_sbc = np.abs(interval_coverage(samples, truth) - lv) / sd
        _, ecp = tarp_ecp(samples, truth, rng, bounds=np.array([[0.0, 1.0]] * 3), alphas=lv)
        z_tarp = np.abs(ecp - lv) / sd
        out.append((max(z_sbc.max(), z_tarp.max()), z_sbc.max()))
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=900)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()
    t0 = time.perf_counter()
    m = largest_misses(args.sets, args.samples, args.repeats)
    print(f"{args.sets} sets, {args.samples} samples, {args.repeats} exact posteriors "
          f"({time.perf_counter() - t0:.0f} s)")
    for limit in (2.0, 2.3, 2.5, 3.0):
        print(f"  P(all 12 within {limit} sd) = {np.mean(m[:, 0] <= limit):.2f}   "
              f"P(9 SBC within {limit} sd) = {np.mean(m[:, 1] <= limit):.2f}")
    q = np.quantile(m[:, 0], [0.5, 0.84, 0.95])
    print(f"  largest miss of 12: median {q[0]:.2f} sd, 84 % {q[1]:.2f}, 95 % {q[2]:.2f}")


if __name__ == "__main__":
    main()
