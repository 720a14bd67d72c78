"""Model cards and downloads: only files listed in the manifest (and matching it) are offered."""

from __future__ import annotations

import gradio as gr

from digitzoo.apps import parts
from digitzoo.hub import leaderboard
from digitzoo.hub.manifest import exports_root, read_manifest, verified_path


def card_markdown(name: str, entry: dict) -> str:
    metrics = ", ".join(f"{k} **{v:.4f}**" if isinstance(v, float) else f"{k} {v}"
                        for k, v in entry["metrics"].items() if not isinstance(v, list))
    ck = entry["checkpoint"]
    lines = [f"### {name}: {entry['title']}", entry["summary"], "",
             f"{entry['parameters']:,} parameters. Trained with `{ck['command']}` in {ck['wall_time_s']} s on {ck['device']}.",
             "", f"Metrics on the 10,000 MNIST test images: {metrics}", "",
             "| file | part | format | size | sha256 |", "|---|---|---|---|---|"]
    for a in entry["artifacts"]:
        lines.append(f"| `{a['file'].split('/')[-1]}` | {a['part']} | {a['format']} | {a['bytes'] / 1e6:.2f} MB | `{a['sha256']}` |")
    return "\n".join(lines)


def build(app: gr.Blocks) -> None:
    """Add the tab's components and events to ``app`` (inside its context)."""
    root = parts.SETTINGS["root"] or exports_root()
    manifest = read_manifest(root)
    gr.Markdown("### Classifier leaderboard\nEvery classifier in the manifest: accuracy on the 10,000 MNIST test "
                "images and on the same digits re-drawn as browser sketches, size, batch-1 latency (ONNX Runtime, "
                "CPU, 1 thread, median of 200 calls) and training. Click a column header to sort.")
    gr.Dataframe(value=leaderboard.table(manifest), headers=leaderboard.headers(), datatype=leaderboard.datatypes(),
                 interactive=False, elem_id="leaderboard", label="Leaderboard")
    gr.Markdown("Every file below was checked against eager PyTorch before it entered the manifest; "
                "downloads are verified against their sha256 first.")
    for name, entry in manifest["models"].items():
        with gr.Accordion(f"{name}: {entry['title']}", open=bool((entry.get("demo") or {}).get("featured"))):
            gr.Markdown(card_markdown(name, entry))
            with gr.Row():
                for a in entry["artifacts"]:
                    gr.DownloadButton(f"⬇ {a['file'].split('/')[-1]}", value=str(verified_path(root, a)), size="sm")
            readme = (root / name / "README.md")
            if readme.is_file():
                with gr.Accordion("How to use the files", open=False):
                    gr.Markdown(readme.read_text(encoding="utf-8").split("## Use a file on its own", 1)[-1])
