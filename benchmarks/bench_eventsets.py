"""Cost of the event ladder: one labelled event set (generation) and one set-epoch of the
event-set network (training), in CPU seconds of one process (the machine's load does not enter).

    python benchmarks/bench_eventsets.py            # N_max = 1e5, |y| < 1: ~1 minute of CPU
    python benchmarks/bench_eventsets.py --quick    # N_max = 1e3, y = 0
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def generation(n_events: int, y: tuple[float, float], n_sets: int) -> float:
    """CPU seconds per event set (sampler set-up, sampling, decays, features)."""
    from upclens.data.eventgen import EventConfig
    from upclens.data.eventsets import EventSetConfig, simulate_set

    cfg = EventSetConfig(events=EventConfig(nucleus="Zr96", y_min=y[0], y_max=y[1],
                                            formats=("parquet",)), n_events=n_events)
    simulate_set(cfg, 0, 0)  # imports and caches
    t = time.process_time()
    for k in range(1, n_sets + 1):
        simulate_set(cfg, 0, k)
    return (time.process_time() - t) / n_sets


def training(n_events: int, n_sets: int = 32, width: int = 64) -> float:
    """CPU seconds per set per epoch (forward + backward) of EventSetNet at N events."""
    import torch

    from upclens.learn.eventset import EVENTS_PER_BATCH, EventSetNet, SetSettings
    from upclens.learn.losses import MultiTaskLoss

    torch.set_num_threads(1)
    net = EventSetNet(SetSettings(width=width))
    loss_fn = MultiTaskLoss("learned")
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(n_sets, n_events, 5)).astype(np.float32) * 0.1)
    y = torch.zeros(n_sets, 3)
    c = torch.zeros(n_sets)
    batch = max(1, min(32, EVENTS_PER_BATCH // n_events))
    t = time.process_time()
    for i in range(0, n_sets, batch):
        mu, ls, logit = net.standardised(x[i:i + batch])
        loss, _ = loss_fn(mu, ls, logit, y[i:i + batch], c[i:i + batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.process_time() - t) / n_sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    out = {}
    if args.quick:
        out["gen_s_per_set_N1e3_y0"] = generation(1000, (0.0, 0.0), 2)
        out["train_s_per_set_epoch"] = {1000: training(1000, 8)}
    else:
        out["gen_s_per_set_N1e5_y1"] = generation(100_000, (-1.0, 1.0), 2)
        out["train_s_per_set_epoch"] = {n: training(n, 8 if n == 100_000 else 32)
                                        for n in (1_000, 10_000, 100_000)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
