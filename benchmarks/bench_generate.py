"""Dataset generation speed and memory (docs/benchmarks.md, "Datasets").

1. Speed with the shipped default config (64x64, 128 orientation pairs, full physics):
   the bare simulation of ``--n`` images in this process, then ``generate_dataset`` with 1
   worker (in process) and 2 worker processes (scaling efficiency = t1 / (2 t2)), and the CPU
   seconds per image of each (their ratio is the efficiency on an otherwise idle machine, apart
   from the start-up).
   Overhead: 10 n fast images (closed form) bare and through ``generate_dataset``: the
   difference is the data layer's cost per image (chunk files, HDF5 assembly, checksums);
   and the start-up time of 2 worker processes.
2. Peak memory while writing ``--n-memory`` images (default 20000) of 64x64 pixels with fast
   physics (linear profile, uniform flux, exact average: the closed multipole form), 2 workers:
   the peak resident memory of the writing process and of the largest worker (sampled every
   0.2 s with psutil; run with --skip-speed so that the writer's peak is that of the writing).

Usage: python benchmarks/bench_generate.py [--n 64] [--n-memory 20000] [--skip-memory]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import tempfile
import time
from pathlib import Path


def _bare(cfg, n: int, seed: int) -> float:
    from upclens.data.simulate import simulate_chunk

    simulate_chunk(cfg, seed, 0, 0, 1)  # caches and imports outside the clock
    t0 = time.perf_counter()
    simulate_chunk(cfg, seed, 0, 0, n)
    return time.perf_counter() - t0


def _cpu() -> float:
    """CPU seconds of this process and of its finished child processes."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _generate(cfg, n: int, seed: int, folder: Path, workers: int, name: str,
              cpu: list[float] | None = None) -> float:
    """Wall seconds of generate_dataset; appends the CPU seconds used to ``cpu``."""
    from upclens.data import generate_dataset

    c0, t0 = _cpu(), time.perf_counter()
    generate_dataset(cfg, n, seed, folder / name, workers=workers, progress=False)
    t = time.perf_counter() - t0
    if cpu is not None:
        cpu.append(_cpu() - c0)
    return t


FAST = {"image.orientations": "exact", "physics.glauber": False, "physics.flux": "uniform"}


def speed(n: int, folder: Path) -> dict[str, float]:
    """Images per second of the default config: bare, 1 worker, 2 workers; scaling efficiency."""
    from upclens.data import load_config

    cfg = load_config(overrides={"run.chunk_size": 8})
    bare = _bare(cfg, n, 1)
    cpu: list[float] = []
    one = _generate(cfg, n, 1, folder, 1, "one.h5", cpu)
    two = _generate(cfg, n, 1, folder, 2, "two.h5", cpu)
    return {"n": n, "bare_img_per_s": n / bare, "one_worker_img_per_s": n / one,
            "two_workers_img_per_s": n / two, "scaling_efficiency": one / (2.0 * two),
            "cpu_ms_per_img_one_worker": 1e3 * cpu[0] / n,
            "cpu_ms_per_img_two_workers": 1e3 * cpu[1] / n,
            "cpu_scaling_efficiency": cpu[0] / cpu[1], "load_average_1min": os.getloadavg()[0]}


def overhead(n: int, folder: Path) -> dict[str, float]:
    """Data-layer cost per image (fast images, so that it shows) and worker start-up time."""
    from upclens.data import load_config

    cfg = load_config(overrides=FAST)
    bare = _bare(cfg, n, 3)
    one = _generate(cfg, n, 3, folder, 1, "fast.h5")
    tiny = load_config(overrides={**FAST, "run.chunk_size": 1})
    start = _generate(tiny, 2, 4, folder, 2, "start.h5") - _bare(tiny, 2, 4)
    return {"n": n, "bare_ms_per_img": 1e3 * bare / n, "generate_ms_per_img": 1e3 * one / n,
            "overhead_ms_per_img": 1e3 * (one - bare) / n, "two_worker_startup_s": start,
            **io_cost(cfg, folder)}


def io_cost(cfg, folder: Path, n_chunks: int = 40) -> dict[str, float]:
    """The parent's file work per 64x64 image, timed alone on real images: staging a chunk
    (npz + fsync + rename), checking staged chunks on resume, assembling the HDF5 file."""
    from upclens.data.simulate import simulate_chunk
    from upclens.data.staging import Staging
    from upclens.data.store import write_dataset
    from upclens.physics.settings import ImageGrid

    cs = cfg.run.chunk_size
    _, images, labels = simulate_chunk(cfg, 5, 0, 0, cs)
    staging = Staging(folder / "io.h5", {"benchmark": True})
    staging.open()
    t0 = time.perf_counter()
    for c in range(n_chunks):
        staging.write(c, images, labels)
    t1 = time.perf_counter()
    staging.done(n_chunks)
    t2 = time.perf_counter()
    axis = ImageGrid(cfg.image.pixels, cfg.image.pmax).centres
    write_dataset(folder / "io.h5", cfg.to_dict(), seed=5, n=n_chunks * cs, chunk_size=cs,
                  columns=cfg.columns, px=axis, py=axis,
                  chunks=(staging.read(c) for c in range(n_chunks)))
    t3 = time.perf_counter()
    staging.remove()
    n = n_chunks * cs
    return {"stage_ms_per_img": 1e3 * (t1 - t0) / n, "verify_ms_per_img": 1e3 * (t2 - t1) / n,
            "assemble_ms_per_img": 1e3 * (t3 - t2) / n}


class _PeakSampler:
    """Samples the resident memory of this process and of its child processes (psutil)."""

    def __init__(self, period: float = 0.2) -> None:
        import threading

        self.period = period
        self.writer = 0
        self.worker = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            self.writer = max(self.writer, me.memory_info().rss)
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    self.worker = max(self.worker, child.memory_info().rss)
            self._stop.wait(self.period)

    def __enter__(self) -> _PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def memory(n: int, folder: Path) -> dict[str, float]:
    """Peak resident memory (MiB) of the writer and of the largest worker for n images."""
    from upclens.data import load_config

    cfg = load_config(overrides=FAST)
    with _PeakSampler() as peak:
        t = _generate(cfg, n, 2, folder, 2, "memory.h5")
    size = (folder / "memory.h5").stat().st_size
    return {"n": n, "seconds": t, "img_per_s": n / t,
            "writer_peak_rss_mib": peak.writer / 2**20,
            "writer_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "worker_peak_rss_mib": peak.worker / 2**20,
            "file_mib": size / 2**20, "raw_image_mib": n * 64 * 64 * 4 / 2**20,
            "load_average_1min": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="images of the speed test")
    parser.add_argument("--n-memory", type=int, default=20000, help="images of the memory test")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_speed:
            results["speed"] = speed(args.n, Path(tmp))
            results["overhead"] = overhead(10 * args.n, Path(tmp))
        if not args.skip_memory:
            results["memory"] = memory(args.n_memory, Path(tmp))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
