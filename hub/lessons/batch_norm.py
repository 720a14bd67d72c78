"""Batch normalization: a deep narrow net learns with BatchNorm1d and stalls without it.

Morvan Zhou's batch-normalization lesson: 2000 points of y = x² - 5 + noise with x spread over
[-7, 10] (inputs far from the unit scale a net likes), and two deep nets of 10-unit layers with
small initial weights and a negative bias, one with a BatchNorm1d before each activation (and on
the input). The left panel stacks one histogram per layer, first layer at the bottom: without
BN the activations collapse to a spike (tanh) or die at zero (relu) a few layers in; with BN
they stay spread out. The right panel shows the test loss of both.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}
N_SAMPLES, BATCH_SIZE, WIDTH, BINS = 2000, 64, 10, 24


class Net(nn.Module):
    def __init__(self, depth: int, batch_norm: bool, activation: str):
        super().__init__()
        self.act = ACTIVATIONS[activation]
        self.bn_input = nn.BatchNorm1d(1, momentum=0.5) if batch_norm else nn.Identity()
        self.fcs = nn.ModuleList(nn.Linear(1 if i == 0 else WIDTH, WIDTH) for i in range(depth))
        self.bns = nn.ModuleList((nn.BatchNorm1d(WIDTH, momentum=0.5) if batch_norm else nn.Identity())
                                 for _ in range(depth))
        for fc in self.fcs:  # a bad but common start: small weights, a negative bias
            nn.init.normal_(fc.weight, mean=0.0, std=0.1)
            nn.init.constant_(fc.bias, -0.2)
        self.predict = nn.Linear(WIDTH, 1)

    def forward(self, x):  # x: (N, 1)
        x = self.bn_input(x)
        layer_outputs = []  # what each layer hands on, for the histograms
        for fc, bn in zip(self.fcs, self.bns):
            x = self.act(bn(fc(x)))  # (N, 10): normalise the pre-activation, then squash
            layer_outputs.append(x)
        return self.predict(x), layer_outputs  # (N, 1), depth x (N, 10)


@register_lesson
class BatchNorm(Lesson):
    name = "batch_norm"
    title = "Batch normalization in a deep net"
    group = "training"
    summary = ("Two deep nets of 10-unit layers fit y = x² - 5 + noise, one with BatchNorm1d; per-layer activation "
               "histograms show the plain net's signal collapsing while the BN net's stays alive.")
    target = "after one epoch (31 batches), the BN net's test loss is below a quarter of the plain net's"
    knobs = (
        Knob("activation", "activation", "tanh", choices=tuple(ACTIVATIONS)),
        Knob("depth", "hidden layers", 8, 2, 16, integer=True),
        Knob("lr", "learning rate (Adam)", 0.03, 1e-4, 1.0, log=True),
    )
    max_steps = 400  # batches of 64: about 13 epochs
    max_seconds = 10
    # Seeds 0-4 at the defaults (tanh), 1 thread: all 5 reach, at batch 186-208, in 1.3-2.2 s; relu: batch ~31.
    code = ("Net", "step")

    def __init__(self, seed: int = 0, **knobs):
        super().__init__(seed, **knobs)
        torch.manual_seed(seed)
        self.x = torch.linspace(-7, 10, N_SAMPLES).unsqueeze(1)  # (2000, 1)
        self.y = self.x.pow(2) - 5 + 2 * torch.randn(self.x.size())
        self.test_x = torch.linspace(-7, 10, 200).unsqueeze(1)  # (200, 1)
        self.test_y = self.test_x.pow(2) - 5 + 2 * torch.randn(self.test_x.size())
        depth, activation = self.settings["depth"], self.settings["activation"]
        self.nets = {"plain": Net(depth, False, activation), "BN": Net(depth, True, activation)}
        self.optimizers = {k: torch.optim.Adam(net.parameters(), lr=self.settings["lr"]) for k, net in self.nets.items()}
        self.test_losses: dict[str, list[float]] = {k: [] for k in self.nets}
        self.order, self.cursor = torch.randperm(N_SAMPLES), 0

    def step(self):
        if self.cursor + BATCH_SIZE > N_SAMPLES:  # a new epoch: shuffle again
            self.order, self.cursor = torch.randperm(N_SAMPLES), 0
        index = self.order[self.cursor:self.cursor + BATCH_SIZE]
        self.cursor += BATCH_SIZE
        for key, net in self.nets.items():
            net.train()  # BN uses this batch's mean and variance (and updates its running ones)
            loss = nn.functional.mse_loss(net(self.x[index])[0], self.y[index])
            self.optimizers[key].zero_grad()
            loss.backward()
            self.optimizers[key].step()
            net.eval()  # BN uses its running statistics, as it would at test time
            with torch.no_grad():
                self.test_losses[key].append(nn.functional.mse_loss(net(self.test_x)[0], self.test_y).item())
        return {f"{key} test loss": losses[-1] for key, losses in self.test_losses.items()}

    def last(self, key: str) -> float:
        return self.test_losses[key][-1] if self.test_losses[key] else float("nan")

    def reached(self) -> bool:
        return self.steps_done >= N_SAMPLES // BATCH_SIZE and self.last("BN") < 0.25 * self.last("plain")

    def result(self):
        return {"plain_test_loss": self.last("plain"), "bn_test_loss": self.last("BN")}

    def figure(self):
        lo, hi = (-1.0, 1.0) if self.settings["activation"] == "tanh" else (0.0, 4.0)
        edges = torch.linspace(lo, hi, BINS + 1)
        centers = ((edges[1:] + edges[:-1]) / 2).tolist()
        data = []
        for color, (key, net) in zip((0, 1), self.nets.items()):
            with torch.no_grad():
                _, outputs = net.eval()(self.test_x)
            for layer, out in enumerate(outputs):
                # One ridge per layer: counts scaled to at most 0.9, lifted to the layer's height.
                counts = torch.histc(out.clamp(lo, hi), BINS, lo, hi)  # (BINS,); values past the edge pile up there
                ridge = layer + 1 + 0.9 * counts / counts.max().clamp(min=1)
                trace = plots.line(centers, ridge.tolist(), f"{key} activations", color=color, width=1.5)
                trace.update(legendgroup=key, showlegend=layer == 0)
                data.append(trace)
        steps = range(1, self.steps_done + 1)
        for color, (key, losses) in zip((0, 1), self.test_losses.items()):
            data.append(plots.line(steps, losses, f"{key} test loss", color=color, axis="2"))
        return plots.figure(data, f"step {self.steps_done}: test loss plain {self.last('plain'):.1f}, "
                            f"BN {self.last('BN'):.1f}", "activation value", "layer (histogram)",
                            two_panels=("activations per layer", "test loss"), second_titles=("batch", "MSE"),
                            log_y2=True)
