"""Dropout: a wide net memorises 20 noisy points; the same net with dropout does not.

Morvan Zhou's dropout lesson: 20 training points and 20 test points of y = x + noise, and two
nets with two wide hidden layers, one plain and one with dropout after each hidden layer. The
left panel shows both fits over the points: the plain net's curve wiggles through every red
training point, the dropout net's stays near the line. The right panel shows the train and test
loss of both: the plain net's train loss falls towards zero while its test loss climbs.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson

N_POINTS = 20
WINDOW = 50  # steps averaged for the check: one step's loss jumps (Adam on 20 points is spiky)


def make_net(width: int, p: float) -> nn.Sequential:
    """Two hidden layers of ``width`` units; with p > 0 a dropout layer follows each one."""
    drop = (lambda: nn.Dropout(p)) if p > 0 else nn.Identity
    return nn.Sequential(nn.Linear(1, width), drop(), nn.ReLU(),
                         nn.Linear(width, width), drop(), nn.ReLU(),
                         nn.Linear(width, 1))


@register_lesson
class Dropout(Lesson):
    name = "dropout"
    title = "Dropout against overfitting"
    group = "training"
    summary = ("A wide net and the same net with dropout learn from only 20 noisy points of y = x; "
               "the plain one bends through every point, the dropout one stays near the line.")
    target = (f"averaged over the last {WINDOW} steps, the plain net has overfitted (train loss under half its "
              "test loss) and the dropout net's test loss is below the plain net's")
    knobs = (
        Knob("p", "dropout probability", 0.5, 0.0, 0.9),
        Knob("width", "hidden width", 300, 8, 512, integer=True),
    )
    max_steps = 2000
    default_steps = 500  # a run's own "steps" setting starts here (enough to see both nets settle)
    max_seconds = 10
    # Seeds 0-4 at the defaults, 1 thread: all 5 reach, at step 20-60, in 0.1-0.3 s.
    code = ("make_net", "step")

    def __init__(self, seed: int = 0, **knobs):
        super().__init__(seed, **knobs)
        torch.manual_seed(seed)
        self.x = torch.linspace(-1, 1, N_POINTS).unsqueeze(1)  # (20, 1)
        self.y = self.x + 0.3 * torch.randn(self.x.size())  # training points
        self.test_x = torch.linspace(-1, 1, N_POINTS).unsqueeze(1)
        self.test_y = self.test_x + 0.3 * torch.randn(self.test_x.size())  # the same line, fresh noise
        self.nets = {"plain": make_net(self.settings["width"], 0.0),
                     "dropout": make_net(self.settings["width"], self.settings["p"])}
        self.optimizers = {name: torch.optim.Adam(net.parameters(), lr=0.01) for name, net in self.nets.items()}
        self.history = {f"{name} {part}": [] for name in self.nets for part in ("train", "test")}

    def step(self):
        metrics = {}
        for name, net in self.nets.items():
            net.train()  # dropout on: each step trains a random thinned net
            loss = nn.functional.mse_loss(net(self.x), self.y)
            self.optimizers[name].zero_grad()
            loss.backward()
            self.optimizers[name].step()
            net.eval()  # dropout off (and outputs kept at the same scale) to measure
            with torch.no_grad():
                metrics[f"{name} train"] = nn.functional.mse_loss(net(self.x), self.y).item()
                metrics[f"{name} test"] = nn.functional.mse_loss(net(self.test_x), self.test_y).item()
        for key, value in metrics.items():
            self.history[key].append(value)
        return metrics

    def mean(self, key: str) -> float:
        recent = self.history[key][-WINDOW:]
        return sum(recent) / len(recent) if recent else float("nan")

    def reached(self) -> bool:
        if self.steps_done < WINDOW:
            return False
        overfitted = self.mean("plain train") < 0.5 * self.mean("plain test")
        return overfitted and self.mean("dropout test") < self.mean("plain test")

    def result(self):
        return {key.replace(" ", "_"): self.mean(key) for key in self.history}

    def figure(self):
        grid = torch.linspace(-1, 1, 200).unsqueeze(1)  # (200, 1): a smooth curve for each fit
        with torch.no_grad():
            fits = {name: net.eval()(grid)[:, 0].tolist() for name, net in self.nets.items()}
        g = grid[:, 0].tolist()
        steps = range(1, self.steps_done + 1)
        data = [plots.points(self.x[:, 0].tolist(), self.y[:, 0].tolist(), "train points", color=1),
                plots.points(self.test_x[:, 0].tolist(), self.test_y[:, 0].tolist(), "test points", color=0),
                plots.line(g, fits["plain"], "plain fit", color=3),
                plots.line(g, fits["dropout"], "dropout fit", color=2)]
        for key, values in self.history.items():
            color = 3 if key.startswith("plain") else 2
            data.append(plots.line(steps, values, key + " loss", color=color, axis="2",
                                   dash=None if key.endswith("test") else "dot", width=1.5))
        return plots.figure(data, f"step {self.steps_done}: test loss plain {self.mean('plain test'):.3f}, "
                            f"dropout {self.mean('dropout test'):.3f} (last {WINDOW} steps)", "x", "y", y_range=(-2.5, 2.5),
                            two_panels=("the fits", "train (dotted) and test loss"), second_titles=("step", "MSE"),
                            log_y2=True)
