"""Generating a dataset: chunks of items computed by local processes or a Dask cluster, written
by the parent alone, resumable after any interruption.

The work unit is one chunk of ``run.chunk_size`` consecutive items; item k depends only on
(config, seed, k), so the images are bit-identical for any number of workers, any scheduler
and any completion order.  :func:`run_chunks` runs any such chunk function (event files use it
too): ``work(cfg, seed, chunk, start, stop)`` must be a picklable module-level function whose
result's first element is the chunk index.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np

from upclens import __version__
from upclens.data.config import SCHEDULERS, ConfigMismatchError, DatasetConfig
from upclens.data.simulate import simulate_chunk
from upclens.data.staging import Staging, WriterLock
from upclens.data.store import DatasetCorruptError, open_checked, write_dataset
from upclens.data.threads import single_thread_environment
from upclens.errors import ParameterError, UpclensError, check_range
from upclens.io import check_writable

Task = tuple[int, int, int]  # (chunk, first item, end item)
Result = tuple[int, np.ndarray, np.ndarray]
Work = Callable[..., Any]  # work(cfg, seed, chunk, start, stop) -> (chunk, ...)


def _tasks(n: int, chunk_size: int, todo: list[int]) -> list[Task]:
    return [(c, c * chunk_size, min(n, (c + 1) * chunk_size)) for c in todo]


def _serial(work: Work, cfg: Any, seed: int, tasks: list[Task]) -> Iterator[Any]:
    for c, start, stop in tasks:
        yield work(cfg, seed, c, start, stop)


def _processes(work: Work, cfg: Any, seed: int, tasks: list[Task], workers: int
               ) -> Iterator[Any]:
    """Local worker processes (spawned, one BLAS thread each), at most 2 chunks per worker in
    flight so that memory stays bounded for any n."""
    import multiprocessing

    queue = list(reversed(tasks))
    with single_thread_environment(), ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        running: set[Future[Any]] = set()
        try:
            while queue or running:
                while queue and len(running) < 2 * workers:
                    running.add(pool.submit(work, cfg, seed, *queue.pop()))
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    yield fut.result()
        finally:
            for fut in running:
                fut.cancel()


def _dask(work: Work, cfg: Any, seed: int, tasks: list[Task], workers: int,
          address: str | None) -> Iterator[Any]:
    """A Dask cluster: an existing one at ``address``, or a local one with ``workers``."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if address is None:
            with single_thread_environment():
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
            client = Client(cluster)
        else:
            try:
                client = Client(address, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise UpclensError(f"cannot reach the Dask scheduler at {address} ({exc})"
                                   ) from None
        with client:
            n_slots = max(1, sum(client.nthreads().values()))
            queue = list(reversed(tasks))
            pending = as_completed()
            cfg_future = client.scatter(cfg, broadcast=True)
            for _ in range(min(len(queue), 2 * n_slots)):
                pending.add(client.submit(work, cfg_future, seed, *queue.pop(), pure=False))
            for fut in pending:
                result = fut.result()
                fut.release()
                if queue:
                    pending.add(client.submit(work, cfg_future, seed, *queue.pop(), pure=False))
                yield result
    finally:
        if cluster is not None:
            cluster.close()


def _manifest(cfg: DatasetConfig, n: int, seed: int) -> dict[str, Any]:
    return {"config": cfg.content_dict(), "n": n, "seed": seed, "columns": cfg.columns,
            "upclens_version": __version__}


def _existing(out: Path, cfg: DatasetConfig, n: int, seed: int) -> Path:
    """Accept a finished file made by the same command; refuse anything else."""
    import json

    try:
        f = open_checked(out)
    except DatasetCorruptError as exc:
        raise UpclensError(f"{out} exists but is not a complete dataset ({exc}); delete it to "
                           "generate again") from None
    with f:
        stored = json.loads(f.attrs["config"])
        stored["run"] = {"chunk_size": stored.get("run", {}).get("chunk_size")}
        same = (stored == cfg.content_dict() and int(f.attrs["n"]) == n
                and int(f.attrs["seed"]) == seed)
    if not same:
        raise ConfigMismatchError(f"{out} exists with another config, seed or size; choose "
                                  "another --out or delete it")
    return out


def _check_scheduler(scheduler: str) -> None:
    if scheduler not in SCHEDULERS and "://" not in scheduler:
        raise ParameterError("scheduler", scheduler,
                             "must be 'processes', 'dask' or a Dask address tcp://HOST:PORT")


def check_run(n: object, seed: object, workers: object, scheduler: str
              ) -> tuple[int, int, int, str]:
    """(n, seed, workers, scheduler) checked: n in [1, 1e9], seed in [0, 2^63 - 1], workers in
    [0, 4096] (0: one per core), a known scheduler."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise ParameterError("n", n, "must be an integer in [1, 1e9]")
    check_range("n", n, 1, 1e9)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ParameterError("seed", seed, "must be an integer in [0, 2^63 - 1]")
    check_range("seed", seed, 0, 2**63 - 1)
    n_workers = int(check_range("workers", workers, 0, 4096)) or (os.cpu_count() or 1)  # type: ignore[arg-type]
    _check_scheduler(scheduler)
    return int(n), int(seed), n_workers, scheduler


def run_chunks(work: Work, cfg: Any, seed: int, tasks: list[Task], workers: int,
               scheduler: str) -> Iterator[Any]:
    """The results of ``work`` on every task, in completion order: in this process (no tasks,
    or one 'processes' worker), on local processes, or on a Dask cluster ('dask': a local one
    of ``workers``; 'tcp://HOST:PORT': a running one)."""
    if not tasks or (scheduler == "processes" and workers == 1):
        return _serial(work, cfg, seed, tasks)
    if scheduler == "processes":
        return _processes(work, cfg, seed, tasks, min(workers, max(len(tasks), 1)))
    return _dask(work, cfg, seed, tasks, workers, None if scheduler == "dask" else scheduler)


def generate_dataset(cfg: DatasetConfig, n: int, seed: int, out: str | os.PathLike[str], *,
                     workers: int | None = None, scheduler: str | None = None,
                     progress: bool = True) -> Path:
    """Simulate ``n`` items of ``cfg`` with base ``seed`` into the HDF5 file ``out``.

    workers: local processes or Dask workers (None: ``cfg.run.workers``; 0: one per core; 1 with
    'processes': in this process).  scheduler: 'processes' (default), 'dask' (a local Dask
    cluster) or an address 'tcp://HOST:PORT' of a running Dask scheduler (None:
    ``cfg.run.scheduler``).  Rerunning the same call after an interruption continues from the
    finished chunks; a finished identical file is returned as it is.  Returns ``out``.
    """
    from tqdm import tqdm

    from upclens.data.engine import engine_settings

    n, seed, workers, scheduler = check_run(
        n, seed, cfg.run.workers if workers is None else workers,
        scheduler or cfg.run.scheduler)
    out = check_writable(out)
    cs = cfg.run.chunk_size
    n_chunks = -(-n // cs)
    with WriterLock(out):
        staging = Staging(out, _manifest(cfg, n, seed))
        if out.exists():
            _existing(out, cfg, n, seed)
            staging.remove()  # left behind if a run stopped right after its final rename
            return out
        staging.open()
        done = staging.done(n_chunks)
        tasks = _tasks(n, cs, [c for c in range(n_chunks) if c not in done])
        n_done = sum(min(n, (c + 1) * cs) - c * cs for c in done)
        bar = tqdm(total=n, initial=n_done, unit="img", desc=out.name, disable=not progress,
                   smoothing=0.05, dynamic_ncols=True)
        results = run_chunks(simulate_chunk, cfg, seed, tasks, workers, scheduler)
        try:
            for c, images, labels in results:
                staging.write(c, images, labels)
                bar.update(len(images))
        finally:
            bar.close()
        grid = engine_settings(cfg).grid
        config = cfg.to_dict()
        config["run"]["scheduler"] = scheduler
        config["run"]["workers"] = workers
        write_dataset(out, config, seed=seed, n=n, chunk_size=cs, columns=cfg.columns,
                      px=grid.centres, py=grid.centres,
                      chunks=(staging.read(c) for c in range(n_chunks)))
        staging.remove()
    return out
