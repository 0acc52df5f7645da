"""Process group and device for single-process and data-parallel (torchrun / DDP) training.

Under ``torchrun`` the environment carries RANK, WORLD_SIZE and LOCAL_RANK; the group uses
NCCL on GPUs and gloo on CPUs.  Without it training runs in one process.  Only rank 0 writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from upclens.errors import ParameterError, check_choice
from upclens.learn.settings import DEVICES


@dataclass(frozen=True)
class DistContext:
    """rank and world_size of this process, its device, and whether a group was started."""

    rank: int
    world_size: int
    device: torch.device
    started_group: bool

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that prints progress and writes files."""
        return self.rank == 0


def resolve_device(choice: str, local_rank: int = 0) -> torch.device:
    """'auto' -> cuda:local_rank when a GPU is present, else cpu; 'cuda' without one is refused."""
    check_choice("device", choice, DEVICES)
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ParameterError("device", choice, "needs a CUDA GPU; none is visible (use cpu)")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def setup(device_choice: str) -> DistContext:
    """Join the torchrun process group when WORLD_SIZE > 1, else a single-process context."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_choice, local_rank)
    started = False
    if world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        started = True
    return DistContext(rank=rank, world_size=world, device=device, started_group=started)


def teardown(ctx: DistContext) -> None:
    """Leave the process group this context started."""
    if ctx.started_group and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum a float64 tensor over all ranks (a no-op in one process)."""
    if ctx.world_size > 1:
        work = values.to(ctx.device)
        dist.all_reduce(work, op=dist.ReduceOp.SUM)
        return work.cpu()
    return values


def broadcast_flag(flag: bool, ctx: DistContext) -> bool:
    """Rank 0's boolean, on every rank."""
    if ctx.world_size == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], dtype=torch.float64, device=ctx.device)
    dist.broadcast(t, src=0)
    return bool(t.item() > 0.5)


def barrier(ctx: DistContext) -> None:
    """Wait for all ranks."""
    if ctx.world_size > 1:
        dist.barrier()
