"""Training: MNIST loading, augmentation, the training loop and evaluation metrics."""
