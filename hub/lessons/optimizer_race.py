"""Optimizer race: SGD, Momentum, RMSprop and Adam train the same net on the same batches.

Morvan Zhou's optimizer lesson: 1000 noisy points of y = x² + noise, mini-batches, and four
copies of one small net that start from the very same weights. Only the optimizer differs, so
the four loss curves on one chart show how each one walks downhill: plain SGD crawls, the
others drop towards the noise floor (the noise's variance, 0.01) much sooner.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson

SMOOTH = 20  # batches averaged for the finish line (one batch's loss is noisy)
FINISH = 0.015  # the finish line: within half the noise floor of the best possible fit
RUNNERS = ("Momentum", "RMSprop", "Adam")  # who must cross it; SGD is the one they race against


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(1, 20)
        self.predict = nn.Linear(20, 1)

    def forward(self, x):  # x: (N, 1)
        return self.predict(torch.relu(self.hidden(x)))  # (N, 1)


def make_optimizers(nets, lr: float, momentum: float):
    """One optimizer per net copy, in the order of the chart's legend."""
    return {
        "SGD": torch.optim.SGD(nets[0].parameters(), lr=lr),
        "Momentum": torch.optim.SGD(nets[1].parameters(), lr=lr, momentum=momentum),
        "RMSprop": torch.optim.RMSprop(nets[2].parameters(), lr=lr, alpha=0.9),
        "Adam": torch.optim.Adam(nets[3].parameters(), lr=lr, betas=(0.9, 0.99)),
    }


@register_lesson
class OptimizerRace(Lesson):
    name = "optimizer_race"
    title = "Optimizer race: SGD, Momentum, RMSprop, Adam"
    group = "training"
    summary = ("Four copies of one net, from the same starting weights, fit y = x² + noise on the same mini-batches; "
               "only the optimizer differs, and the four loss curves race.")
    target = (f"Momentum, RMSprop and Adam each average below {FINISH} over the last {SMOOTH} batches "
              "(the noise floor is 0.01); plain SGD is usually still far behind then")
    knobs = (
        Knob("lr", "learning rate", 0.01, 1e-4, 1.0, log=True),
        Knob("momentum", "momentum (of the Momentum runner)", 0.8, 0.0, 0.99),
        Knob("batch_size", "batch size", 32, 8, 256, integer=True),
    )
    max_steps = 800  # batches; about 26 epochs of 1000 points at batch size 32
    max_seconds = 10
    # Seeds 0-4 at the defaults, 1 thread: all 5 reach, at batch 190-408, in 0.2-0.7 s.
    code = ("make_optimizers", "step")

    def __init__(self, seed: int = 0, **knobs):
        super().__init__(seed, **knobs)
        torch.manual_seed(seed)
        self.x = torch.linspace(-1, 1, 1000).unsqueeze(1)  # (1000, 1)
        self.y = self.x.pow(2) + 0.1 * torch.randn(self.x.size())  # noise of variance 0.01
        net = Net()
        self.nets = [copy.deepcopy(net) for _ in range(4)]  # the same initial weights for every runner
        self.optimizers = make_optimizers(self.nets, self.settings["lr"], self.settings["momentum"])
        self.losses: dict[str, list[float]] = {name: [] for name in self.optimizers}
        self.order = torch.randperm(len(self.x))  # a shuffled epoch, shared by all four
        self.cursor = 0

    def next_batch(self):
        size = self.settings["batch_size"]
        if self.cursor + size > len(self.x):  # a new epoch: shuffle again
            self.order, self.cursor = torch.randperm(len(self.x)), 0
        index = self.order[self.cursor:self.cursor + size]
        self.cursor += size
        return self.x[index], self.y[index]  # (B, 1), (B, 1)

    def step(self):
        bx, by = self.next_batch()  # every optimizer sees the same batch
        for net, (name, optimizer) in zip(self.nets, self.optimizers.items()):
            loss = nn.functional.mse_loss(net(bx), by)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            self.losses[name].append(loss.item())
        return {name: values[-1] for name, values in self.losses.items()}

    def smoothed(self, name: str) -> float:
        recent = self.losses[name][-SMOOTH:]
        return sum(recent) / len(recent) if recent else float("nan")

    def reached(self) -> bool:
        return self.steps_done >= SMOOTH and all(self.smoothed(name) < FINISH for name in RUNNERS)

    def result(self):
        return {f"{name}_loss": self.smoothed(name) for name in self.losses}

    def figure(self):
        steps = range(1, self.steps_done + 1)
        data = [plots.line(steps, values, name, color=i, width=1.5) for i, (name, values) in enumerate(self.losses.items())]
        data.append(plots.line([1, max(self.steps_done, 1)], [FINISH] * 2, "finish line", color=7, dash="dot", width=1))
        return plots.figure(data, f"step {self.steps_done}: " + ", ".join(f"{n} {self.smoothed(n):.3f}" for n in self.losses),
                            "batch", "loss (MSE)", y_range=(0, 0.2))
