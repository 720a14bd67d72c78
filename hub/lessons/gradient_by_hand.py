"""Gradient by hand: y = 2x fitted three ways at once, and the three weights move as one.

Liu Er's first lessons: three points x = 1, 2, 3 with y = 2x and a model y = w·x. The same
gradient-descent step is written three times: the derivative worked out on paper, autograd's
``loss.backward()`` on a leaf tensor, and ``nn.Linear`` with ``torch.optim.SGD``. All three start
from the same w; the learner sees their three curves of w lie on top of each other on the way to 2.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson


@register_lesson
class GradientByHand(Lesson):
    name = "gradient_by_hand"
    title = "Gradient by hand, by autograd, by nn + optim"
    group = "basics"
    summary = "y = 2x fitted by a hand-written gradient, by autograd and by nn.Linear + SGD: three curves of w that coincide."
    target = "the three weights agree within 1e-5 and lie within 0.01 of 2"
    knobs = (
        Knob("lr", "learning rate", 0.01, 0.001, 0.2, log=True),
    )
    # Default knobs: seeds 0-4 all reach in 52-59 steps, under 0.03 s on one thread; lr 0.001 needs more than 500.
    # How many steps a run takes is the run's own setting, as for every lesson (the Playground's "steps").
    max_steps = 500
    default_steps = 100
    max_seconds = 10
    code = ("__init__", "step_by_hand", "step_by_autograd", "step_by_optimizer")

    def __init__(self, seed: int = 0, **knobs):
        super().__init__(seed, **knobs)
        torch.manual_seed(seed)
        self.x = torch.tensor([[1.0], [2.0], [3.0]])  # (3, 1): the inputs as a column
        self.y = 2 * self.x  # (3, 1): the true w is 2
        self.linear = nn.Linear(1, 1, bias=False)  # its random weight is everyone's starting w
        self.optimizer = torch.optim.SGD(self.linear.parameters(), lr=self.settings["lr"])
        self.w_hand = self.linear.weight.item()  # a plain number
        self.w_auto = torch.tensor(self.w_hand, requires_grad=True)  # a leaf tensor autograd tracks
        self.history: list[tuple[float, float, float, float]] = []  # (w_hand, w_auto, w_nn, loss) per step

    def step_by_hand(self) -> None:
        # loss = mean((w·x − y)²)  ⇒  dloss/dw = mean(2·x·(w·x − y)), worked out on paper.
        gradient = (2 * self.x * (self.w_hand * self.x - self.y)).mean().item()
        self.w_hand -= self.settings["lr"] * gradient

    def step_by_autograd(self) -> float:
        loss = ((self.w_auto * self.x - self.y) ** 2).mean()
        loss.backward()  # fills self.w_auto.grad with dloss/dw
        with torch.no_grad():  # the update itself must not become part of the graph
            self.w_auto -= self.settings["lr"] * self.w_auto.grad
        self.w_auto.grad.zero_()  # gradients add up unless cleared
        return loss.item()

    def step_by_optimizer(self) -> None:
        self.linear.train()
        loss = nn.functional.mse_loss(self.linear(self.x), self.y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def step(self):
        self.step_by_hand()
        loss = self.step_by_autograd()  # the loss before this step, the same for all three
        self.step_by_optimizer()
        self.history.append((*self.weights(), loss))
        return {"loss": loss, "w": self.history[-1][0]}

    def weights(self) -> tuple[float, float, float]:
        return self.w_hand, self.w_auto.item(), self.linear.weight.item()

    def reached(self) -> bool:
        ws = self.weights()
        return max(ws) - min(ws) < 1e-5 and all(abs(w - 2.0) < 0.01 for w in ws)

    def result(self):
        w_hand, w_auto, w_nn = self.weights()
        return {"w_by_hand": w_hand, "w_by_autograd": w_auto, "w_by_optimizer": w_nn,
                "spread": max(w_hand, w_auto, w_nn) - min(w_hand, w_auto, w_nn),
                "loss": self.history[-1][3] if self.history else float("nan")}

    def figure(self):
        steps = list(range(1, len(self.history) + 1))
        column = list(zip(*self.history)) or [[], [], [], []]
        return plots.figure([
            plots.line([0, self.max_steps], [2.0, 2.0], "true w = 2", color=7, dash="dot", width=1.5),
            plots.line(steps, column[0], "by hand", color=0, width=7),
            plots.line(steps, column[1], "autograd", color=1, width=4),
            plots.line(steps, column[2], "nn.Linear + SGD", color=2, width=1.5, dash="dash"),
            plots.line(steps, column[3], "loss", color=3, axis="2"),
        ], f"step {self.steps_done}: w = {self.w_hand:.4f} / {self.w_auto.item():.4f} / {self.linear.weight.item():.4f}",
            "step", "w", two_panels=("w, three ways", "the loss"), second_titles=("step", "MSE"))
