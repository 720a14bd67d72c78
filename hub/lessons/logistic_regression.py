"""Logistic regression: hours studied -> chance of passing, a sigmoid curve sliding into place.

Liu Er's logistic-regression lesson: three students studied 1, 2 and 3 hours; the first two
failed, the third passed. A linear layer followed by a sigmoid gives a probability, trained with
binary cross-entropy. The learner sees the S-curve over 0-10 hours steepen and move until it
crosses one half between the failing and the passing students.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson

LOSS_TARGET = 0.3  # mean binary cross-entropy; 0.69 is a coin toss, 0 is certainty


class LogisticRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, hours):  # hours: (N, 1)
        return torch.sigmoid(self.linear(hours))  # (N, 1): P(pass)


@register_lesson
class LogisticRegressionLesson(Lesson):
    name = "logistic_regression"
    title = "Logistic regression: hours studied → pass"
    group = "basics"
    summary = "A linear layer and a sigmoid learn the chance of passing from hours studied; the S-curve moves as it learns."
    target = f"P(pass | 4 h) > 0.5 > P(pass | 2 h), with loss below {LOSS_TARGET}"
    knobs = (Knob("lr", "learning rate", 0.1, 1e-3, 10.0, log=True),)
    # Default knobs: seeds 0-4 all reach in 368-442 steps, about 0.2 s on one thread.
    max_steps = 1000
    max_seconds = 10
    steps_per_update = 10
    code = ("LogisticRegression", "__init__", "step")

    def __init__(self, seed: int = 0, **knobs):
        super().__init__(seed, **knobs)
        torch.manual_seed(seed)
        self.hours = torch.tensor([[1.0], [2.0], [3.0]])  # (3, 1): one row per student
        self.passed = torch.tensor([[0.0], [0.0], [1.0]])  # (3, 1): 1 = passed
        self.model = LogisticRegression()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=self.settings["lr"])
        self.loss_func = nn.BCELoss()  # expects probabilities, hence the sigmoid inside the model
        self.losses: list[float] = []

    def step(self):
        self.model.train()
        loss = self.loss_func(self.model(self.hours), self.passed)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.losses.append(loss.item())
        return {"loss": loss.item(), "p_pass_4h": self.p_pass(4.0)}

    def p_pass(self, hours: float) -> float:
        with torch.no_grad():
            return self.model(torch.tensor([[hours]])).item()

    def current_loss(self) -> float:
        with torch.no_grad():
            return self.loss_func(self.model(self.hours), self.passed).item()

    def reached(self) -> bool:
        return self.p_pass(4.0) > 0.5 > self.p_pass(2.0) and self.current_loss() < LOSS_TARGET

    def result(self):
        return {"loss": self.current_loss(), "p_pass_2h": self.p_pass(2.0), "p_pass_4h": self.p_pass(4.0)}

    def figure(self):
        grid = torch.linspace(0, 10, 101).unsqueeze(1)  # (101, 1): 0 to 10 hours
        with torch.no_grad():
            curve = self.model(grid)  # (101, 1)
        return plots.figure([
            plots.line([0, 10], [0.5, 0.5], "one half", color=7, dash="dot", width=1),
            plots.line(grid[:, 0].tolist(), curve[:, 0].tolist(), "P(pass | hours)", color=1),
            plots.points(self.hours[:, 0].tolist(), self.passed[:, 0].tolist(), "students (0 = failed, 1 = passed)",
                         color=0, size=12),
            plots.line(range(1, len(self.losses) + 1), self.losses, "loss (BCE)", color=3, axis="2"),
        ], f"step {self.steps_done}: P(pass | 2 h) = {self.p_pass(2.0):.2f}, P(pass | 4 h) = {self.p_pass(4.0):.2f}",
            "hours studied", "P(pass)", two_panels=("the sigmoid curve", "the loss"), second_titles=("step", "BCE"),
            y_range=(-0.05, 1.05))
