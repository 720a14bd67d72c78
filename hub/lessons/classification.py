"""Classification: a one-hidden-layer net separates two Gaussian clouds, the boundary moves live.

Morvan Zhou's classification lesson: 100 points around (+d, +d) labelled 1 and 100 around
(-d, -d) labelled 0, a net with one hidden layer, cross-entropy on two outputs. The learner
watches the shaded P(class 1) map turn until the white boundary runs between the clouds. With the
learner's own points (a CSV of x1,x2,label) the net separates those instead.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson
from digitzoo.hub.lessons.user_data import DataSpec

GRID = 40  # the boundary picture is GRID x GRID probabilities


class Net(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.hidden = nn.Linear(2, hidden)
        self.out = nn.Linear(hidden, 2)  # one score per class; softmax turns them into probabilities

    def forward(self, x):  # x: (N, 2)
        return self.out(torch.relu(self.hidden(x)))  # (N, 2) logits


@register_lesson
class Classification(Lesson):
    name = "classification"
    title = "Classification: two clouds of points"
    group = "basics"
    summary = "A one-hidden-layer net learns to tell two clouds of points apart; the decision boundary moves as it learns."
    target = "at least 98% of the points on the right side of the boundary, and a confident one (loss at most 0.1)"
    knobs = (
        Knob("distance", "cloud distance", 2.0, 0.5, 4.0),
        Knob("hidden", "hidden units", 10, 1, 512, integer=True),
        Knob("lr", "learning rate", 0.02, 1e-4, 10.0, log=True),
    )
    # Seeds 0-4 with the default knobs all reach in 43-74 steps, under 0.05 s on one thread. With the
    # clouds closer than about 1 apart they overlap and 98% is out of reach: that is part of the lesson.
    max_steps = 300
    max_seconds = 10
    code = ("Net", "__init__", "step")
    exportable = True
    data_spec = DataSpec(("x1", "x2", "label"), label="label")  # the learner's own points replace the clouds

    def __init__(self, seed: int = 0, data=None, **knobs):
        super().__init__(seed, data, **knobs)
        torch.manual_seed(seed)
        if data is None:
            d = self.settings["distance"]
            ones = torch.ones(100, 2)  # (100, 2)
            self.x = torch.cat([torch.normal(d * ones, 1), torch.normal(-d * ones, 1)])  # (200, 2)
            self.y = torch.cat([torch.ones(100), torch.zeros(100)]).long()  # (200,) class labels
        else:
            self.x = torch.tensor([[a, b] for a, b in zip(data.column("x1"), data.column("x2"))])  # (N, 2)
            self.y = torch.tensor(data.column("label")).long()  # (N,) class labels, 0 or 1
        self.net = Net(self.settings["hidden"])
        # Plain SGD as in the original lesson: slow enough that the learner sees the boundary swing into place.
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=self.settings["lr"])
        self.loss_func = nn.CrossEntropyLoss()  # takes raw logits and integer labels
        self.history: list[tuple[float, float]] = []  # (loss, accuracy) per step

    def step(self):
        self.net.train()
        logits = self.net(self.x)
        loss = self.loss_func(logits, self.y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        accuracy = self.accuracy()
        self.history.append((loss.item(), accuracy))
        return {"loss": loss.item(), "acc": accuracy}

    def accuracy(self) -> float:
        with torch.no_grad():
            return (self.net(self.x).argmax(dim=1) == self.y).float().mean().item()

    def reached(self) -> bool:
        # Accuracy alone is met by almost any line through the middle; the loss says the net is also sure.
        return bool(self.history) and self.history[-1][0] <= 0.1 and self.accuracy() >= 0.98

    def result(self):
        return {"loss": self.history[-1][0] if self.history else float("nan"), "accuracy": self.accuracy()}

    def figure(self):
        low, high = self.x.min().item() - 1.0, self.x.max().item() + 1.0  # a margin around every point
        if self.data is None:
            low, high = -(self.settings["distance"] + 3.0), self.settings["distance"] + 3.0
        ticks = torch.linspace(low, high, GRID)
        gy, gx = torch.meshgrid(ticks, ticks, indexing="ij")  # rows follow y, columns follow x
        grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (GRID*GRID, 2)
        with torch.no_grad():
            p_one = torch.softmax(self.net(grid), dim=1)[:, 1].reshape(GRID, GRID)  # (GRID, GRID) rows = y
        losses = [loss for loss, _ in self.history]
        accuracies = [acc for _, acc in self.history]
        steps = range(1, len(self.history) + 1)
        return plots.figure([
            plots.heatmap(p_one.tolist(), ticks.tolist(), ticks.tolist(), "P(class 1)", colorscale="RdBu_r"),
            plots.points(self.x[:, 0].tolist(), self.x[:, 1].tolist(), "points (red = class 1)", color=self.y.tolist()),
            plots.line(steps, losses, "loss", color=3, axis="2"),
            plots.line(steps, accuracies, "accuracy", color=2, axis="2"),
        ], f"step {self.steps_done}: accuracy {self.accuracy():.0%}", "x₁", "x₂",
            two_panels=("points and P(class 1)", "loss and accuracy"), second_titles=("step", ""))

    def onnx_module(self):
        return self.net, torch.zeros(1, 2)  # a point (x, y) -> two class scores
