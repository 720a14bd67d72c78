"""Save and restore: train a small net, save its weights with safetensors, load them into a fresh net.

Morvan Zhou's save/restore lesson, done the safe way. The learner watches a one-hidden-layer
net fit y = x² + noise; after the last training step its ``state_dict`` goes into a
``.safetensors`` file, a brand-new net (random weights) loads it, and the restored net's curve
lands exactly on the original's.

Why not ``torch.save(net)``: that pickles the whole module, and unpickling a file runs whatever
code the file asks for. Loading a pickled model someone else sent you is running their program.
A safetensors file holds only named tensors (a JSON header and raw numbers), so loading it can
do nothing but fill tensors; that is why digitzoo stores every weight that way.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Lesson, register_lesson

TRAIN_STEPS = 200  # then one more step: save and restore


def build_net() -> nn.Module:
    return nn.Sequential(nn.Linear(1, 10), nn.ReLU(), nn.Linear(10, 1))


def save_and_restore(net: nn.Module) -> nn.Module:
    """A fresh net with ``net``'s weights, by way of a safetensors file (never a pickle)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "net.safetensors"
        save_file(net.state_dict(), str(path))  # only tensors are written: names, shapes, numbers
        restored = build_net()  # new random weights, about to be overwritten
        restored.load_state_dict(load_file(str(path)))  # strict: every name and shape must match
    restored.eval()
    return restored


@register_lesson
class SaveRestore(Lesson):
    name = "save_restore"
    title = "Save and restore a net (safetensors)"
    group = "basics"
    summary = ("A small net fits a curve, its weights go into a safetensors file, and a fresh net loaded from "
               "that file draws exactly the same curve.")
    target = "the restored net's predictions equal the original's exactly"
    # One run is always TRAIN_STEPS + 1 steps; seeds 0-4 all reach at step 201, in 0.05-0.3 s on one thread.
    max_steps = TRAIN_STEPS + 1
    max_seconds = 10
    code = ("build_net", "save_and_restore", "step")

    def __init__(self, seed: int = 0, **knobs):
        super().__init__(seed, **knobs)
        torch.manual_seed(seed)
        self.x = torch.linspace(-1, 1, 100).unsqueeze(1)  # (100, 1): a column of inputs
        self.y = self.x.pow(2) + 0.2 * torch.rand(self.x.size())  # noisy targets
        self.net = build_net()
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=0.02)
        self.loss_func = nn.MSELoss()
        self.losses: list[float] = []
        self.restored: nn.Module | None = None

    def step(self):
        if len(self.losses) < TRAIN_STEPS:
            self.net.train()
            loss = self.loss_func(self.net(self.x), self.y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            self.losses.append(loss.item())
            return {"loss": loss.item()}
        self.net.eval()
        self.restored = save_and_restore(self.net)
        return {"loss": self.losses[-1], "difference": self.difference()}

    def predictions(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        with torch.no_grad():
            return self.net(self.x), None if self.restored is None else self.restored(self.x)

    def difference(self) -> float:
        original, restored = self.predictions()
        return float("nan") if restored is None else (original - restored).abs().max().item()

    def reached(self) -> bool:
        original, restored = self.predictions()
        return restored is not None and torch.equal(original, restored)

    def result(self):
        return {"train_mse": self.losses[-1] if self.losses else float("nan"), "max_difference": self.difference()}

    def figure(self):
        original, restored = self.predictions()
        x = self.x[:, 0].tolist()
        traces = [plots.points(x, self.y[:, 0].tolist(), "data", color=0),
                  plots.line(x, original[:, 0].tolist(), "original net", color=1, width=6)]
        if restored is not None:
            traces.append(plots.line(x, restored[:, 0].tolist(), "restored from net.safetensors", color=2, dash="dash"))
        traces.append(plots.line(range(1, len(self.losses) + 1), self.losses, "loss (MSE)", color=3, axis="2"))
        state = (f"restored, max difference {self.difference():g}" if restored is not None
                 else f"training {len(self.losses)}/{TRAIN_STEPS}, then save and restore")
        loss = self.losses[-1] if self.losses else float("nan")
        return plots.figure(traces, f"step {self.steps_done}: loss {loss:.4f}, {state}", "x", "y",
                            two_panels=("original and restored fit", "the loss"), second_titles=("step", "MSE"), log_y2=True)
