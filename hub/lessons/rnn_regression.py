"""RNN regression: a recurrent net reads sin(t) and predicts cos(t), window after window.

Morvan Zhou's RNN regression: the time line is cut into windows of 10 steps (each spans π);
the net reads the sine in one window and predicts the cosine at the same times, and its hidden
state is carried into the next window, so it can tell a rising sine from a falling one. The
learner watches the last few windows scroll by: the target cosine in blue, the prediction in red
bending onto it, the input sine dotted.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson

CELLS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
TIME_STEP = 10  # points per window; one window spans π
SHOWN = 8  # windows on the screen
RECENT = 5  # windows averaged for the check


class SeqNet(nn.Module):
    def __init__(self, cell: str, hidden: int):
        super().__init__()
        self.rnn = CELLS[cell](input_size=1, hidden_size=hidden, num_layers=1, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x, h_state=None):  # x: (batch, time, 1); h_state None = zeros
        r_out, h_state = self.rnn(x, h_state)  # r_out: (batch, time, hidden)
        return self.out(r_out), h_state  # (batch, time, 1): one prediction per time step


class Predictor(nn.Module):
    """The exported form: (1, T, 1) sine in, (1, T, 1) cosine out, starting from a zero state."""

    def __init__(self, net: SeqNet):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)[0]


def detach(h_state):
    """Keep the state's values but cut the graph, so backprop stops at the window's start (an LSTM's is a pair)."""
    return tuple(h.detach() for h in h_state) if isinstance(h_state, tuple) else h_state.detach()


@register_lesson
class RnnRegression(Lesson):
    name = "rnn_regression"
    title = "RNN regression: sin(t) in, cos(t) out"
    group = "sequences and games"
    summary = ("A recurrent net reads a sine wave 10 points at a time and predicts the cosine, carrying its hidden "
               "state from window to window; the prediction bends onto the target as it learns.")
    target = f"the mean squared error over the last {RECENT} windows is below 0.01"
    knobs = (
        Knob("cell", "recurrent cell", "RNN", choices=tuple(CELLS)),
        Knob("hidden", "hidden size", 32, 4, 128, integer=True),
    )
    max_steps = 300  # windows
    max_seconds = 10
    steps_per_update = 1  # one window per picture: it scrolls
    # Seeds 0-4, 1 thread: all 5 reach for every cell: RNN at window 37-126, LSTM 35-61, GRU 50-67; under 0.3 s.
    code = ("SeqNet", "step")
    exportable = True

    def __init__(self, seed: int = 0, **knobs):
        super().__init__(seed, **knobs)
        torch.manual_seed(seed)
        self.net = SeqNet(self.settings["cell"], self.settings["hidden"])
        # Morvan's 0.02 saturates a plain RNN of 64+ units (it gets stuck predicting zero); 0.01 works for all.
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=0.01)
        self.h_state = None  # the first window starts from zeros
        self.windows: list[tuple[list[float], list[float], list[float], list[float]]] = []  # t, sin, cos, prediction
        self.losses: list[float] = []

    def step(self):
        start = self.steps_done * math.pi  # window k covers [kπ, (k+1)π)
        t = torch.linspace(start, start + math.pi, TIME_STEP + 1)[:-1]  # (10,)
        x = torch.sin(t).view(1, TIME_STEP, 1)  # (batch 1, time 10, input 1)
        y = torch.cos(t).view(1, TIME_STEP, 1)
        prediction, h_state = self.net(x, self.h_state)
        self.h_state = detach(h_state)  # carried into the next window
        loss = nn.functional.mse_loss(prediction, y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.losses.append(loss.item())
        self.windows = (self.windows + [(t.tolist(), x.flatten().tolist(), y.flatten().tolist(),
                                         prediction.detach().flatten().tolist())])[-SHOWN:]
        return {"loss": loss.item()}

    def recent_mse(self) -> float:
        recent = self.losses[-RECENT:]
        return sum(recent) / len(recent) if recent else float("nan")

    def reached(self) -> bool:
        return len(self.losses) >= RECENT and self.recent_mse() < 0.01

    def result(self):
        return {"recent_mse": self.recent_mse(), "windows": float(len(self.losses))}

    def figure(self):
        t = [v for w in self.windows for v in w[0]]
        series = [[v for w in self.windows for v in w[i]] for i in (1, 2, 3)]  # sin, cos, prediction
        return plots.figure([
            plots.line(t, series[0], "input sin(t)", color=7, dash="dot", width=1.5),
            plots.line(t, series[1], "target cos(t)", color=0),
            plots.line(t, series[2], "prediction", color=1),
            plots.line(range(1, len(self.losses) + 1), self.losses, "loss per window", color=3, axis="2"),
        ], f"window {self.steps_done}: MSE of the last {RECENT} windows {self.recent_mse():.4f}", "t", "value",
            y_range=(-1.5, 1.5), two_panels=(f"the last {SHOWN} windows", "loss"), second_titles=("window", "MSE"),
            log_y2=True)

    def onnx_module(self):
        return Predictor(self.net).eval(), torch.sin(torch.linspace(0, math.pi, TIME_STEP + 1)[:-1]).view(1, TIME_STEP, 1)
