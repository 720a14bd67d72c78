"""Regression: a one-hidden-layer net fits y = x^2 + noise, the curve and the loss live.

Morvan Zhou's first PyTorch lesson: 100 noisy points, a net with one hidden layer, SGD on the
mean squared error. The learner watches the red curve bend onto the points. With the learner's
own points (a CSV of x,y) the net fits those instead, and "reached" means it explains 95% of
their spread (there is no true curve to compare with).
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson
from digitzoo.hub.lessons.user_data import DataSpec

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
    data_spec = DataSpec(("x", "y"))  # the learner's own points replace the noisy x² (the noise knob then does nothing)

    def __init__(self, seed: int = 0, data=None, **knobs):
        super().__init__(seed, data, **knobs)
        torch.manual_seed(seed)
        if data is None:
            self.x = torch.linspace(-1, 1, 100).unsqueeze(1)  # (100, 1): a column of inputs
            self.y = self.x.pow(2) + self.settings["noise"] * torch.rand(self.x.size())  # noisy targets
        else:
            points = torch.tensor(sorted(data.rows), dtype=torch.float32)  # (N, 2), sorted by x so the fit draws as a line
            self.x, self.y = points[:, :1], points[:, 1:]  # (N, 1) each
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

    def explained(self) -> float:
        """The share of the points' spread the fit explains (R²): the target on the learner's own data."""
        with torch.no_grad():
            return 1 - ((self.net(self.x) - self.y).pow(2).mean() / self.y.var(unbiased=False).clamp_min(1e-12)).item()

    def reached(self) -> bool:
        return self.curve_error() < 0.005 if self.data is None else self.explained() >= 0.95

    def result(self):
        last = self.losses[-1] if self.losses else float("nan")
        if self.data is None:
            return {"train_mse": last, "curve_mse": self.curve_error()}
        return {"train_mse": last, "r_squared": self.explained()}

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
