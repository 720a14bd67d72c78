"""Model cards and downloads: only files listed in the manifest (and matching it) are offered."""

from __future__ import annotations

import gradio as gr

from digitzoo.apps import pages, parts
from digitzoo.hub.serving import leaderboard
from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.files import sha256_file
from digitzoo.hub.serving.manifest import exports_root, read_manifest, verified_path


# How each metric reads on the card, in this order: (label, unit, digits); a metric not listed
# comes after them, its key in words.
METRIC_FORMATS = {
    "test_accuracy": ("accuracy", "%", 2), "test_loss": ("cross-entropy", "", 4),
    "sketch_accuracy": ("accuracy on re-drawn digits", "%", 2), "test_mse": ("reconstruction MSE per pixel", "", 4),
    "class_accuracy": ("samples read as the asked digit", "%", 2), "inception_score": ("Inception Score", "", 2),
    "fid_cnn_features": ("Frechet distance (CNN features)", "", 3),
    "inception_score_real_test": ("Inception Score of the real test digits", "", 2),
    "fid_cnn_features_real_halves": ("Frechet distance between halves of the real digits", "", 3),
    "inception_score_uncalibrated": ("Inception Score, uncalibrated judge", "", 2),
    "inception_score_real_test_uncalibrated": ("Inception Score of the real digits, uncalibrated", "", 2),
    "judge_temperature": ("judge's calibration temperature", "", 3),
    "test_images": ("test images scored", "", 0), "sketch_count": ("re-drawn digits scored", "", 0),
    "samples": ("samples drawn", "", 0),
}


def duration(seconds: float) -> str:
    """1010.4 -> '16 min 50 s'; 42.0 -> '42 s'."""
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def metric_rows(metrics: dict) -> list[str]:
    rows = []
    known = [k for k in METRIC_FORMATS if k in metrics]
    for key, value in ((k, metrics[k]) for k in [*known, *(k for k in metrics if k not in METRIC_FORMATS)]):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        label, unit, digits = METRIC_FORMATS.get(key, (key.replace("_", " "), "", 4))
        shown = f"{100 * value:.{digits}f}" if unit == "%" else (f"{value:,}" if isinstance(value, int) else f"{value:.{digits}f}")
        rows.append(f"| {label} | {shown}{' %' if unit == '%' else ''} |")
    return rows


def card_markdown(name: str, entry: dict) -> str:
    """The card: what it is, how it was trained, its metrics as a table with units, its files."""
    ck = entry.checkpoint
    lines = [f"### {name}: {entry.title}", entry.summary, "",
             f"{entry.parameters:,} parameters. Trained with `{ck['command']}` in {duration(ck['wall_time_s'])} "
             f"on {ck['device']}.", "", "| metric | value |", "|---|---:|",
             *metric_rows(entry.metrics), "",
             "| file | size | format | part | sha256 |", "|---|---:|---|---|---|"]
    for a in entry.artifacts:
        # 12 hex digits tell files apart on screen; the full sums are in the folded box below, to copy.
        # The size next to the name: on a phone the table scrolls sideways, and these two come first.
        lines.append(f"| `{a.file.split('/')[-1]}` | {a.bytes / 1e6:.2f} MB | {a.format} | {a.part} | "
                     f"`{a.sha256[:12]}…` |")
    return "\n".join(lines)


def checksums(entry: dict) -> str:
    """`sha256sum -c` format: one line per file, for the copy button."""
    return "\n".join(f"{a.sha256}  {a.file.split('/')[-1]}" for a in entry.artifacts)


def refuse_unless_served_copy_matches(button: gr.DownloadButton, item: dict) -> None:
    """Gradio serves a download from the copy it made in its cache when the button was built, reading
    the exports file by path again after ``verified_path`` checked it: the copy's sha256 is checked too,
    so a file swapped (or replaced by a link) between the check and the copy is never offered. Later
    changes to the exports folder do not reach visitors: the checked copy is what they get."""
    copy = button.value["path"]
    if sha256_file(copy) != item.sha256:
        raise DigitzooError(f"{item.file} changed while it was being offered for download: refusing to serve it")


def build(app: gr.Blocks) -> None:
    """Add the tab's components and events to ``app`` (inside its context)."""
    root = parts.SETTINGS["root"] or exports_root()
    manifest = read_manifest(root)
    gr.Markdown("### Classifier leaderboard\nEvery classifier in the manifest: accuracy on the 10,000 MNIST test "
                "images and on the same digits re-drawn as browser sketches, size, batch-1 latency (ONNX Runtime, "
                "CPU, 1 thread, median of 200 calls) and training. Click a column header to sort.")
    shown = leaderboard.with_local_latency(manifest)  # latency re-measured on this machine, where it was
    gr.Dataframe(value=leaderboard.table(shown), headers=leaderboard.headers(), datatype=leaderboard.datatypes(),
                 interactive=False, elem_id="leaderboard", label="Leaderboard")
    gr.Markdown("### Your model")
    pages.component("yours")  # the static site's "Your model" page: checked, scored and ranked in the browser
    gr.Markdown("Every file below was checked against eager PyTorch before it entered the manifest; "
                "downloads are verified against their sha256 first.")
    for name, entry in manifest.models.items():
        with gr.Accordion(f"{name}: {entry.title}", open=bool((entry.demo or {}).get("featured"))):
            gr.Markdown(card_markdown(name, entry), elem_classes=["model-card"])
            # The full sums are for copying, not reading: folded away until asked for.
            with gr.Accordion("Full sha256 of every file, to copy", open=False):
                gr.Textbox(checksums(entry), label="sha256sum -c format", lines=len(entry.artifacts),
                           max_lines=len(entry.artifacts), interactive=False, buttons=["copy"],
                           elem_classes=["checksums"])
            with gr.Row():
                for a in entry.artifacts:
                    button = gr.DownloadButton(f"⬇ {a.file.split('/')[-1]}", value=str(verified_path(root, a)), size="sm")
                    refuse_unless_served_copy_matches(button, a)
            readme = (root / name / "README.md")
            if readme.is_file():
                with gr.Accordion("How to use the files", open=False):
                    gr.Markdown(readme.read_text(encoding="utf-8").split("## Use a file on its own", 1)[-1])
