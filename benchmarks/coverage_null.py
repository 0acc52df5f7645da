"""How often an exact posterior passes the pooled coverage check, and how far its largest miss
reaches: the yardstick for reading the event ladder's coverage tables.

The check (``upclens.learn.coverage``): central-interval coverage of each of D = 3 parameters and
TARP's expected coverage at 50 / 68.27 / 95 %, twelve numbers, each within ``n_sd`` binomial
standard errors of its level on n sets.  The exact posterior of a linear-Gaussian twin stands in
for a calibrated one: theta uniform in the unit box, u = Phi^-1(theta) standard normal,
x = u + noise (sd 0.3 / 1.0 / 0.5 per parameter, a well, a barely and a medium measured one),
posterior N(x / (1 + s^2), s^2 / (1 + s^2)) in u, its samples mapped back to the box.

Besides the largest of the twelve misses it reports their sum of squares (each z has unit
variance, so its mean is 12, but the levels of one parameter are correlated, which widens its
spread), summed over three independent readings as the ladder's three N are, and how often one
split passes the ladder's own check (two sd with the Monte Carlo error of the samples,
``learn.coverage.tolerance``; the ladder reads 300 sets with 500 samples).

    python benchmarks/coverage_null.py                  # n = 900 sets, 1000 samples, 300 repeats
    python benchmarks/coverage_null.py --sets 300 --samples 500   # one ladder split as checked
    python benchmarks/coverage_null.py --sets 1800 --repeats 600  # the pooled readings
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import norm

from upclens.learn.coverage import LEVELS, interval_coverage, tarp_ecp, tolerance

NOISE = np.array([0.3, 1.0, 0.5])


def signed_misses(n_sets: int, n_samples: int, repeats: int, seed: int = 0) -> np.ndarray:
    """(repeats, 4, 3) (coverage - level) / binomial sd of n_sets for exact posteriors: rows the
    three parameters' central intervals and TARP, columns the levels."""
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
        _, ecp = tarp_ecp(samples, truth, rng, bounds=np.array([[0.0, 1.0]] * 3), alphas=lv)
        out.append(np.vstack([interval_coverage(samples, truth), ecp[None]]) - lv)
    return np.array(out) / sd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=900)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()
    t0 = time.perf_counter()
    z = signed_misses(args.sets, args.samples, args.repeats)
    print(f"{args.sets} sets, {args.samples} samples, {args.repeats} exact posteriors "
          f"({time.perf_counter() - t0:.0f} s)")
    largest, sbc = np.abs(z).max(axis=(1, 2)), np.abs(z[:, :3]).max(axis=(1, 2))
    for limit in (2.0, 2.3, 2.5, 3.0):
        print(f"  P(all 12 within {limit} sd) = {np.mean(largest <= limit):.2f}   "
              f"P(9 SBC within {limit} sd) = {np.mean(sbc <= limit):.2f}")
    q = np.quantile(largest, [0.5, 0.84, 0.95])
    print(f"  largest miss of 12: median {q[0]:.2f} sd, 84 % {q[1]:.2f}, 95 % {q[2]:.2f}")
    chi = (z**2).sum(axis=(1, 2))
    three = chi[: len(chi) // 3 * 3].reshape(-1, 3).sum(axis=1)
    for name, v in (("one reading", chi), ("three readings", three)):
        q = np.quantile(v, [0.5, 0.84, 0.95, 0.99])
        print(f"  sum of squares, {name}: mean {v.mean():.1f}, median {q[0]:.1f}, "
              f"84 % {q[1]:.1f}, 95 % {q[2]:.1f}, 99 % {q[3]:.1f}")
    lv = np.asarray(LEVELS)
    tol = np.array([tolerance(x, args.sets, args.samples) for x in lv])
    dev = z * np.sqrt(lv * (1.0 - lv) / args.sets)
    passed = (np.abs(dev) <= tol).all(axis=(1, 2))
    six = passed[: len(passed) // 6 * 6].reshape(-1, 6).all(axis=1)
    print(f"  the ladder's check (2 sd with the samples' error): one split passes "
          f"{passed.mean():.2f}, six together {six.mean():.2f} ({len(six)} groups; "
          f"p^6 = {passed.mean() ** 6:.2f})")


if __name__ == "__main__":
    main()
