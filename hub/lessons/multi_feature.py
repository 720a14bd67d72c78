"""Multi-feature classification: a Dataset, a DataLoader and a small net on a real table of patients.

Liu Er's diabetes lesson, on the data set scikit-learn ships (no download): ``load_diabetes()``,
442 patients with 10 measurements each (age, sex, body-mass index, blood pressure, six blood
serum values). The label is 1 when the disease progressed more than the median a year later, so
the two classes are equal in size. A 10-8-6-1 net with a sigmoid output learns it from mini-batches;
each step is one epoch. The learner sees the training loss fall and the train and test accuracy rise.
The learner's own table (numeric columns, one of them a 0/1 label) takes the patients' place: the
same code reads it, a quarter of its rows (at most 100) held out for the test.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson
from digitzoo.hub.lessons.user_data import DataSpec, Table

LAYERS = {"8-6": (8, 6), "16-8": (16, 8), "32-16-8": (32, 16, 8)}
TEST_SIZE = 100  # patients held out; the other 342 train
TEST_TARGET = 0.74  # measured: every layer choice gets there with seeds 0-9 within 29 epochs (logistic regression: 0.74)


class DiabetesDataset(Dataset):
    def __init__(self, features: torch.Tensor, labels: torch.Tensor):
        self.features, self.labels = features, labels  # (N, 10), (N, 1)

    def __len__(self):
        return len(self.features)

    def __getitem__(self, index):
        return self.features[index], self.labels[index]


def diabetes_table() -> Table:
    """scikit-learn's diabetes patients as a table: 10 measurements and the 0/1 label ``progressed``."""
    from sklearn.datasets import load_diabetes  # here, so importing the lesson list stays cheap

    data = load_diabetes()
    progression = torch.tensor(data.target, dtype=torch.float32)  # (442,)
    progressed = (progression > progression.median()).float()  # 1 = more than the median a year later
    rows = tuple((*map(float, features), float(label)) for features, label in zip(data.data, progressed))
    return Table((*data.feature_names, "progressed"), rows, label="progressed")


def build_net(widths: tuple[int, ...], inputs: int = 10) -> nn.Sequential:
    layers = []
    for width in widths:
        layers += [nn.Linear(inputs, width), nn.ReLU()]  # ReLU, not sigmoid, inside: the deep choice still trains with SGD
        inputs = width
    return nn.Sequential(*layers, nn.Linear(inputs, 1), nn.Sigmoid())  # (N, 1): P(progressed more than the median)


@register_lesson
class MultiFeature(Lesson):
    name = "multi_feature"
    title = "Many features: diabetes progression"
    group = "basics"
    summary = "A small net reads 10 measurements per patient and predicts whether the disease progresses more than average."
    target = f"test accuracy at least {TEST_TARGET:.0%} (on {TEST_SIZE} held-out patients; on your data, a quarter of its rows)"
    knobs = (
        Knob("layers", "hidden layers", "8-6", choices=tuple(LAYERS)),
        Knob("lr", "learning rate", 0.1, 1e-4, 10.0, log=True),
    )
    # Default knobs: seeds 0-4 reach in 6-16 epochs, under 0.1 s on one thread; the test accuracy then wobbles
    # around 0.72-0.76 (100 test patients: one patient is one point).
    max_steps = 80
    max_seconds = 10
    steps_per_update = 1
    code = ("DiabetesDataset", "build_net", "__init__", "step")
    data_spec = DataSpec()  # any numeric columns, one of them the 0/1 label

    def __init__(self, seed: int = 0, data=None, **knobs):
        super().__init__(seed, data, **knobs)
        table = data if data is not None else diabetes_table()
        columns = [table.columns.index(name) for name in table.features]
        features = torch.tensor([[row[i] for i in columns] for row in table.rows], dtype=torch.float32)  # (N, F)
        labels = torch.tensor(table.column(table.label), dtype=torch.float32).unsqueeze(1)  # (N, 1): 0 or 1
        # The split is the same for every seed and knob, so test accuracies can be compared.
        order = torch.randperm(len(features), generator=torch.Generator().manual_seed(0))
        test_size = min(TEST_SIZE, max(2, len(features) // 4))
        train, test = order[test_size:], order[:test_size]
        mean, std = features[train].mean(0), features[train].std(0)  # from the training part only
        features = (features - mean) / std.where(std > 0, torch.ones_like(std))  # every feature on the same scale
        self.train_set = DiabetesDataset(features[train], labels[train])
        self.test_set = DiabetesDataset(features[test], labels[test])
        torch.manual_seed(seed)
        self.loader = DataLoader(self.train_set, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(seed))
        self.net = build_net(LAYERS[self.settings["layers"]], inputs=features.shape[1])
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=self.settings["lr"])
        self.loss_func = nn.BCELoss()
        self.history: list[tuple[float, float, float]] = []  # (train loss, train accuracy, test accuracy) per epoch

    def step(self):
        self.net.train()
        total = 0.0
        for features, labels in self.loader:  # (B, 10), (B, 1)
            loss = self.loss_func(self.net(features), labels)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(labels)
        self.history.append((total / len(self.train_set), self.accuracy(self.train_set), self.accuracy(self.test_set)))
        return dict(zip(("loss", "train_acc", "test_acc"), self.history[-1]))

    def accuracy(self, data: DiabetesDataset) -> float:
        self.net.eval()
        with torch.no_grad():
            return ((self.net(data.features) > 0.5).float() == data.labels).float().mean().item()

    def reached(self) -> bool:
        return bool(self.history) and self.history[-1][2] >= TEST_TARGET

    def result(self):
        loss, train_acc, test_acc = self.history[-1] if self.history else (float("nan"),) * 3
        return {"train_loss": loss, "train_accuracy": train_acc, "test_accuracy": test_acc}

    def figure(self):
        epochs = list(range(1, len(self.history) + 1))
        losses, train_acc, test_acc = (list(c) for c in zip(*self.history)) if self.history else ([], [], [])
        return plots.figure([
            plots.line(epochs, losses, "train loss (BCE)", color=3),
            plots.line(epochs, train_acc, "train accuracy", color=0, axis="2"),
            plots.line(epochs, test_acc, "test accuracy", color=1, axis="2"),
            plots.line([1, self.max_steps], [TEST_TARGET] * 2, "target", color=7, dash="dot", width=1, axis="2"),
        ], f"epoch {self.steps_done}: test accuracy {test_acc[-1] if test_acc else float('nan'):.0%}", "epoch", "BCE",
            two_panels=("the training loss", "accuracy"), second_titles=("epoch", "accuracy"))
