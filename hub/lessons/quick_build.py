"""Quick build: the same net written as an nn.Module class and as nn.Sequential, trained side by side.

Morvan Zhou's "quick build" lesson: the classification net of two clouds, once as a class with
its own forward() and once as a one-line nn.Sequential. Built from the same seed they start with
the same weights, so on the same data their two loss curves lie on top of each other and their
predictions never differ. The figure also shows what ``print(net)`` says for each: the class
hides its ReLU inside forward(), the Sequential lists it as a layer.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Lesson, register_lesson


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(2, 10)
        self.out = nn.Linear(10, 2)

    def forward(self, x):  # x: (N, 2)
        return self.out(torch.relu(self.hidden(x)))  # (N, 2) logits; the ReLU is a call, not a layer


def build_sequential() -> nn.Sequential:
    # The same layers in the same order, so the same seed draws the same initial weights.
    return nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 2))


def _printed(net: nn.Module) -> str:
    return "<br>".join(line.replace(" ", "&nbsp;") for line in str(net).splitlines())  # print(net), as Plotly text


@register_lesson
class QuickBuild(Lesson):
    name = "quick_build"
    title = "Quick build: nn.Module class vs nn.Sequential"
    group = "basics"
    summary = "One net written two ways, trained from the same seed on the same data: the two loss curves coincide."
    target = "both nets classify at least 98% of the points with loss at most 0.1, and their predictions differ by under 1e-6"
    # Seeds 0-4 all reach in 54-104 steps, under 0.1 s on one thread; the difference stays exactly 0.
    max_steps = 300
    max_seconds = 10
    code = ("Net", "build_sequential", "__init__", "step")

    def __init__(self, seed: int = 0, **knobs):
        super().__init__(seed, **knobs)
        torch.manual_seed(seed)
        ones = torch.ones(100, 2)  # (100, 2)
        self.x = torch.cat([torch.normal(2 * ones, 1), torch.normal(-2 * ones, 1)])  # (200, 2): two clouds
        self.y = torch.cat([torch.ones(100), torch.zeros(100)]).long()  # (200,) class labels
        torch.manual_seed(seed)
        self.nets = {"class": Net()}
        torch.manual_seed(seed)  # the same seed again: the Sequential starts from the very same weights
        self.nets["sequential"] = build_sequential()
        self.optimizers = {kind: torch.optim.SGD(net.parameters(), lr=0.02) for kind, net in self.nets.items()}
        self.loss_func = nn.CrossEntropyLoss()
        self.losses: dict[str, list[float]] = {kind: [] for kind in self.nets}
        self.differences: list[float] = []

    def step(self):
        metrics = {}
        for kind, net in self.nets.items():
            net.train()
            loss = self.loss_func(net(self.x), self.y)
            self.optimizers[kind].zero_grad()
            loss.backward()
            self.optimizers[kind].step()
            self.losses[kind].append(loss.item())
            metrics[f"loss_{kind}"] = loss.item()
        self.differences.append(self.difference())
        return {**metrics, "difference": self.differences[-1]}

    def difference(self) -> float:
        """The largest gap between the two nets' outputs on the training points."""
        with torch.no_grad():
            return (self.nets["class"](self.x) - self.nets["sequential"](self.x)).abs().max().item()

    def accuracy(self, kind: str) -> float:
        with torch.no_grad():
            return (self.nets[kind](self.x).argmax(dim=1) == self.y).float().mean().item()

    def reached(self) -> bool:
        trained = all(losses and losses[-1] <= 0.1 and self.accuracy(kind) >= 0.98 for kind, losses in self.losses.items())
        return trained and self.difference() < 1e-6

    def result(self):
        return {"loss_class": self.losses["class"][-1] if self.differences else float("nan"),
                "loss_sequential": self.losses["sequential"][-1] if self.differences else float("nan"),
                "accuracy_class": self.accuracy("class"), "accuracy_sequential": self.accuracy("sequential"),
                "max_difference": self.difference()}

    def figure(self):
        steps = range(1, len(self.differences) + 1)
        fig = plots.figure([
            plots.line(steps, self.losses["class"], "nn.Module class", color=0, width=6),
            plots.line(steps, self.losses["sequential"], "nn.Sequential", color=1, dash="dash"),
            plots.line(steps, self.differences, "max |class − sequential|", color=2, axis="2"),
        ], f"step {self.steps_done}: loss {self.losses['class'][-1] if self.differences else float('nan'):.4f} both ways, "
           f"difference {self.difference():.1g}", "step", "cross-entropy loss",
            two_panels=("the two loss curves", "how far apart their predictions are"), second_titles=("step", "difference"))
        # The two print(net) texts side by side under the plots (the page is wide enough there).
        layout = fig["layout"]
        # 145 more pixels of bottom margin (and 15 to spare), so the plots keep their height.
        layout.update(height=layout["height"] + 160, margin={**layout["margin"], "b": 190}, legend={"orientation": "h", "y": -0.14})
        layout["yaxis2"]["range"] = [-1e-6, 1e-5]  # a flat line at 0 on a scale where 1e-6 would show
        for x, kind in ((0.0, "class"), (0.55, "sequential")):
            layout["annotations"].append({
                "text": f"print({kind} net)<br>{_printed(self.nets[kind])}", "x": x, "y": -0.24,
                "xref": "paper", "yref": "paper", "xanchor": "left", "yanchor": "top", "align": "left",
                "showarrow": False, "font": {"family": "monospace", "size": 9}})
        return fig
