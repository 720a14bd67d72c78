"""The `digitzoo` command line: the one module of the core that dispatches to the stages.

Every stage (``digitzoo.train``, ``digitzoo.export``, ``digitzoo.apps``) is imported inside the
command that needs it, so ``digitzoo list`` or ``digitzoo pull`` start without torch or Gradio,
and a command that needs the training extra says so in one line when it is missing.
User errors (DigitzooError) print one line on stderr and exit with status 2, no traceback.
The commands dispatch and print; what they print is formatted by the modules that compute it.
`digitzoo explain` reads a picture through the apps' one explanation (``digitzoo.apps.explaining``).
Groups of their own: `digitzoo bench ...` (``digitzoo.cli.bench``), `digitzoo space ...` and
`digitzoo web ...` (``digitzoo.cli.sites``), `digitzoo classroom ...` (``digitzoo.cli.classroom``, which
also holds what `digitzoo push-dataset` runs).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.serving.explain import DEFAULT_METHOD, METHODS

from digitzoo.cli.bench import bench_app
from digitzoo.cli.classroom import classroom_app
from digitzoo.cli.common import TRAIN_EXTRA, check_port_free, require_torch  # noqa: F401 (TRAIN_EXTRA: as before)
from digitzoo.cli.sites import space_app, web_app

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="digitzoo: train, export and serve a zoo of MNIST models.")
app.add_typer(bench_app, name="bench")
app.add_typer(space_app, name="space")
app.add_typer(web_app, name="web")
app.add_typer(classroom_app, name="classroom")


@app.command()
def train(
    name: str = typer.Argument(..., help="model name (`digitzoo list` shows the exported ones)"),
    recipe: str = typer.Option("default", help="recipe in the model file: default, or another it names (such as 'fast')"),
    epochs: Optional[int] = typer.Option(None, help="override the recipe's epochs"),
    batch_size: Optional[int] = typer.Option(None, help="override the recipe's batch size"),
    lr: Optional[float] = typer.Option(None, help="override the recipe's peak learning rate"),
    weight_decay: Optional[float] = typer.Option(None, help="override the recipe's weight decay"),
    augment: Optional[str] = typer.Option(None, help="none | sketch | sketch+pen"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    seed: int = typer.Option(0, help="seed: same seed and --threads, same weights on CPU"),
    threads: Optional[int] = typer.Option(None, help="torch CPU threads"),
    data_dir: Optional[str] = typer.Option(None, help="MNIST root (default: $DIGITZOO_DATA or the store)"),
    out_dir: Optional[str] = typer.Option(None, help="checkpoint folder (default: the store)"),
    checkpoint_every: int = typer.Option(200, help="save a resumable state every N steps"),
    resume: bool = typer.Option(False, help="continue the unfinished run in the checkpoint folder"),
    fresh: bool = typer.Option(False, help="discard an unfinished run and start over"),
    dry_run: bool = typer.Option(False, help="two batches, small evaluation, writes to <store>/dry-run"),
    limit_train: Optional[int] = typer.Option(None, help="train on the first N images only"),
    limit_test: Optional[int] = typer.Option(None, help="evaluate on the first N test images only"),
    sketch_eval: int = typer.Option(10000, help="test digits re-drawn as sketches to evaluate on (0: skip)"),
    stop_after: Optional[int] = typer.Option(None, hidden=True),
    nproc_per_node: Optional[int] = typer.Option(None, help="train in N processes on this node under torchrun (DDP; "
                                                 "gloo on CPU, nccl with one GPU per process)"),
    nnodes: str = typer.Option("1", help="with --nproc-per-node: number of nodes (torchrun's --nnodes)"),
    rdzv_endpoint: Optional[str] = typer.Option(None, help="with --nnodes > 1: HOST:PORT of the rendezvous, same on every node"),
) -> None:
    """Train a model and write its checkpoint (safetensors + card.json)."""
    require_torch("digitzoo train")
    launcher = {"nproc_per_node": nproc_per_node, "nnodes": nnodes, "rdzv_endpoint": rdzv_endpoint}
    from digitzoo.train.loop import TrainConfig, train as run_training

    config = TrainConfig(**{k: v for k, v in locals().items()
                            if k not in ("run_training", "TrainConfig", "launcher", *launcher)})
    if nproc_per_node is not None:
        from digitzoo.train.launch import launch

        status = launch(config, nproc_per_node, nnodes, rdzv_endpoint)
        if status:
            print(f"digitzoo: training failed under torchrun (exit status {status}); "
                  "`--resume` with the same flags continues from the last saved step", file=sys.stderr)
            raise typer.Exit(status if status > 0 else 1)
        return
    if nnodes != "1" or rdzv_endpoint:
        raise DigitzooError("--nnodes and --rdzv-endpoint go with --nproc-per-node")
    card = run_training(config, log=lambda msg: print(msg, file=sys.stderr))
    if card is not None:  # None on the ranks other than 0 under torchrun
        print(json.dumps({"name": card["name"], "metrics": card["metrics"], "wall_time_s": card["wall_time_s"]}))


@app.command("eval")
def eval_(
    name: Optional[str] = typer.Argument(None, help="model name (or --onnx FILE)"),
    onnx_file: Optional[str] = typer.Option(None, "--onnx", help="score your own MNIST classifier (one .onnx file) on "
                                            "the shipped test digits, as the page does; needs no torch"),
    as_json: bool = typer.Option(False, "--json", help="print the metrics as JSON"),
    drawings: Optional[str] = typer.Option(None, "--drawings", help="score on a classroom data set (a folder from "
                                           "`digitzoo classroom export`) instead: the exported model, or --onnx FILE; "
                                           "needs no torch"),
    data_dir: Optional[str] = typer.Option(None, help="MNIST root"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    limit_test: Optional[int] = typer.Option(None, help="first N test images only"),
    sketch_eval: int = typer.Option(10000, help="test digits re-drawn as sketches (0: skip)"),
    threads: Optional[int] = typer.Option(None, help="torch CPU threads"),
) -> None:
    """Recompute a checkpoint's metrics on the MNIST test set, or score your own ONNX classifier (--onnx);
    --drawings DIR: score either on what a class drew."""
    if drawings is not None:
        from digitzoo.hub.classroom.dataset import evaluate_drawings, report as drawings_report

        evaluation = evaluate_drawings(drawings, name, onnx_file, threads=threads or 1)
        print(json.dumps(evaluation, indent=2) if as_json else drawings_report(evaluation))
        return
    if onnx_file is not None:
        if name is not None:
            raise DigitzooError("give a model name or --onnx FILE, not both")
        from digitzoo.hub.serving import own_model

        evaluation = own_model.evaluate_onnx(onnx_file, threads=threads or 1)
        print(json.dumps(evaluation, indent=2) if as_json else own_model.report(evaluation))
        return
    if name is None:
        raise DigitzooError("which model? `digitzoo eval NAME` (see `digitzoo list`) or `digitzoo eval --onnx FILE`")
    require_torch("digitzoo eval")
    from digitzoo.train.evaluate import evaluate_checkpoint, report

    evaluation = evaluate_checkpoint(name, device, data_dir, limit_test, sketch_eval, threads)
    print(json.dumps(evaluation, indent=2) if as_json else report(evaluation))


@app.command()
def explain(
    name: str = typer.Argument(..., help="a classifier with an exported explainer (`digitzoo list`: its 'explain' part)"),
    image: Path = typer.Argument(..., help="a picture of one digit: PNG, JPEG or WebP, any size, dark on light or light on dark"),
    method: str = typer.Option(DEFAULT_METHOD, help=f"how the map is made: {' | '.join(METHODS)}"),
    target: Optional[int] = typer.Option(None, help="the digit (0-9) to explain: why this one? (default: the model's answer)"),
    out: Optional[Path] = typer.Option(None, help="write the map as a PNG here (red pushed the score up, blue down)"),
    as_json: bool = typer.Option(False, "--json", help="print the map (28x28, row by row), probabilities and verdict as JSON"),
) -> None:
    """Why this digit? Which ink of IMAGE pushed a model toward its answer (or toward --target), from its exported files."""
    from digitzoo.apps.explaining import explain_file
    from digitzoo.hub.serving.files import atomic_write

    explanation = explain_file(image, name, method, target)
    if out is not None:
        atomic_write(out, lambda tmp: Path(tmp).write_bytes(explanation.png()))
    print(json.dumps(explanation.to_json(png=False), indent=2) if as_json else explanation.report(out))


@app.command("export")
def export_(
    names: list[str] = typer.Argument(..., help="model names, or 'all'"),
    formats: str = typer.Option("onnx,torchscript,pt2", help="comma-separated: onnx, torchscript, pt2"),
    parts: Optional[str] = typer.Option(None, help="comma-separated part names to export (e.g. explain); the "
                                        "others' files stay as the manifest lists them"),
    out_dir: Optional[str] = typer.Option(None, help="exports folder (default: $DIGITZOO_HOME/exports)"),
    data_dir: Optional[str] = typer.Option(None, help="MNIST root (test images for verification)"),
    threads: Optional[int] = typer.Option(None, help="torch CPU threads"),
) -> None:
    """Export checkpoints to verified ONNX / TorchScript / .pt2 files and update the manifest."""
    require_torch("digitzoo export")
    import torch

    from digitzoo.export.pipeline import export
    from digitzoo.hub.serving import paths

    if threads:
        torch.set_num_threads(threads)
    root = Path(out_dir) if out_dir else paths.exports_dir()
    wanted = tuple(f.strip() for f in formats.split(",") if f.strip())
    only = tuple(p.strip() for p in parts.split(",") if p.strip()) if parts else None
    export(names, root, wanted, data_dir, log=lambda msg: print(msg, file=sys.stderr), parts=only)
    print(f"manifest: {root.resolve() / 'manifest.json'}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0 for all)"),
    port: int = typer.Option(7860, help="port"),
    backend: str = typer.Option("onnx", help="onnx | torchscript"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    tab: Optional[list[str]] = typer.Option(None, help="serve only these tabs: draw, latent, gan, models, playground"),
    mcp: bool = typer.Option(False, "--mcp", help="also serve classify, explain, encode, decode and sample as MCP tools at "
                             "/gradio_api/mcp/ (needs digitzoo's mcp extra)"),
    db: Optional[str] = typer.Option(None, help="the classroom's database: a SQLite file in the store by default, or "
                                     "postgresql://USER:PASSWORD@HOST/DB for several server processes"),
    classroom_hours: float = typer.Option(4.0, help="a classroom session's drawings are deleted this long after it "
                                          "starts, unless the teacher exports them"),
) -> None:
    """Start the Gradio demo hub on the exported models (and the classroom, at /digitzoo/classroom/)."""
    from digitzoo.apps.gradio_app import TABS, require_mcp, serve as run_server

    if mcp:
        require_mcp()
    if backend not in ("onnx", "torchscript"):
        raise DigitzooError("--backend must be onnx or torchscript")
    if backend == "torchscript":
        require_torch("digitzoo serve --backend torchscript")
    unknown = set(tab or []) - set(TABS)
    if unknown:
        raise DigitzooError(f"unknown tab(s) {', '.join(sorted(unknown))}; choose from {', '.join(TABS)}")
    check_port_free(host, port)
    run_server(host, port, backend, device, tab or None, mcp=mcp, classroom_db=db, classroom_hours=classroom_hours)


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="print the manifest as JSON"),
    table: bool = typer.Option(False, "--table", help="print the classifier leaderboard (accuracy, size, latency, training)"),
    markdown: bool = typer.Option(False, "--markdown", help="with --table: as a Markdown table"),
    readme: Optional[str] = typer.Option(None, help="with --table: rewrite the leaderboard block of this README"),
    exports: Optional[str] = typer.Option(None, help="exports folder (default: yours, else the shipped one)"),
    with_file: Optional[list[str]] = typer.Option(None, "--with", help="with --table: rank your own ONNX classifier too "
                                                  "(scored now, as `digitzoo eval --onnx`; repeatable)"),
) -> None:
    """The exported models: the manifest (files, sha256, shapes, metrics) that the apps serve."""
    from digitzoo.hub.serving import leaderboard
    from digitzoo.hub.serving.manifest import exports_root, read_manifest

    root = Path(exports) if exports else exports_root()
    manifest = read_manifest(root)
    if as_json:
        print(json.dumps({"root": str(root), **manifest.to_json()}, indent=2))
        return
    if table:
        if readme:  # the README shows the shipped figures, not this machine's
            changed = leaderboard.update_readme(readme, manifest)
            print(f"{readme}: leaderboard block {'updated' if changed else 'already up to date'}", file=sys.stderr)
            print(leaderboard.markdown(manifest) if markdown else leaderboard.text(manifest))
            return
        manifest = leaderboard.with_local_latency(manifest)  # latency re-measured here (`digitzoo bench leaderboard`)
        yours = []
        if with_file:
            from digitzoo.hub.serving.own_model import evaluate_onnx

            yours = [leaderboard.own_row(evaluate_onnx(path)) for path in with_file]
        print(leaderboard.markdown(manifest, yours) if markdown else leaderboard.text(manifest, yours))
        return
    if with_file:
        raise DigitzooError("--with ranks a file in the leaderboard: use it with --table")
    print(f"exports in {root}")
    for name, entry in manifest.models.items():
        for a in entry.artifacts:
            print(f"{name:18s} {a.part:10s} {a.format:12s} {a.file:40s} {a.bytes:>10,d}  {a.sha256[:12]}")


@app.command()
def push(
    repo_id: str = typer.Argument(..., help="model repository on the Hub, e.g. your-name/digitzoo-mnist"),
    private: bool = typer.Option(False, help="create the repository as private"),
    revision: Optional[str] = typer.Option(None, help="branch to commit to (created if needed; default main)"),
    model: Optional[list[str]] = typer.Option(None, help="push only these models (default: every exported one)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print what would be uploaded; no network"),
) -> None:
    """Push weights, configs, exported files, manifest and a model card to a Hub model repository."""
    require_torch("digitzoo push")  # the model files (architecture, recipe) describe what is pushed
    from digitzoo.hub.serving.manifest import exports_root
    from digitzoo.hub.publish.hfclient import check_repo_id, push_files
    from digitzoo.hub.publish.model_repo import model_repo_files

    files = model_repo_files(exports_root(), check_repo_id(repo_id), model or None)
    push_files(repo_id, files, repo_type="model", private=private, revision=revision,
               message=f"digitzoo push: {', '.join(sorted({f.path.split('/')[0] for f in files if '/' in f.path}))}",
               dry_run=dry_run, out=print)


@app.command("push-dataset")
def push_dataset(
    folder: str = typer.Argument(..., help="a data set folder from `digitzoo classroom export` (or the teacher's export zip, unpacked)"),
    repo_id: str = typer.Argument(..., help="dataset repository on the Hub, e.g. your-name/class-digits"),
    private: bool = typer.Option(False, help="create the repository as private"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print what would be uploaded; no network"),
) -> None:
    """Publish a classroom data set (drawings, images, npz, dataset card) as a Hub dataset repository."""
    from digitzoo.cli.classroom import push_dataset as run_push

    run_push(folder, repo_id, private=private, dry_run=dry_run, out=print)


@app.command()
def pull(
    repo_id: str = typer.Argument(..., help="model repository pushed with `digitzoo push`"),
    revision: Optional[str] = typer.Option(None, help="branch, tag or commit (default main)"),
) -> None:
    """Download a pushed model repository, verify every file's sha256, and serve its models."""
    from digitzoo.hub.publish.hfclient import pull as run_pull

    run_pull(repo_id, revision, out=print)


lesson_app = typer.Typer(no_args_is_help=True, help="The Playground's lessons without a browser.")
app.add_typer(lesson_app, name="lesson")


@lesson_app.command("list")
def lesson_list(as_json: bool = typer.Option(False, "--json", help="print the lessons as JSON")) -> None:
    """The lessons: name, group, what the learner sees, the target and the knobs."""
    require_torch("digitzoo lesson")
    from digitzoo.hub.lessons.lesson import get_lesson, list_lessons

    described = [get_lesson(name).describe() for name in list_lessons()]
    if as_json:
        print(json.dumps(described, indent=2))
        return
    for d in described:
        knobs = ", ".join(k["name"] for k in d["knobs"]) or "-"
        print(f"{d['name']:20s} {d['group']:20s} {d['title']}  [knobs: {knobs}]")


def parse_knob_options(items: list[str] | None) -> dict[str, str]:
    """``--knob NAME=VALUE`` options as a dict (the lesson checks the values)."""
    knobs = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise DigitzooError(f"--knob takes NAME=VALUE, not {item!r}")
        knobs[key.strip()] = value.strip()
    return knobs


def read_data_option(name: str, data: Optional[Path], label_column: Optional[str]):
    """The lesson's data from ``--data FILE.csv`` (checked with a sentence), or None for its own."""
    if data is None:
        if label_column is not None:
            raise DigitzooError("--label-column goes with --data FILE.csv")
        return None
    from digitzoo.hub.lessons.lesson import get_lesson
    from digitzoo.hub.lessons.user_data import read_table_file

    return read_table_file(data, get_lesson(name), label_column)


DATA_HELP = "your own data as CSV (regression: x,y; classification: x1,x2,label; multi_feature: numbers with a 0/1 label column)"


@lesson_app.command("run")
def lesson_run(
    name: str = typer.Argument(..., help="lesson name (`digitzoo lesson list`)"),
    seed: int = typer.Option(0, help="seed: same seed and knobs, same run"),
    knob: Optional[list[str]] = typer.Option(None, help="a knob as NAME=VALUE, e.g. --knob lr=0.05 (repeatable)"),
    threads: int = typer.Option(1, help="torch CPU threads"),
    full: bool = typer.Option(False, help="train the whole step budget instead of stopping at the target"),
    steps: Optional[int] = typer.Option(None, help="train exactly this many steps (what the Playground's page runs)"),
    data: Optional[Path] = typer.Option(None, help=DATA_HELP),
    label_column: Optional[str] = typer.Option(None, help="with --data: the column that holds the 0/1 label (multi_feature)"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Train one lesson headless (the code path the Playground streams); exit 1 if it missed its target."""
    require_torch("digitzoo lesson")
    from digitzoo.hub.lessons.run import run_headless

    knobs = parse_knob_options(knob)
    table = read_data_option(name, data, label_column)
    summary = run_headless(name, seed, knobs, threads=threads, stop_when_reached=not full, steps=steps, data=table)
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{name}: {summary['message']} (status {summary['status']}, {summary['steps']} steps, {summary['seconds']:.2f} s)")
        print(f"target: {summary['target']}: {'reached' if summary['reached'] else 'NOT reached'}")
        for key, value in summary["result"].items():
            print(f"  {key:24s} {value:.6g}")
    if not summary["reached"]:
        raise typer.Exit(1)


EXPORT_FORMATS = ("py", "ipynb")


@lesson_app.command("export")
def lesson_export(
    name: str = typer.Argument(..., help="lesson name (`digitzoo lesson list`)"),
    seed: int = typer.Option(0, help="seed: same seed and knobs, same run"),
    knob: Optional[list[str]] = typer.Option(None, help="a knob as NAME=VALUE, e.g. --knob lr=0.05 (repeatable)"),
    steps: Optional[int] = typer.Option(None, help="train exactly this many steps (default: until the target, as `lesson run`)"),
    data: Optional[Path] = typer.Option(None, help=DATA_HELP + "; the file carries it"),
    label_column: Optional[str] = typer.Option(None, help="with --data: the column that holds the 0/1 label (multi_feature)"),
    file_format: str = typer.Option("py", "--format", help="py: a Python script; ipynb: a Jupyter notebook"),
    out: Optional[Path] = typer.Option(None, help="the file to write (default: lesson_NAME.py or .ipynb here)"),
) -> None:
    """Write one lesson as a file to take home: torch and matplotlib, no digitzoo; it trains and plots the same run."""
    if file_format not in EXPORT_FORMATS:
        raise DigitzooError(f"--format takes {' or '.join(EXPORT_FORMATS)}, not {file_format!r}")
    require_torch("digitzoo lesson")
    from digitzoo.hub.lessons.export import lesson_notebook, lesson_script
    from digitzoo.hub.serving.files import atomic_write_text

    knobs = parse_knob_options(knob)
    table = read_data_option(name, data, label_column)
    write = lesson_script if file_format == "py" else lesson_notebook
    text = write(name, seed, knobs, steps, table)  # checks the knobs and steps before anything is written
    path = out or Path(f"lesson_{name}.{file_format}")
    atomic_write_text(path, text)
    print(path)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `digitzoo` console script."""
    try:
        # Without standalone mode click catches typer.Exit itself and returns its code.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int):
            return code
    except DigitzooError as exc:
        print(f"digitzoo: error: {exc}", file=sys.stderr)
        return 2
    except (typer.Exit, SystemExit) as exc:
        return int(getattr(exc, "exit_code", getattr(exc, "code", 0)) or 0)
    except KeyboardInterrupt:
        print("digitzoo: interrupted (an unfinished training run continues with --resume)", file=sys.stderr)
        return 130
    except Exception as exc:
        # Usage errors (unknown flag, missing argument) come from the click that typer vendors.
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
