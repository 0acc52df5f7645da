"""Seconds per Prediction Difference Analysis heatmap on this CPU (one torch thread).

A ShapeNet with the default training settings (untrained weights: the speed is the same) on
64 x 64 images of 96Zr from the simulator (exact averages, random beta2, beta3, skin), the
conditional sampler fitted on them; every (window, sample) image goes through the network in
batches.  Also reports the network's forward throughput, which bounds PDA:
seconds per heatmap ~ windows x samples / (images per second).  Times are CPU seconds of this
process (time.process_time), which do not depend on other load of a shared machine; wall-clock
seconds are shown beside them.

    python benchmarks/bench_pda.py            # ~1-2 minutes on 2 cores
    python benchmarks/bench_pda.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from upclens.explain.attribution import integrated_gradients, occlusion
from upclens.explain.pda import prediction_difference
from upclens.explain.sampling import ConditionalSampler, MarginalSampler
from upclens.explain.windows import Windows
from upclens.learn.resnet import ShapeNet
from upclens.learn.settings import TrainSettings
from upclens.physics.image import simulate_image
from upclens.physics.nucleus import Nucleus


def images(n: int, seed: int = 0) -> np.ndarray:
    """``n`` exact 64 x 64 images of 96Zr with random (beta2, beta3) and skin 0 / 0.2 fm."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        nuc = Nucleus.from_preset("Zr96", beta2=rng.uniform(0, 0.3), beta3=rng.uniform(0, 0.3),
                                  delta_rnp=0.2 * (k % 2))
        out.append(simulate_image(nuc).intensity)
    return np.stack(out).astype(np.float32)


def throughput(model: torch.nn.Module, batch: int, shape: tuple[int, int]) -> float:
    """Forward passes per CPU second at batch size ``batch``."""
    x = torch.rand(batch, 1, *shape)
    with torch.no_grad():
        model(x)
        t0 = time.process_time()
        reps = 3
        for _ in range(reps):
            model(x)
    return reps * batch / (time.process_time() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n_data = 16 if args.quick else 64
    t0 = time.perf_counter()
    data = images(n_data)
    print(f"{n_data} simulated images: {time.perf_counter() - t0:.1f} s")
    model = ShapeNet(TrainSettings(), (64, 64)).eval()
    rate = throughput(model, 256, (64, 64))
    print(f"ShapeNet forward (default settings, batch 256, {args.threads} thread): "
          f"{rate:.0f} images per CPU second")
    configs = [(8, 4, 10), (6, 3, 10), (4, 2, 10)] if not args.quick else [(8, 4, 4)]
    print("| window | stride | samples | windows | evaluations | sampler (fit, CPU s) |"
          " CPU s / heatmap | wall s / heatmap | evaluations / throughput |")
    print("|---|---|---|---|---|---|---|---|---|")
    for window, stride, n_s in configs:
        win = Windows.build((64, 64), window, stride)
        for name in ("conditional", "marginal"):
            t0 = time.process_time()
            sampler = (ConditionalSampler.fit(data, win, padding=2) if name == "conditional"
                       else MarginalSampler(data))
            t_fit = time.process_time() - t0
            reps = 2
            t0, w0 = time.process_time(), time.perf_counter()
            for r in range(reps):
                prediction_difference(model, data[r], sampler, win, n_s,
                                      np.random.default_rng(r), n_train=n_data, batch_size=256)
            sec = (time.process_time() - t0) / reps
            wall = (time.perf_counter() - w0) / reps
            print(f"| {window} | {stride} | {n_s} | {win.count} | {win.count * n_s} | {name} "
                  f"({t_fit:.1f}) | {sec:.2f} | {wall:.2f} | {win.count * n_s / rate:.2f} |")
    win = Windows.build((64, 64), 6, 3)
    t0 = time.process_time()
    occlusion(model, data[0], data.mean(0), win, n_data, batch_size=256)
    t_occ = time.process_time() - t0
    t0 = time.process_time()
    integrated_gradients(model, data[0], data.mean(0), steps=32)
    t_ig = time.process_time() - t0
    print(f"CPU s: occlusion (6/3) {t_occ:.2f}, integrated gradients (32 steps) {t_ig:.2f}")


if __name__ == "__main__":
    main()
