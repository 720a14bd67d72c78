"""Regression: a one-hidden-layer net fits y = x^2 + noise, the curve and the loss live.

Morvan Zhou's first PyTorch lesson: 100 noisy points, a net with one hidden layer, SGD on the
mean squared error. The learner watches the red curve bend onto the points.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus}


class Net(nn.Module):
    def __init__(self, hidden: int, activation: str):
        super().__init__()
        self.hidden = nn.Linear(1, hidden)
        self.act = ACTIVATIONS[activation]()
        self.predict = nn.Linear(hidden, 1)

    def forward(self, x):  # x: (N, 1)
        return self.predict(self.act(self.hidden(x)))  # (N, 1)


@register_lesson
class Regression(Lesson):
    name = "regression"
    title = "Regression: fit y = x² + noise"
    group = "basics"
    summary = "A one-hidden-layer net learns a curve from 100 noisy points; the fit and the loss move as it learns."
    target = "the fit is within 0.005 mean squared error of the true curve x²"
    knobs = (
        Knob("hidden", "hidden units", 10, 1, 512, integer=True),
        Knob("activation", "activation", "relu", choices=tuple(ACTIVATIONS)),
        Knob("lr", "learning rate", 0.2, 1e-4, 10.0, log=True),
        Knob("noise", "noise", 0.2, 0.0, 1.0),
    )
    max_steps = 1000
    max_seconds = 10
    code = ("Net", "__init__", "step")
    exportable = True

    def __init__(self, seed: int = 0, **knobs):
        super().__init__(seed, **knobs)
        torch.manual_seed(seed)
        self.x = torch.linspace(-1, 1, 100).unsqueeze(1)  # (100, 1): a column of inputs
        self.y = self.x.pow(2) + self.settings["noise"] * torch.rand(self.x.size())  # noisy targets
        self.net = Net(self.settings["hidden"], self.settings["activation"])
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=self.settings["lr"])
        self.loss_func = nn.MSELoss()
        self.losses: list[float] = []

    def step(self):
        prediction = self.net(self.x)
        loss = self.loss_func(prediction, self.y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.losses.append(loss.item())
        return {"loss": loss.item()}

    def curve_error(self) -> float:
        """Mean squared distance of the fit from the noiseless curve (the noise's mean is added back)."""
        with torch.no_grad():
            return (self.net(self.x) - (self.x.pow(2) + self.settings["noise"] / 2)).pow(2).mean().item()

    def reached(self) -> bool:
        return self.curve_error() < 0.005

    def result(self):
        return {"train_mse": self.losses[-1] if self.losses else float("nan"), "curve_mse": self.curve_error()}

    def figure(self):
        with torch.no_grad():
            fit = self.net(self.x)
        x = self.x[:, 0].tolist()
        return plots.figure([
            plots.points(x, self.y[:, 0].tolist(), "data", color=0),
            plots.line(x, fit[:, 0].tolist(), "the net's fit", color=1),
            plots.line(range(1, len(self.losses) + 1), self.losses, "loss (MSE)", color=3, axis="2"),
        ], f"step {self.steps_done}: loss {self.losses[-1] if self.losses else float('nan'):.4f}", "x", "y",
            two_panels=("the fit", "the loss"), second_titles=("step", "MSE"), log_y2=True)

    def onnx_module(self):
        return self.net, torch.zeros(1, 1)
