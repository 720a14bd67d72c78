"""Painter GAN: a generator learns to paint curves like a famous artist's; a discriminator judges.

Morvan Zhou's GAN lesson: the artist paints 15-point curves a·x² + (a-1) with a drawn from [1, 2],
so every real painting lies between a lower bound x² and an upper bound 2x² + 1. The generator
turns random "ideas" (noise) into paintings; the discriminator tells the artist's paintings from
painted ones. The left panel shows the bounds and a few of the generator's paintings moving into
the band; the right panel shows both losses and D's belief that a painting is real, which settles
near 0.5 when D can no longer tell. The conditional variant also gets a label (0 = the lower kind,
a in [1, 1.5]; 1 = the upper kind, a in [1.5, 2]) and is asked to paint the kind the knob picks.
"""

from __future__ import annotations

import torch
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson

ART_COMPONENTS, BATCH_SIZE, HIDDEN = 15, 64, 128
PAINT_POINTS = torch.linspace(-1, 1, ART_COMPONENTS)  # (15,): the x of every painting's points
WINDOW = 100  # steps averaged for D's belief
MIN_STEPS = 1000  # an untrained D also says 0.5 to everything: give it time to learn to tell first
SHOWN = 5  # paintings drawn
KINDS = {"lower": (1.0, 1.5), "upper": (1.5, 2.0)}  # the range of a for each label
TOLERANCE = 0.05  # a point this close outside a bound still counts as inside


def artist_works(n: int):
    """n real paintings (n, 15) and their labels (n, 1): 1 for the upper kind (a > 1.5)."""
    a = 1 + torch.rand(n, 1)  # (n, 1), uniform in [1, 2]
    return a * PAINT_POINTS.pow(2) + (a - 1), (a > 1.5).float()


def inside(paintings, low_a: float, high_a: float) -> float:
    """Fraction of points between the curves of a = low_a and a = high_a."""
    lower, upper = low_a * PAINT_POINTS.pow(2) + low_a - 1, high_a * PAINT_POINTS.pow(2) + high_a - 1
    ok = (paintings >= lower - TOLERANCE) & (paintings <= upper + TOLERANCE)
    return ok.float().mean().item()


@register_lesson
class PainterGan(Lesson):
    name = "painter_gan"
    title = "GAN: learn to paint like an artist"
    group = "sequences and games"
    summary = ("A generator turns noise into 15-point curves and a discriminator tells them from an artist's; "
               "the paintings move between the artist's bounds as the two compete.")
    target = (f"after {MIN_STEPS} steps, at least 90% of painted points lie within the bounds (±{TOLERANCE}; the asked "
              f"kind's bounds for the conditional variant), D's belief that a painting is real, over the last {WINDOW} "
              "steps, is within 0.05 of 0.5, and the paintings are not all alike (their spread at x = 0 is at least "
              "half the artist's)")
    knobs = (
        Knob("lr_g", "learning rate of G", 2e-4, 1e-5, 0.01, log=True),
        Knob("lr_d", "learning rate of D", 2e-4, 1e-5, 0.01, log=True),
        Knob("noise", "noise size (G's ideas)", 5, 1, 50, integer=True),
        Knob("variant", "variant", "plain", choices=("plain", "conditional")),
        Knob("paint", "paint (conditional)", "upper", choices=tuple(KINDS)),
    )
    # 5x the steps any seed below needs; more only made each of the page's pictures wait on more steps
    # (15,000 steps drawn in 21 s are 120 steps a picture: ~3 pictures a second on 2 busy cores, not 6).
    max_steps = 5000
    max_seconds = 30
    steps_per_update = 25
    # Seeds 0-4, 1 thread: plain, conditional-upper and conditional-lower all 5/5, at step 1000-1242, in 0.9-3.6 s.
    code = ("artist_works", "__init__", "step")

    def __init__(self, seed: int = 0, **knobs):
        super().__init__(seed, **knobs)
        torch.manual_seed(seed)
        self.n_labels = 1 if self.settings["variant"] == "conditional" else 0  # the label is one more input
        noise = self.settings["noise"]
        self.generator = nn.Sequential(nn.Linear(noise + self.n_labels, HIDDEN), nn.ReLU(),
                                       nn.Linear(HIDDEN, ART_COMPONENTS))
        self.discriminator = nn.Sequential(nn.Linear(ART_COMPONENTS + self.n_labels, HIDDEN), nn.ReLU(),
                                           nn.Linear(HIDDEN, 1), nn.Sigmoid())  # P(this painting is real)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.settings["lr_g"], betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.settings["lr_d"], betas=(0.5, 0.999))
        self.criterion = nn.BCELoss()
        self.history: dict[str, list[float]] = {"D loss": [], "G loss": [], "D(painting)": []}
        # Fixed ideas for the pictures (the same curves move) and for the check, from their own generator
        # so that looking does not change the training's random stream.
        self.test_ideas = torch.randn(256, noise, generator=torch.Generator().manual_seed(seed + 1))

    def paint(self, ideas, labels):
        return self.generator(torch.cat([ideas, labels[:, :self.n_labels]], 1))  # (n, 15)

    def judge(self, paintings, labels):
        return self.discriminator(torch.cat([paintings, labels[:, :self.n_labels]], 1)).view(-1)  # (n,)

    def step(self):
        real, labels = artist_works(BATCH_SIZE)  # (64, 15), (64, 1); G is asked for the same kinds
        fake = self.paint(torch.randn(BATCH_SIZE, self.settings["noise"]), labels)
        ones, zeros = torch.ones(BATCH_SIZE), torch.zeros(BATCH_SIZE)

        # (1) D: call the artist's paintings real and G's fake (detach: this step leaves G alone)
        self.opt_d.zero_grad()
        loss_d = self.criterion(self.judge(real, labels), ones) + self.criterion(self.judge(fake.detach(), labels), zeros)
        loss_d.backward()
        self.opt_d.step()

        # (2) G: make D call its paintings real
        self.opt_g.zero_grad()
        belief = self.judge(fake, labels)
        loss_g = self.criterion(belief, ones)
        loss_g.backward()
        self.opt_g.step()

        metrics = {"D loss": loss_d.item(), "G loss": loss_g.item(), "D(painting)": belief.mean().item()}
        for key, value in metrics.items():
            self.history[key].append(value)
        return metrics

    def asked(self):
        """The kind the figure shows and the check uses: its a-range and labels for n paintings."""
        if not self.n_labels:
            return (1.0, 2.0), lambda n: torch.zeros(n, 1)
        label = float(self.settings["paint"] == "upper")
        return KINDS[self.settings["paint"]], lambda n: torch.full((n, 1), label)

    def test_paintings(self):
        with torch.no_grad():
            return self.paint(self.test_ideas, self.asked()[1](len(self.test_ideas)))  # (256, 15)

    def inside_fraction(self) -> float:
        return inside(self.test_paintings(), *self.asked()[0])

    def spread(self) -> float:
        """Std of the paintings at x = 0 over the artist's (a - 1 is uniform there): 0 when G paints one curve."""
        low_a, high_a = self.asked()[0]
        return self.test_paintings()[:, ART_COMPONENTS // 2].std().item() / ((high_a - low_a) / 12 ** 0.5)

    def belief(self) -> float:
        recent = self.history["D(painting)"][-WINDOW:]
        return sum(recent) / len(recent) if recent else float("nan")

    def reached(self) -> bool:
        if self.steps_done < MIN_STEPS:
            return False
        return abs(self.belief() - 0.5) <= 0.05 and self.inside_fraction() >= 0.9 and self.spread() >= 0.5

    def result(self):
        return {"inside_fraction": self.inside_fraction(), "d_belief": self.belief(), "spread": self.spread(),
                "d_loss": self.history["D loss"][-1], "g_loss": self.history["G loss"][-1]}

    def figure(self):
        x = PAINT_POINTS.tolist()
        shown = self.test_paintings()[:SHOWN]
        data = [plots.line(x, (2 * PAINT_POINTS.pow(2) + 1).tolist(), "upper bound 2x²+1", color=3, width=3),
                plots.line(x, PAINT_POINTS.pow(2).tolist(), "lower bound x²", color=0, width=3)]
        if self.n_labels:  # the border between the two kinds
            data.append(plots.line(x, (1.5 * PAINT_POINTS.pow(2) + 0.5).tolist(), "kinds' border", color=7, dash="dash", width=1.5))
        for i, painting in enumerate(shown):
            trace = plots.line(x, painting.tolist(), "paintings", color=2, width=1.5)
            trace.update(legendgroup="paintings", showlegend=i == 0)
            data.append(trace)
        steps = list(range(1, self.steps_done + 1))[::10]  # every 10th step keeps the figure small
        for color, (key, values) in zip((1, 4, 5), self.history.items()):
            data.append(plots.line(steps, values[::10], key, color=color, axis="2", width=1.5))
        return plots.figure(data, f"step {self.steps_done}: {self.inside_fraction():.0%} inside, "
                            f"D(painting) {self.belief():.2f}", "x", "painting", y_range=(-0.5, 3.5),
                            two_panels=("paintings" + (f" ({self.settings['paint']} kind)" if self.n_labels else ""),
                                        "losses and D's belief"), second_titles=("step", ""))
