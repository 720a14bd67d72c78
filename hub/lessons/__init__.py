"""The Playground's lessons: one file per classic PyTorch tutorial system (see ``lesson.py``).

Importing this package registers every lesson; the order here is the order of the tab.
"""

from digitzoo.hub.lessons import (  # noqa: F401
    regression,
    classification,
    quick_build,
    save_restore,
    mini_batches,
    gradient_by_hand,
    logistic_regression,
    multi_feature,
    optimizer_race,
    dropout,
    batch_norm,
    rnn_regression,
    painter_gan,
    dqn_cartpole,
)
