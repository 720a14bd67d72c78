"""Mini-batches: a DataLoader deals ten samples into batches, epoch after epoch.

Morvan Zhou's batch-training lesson: x = 1..10, y = 10..1 in a TensorDataset, a DataLoader with
a batch size and shuffle on or off. Each step is one epoch; the learner sees the order the
samples came out in this epoch, coloured by the batch they landed in, and a table of every
epoch so far. With shuffle on the batches change every epoch; with a batch size that does not
divide 10 the last batch is smaller. Nothing is trained here: the loop body is where a training
step would go (the other lessons show one), so the picture is only about how the data is dealt.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson

EPOCHS_TO_SHOW = 3


@register_lesson
class MiniBatches(Lesson):
    name = "mini_batches"
    title = "Mini-batches: what a DataLoader does"
    group = "basics"
    summary = "Ten samples dealt into mini-batches by a DataLoader, one epoch per step: see which sample lands in which batch."
    target = f"{EPOCHS_TO_SHOW} epochs shown"
    knobs = (
        Knob("batch_size", "batch size", 5, 1, 10, integer=True),
        Knob("shuffle", "shuffle", "on", choices=("on", "off")),
    )
    # Always reached at step 3 (seeds 0-4), in a few milliseconds; the run goes on to 5 epochs of history.
    max_steps = 5
    max_seconds = 10
    steps_per_update = 1  # every epoch is a picture of its own
    code = ("__init__", "step")

    def __init__(self, seed: int = 0, **knobs):
        super().__init__(seed, **knobs)
        x = torch.linspace(1, 10, 10)  # (10,): 1, 2, ..., 10
        y = torch.linspace(10, 1, 10)  # (10,): 10, 9, ..., 1
        # A seeded generator makes the shuffled order the same on every run with this seed.
        self.loader = DataLoader(TensorDataset(x, y), batch_size=self.settings["batch_size"],
                                 shuffle=self.settings["shuffle"] == "on", generator=torch.Generator().manual_seed(seed))
        self.epochs: list[list[list[int]]] = []  # per epoch, per batch: the x values in it

    def step(self):
        batches = []
        for batch_x, batch_y in self.loader:  # batch_x, batch_y: (batch_size,), the last one maybe shorter
            # A training step would go here: prediction = model(batch_x), loss, backward, optimizer.step().
            batches.append([int(v) for v in batch_x.tolist()])
        self.epochs.append(batches)
        return {"batches": float(len(batches)), "last_batch_size": float(len(batches[-1]))}

    def reached(self) -> bool:
        return len(self.epochs) >= EPOCHS_TO_SHOW

    def result(self):
        return {"epochs": float(len(self.epochs)), "batches_per_epoch": float(len(self.epochs[-1]) if self.epochs else 0)}

    def figure(self):
        traces = []
        position = 1
        for number, batch in enumerate(self.epochs[-1] if self.epochs else [], start=1):
            # Left: the samples in the order this epoch dealt them, one colour per batch.
            traces.append(plots.bars(range(position, position + len(batch)), batch, f"batch {number}", color=number - 1))
            position += len(batch)
        for epoch, batches in enumerate(self.epochs, start=1):
            # Right: one row per epoch, each sample (by its x) coloured by the batch it landed in.
            xs = [v for batch in batches for v in batch]
            colours = [number for number, batch in enumerate(batches) for _ in batch]
            row = plots.points(xs, [epoch] * len(xs), f"epoch {epoch}", color=colours, size=14, axis="2", opacity=1.0)
            traces.append({**row, "showlegend": False})  # the legend names the batches, from the bars
        fig = plots.figure(traces, f"epoch {len(self.epochs)}: {len(self.epochs[-1]) if self.epochs else 0} batches of "
                                   f"up to {self.settings['batch_size']}, shuffle {self.settings['shuffle']}",
                           "position in this epoch", "sample x", two_panels=("this epoch, in order", "every epoch so far"),
                           second_titles=("sample x", "epoch"))
        fig["layout"]["xaxis"].update(dtick=1, range=[0.5, 10.5])
        fig["layout"]["xaxis2"].update(dtick=1, range=[0.5, 10.5])
        fig["layout"]["yaxis2"].update(dtick=1, range=[self.max_steps + 0.5, 0.5])  # epoch 1 on top, like a table
        return fig
