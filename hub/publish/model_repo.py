"""What a pushed model repository holds, and its model card. No network here.

Layout (the exports folder, plus weights and configs), so that a pulled snapshot is itself an
exports root that ``digitzoo.hub.serving.runtime`` can serve:

    README.md                       model card with Hub metadata
    manifest.json                   the exports manifest + "repository": every other file's sha256
    mnist_cnn/model.safetensors     weights
    mnist_cnn/config.json           architecture, kwargs, training recipe: enough to rebuild it
    mnist_cnn/card.json             the checkpoint card (``digitzoo pull`` restores a checkpoint)
    mnist_cnn/mnist_cnn.onnx|.pt|.pt2, *_test_data/, README.md   exported files and their snippets

Every file is checked against its recorded sha256 before it is offered for upload.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from digitzoo.hub.checkpoint import CARD_FILE, find_checkpoint, read_card
from digitzoo.hub.serving import leaderboard
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import sha256_file
from digitzoo.hub.serving.manifest import MANIFEST_FILE, Manifest, ModelEntry, read_manifest, verified_path

CONFIG_FORMAT = "digitzoo-config/1"
LICENSE = "mit"
DATASET = "ylecun/mnist"
TAGS = ["mnist", "digitzoo", "onnx", "torchscript", "pytorch", "image-classification", "autoencoder", "gan"]

# The Hub's task names for what each of our tasks does (model-index results).
HUB_TASKS = {"classifier": ("image-classification", "Image Classification"),
             "autoencoder": ("image-to-image", "Reconstruction through a 3-D code"),
             "gan": ("unconditional-image-generation", "Class-conditional generation"),
             "detector": ("image-classification", "Not-a-digit detection")}
# The headline metrics reported in the card's metadata, per task: (metric key, Hub type, label).
HEADLINE_METRICS = {
    "classifier": [("test_accuracy", "accuracy", "test accuracy"),
                   ("sketch_accuracy", "accuracy", "accuracy on re-drawn test digits")],
    "autoencoder": [("test_mse", "mse", "test reconstruction MSE")],
    # {judge}: the classifier that scored the samples, as the GAN's metrics name it.
    "gan": [("class_accuracy", "accuracy", "class accuracy of samples (judged by {judge})"),
            ("inception_score", "inception_score", "Inception Score (calibrated {judge} judge)"),
            ("fid_cnn_features", "frechet_distance", "Frechet distance in {judge} features")],
    "detector": [("not_digits_flagged", "recall", "non-digits flagged (letters in unseen fonts, shapes, scribbles)"),
                 ("test_digits_flagged", "false_positive_rate", "test digits flagged"),
                 ("drawn_digits_flagged", "false_positive_rate", "re-drawn test digits flagged")],
}


@dataclass(frozen=True)
class RepoFile:
    """One file of the repository: from disk (``source``) or generated (``data``)."""

    path: str
    sha256: str
    size: int
    source: Path | None = None
    data: bytes | None = None

    @classmethod
    def from_disk(cls, path: str, source: Path) -> RepoFile:
        return cls(path, sha256_file(source), source.stat().st_size, source=source)

    @classmethod
    def generated(cls, path: str, data: bytes) -> RepoFile:
        return cls(path, hashlib.sha256(data).hexdigest(), len(data), data=data)


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def model_config(name: str, card: dict[str, Any]) -> dict[str, Any]:
    """config.json: how to rebuild the network (class, kwargs), what it was trained with."""
    from digitzoo.hub.registry import get_spec  # imports the model files (torch): only when publishing

    spec = get_spec(name)
    return {
        "format": CONFIG_FORMAT, "model": name, "title": spec.title, "task": spec.task,
        "architecture": f"{spec.builder.__module__}.{spec.builder.__qualname__}",
        "kwargs": card["kwargs"], "labels": list(spec.labels),
        "parts": [{"name": p.name, "method": p.method, "inputs": [i.name for i in p.inputs],
                   "outputs": [o.name for o in p.outputs]} for p in spec.parts],
        "weights": card["weights"], "weights_sha256": card["weights_sha256"],
        "training": {key: card.get(key) for key in ("recipe", "command", "seed", "steps", "wall_time_s", "device",
                                                    "created", "versions")},
        "metrics": card.get("metrics", {}),
        "rebuild": f"from digitzoo.hub.registry import get_spec; model = get_spec({name!r}).build(**config['kwargs'])",
    }


def _files_of_model(root: Path, name: str, entry: ModelEntry) -> list[RepoFile]:
    files = [RepoFile.from_disk(a.file, verified_path(root, a)) for a in entry.artifacts]
    if entry.demo_data is not None:
        files.append(RepoFile.from_disk(entry.demo_data.file, verified_path(root, entry.demo_data)))
    for extra in sorted((root / name).rglob("*")):  # test_data_set_0 folders and the snippets README
        rel = extra.relative_to(root).as_posix()
        if extra.is_file() and rel not in {f.path for f in files}:
            files.append(RepoFile.from_disk(rel, extra))
    folder = find_checkpoint(name)
    card = read_card(folder)
    weights = folder / card["weights"]
    if sha256_file(weights) != card["weights_sha256"]:
        raise DigitzooError(f"{weights} does not match the sha256 in its card: refusing to publish it")
    if entry.checkpoint.get("weights_sha256") not in (None, card["weights_sha256"]):
        raise DigitzooError(f"the exported {name} files were made from other weights than {folder}: "
                            f"run `digitzoo export {name}` again")
    files.append(RepoFile.from_disk(f"{name}/model.safetensors", weights))
    files.append(RepoFile.from_disk(f"{name}/{CARD_FILE}", folder / CARD_FILE))
    files.append(RepoFile.generated(f"{name}/config.json", _json_bytes(model_config(name, card))))
    return files


def model_repo_files(root: Path, repo_id: str, models: list[str] | None = None) -> list[RepoFile]:
    """Every file of the repository, README and manifest included, each with its sha256."""
    manifest = read_manifest(root)
    chosen = models or list(manifest.models)
    unknown = sorted(set(chosen) - set(manifest.models))
    if unknown:
        raise DigitzooError(f"not exported: {', '.join(unknown)} (exported: {', '.join(manifest.models)})")
    files: list[RepoFile] = []
    for name in chosen:
        files += _files_of_model(root, name, manifest.models[name])
    published = manifest.only(chosen)
    snippets = {name: _snippets(root / name / "README.md") for name in chosen}
    files.append(RepoFile.generated("README.md", model_card(repo_id, published, snippets).encode()))
    # The manifest lists every other file, so `digitzoo pull` can verify all of them.
    published = replace(published, repository={"repo_id": repo_id,
                                                "files": {f.path: {"sha256": f.sha256, "bytes": f.size} for f in files}})
    files.append(RepoFile.generated(MANIFEST_FILE, _json_bytes(published.to_json())))
    return sorted(files, key=lambda f: f.path)


def card_metadata(repo_id: str, manifest: Manifest) -> str:
    """The YAML front matter: library, license, tags, dataset, pipeline tag, metrics with values."""
    from huggingface_hub import EvalResult, ModelCardData

    results = []
    for name, entry in manifest.models.items():
        task_type, task_name = HUB_TASKS[entry.task]
        for key, metric_type, label in _headline_metrics(entry):
            if isinstance(entry.metrics.get(key), (int, float)):
                results.append(EvalResult(task_type=task_type, task_name=task_name, dataset_type=DATASET,
                                          dataset_name="MNIST", dataset_split="test", metric_type=metric_type,
                                          metric_value=round(float(entry.metrics[key]), 4),
                                          metric_name=f"{name}: {label}"))
    data = ModelCardData(library_name="digitzoo", license=LICENSE, tags=TAGS, datasets=[DATASET],
                         pipeline_tag="image-classification", model_name=repo_id.split("/")[-1],
                         metrics=sorted({r.metric_type for r in results}), eval_results=results)
    return data.to_yaml()


def _first_onnx(manifest: Manifest) -> str:
    return next(a.file for entry in manifest.models.values() for a in entry.artifacts if a.format == "onnx")


def _headline_metrics(entry: ModelEntry) -> list[tuple[str, str, str]]:
    judge = str(entry.metrics.get("judge", "the judge classifier")).split(" sha256")[0]
    return [(key, kind, label.format(judge=judge)) for key, kind, label in HEADLINE_METRICS[entry.task]]


def _metric_rows(entry: ModelEntry) -> list[str]:
    rows = []
    for key, _, label in _headline_metrics(entry):
        value = entry.metrics.get(key)
        if isinstance(value, (int, float)):
            rows.append(f"| {label} | {value:.4f} |")
    return rows


SNIPPETS_HEADING = "## Use a file on its own"


def _snippets(readme: Path) -> str:
    """The per-file snippets of a model's export README, headings demoted one level for the card."""
    if not readme.is_file() or SNIPPETS_HEADING not in readme.read_text(encoding="utf-8"):
        return ""
    section = readme.read_text(encoding="utf-8").split(SNIPPETS_HEADING, 1)[1]
    return "\n".join("#" + line if line.startswith("### ") else line for line in section.strip().splitlines())


def _count(manifest: Manifest) -> str:
    n = len(manifest.models)
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
    return words[n] if n < len(words) else str(n)


def model_card(repo_id: str, manifest: Manifest, snippets: dict[str, str] | None = None) -> str:
    """README.md of the model repository: metadata, then what / how trained / results / use / limits."""
    lines = ["---", card_metadata(repo_id, manifest).rstrip(), "---", "",
             f"# {repo_id.split('/')[-1]}: {_count(manifest)} small MNIST models, exported and verified", "",
             "## What it is", "",
             f"{_count(manifest).capitalize()} models trained on MNIST by digitzoo, each exported to "
             "ONNX, TorchScript and torch.export (.pt2). Every exported file was compared with eager PyTorch on "
             "1,000 test images before it was listed in `manifest.json`, which also records every file's sha256.", "",
             "| model | what it does | parameters |", "|---|---|---|"]
    for name, entry in manifest.models.items():
        lines.append(f"| `{name}` | {entry.title}: {entry.summary} | {entry.parameters:,} |")
    lines += ["", "## How it was trained", "",
              "| model | recipe | command | time | device |", "|---|---|---|---|---|"]
    for name, entry in manifest.models.items():
        ck, recipe = entry.checkpoint, entry.checkpoint.get("recipe", {})
        summary = ", ".join(f"{k} {recipe[k]}" for k in ("epochs", "batch_size", "lr", "augment") if k in recipe)
        lines.append(f"| `{name}` | {summary} | `{ck['command']}` | {ck['wall_time_s']:.0f} s | {ck['device']} |")
    lines += ["", "Weights are `NAME/model.safetensors`; `NAME/config.json` names the architecture, its "
              "arguments and the recipe (`get_spec(NAME).build(**config['kwargs'])` rebuilds it in digitzoo).",
              "", "## Evaluation results", "", "On the 10,000 MNIST test images.", ""]
    if leaderboard.classifiers(manifest):
        lines += ["The classifiers side by side (drawings: the test digits re-drawn as browser sketches; latency: "
                  "ONNX Runtime, CPU, 1 thread, batch 1, median of 200 calls):", "", leaderboard.markdown(manifest), ""]
    for name, entry in manifest.models.items():
        lines += [f"**{name}**", "", "| metric | value |", "|---|---|", *_metric_rows(entry), ""]
    lines += ["## How to use the files", "",
              "With digitzoo: `digitzoo pull " + repo_id + "` downloads this repository, checks every file "
              "against `manifest.json` and makes the models available to `digitzoo serve` and `digitzoo.hub.serving.runtime`.", "",
              "Each file also works on its own, with only onnxruntime or torch. The snippets name files inside "
              f"the model's folder; `hf_hub_download(\"{repo_id}\", \"{_first_onnx(manifest)}\")` returns the "
              "local path of one.", ""]
    for name in manifest.models:
        lines += [f"### {name}", "", (snippets or {}).get(name) or f"See [`{name}/README.md`]({name}/README.md).", ""]
    lines += ["## Limitations", "",
              "- Trained on MNIST only: centred, upright, single handwritten digits. Other kinds of images get "
              "confident but meaningless answers; the classifiers have no 'not a digit' class.",
              "- The demo's drawings are normalised like MNIST (crop, fit in 20x20, centre of mass); feed "
              "the models raw photos without that step and accuracy drops.",
              "- The GAN's Inception Score uses the zoo's classifier named in its metrics as the judge, calibrated "
              "by temperature scaling; the "
              "uncalibrated figures are in `manifest.json`. The figures are not comparable with ImageNet-based IS/FID.",
              "- The TorchScript and .pt2 files are pickle-based archives: load them only from a source you trust "
              "(their sha256 is in `manifest.json`). The ONNX files and the safetensors weights are not.", ""]
    return "\n".join(lines)
