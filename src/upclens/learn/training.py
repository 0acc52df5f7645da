"""Training: seeded, checkpointed every epoch, resumable, data-parallel under torchrun.

The run folder holds ``model.pt`` (the best weights so far, with the architecture, the input
normalisation, the target scaling and the dataset config), ``checkpoint.pt`` (everything needed
to continue: model, optimiser, scheduler, loss weights, epoch, best metric, history) and
``history.json``.  Data order comes from a DistributedSampler seeded by (seed, epoch) and the flip
augmentation from a torch.Generator seeded by (seed, epoch, rank), so a resumed run, after
``--resume`` or a SIGKILL, ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DistributedSampler

from upclens import __version__
from upclens.errors import ParameterError, check_range
from upclens.io import check_writable, write_json
from upclens.learn import checkpoint
from upclens.learn.datasource import ArrayData, check_compatible, load_data
from upclens.learn.distributed import (
    DistContext,
    all_reduce_sum,
    barrier,
    broadcast_flag,
    setup,
    teardown,
)
from upclens.learn.losses import MultiTaskLoss
from upclens.learn.resnet import ShapeNet
from upclens.learn.settings import CLASS_COLUMN, TARGETS, TrainSettings

VAL_BATCH = 512


def train(train_path: str | Path, val_path: str | Path, out_dir: str | Path, *,
          settings: TrainSettings | None = None, resume: bool = False, progress: bool = True,
          stop_after: int | None = None, threads: int | None = 1) -> Path:
    """Train a ShapeNet on ``train_path``, select on ``val_path``; return the run folder.

    ``resume`` continues from ``out_dir/checkpoint.pt`` (with the settings stored there; only
    the device may change).  torch's global random state is the same after the call as
    before it.  ``stop_after``: leave after that many epochs of this call (for
    time-limited job slots; the next ``resume`` continues).  ``threads``: CPU threads of this
    process while training (None: torch's setting); one per process is the default because two
    OpenMP threads on a busy 2-core machine ran 30x slower than one (docs/learning.md).  Under
    torchrun every rank calls this with the same arguments.
    """
    settings = settings or TrainSettings()
    previous = torch.get_num_threads()
    deterministic = (torch.are_deterministic_algorithms_enabled(),
                     torch.is_deterministic_algorithms_warn_only_enabled())
    if threads is not None:
        check_range("threads", threads, 1, 1024)
        torch.set_num_threads(int(threads))
    ctx = setup(settings.device)
    cuda = [ctx.device.index or 0] if ctx.device.type == "cuda" else []
    try:
        # Training seeds torch's global generators; the caller's streams are given back.
        with torch.random.fork_rng(devices=cuda):
            return _train(ctx, Path(train_path), Path(val_path), Path(out_dir), settings,
                          resume, progress, stop_after)
    finally:
        teardown(ctx)
        torch.set_num_threads(previous)
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])


def _stop_early(run: dict[str, Any], settings: TrainSettings) -> bool:
    """No better validation loss for ``patience`` epochs, once half the epochs are done (the
    validation loss jumps while the learning rate is high; stopping then lost the run)."""
    return (run["bad"] >= settings.patience
            and run["epoch"] >= math.ceil(settings.epochs / 2))


class _Standardised(torch.nn.Module):
    """The model's standardised outputs as ``forward``, so DDP synchronises their gradients."""

    def __init__(self, model: ShapeNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, 1, ny, nx) raw -> (mu (B, T), log sigma (B, T), logit (B,))."""
        return self.model.standardised(x)


def _fit_target_scaling(model: ShapeNet, data: ArrayData) -> None:
    """Standardise each target by its training mean and std (std 1 for a constant target)."""
    t = data.targets.to(torch.float64)
    mean, std = t.mean(0), t.std(0, unbiased=False)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    model.target_mean.copy_(mean.to(torch.float32))
    model.target_std.copy_(std.to(torch.float32))


def _scheduler(opt: torch.optim.Optimizer, settings: TrainSettings,
               steps_per_epoch: int) -> torch.optim.lr_scheduler.LRScheduler:
    total = settings.epochs * steps_per_epoch
    if settings.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=settings.lr, total_steps=total,
                                                   pct_start=0.2)
    if settings.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)


def _flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mirror px and py independently with probability 1/2 each (generator on the CPU)."""
    b = x.shape[0]
    fx = (torch.rand(b, generator=gen) < 0.5).to(x.device)[:, None, None, None]
    fy = (torch.rand(b, generator=gen) < 0.5).to(x.device)[:, None, None, None]
    x = torch.where(fx, x.flip(-1), x)
    return torch.where(fy, x.flip(-2), x)


def model_meta(settings: TrainSettings, data: ArrayData, extra: dict[str, Any]) -> dict[str, Any]:
    """Plain-data description stored with the weights (see :func:`upclens.learn.load_model`)."""
    return {"px": [float(v) for v in data.px], "py": [float(v) for v in data.py],
            "shape": list(data.shape), "columns": list(data.columns), "targets": list(TARGETS),
            "class_column": CLASS_COLUMN, "dataset_config": json.dumps(data.config),
            "settings": settings.to_dict(), "upclens_version": __version__,
            "torch_version": str(torch.__version__), **extra}


@torch.no_grad()
def _validate(model: torch.nn.Module, loss_fn: MultiTaskLoss, data: ArrayData,
              ctx: DistContext, tmean: torch.Tensor, tstd: torch.Tensor) -> dict[str, float]:
    """Sharded validation: unweighted objective mean NLL + BCE, RMSE per target, accuracy."""
    model.eval()
    idx = torch.arange(ctx.rank, len(data), ctx.world_size)
    n_t = len(TARGETS)
    sums = torch.zeros(3 + n_t, dtype=torch.float64)
    for i0 in range(0, idx.numel(), VAL_BATCH):
        sel = idx[i0:i0 + VAL_BATCH]
        x = data.images[sel].to(ctx.device)
        y = data.targets[sel].to(ctx.device)
        c = data.classes[sel].to(ctx.device)
        mu, log_sigma, logit = model.standardised(x)
        _, parts = loss_fn(mu, log_sigma, logit, (y - tmean) / tstd, c)
        nll = sum(parts[f"nll_{k}"] for k in range(n_t)) / n_t
        n = sel.numel()
        err = (tmean + tstd * mu - y).double().cpu()
        sums[0] += n * (nll + parts["bce"])
        sums[1] += n
        sums[2] += float(((logit > 0).float() == c).sum())
        sums[3:] += (err**2).sum(0)
    sums = all_reduce_sum(sums, ctx)
    out = {"val_loss": float(sums[0] / sums[1]), "val_accuracy": float(sums[2] / sums[1])}
    for k, name in enumerate(TARGETS):
        out[f"val_rmse_{name}"] = math.sqrt(float(sums[3 + k] / sums[1]))
    return out


@dataclass
class _Fit:
    """What one training run works with: the model, its loss, optimiser, scheduler and the
    data order (sampler, per-rank batch, steps per epoch)."""

    model: ShapeNet
    loss_fn: MultiTaskLoss
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    sampler: DistributedSampler
    batch: int
    steps_per_epoch: int


def _train(ctx: DistContext, train_path: Path, val_path: Path, out: Path,
           settings: TrainSettings, resume: bool, progress: bool,
           stop_after: int | None) -> Path:
    """Train (or continue) the run in ``out`` epoch by epoch; see :func:`train`."""
    state, settings = _previous_state(out, settings, resume)
    _prepare(ctx, out, settings)
    data = load_data(train_path, settings.max_train)
    val = load_data(val_path)
    check_compatible(val, {"px": data.px, "py": data.py}, "val")
    fit = _build(ctx, settings, data)
    run = _restore(fit, state)
    net = _wrap(ctx, fit.model)
    tensors = _on_device(ctx, fit.model, data)
    extra = {"n_train": len(data), "n_val": len(val), "train_data": str(train_path),
             "world_size": ctx.world_size,
             "target_min": [float(v) for v in data.targets.min(0).values],
             "target_max": [float(v) for v in data.targets.max(0).values]}
    epochs_here = 0
    while run["epoch"] < settings.epochs and not _stop_early(run, settings):
        if stop_after is not None and epochs_here >= stop_after:
            break
        t0 = time.perf_counter()
        train_loss = _epoch(ctx, fit, net, tensors, settings, run["epoch"], progress)
        metrics = _validate(fit.model, fit.loss_fn, val, ctx, fit.model.target_mean,
                            fit.model.target_std)
        seconds = time.perf_counter() - t0
        record = {"epoch": run["epoch"] + 1, "lr": fit.sched.get_last_lr()[0],
                  "train_loss": train_loss, **metrics, "seconds": seconds}
        improved = metrics["val_loss"] < run["best"]
        run = _advance(run, record, improved)
        if ctx.is_main:
            _save_epoch(out, fit, settings, data, run, record, improved, extra, progress)
        barrier(ctx)
        epochs_here += 1
    if not broadcast_flag((out / checkpoint.MODEL_FILE).is_file() if ctx.is_main else True, ctx):
        raise ParameterError("out", str(out), "no model was written")
    finished = run["epoch"] >= settings.epochs or _stop_early(run, settings)
    if finished and settings.calibrate and ctx.is_main:
        _calibrate(out / checkpoint.MODEL_FILE, settings, data.shape, val)
    barrier(ctx)
    return out


def _previous_state(out: Path, settings: TrainSettings, resume: bool
                    ) -> tuple[dict[str, Any] | None, TrainSettings]:
    """The checkpoint to continue from (None: a fresh run) and the settings of the run (those
    stored in the checkpoint when resuming; only the device may change)."""
    ckpt_path = out / checkpoint.CHECKPOINT_FILE
    state = None
    if ckpt_path.exists():
        if not resume:
            raise ParameterError("out", str(out), "holds a run already: pass --resume to "
                                 "continue it, or choose a new folder")
        state = checkpoint.load(ckpt_path)
        settings = TrainSettings.from_dict({**state["settings"], "device": settings.device})
    return state, settings


def _prepare(ctx: DistContext, out: Path, settings: TrainSettings) -> None:
    """Check the output folder, make the kernels deterministic and seed torch."""
    if ctx.is_main:
        check_writable(out / checkpoint.MODEL_FILE, "out", make_parents=True)
    if ctx.device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # On GPUs some backward kernels (adaptive pooling) have no deterministic version: warn there.
    torch.use_deterministic_algorithms(True, warn_only=ctx.device.type == "cuda")
    torch.manual_seed(settings.seed)


def _build(ctx: DistContext, settings: TrainSettings, data: ArrayData) -> _Fit:
    """A fresh model fitted to the training data's scales, its loss, optimiser, data order and
    learning-rate schedule."""
    model = ShapeNet(settings, data.shape)
    model.preprocess.fit(data.images)
    _fit_target_scaling(model, data)
    loss_fn = MultiTaskLoss(settings.weighting, settings.class_weight, settings.beta_nll)
    model.to(ctx.device)
    loss_fn.to(ctx.device)
    groups = [{"params": list(model.parameters())}]
    if settings.weighting == "learned":
        groups.append({"params": [loss_fn.s_class], "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=settings.lr, weight_decay=settings.weight_decay)
    sampler = DistributedSampler(data.images, num_replicas=ctx.world_size, rank=ctx.rank,
                                 shuffle=True, seed=settings.seed)
    batch = max(1, settings.batch_size // ctx.world_size)
    steps_per_epoch = math.ceil(len(sampler) / batch)
    sched = _scheduler(opt, settings, steps_per_epoch)
    return _Fit(model, loss_fn, opt, sched, sampler, batch, steps_per_epoch)


def _restore(fit: _Fit, state: dict[str, Any] | None) -> dict[str, Any]:
    """Load a checkpoint's weights, loss, optimiser and scheduler into ``fit``; returns the
    run's bookkeeping (epoch, best loss, history; a fresh one without a checkpoint)."""
    run: dict[str, Any] = {"epoch": 0, "best": math.inf, "best_epoch": -1, "bad": 0,
                           "history": [], "seconds": 0.0}
    if state is not None:
        fit.model.load_state_dict(state["model"])
        fit.loss_fn.load_state_dict(state["loss"])
        fit.opt.load_state_dict(state["optimizer"])
        fit.sched.load_state_dict(state["scheduler"])
        run = state["run"]
    return run


def _wrap(ctx: DistContext, model: ShapeNet) -> torch.nn.Module:
    """The module the optimiser steps through: DDP-wrapped under several ranks."""
    net: torch.nn.Module = _Standardised(model)
    if ctx.world_size > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            net, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    return net


def _on_device(ctx: DistContext, model: ShapeNet, data: ArrayData
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Training images, standardised targets and skin classes on the training device."""
    images = data.images.to(ctx.device)
    targets = ((data.targets.to(ctx.device) - model.target_mean) / model.target_std)
    return images, targets, data.classes.to(ctx.device)


def _epoch(ctx: DistContext, fit: _Fit, net: torch.nn.Module,
           tensors: tuple[torch.Tensor, torch.Tensor, torch.Tensor], settings: TrainSettings,
           epoch: int, progress: bool) -> float:
    """One pass over this rank's share of the training data (``tensors``: images,
    standardised targets, classes); returns the mean training loss over all ranks."""
    images, targets, classes = tensors
    fit.model.train()
    fit.sampler.set_epoch(epoch)
    order = torch.tensor(list(iter(fit.sampler)), dtype=torch.long)
    gen = torch.Generator().manual_seed(int(np.random.default_rng(
        [settings.seed, epoch, ctx.rank]).integers(2**62)))
    bar = None
    if progress and ctx.is_main:
        from tqdm import tqdm

        bar = tqdm(total=fit.steps_per_epoch, desc=f"epoch {epoch + 1}/{settings.epochs}",
                   unit="batch", leave=False, file=sys.stderr)
    total, count = 0.0, 0
    for i0 in range(0, order.numel(), fit.batch):
        sel = order[i0:i0 + fit.batch].to(ctx.device)
        x = images[sel]
        if settings.augment == "flip":
            x = _flip(x, gen)
        mu, log_sigma, logit = net(x)
        loss, _ = fit.loss_fn(mu, log_sigma, logit, targets[sel], classes[sel])
        fit.opt.zero_grad(set_to_none=True)
        loss.backward()
        fit.opt.step()
        fit.sched.step()
        total += float(loss.detach()) * sel.numel()
        count += sel.numel()
        if bar is not None:
            bar.update()
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
    if bar is not None:
        bar.close()
    sums = all_reduce_sum(torch.tensor([total, count], dtype=torch.float64), ctx)
    return float(sums[0] / sums[1])


def _advance(run: dict[str, Any], record: dict[str, Any], improved: bool) -> dict[str, Any]:
    """The run's bookkeeping after the epoch of ``record``."""
    run = {**run, "epoch": record["epoch"], "seconds": run["seconds"] + record["seconds"],
           "history": [*run["history"], record]}
    if improved:
        run.update(best=record["val_loss"], best_epoch=record["epoch"], bad=0)
    else:
        run["bad"] += 1
    return run


def _save_epoch(out: Path, fit: _Fit, settings: TrainSettings, data: ArrayData,
                run: dict[str, Any], record: dict[str, Any], improved: bool,
                extra: dict[str, Any], progress: bool) -> None:
    """Write the best model (when improved), the checkpoint and history.json; print the
    epoch's line."""
    model = fit.model
    epoch = record["epoch"]
    metrics = {k: v for k, v in record.items() if k.startswith("val_")}
    if improved:
        meta = model_meta(settings, data, {**extra, "epoch": epoch, "val": metrics})
        checkpoint.save({"format_version": checkpoint.FORMAT_VERSION,
                         "state_dict": model.state_dict(), "meta": meta},
                        out / checkpoint.MODEL_FILE)
    checkpoint.save({"format_version": checkpoint.FORMAT_VERSION,
                     "settings": settings.to_dict(), "model": model.state_dict(),
                     "loss": fit.loss_fn.state_dict(), "optimizer": fit.opt.state_dict(),
                     "scheduler": fit.sched.state_dict(), "run": run},
                    out / checkpoint.CHECKPOINT_FILE)
    write_json({"settings": settings.to_dict(), **run}, out / "history.json", indent=1)
    if progress:
        rmse = " ".join(f"{t} {metrics[f'val_rmse_{t}']:.4g}" for t in TARGETS)
        print(f"epoch {epoch:3d}/{settings.epochs}  train {record['train_loss']:.4f}"
              f"  val {metrics['val_loss']:.4f}  rmse {rmse}  acc "
              f"{metrics['val_accuracy']:.4f}  ({record['seconds']:.1f} s)", file=sys.stderr)


@torch.no_grad()
def _calibrate(path: Path, settings: TrainSettings, shape: tuple[int, int],
               val: ArrayData) -> None:
    """Set the model's sigma_scale so that |y - mu| <= sigma holds for 68.27 % of ``val``
    (per target; the quantile of |y - mu| / sigma_raw), and store it in the model file."""
    obj = checkpoint.load(path)
    model = ShapeNet(settings, shape)
    model.load_state_dict(obj["state_dict"])
    model.sigma_scale.fill_(1.0)
    model.eval()
    z = []
    for i0 in range(0, len(val), VAL_BATCH):
        out = model(val.images[i0:i0 + VAL_BATCH])
        y = val.targets[i0:i0 + VAL_BATCH]
        z.append(torch.stack([(out[t] - y[:, k]).abs() / out[f"{t}_sigma"]
                              for k, t in enumerate(TARGETS)], dim=1).double())
    scale = torch.quantile(torch.cat(z), 0.6827, dim=0).clamp_min(1e-6)
    model.sigma_scale.copy_(scale.to(torch.float32))
    obj["state_dict"] = model.state_dict()
    obj["meta"]["sigma_scale"] = [float(v) for v in scale]
    checkpoint.save(obj, path)

