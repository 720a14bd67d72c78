"""One training run over several processes: what a rank is, where it runs, what it reads.

``torchrun`` (``torch.distributed.run``) starts the processes and sets RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR/PORT in their environment; ``join`` turns that environment into a
``Rank`` (process group initialised, device chosen). The training loop (``train.loop``) asks
the Rank for its shard of each global batch, its step seed and a DistributedDataParallel
wrapper, and writes files only when ``rank.is_main``. Data flows one way: torchrun's
environment -> ``join`` -> the loop; nothing here imports the loop (``train.launch`` starts
torchrun, this module only runs inside the processes it starts).

Without torchrun there is no Rank at all (``join`` returns None) and the loop runs exactly
the single-process code it always ran, so world size 1 keeps its weights bit for bit.

Choices, and why:

- The global batch is the recipe's batch size at every world size; rank r of W trains on
  the r-th W-th of it. DDP averages gradients over ranks and each rank's loss is a mean over
  its share, so a step sees the mean gradient of the whole global batch, as one process does:
  same steps per epoch, same learning-rate schedule, a recipe means the same thing at any W.
  (BatchNorm normalises over each rank's share: SyncBatchNorm would make it exact but runs
  on GPUs only, and the CPU and CUDA paths should train the same maths.)
- ``broadcast_buffers=False``: buffers are BatchNorm running statistics and the spectral-norm
  vectors of the GAN discriminator. The spectral-norm vectors follow from the weights, which
  DDP keeps identical, so they stay identical without a broadcast; running statistics are
  only read at evaluation and in the checkpoint, which are rank 0's. Broadcasting them would
  cost one collective per forward pass (three per GAN step) for nothing.
- gloo on CPU, nccl on CUDA with one GPU per process (``cuda:LOCAL_RANK``).
"""

from __future__ import annotations

import inspect
import os
import platform
import socket
from dataclasses import dataclass, field
from typing import Mapping

import torch

from digitzoo.hub.serving.errors import DigitzooError

# What torchrun puts in every worker's environment (the ones we need).
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def under_torchrun(env: Mapping[str, str] | None = None) -> bool:
    """True in a process started by torchrun (or anything that sets the same variables)."""
    env = os.environ if env is None else env
    return all(key in env for key in TORCHRUN_ENV)


def placement(choice: str, cuda_available: bool, cuda_count: int, local_rank: int) -> tuple[str, str]:
    """(backend, device) of one rank for ``--device choice``: pure, so it is tested without a GPU.

    >>> placement("auto", True, 2, 1)
    ('nccl', 'cuda:1')
    >>> placement("auto", False, 0, 1)
    ('gloo', 'cpu')
    """
    if choice not in ("auto", "cpu", "cuda"):
        raise DigitzooError(f"--device must be auto, cpu or cuda, not {choice!r}")
    if choice == "cpu" or (choice == "auto" and not cuda_available):
        return "gloo", "cpu"
    if not cuda_available:
        raise DigitzooError("--device cuda was asked for but no CUDA GPU is usable here; use --device cpu or auto")
    if local_rank >= cuda_count:
        # One GPU per process: two ranks sharing a GPU under nccl hang or fail obscurely.
        raise DigitzooError(f"local rank {local_rank} has no GPU of its own: this node has {cuda_count} GPU(s); "
                            f"use --nproc-per-node {cuda_count} or fewer, or --device cpu")
    return "nccl", f"cuda:{local_rank}"


def device_label(device: str, threads: int, cuda_name: str | None = None, host: str | None = None) -> str:
    """How one rank's device reads in the card: 'host cuda:1 (NVIDIA H100)' or 'host cpu (1 threads, x86_64)'."""
    what = f"{device} ({cuda_name})" if device.startswith("cuda") else \
        f"cpu ({threads} threads, {platform.processor() or platform.machine()})"
    return f"{host} {what}" if host else what


def check_global_batch(batch: int, world_size: int) -> None:
    """Every rank must get the same share, or the averaged gradient is not the global batch's mean."""
    if batch % world_size:
        raise DigitzooError(f"the global batch {batch} does not split over {world_size} processes; "
                            f"use a --batch-size divisible by {world_size}")


@dataclass
class Rank:
    """This process's place in a torchrun run (process group already initialised by ``join``)."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    backend: str
    device: torch.device
    devices: list[str] = field(default_factory=list)  # every rank's device_label, in rank order

    @property
    def is_main(self) -> bool:
        """Rank 0 alone logs, draws the progress bar, evaluates and writes files."""
        return self.rank == 0

    def shard(self, global_idx: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous share of one global batch's indices (check_global_batch holds)."""
        share = len(global_idx) // self.world_size
        return global_idx[self.rank * share:(self.rank + 1) * share]

    def step_seed(self, single_process_seed: int) -> int:
        """Seed of this rank's augmentation/dropout/noise at a step. Ranks must differ (or every
        rank would draw the same GAN noise and augmentations); with one rank it is the
        single-process seed, unchanged."""
        return single_process_seed * self.world_size + self.rank

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """DistributedDataParallel around ``module``: its backward all-reduces (averages) the gradients."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        # No buffer broadcast before each forward (why: see the module docstring). Newer torch
        # renamed the flag; the initial sync it keeps is harmless (every rank loaded the same state).
        params = inspect.signature(DistributedDataParallel.__init__).parameters
        no_sync = {"forward_sync_buffers": False} if "forward_sync_buffers" in params else {"broadcast_buffers": False}
        return DistributedDataParallel(module, device_ids=ids, output_device=ids[0] if ids else None, **no_sync)

    def gather_devices(self, label: str) -> list[str]:
        import torch.distributed as dist

        labels: list = [None] * self.world_size
        dist.all_gather_object(labels, label)
        self.devices = [str(x) for x in labels]
        return self.devices

    def card(self) -> dict:
        """What a checkpoint card records about the run's processes."""
        return {"world_size": self.world_size, "backend": self.backend, "devices": list(self.devices),
                "nodes": self.world_size // self.local_world_size if self.local_world_size else 1}

    def close(self) -> None:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def join(device_choice: str, env: Mapping[str, str] | None = None) -> Rank | None:
    """Join the process group torchrun set up for this process; None when not under torchrun."""
    env = os.environ if env is None else env
    if not under_torchrun(env):
        return None
    import torch.distributed as dist

    rank, world, local = int(env["RANK"]), int(env["WORLD_SIZE"]), int(env["LOCAL_RANK"])
    local_world = int(env.get("LOCAL_WORLD_SIZE", world))
    backend, device = placement(device_choice, torch.cuda.is_available(), torch.cuda.device_count(), local)
    if device.startswith("cuda"):
        torch.cuda.set_device(device)  # before init: nccl binds this process to its own GPU
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return Rank(rank=rank, world_size=world, local_rank=local, local_world_size=local_world,
                backend=backend, device=torch.device(device))


def host_label(device: torch.device, threads: int) -> str:
    """This rank's device_label, with the host name (runs can span machines)."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return device_label(str(device), threads, name, socket.gethostname())
