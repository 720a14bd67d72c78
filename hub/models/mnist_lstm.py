"""mnist_lstm: a 2-layer LSTM that reads the 28 image rows top to bottom as 28 time steps.

The classifier head is applied after every row, so the demo can chart how the belief
changes as the network reads; training uses the prediction after the last row.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.models.common import DIGITS, IMAGE_INPUT, LOGITS_OUTPUT, Normalize
from digitzoo.hub.registry import Demo, Floor, ModelSpec, PartSpec, Recipe, TensorSpec, register_model

STEP_LOGITS_OUTPUT = TensorSpec(
    name="step_logits",
    shape=("batch", 28, 10),
    dtype="float32",
    value_range=None,
    description="class scores after reading rows 1..28; the last step equals `logits`",
)


class MnistLSTM(nn.Module):
    def __init__(self, hidden: int = 128, layers: int = 2, dropout: float = 0.1):
        super().__init__()
        if hidden > 128:
            raise ValueError("mnist_lstm keeps hidden size <= 128")
        self.normalize = Normalize()
        self.lstm = nn.LSTM(28, hidden, num_layers=layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden, 10)

    def step_logits(self, image: torch.Tensor) -> torch.Tensor:
        rows = self.normalize(image).squeeze(1)  # (B, 28, 28): rows are time steps
        states, _ = self.lstm(rows)  # (B, 28, hidden): state after each row
        return self.head(states)  # (B, 28, 10)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.step_logits(image)[:, -1]  # (B, 10): belief after the last row

    def logits_and_steps(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the demo needs in one call: the prediction and the belief after every row."""
        steps = self.step_logits(image)  # (B, 28, 10)
        return steps[:, -1], steps


@register_model
def mnist_lstm() -> ModelSpec:
    return ModelSpec(
        name="mnist_lstm",
        title="MNIST row-by-row LSTM classifier",
        summary="2-layer LSTM (hidden 128) over the 28 rows, linear head on the last state.",
        task="classifier",
        builder=MnistLSTM,
        kwargs=dict(hidden=128, layers=2, dropout=0.1),
        recipes={
            "default": Recipe(epochs=12, batch_size=128, lr=3e-3, weight_decay=0.0, augment="sketch"),
        },
        parts=(
            PartSpec(
                name="model", module=None, inputs=(IMAGE_INPUT,),
                outputs=(LOGITS_OUTPUT, STEP_LOGITS_OUTPUT), file="mnist_lstm", role="classifier", method="logits_and_steps",
            ),
        ),
        floors=(Floor("test_accuracy", ">=", 0.990),),
        labels=DIGITS,
        eval_on_sketches=True,
        demo=Demo(tab="draw", label="LSTM", order=1, belief_by_row=True),
    )
