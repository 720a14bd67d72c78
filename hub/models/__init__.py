"""One file per model; importing this package registers them all."""

from digitzoo.hub.models import (  # noqa: F401
    mnist_ae3d, mnist_cnn, mnist_gan, mnist_inception, mnist_lenet, mnist_lstm, mnist_mlp, mnist_not_digit,
    mnist_resnet, mnist_tutorial_cnn,
)
