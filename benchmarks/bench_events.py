"""Speed of event-by-event production: set-up per nuclear configuration and events per second.

Each configuration is 96Zr (197Au where named) with a new random (beta2, beta3) in [0, 0.3] and
skin in [0, 0.2] fm, full physics (quantum Glauber, pointwise flux, vector polarisation,
interference), J/psi at RHIC, pT < 0.3 GeV.  The set-up builds the production tables
(``EventSampler.__init__``); sampling draws events with their spin density matrices in batches of
``--batch``.

    python benchmarks/bench_events.py              # ~1 minute
    python benchmarks/bench_events.py --quick      # a smoke run
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from upclens.physics.nucleus import Nucleus
from upclens.physics.production import EventSampler


def configurations(n: int, seed: int = 1, preset: str = "Zr96") -> list[Nucleus]:
    rng = np.random.default_rng(seed)
    return [Nucleus.from_preset(preset, beta2=float(rng.uniform(0, 0.3)),
                                beta3=float(rng.uniform(0, 0.3)),
                                delta_rnp=float(rng.uniform(0, 0.2))) for _ in range(n)]


def run(n_config: int, n_events: int, batch: int, rapidity: tuple[float, float],
        meson: str = "jpsi", preset: str = "Zr96") -> dict[str, float]:
    nuclei = configurations(n_config + 1, preset=preset)
    EventSampler(nuclei[0], rapidity=rapidity, meson=meson)  # warm the shared caches
    setups, setup_cpu, rates, rates_cpu = [], [], [], []
    rng = np.random.default_rng(7)
    for nucleus in nuclei[1:]:
        t0, c0 = time.perf_counter(), time.process_time()
        sampler = EventSampler(nucleus, rapidity=rapidity, meson=meson)
        setups.append(time.perf_counter() - t0)
        setup_cpu.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        done = 0
        while done < n_events:
            done += len(sampler.sample(min(batch, n_events - done), rng))
        rates.append(done / (time.perf_counter() - t0))
        rates_cpu.append(done / (time.process_time() - c0))
    return {"setup_median_s": float(np.median(setups)), "setup_max_s": float(np.max(setups)),
            "setup_cpu_s": float(np.median(setup_cpu)),
            "events_per_s": float(np.median(rates)),
            "events_per_cpu_s": float(np.median(rates_cpu))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=10000)
    args = parser.parse_args()
    n_config, n_events = (2, 20000) if args.quick else (8, 200000)
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for label, rapidity, meson, preset in (
            ("J/psi, y = 0", (0.0, 0.0), "jpsi", "Zr96"),
            ("J/psi, |y| < 1 (5 rapidity nodes)", (-1.0, 1.0), "jpsi", "Zr96"),
            ("J/psi, |y| < 1, 197Au", (-1.0, 1.0), "jpsi", "Au197"),
            ("rho0, y = 0", (0.0, 0.0), "rho0", "Zr96")):
        r = run(n_config if rapidity[0] == rapidity[1] else max(2, n_config // 4), n_events,
                args.batch, rapidity, meson, preset)
        print(f"{label:36s} set-up {r['setup_median_s']:.2f} s (max {r['setup_max_s']:.2f} s, "
              f"CPU {r['setup_cpu_s']:.2f} s), {r['events_per_s']:,.0f} events/s "
              f"({r['events_per_cpu_s']:,.0f} per CPU second)")


if __name__ == "__main__":
    main()
