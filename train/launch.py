"""`digitzoo train NAME --nproc-per-node N`: start the same training under torchrun.

This process checks the flags, then runs ``python -m torch.distributed.run ... -m
digitzoo.train NAME <the same flags>`` and waits for it; each process torchrun starts is an
ordinary `digitzoo train` that finds torchrun's environment (``train.distributed.join``).
``--max-restarts 0``: when one rank fails or is killed, torchrun's agent stops every other
rank and exits non-zero; nothing is restarted behind the user's back, and the last resume
state rank 0 wrote (atomically) is what `--resume` continues from, at any world size.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
import subprocess
import sys

from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.train.distributed import check_global_batch, under_torchrun
from digitzoo.train.loop import TrainConfig, resolved_recipe

WORKER_MODULE = "digitzoo.train"  # `python -m digitzoo.train NAME ...` is `digitzoo train NAME ...`


def worker_args(config: TrainConfig) -> list[str]:
    """`digitzoo train` flags that rebuild ``config`` (every field that differs from its default)."""
    args = [config.name]
    for f in dataclasses.fields(config)[1:]:
        value = getattr(config, f.name)
        if value == f.default:
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + f.name.replace("_", "-"))
        else:
            args += [flag, repr(value) if isinstance(value, float) else str(value)]
    return args


def torchrun_command(config: TrainConfig, nproc_per_node: int, nnodes: str = "1", rdzv_endpoint: str | None = None,
                     rdzv_id: str = "digitzoo") -> list[str]:
    """The torchrun command line; one node without an endpoint is a standalone run on a free port."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc_per_node), "--max-restarts", "0"]
    if nnodes == "1" and not rdzv_endpoint:
        cmd.append("--standalone")
    else:
        if not rdzv_endpoint:
            raise DigitzooError("--nnodes other than 1 needs --rdzv-endpoint HOST:PORT (the same on every node)")
        cmd += ["--nnodes", nnodes, "--rdzv-backend", "c10d", "--rdzv-endpoint", rdzv_endpoint, "--rdzv-id", rdzv_id]
    return cmd + ["-m", WORKER_MODULE, *worker_args(config)]


def check(config: TrainConfig, nproc_per_node: int, nnodes: str) -> None:
    """The one-line errors, before any process starts (the ranks check again, for torchrun by hand)."""
    if under_torchrun():
        raise DigitzooError("--nproc-per-node inside a torchrun process: run `digitzoo train` without it there")
    if nproc_per_node < 1:
        raise DigitzooError("--nproc-per-node must be >= 1")
    recipe = resolved_recipe(config)
    batch = min(recipe["batch_size"], config.limit_train) if config.limit_train else recipe["batch_size"]
    if nnodes.isdigit():  # an elastic range "1:4" has no fixed world size to check here
        check_global_batch(batch, nproc_per_node * int(nnodes))


def launch(config: TrainConfig, nproc_per_node: int, nnodes: str = "1", rdzv_endpoint: str | None = None,
           rdzv_id: str = "digitzoo") -> int:
    """Run torchrun and return its exit status (non-zero when any rank failed or was killed)."""
    check(config, nproc_per_node, nnodes)
    cmd = torchrun_command(config, nproc_per_node, nnodes, rdzv_endpoint, rdzv_id)
    env = dict(os.environ)
    if config.threads:  # else torchrun sets 1 per process, with a warning
        env["OMP_NUM_THREADS"] = str(config.threads)
    proc = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent)
    # Pass SIGTERM/SIGINT on to torchrun, whose agent then stops every rank (and exits non-zero).
    forward = lambda signum, frame: proc.send_signal(signum)  # noqa: E731
    previous = {}
    if _in_main_thread():
        previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _die_with_parent() -> None:
    """In the child: SIGTERM it if this launcher dies (SIGKILL included), so no orphan trains on (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
