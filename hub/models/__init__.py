"""One file per model; importing this package registers them all."""

from digitzoo.hub.models import mnist_ae3d, mnist_cnn, mnist_gan, mnist_lstm  # noqa: F401
