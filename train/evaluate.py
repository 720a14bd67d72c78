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
        from digitzoo.train.printed_digits import printed_set
        from digitzoo.train.sketches import sketch_set

        sketches = sketch_set(images[: max(1, min(sketch_eval, len(images)))].numpy())
        others, listed = not_digit_set("test", limit=limit_test)
        printed, printed_listed = printed_set("test", "digits", limit=limit_test)
        letters, _ = printed_set("test", "letters", limit=limit_test)
        results = metrics.detector_metrics(model, images, sketches, others, [c for c, _, _ in listed], device,
                                           printed=(printed, [k for k, _, _ in printed_listed]), printed_letters=letters)
    elif spec.task == "autoencoder":
        results = metrics.autoencoder_metrics(model, images, device)
    else:
        results = _gan(spec, model, images, labels, device)
    results["test_images"] = len(images)
    return results



def evaluate_checkpoint(name: str, device: str = "auto", data_dir=None, limit_test: int | None = None,
                        sketch_eval: int = 10000, threads: int | None = None) -> dict[str, Any]:
    """`digitzoo eval`: the metrics of ``name``'s checkpoint recomputed, and each floor of its spec
    (``"op value"`` and whether it holds); also the checkpoint folder and its weights' sha256."""
    import torch

    from digitzoo.hub.checkpoint import find_checkpoint, load_checkpoint
    from digitzoo.hub.registry import get_spec
    from digitzoo.train.loop import resolve_device

    if threads:
        torch.set_num_threads(threads)
    spec = get_spec(name)
    dev = resolve_device(device)
    folder = find_checkpoint(name)
    model, card = load_checkpoint(name, folder)
    results = evaluate(spec, model, dev, data_dir, limit_test, sketch_eval)
    floors = {f.metric: {"floor": f"{f.op} {f.value}", "holds": f.holds(results[f.metric])}
              for f in spec.floors if f.metric in results}
    return {"name": name, "checkpoint": str(folder), "weights_sha256": card["weights_sha256"],
            "metrics": results, "floors": floors}


def report(evaluation: dict[str, Any]) -> str:
    """`digitzoo eval`'s lines: each metric, then each floor, met or not."""
    return "\n".join([*(f"{key:30s} {value}" for key, value in evaluation["metrics"].items()),
                      *(f"floor {metric} {floor['floor']}: {'ok' if floor['holds'] else 'NOT MET'}"
                        for metric, floor in evaluation["floors"].items())])

def _gan(spec: ModelSpec, model, images, labels, device) -> dict[str, Any]:
    from digitzoo.hub.checkpoint import load_checkpoint
    from digitzoo.hub.serving.errors import CheckpointError

    try:
        judge, card = load_checkpoint(spec.judge, device=str(device))
    except CheckpointError as exc:
        return {"note": f"GAN metrics need a {spec.judge} checkpoint: {exc}"}
    results = metrics.gan_metrics(model.generator, judge, images, labels, device, per_class=max(1, len(images) // 10))
    results["judge"] = f"{spec.judge} sha256 {card['weights_sha256'][:12]}"
    return results
