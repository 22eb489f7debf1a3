"""Data-parallel training on an existing engine: PyTorch DDP under ``torchrun`` or ``accelerate launch``.

Both launchers start one process per device and tell each its place through the environment
(``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``); :func:`init_distributed`
reads it and joins the process group (NCCL on GPUs, Gloo on CPUs). A plain ``python`` run has
none of it and stays a single process: every helper below is then the identity, so one code path
serves both. The recipe, for W processes and a global batch of B pairs (B divisible by W):

1. every rank draws the same global batch of B pair indices for a step (same seed), and takes its
   contiguous slice of B/W (:func:`local_slice`);
2. each rank's loss is the mean over its slice; DDP averages the gradients across ranks in
   ``backward()``, so the update is the mean over all B pairs: the same as one process with batch
   B, up to float rounding;
3. the frozen reference's log-probs are precomputed once: each rank scores its block of the pairs
   (:func:`shard_range`) and the blocks are gathered (:func:`gather_shards`), so every rank holds all;
4. metrics are averaged across ranks in one collective (:func:`all_reduce_mean`); only rank 0
   writes files and prints (:attr:`DistEnv.is_main`, :func:`main_only`).

Launch: ``torchrun --nproc-per-node 2 -m dpo_teach.finetune ...`` (or ``accelerate launch``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence

import torch
import torch.distributed as dist

__all__ = ["DistEnv", "env_from_os", "backend_for", "init_distributed", "destroy_distributed",
           "device_for", "wrap_ddp", "check_batch_divides", "local_slice", "shard_range",
           "gather_shards", "all_reduce_mean", "broadcast_object", "barrier", "main_only"]  # fmt: skip

ENV_KEYS = ("RANK", "LOCAL_RANK", "WORLD_SIZE")  # what torchrun and accelerate launch set


@dataclasses.dataclass(frozen=True)
class DistEnv:
    """This process's place: ``rank`` of ``world_size``, ``local_rank`` on its machine."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and prints."""
        return self.rank == 0


def env_from_os(environ=None) -> DistEnv:
    """The :class:`DistEnv` described by ``RANK`` / ``LOCAL_RANK`` / ``WORLD_SIZE`` (a single
    process when they are unset)."""
    environ = os.environ if environ is None else environ
    values = {}
    for key in ENV_KEYS:
        text = environ.get(key, "1" if key == "WORLD_SIZE" else "0")
        if not text.strip().isdigit():
            raise ValueError(
                f"the environment variable {key}={text!r} is not a non-negative integer; "
                "start the processes with torchrun or accelerate launch, which set it"
            )
        values[key] = int(text)
    env = DistEnv(values["RANK"], values["LOCAL_RANK"], values["WORLD_SIZE"])
    if env.world_size < 1 or env.rank >= env.world_size:
        raise ValueError(f"RANK={env.rank} and WORLD_SIZE={env.world_size} do not fit (0 <= RANK < "
                         "WORLD_SIZE); start the processes with torchrun or accelerate launch")  # fmt: skip
    return env


def backend_for(device) -> str:
    """``nccl`` for CUDA devices, ``gloo`` for CPUs."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def device_for(env: DistEnv, device: str) -> str:
    """The device of this process: ``cuda:LOCAL_RANK`` on GPUs (one per process), else ``device``."""
    return f"cuda:{env.local_rank}" if torch.device(device).type == "cuda" else device


def init_distributed(device: str = "cpu", environ=None) -> DistEnv:
    """Read the environment and, with more than one process, join the process group (idempotent);
    on GPUs this process's device becomes ``cuda:LOCAL_RANK``."""
    env = env_from_os(environ)
    if env.enabled and not dist.is_initialized():
        if torch.device(device).type == "cuda":
            torch.cuda.set_device(env.local_rank)
        dist.init_process_group(backend_for(device), rank=env.rank, world_size=env.world_size)
    return env


def destroy_distributed() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap_ddp(model, env: DistEnv):
    """``DistributedDataParallel(model)`` with more than one process (on this process's GPU when
    the model is on one); the model itself otherwise. Unwrap it to save (``.module``)."""
    if not env.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device = next(model.parameters()).device
    ids = [device.index if device.index is not None else env.local_rank] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def check_batch_divides(batch_size: int, env: DistEnv) -> int:
    """Pairs per rank and step; ``ValueError`` unless the global batch divides by the world size."""
    if batch_size % env.world_size:
        raise ValueError(f"the batch of {batch_size} pairs does not divide among {env.world_size} "
                         f"processes; pass a batch size that is a multiple of {env.world_size}")  # fmt: skip
    return batch_size // env.world_size


def local_slice(indices: Sequence, env: DistEnv):
    """This rank's contiguous share of one global batch of ``indices`` (rank r takes block r)."""
    per_rank = check_batch_divides(len(indices), env)
    return indices[env.rank * per_rank : (env.rank + 1) * per_rank]


def shard_range(n: int, env: DistEnv) -> range:
    """This rank's contiguous block of ``n`` items (blocks of ceil(n / W); the last may be short
    or empty), for work done once and shared, such as the reference log-probs."""
    block = -(-n // env.world_size)
    return range(min(env.rank * block, n), min((env.rank + 1) * block, n))


def gather_shards(local: torch.Tensor, n: int, env: DistEnv) -> torch.Tensor:
    """All ``n`` values on every rank, from each rank's ``local`` values of its :func:`shard_range`
    block (1-D; padded to one block size for ``all_gather``, then cut back to ``n``)."""
    if not env.enabled:
        return local
    block = -(-n // env.world_size)
    padded = torch.zeros(block, dtype=local.dtype, device=local.device)
    padded[: local.shape[0]] = local
    parts = [torch.empty_like(padded) for _ in range(env.world_size)]
    dist.all_gather(parts, padded)
    return torch.cat(parts)[:n]


def all_reduce_mean(metrics, env: DistEnv):
    """Average over the ranks in one collective: a dict of 0-d metric tensors, or one tensor (e.g.
    the trainer's table of pending steps x metrics). Equal shards: the global-batch mean."""
    if not env.enabled:
        return metrics
    if isinstance(metrics, torch.Tensor):
        table = metrics.detach().float().clone()
        dist.all_reduce(table, op=dist.ReduceOp.SUM)
        return table / env.world_size
    keys = list(metrics)
    stacked = torch.stack([metrics[k].detach().float().reshape(()) for k in keys])  # (n_metrics,)
    dist.all_reduce(stacked, op=dist.ReduceOp.SUM)
    return dict(zip(keys, stacked / env.world_size))


def broadcast_object(value, env: DistEnv):
    """Rank 0's ``value`` on every rank (any picklable object, e.g. a decision only rank 0 can
    make because only it reads the run directory); ``value`` itself alone."""
    if not env.enabled:
        return value
    box = [value if env.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(env: DistEnv) -> None:
    """Wait for every rank (e.g. before the others read what rank 0 wrote); no-op alone."""
    if env.enabled:
        dist.barrier()


def main_only(env: DistEnv, function: Callable) -> Callable:
    """``function`` on rank 0; a function that does nothing (and returns None) on the others:
    ``log = main_only(env, print)``."""
    return function if env.is_main else (lambda *args, **kwargs: None)
