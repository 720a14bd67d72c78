"""The Playground's lessons: one file per classic PyTorch tutorial system (see ``lesson.py``).

Importing this package registers every lesson. ``ORDER`` is the order of the tab, of
`digitzoo lesson list` and of the README's table: by group, then from the first step up. It is
stated, not taken from the imports below, so reordering them (an import sorter) changes nothing;
``lesson.list_lessons`` refuses an ``ORDER`` that misses a registered lesson or names one twice.
"""

ORDER = (
    # basics
    "regression",
    "classification",
    "quick_build",
    "save_restore",
    "mini_batches",
    "gradient_by_hand",
    "logistic_regression",
    "multi_feature",
    # training
    "optimizer_race",
    "dropout",
    "batch_norm",
    # sequences and games
    "rnn_regression",
    "painter_gan",
    "dqn_cartpole",
)

from digitzoo.hub.lessons import (  # noqa: E402, F401  (registers them; the order is ORDER's)
    batch_norm,
    classification,
    dqn_cartpole,
    dropout,
    gradient_by_hand,
    logistic_regression,
    mini_batches,
    multi_feature,
    optimizer_race,
    painter_gan,
    quick_build,
    regression,
    rnn_regression,
    save_restore,
)
