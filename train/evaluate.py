"""Metrics of a model on the MNIST test set, the same for `digitzoo train` and `digitzoo eval`."""

from __future__ import annotations

from typing import Any

from digitzoo.hub.registry import ModelSpec
from digitzoo.train import metrics
from digitzoo.hub.mnist import load_mnist


def evaluate(spec: ModelSpec, model, device, data_dir=None, limit_test: int | None = None,
             sketch_eval: int = 10000) -> dict[str, Any]:
    """Metrics of ``model`` on the first ``limit_test`` (default all 10,000) test images."""
    images, labels = load_mnist(train=False, data_dir=data_dir)
    if limit_test:
        images, labels = images[:limit_test], labels[:limit_test]
    model = model.to(device).eval()
    if spec.task == "classifier":
        sketches = None
        if spec.eval_on_sketches and sketch_eval > 0:
            from digitzoo.train.sketches import sketch_set

            sketches = sketch_set(images[: min(sketch_eval, len(images))].numpy())
        results = metrics.classifier_metrics(model, images, labels, sketches, device)
    elif spec.task == "detector":
        from digitzoo.train.not_digits import not_digit_set
        from digitzoo.train.sketches import sketch_set

        sketches = sketch_set(images[: max(1, min(sketch_eval, len(images)))].numpy())
        others, listed = not_digit_set("test", limit=limit_test)
        results = metrics.detector_metrics(model, images, sketches, others, [c for c, _, _ in listed], device)
    elif spec.task == "autoencoder":
        results = metrics.autoencoder_metrics(model, images, device)
    else:
        results = _gan(spec, model, images, labels, device)
    results["test_images"] = len(images)
    return results


def _gan(spec: ModelSpec, model, images, labels, device) -> dict[str, Any]:
    from digitzoo.hub.checkpoint import load_checkpoint
    from digitzoo.hub.errors import CheckpointError

    try:
        judge, card = load_checkpoint(spec.judge, device=str(device))
    except CheckpointError as exc:
        return {"note": f"GAN metrics need a {spec.judge} checkpoint: {exc}"}
    results = metrics.gan_metrics(model.generator, judge, images, labels, device, per_class=max(1, len(images) // 10))
    results["judge"] = f"{spec.judge} sha256 {card['weights_sha256'][:12]}"
    return results
