"""The `digitzoo` command line: the one module of the core that dispatches to the stages.

Every stage (``digitzoo.train``, ``digitzoo.export``, ``digitzoo.apps``) is imported inside the
command that needs it, so ``digitzoo list`` or ``digitzoo pull`` start without torch or Gradio,
and a command that needs the training extra says so in one line when it is missing.
User errors (DigitzooError) print one line on stderr and exit with status 2, no traceback.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Optional

import typer

from digitzoo.hub.errors import DigitzooError

TRAIN_EXTRA = "pip install 'digitzoo[train]'"


def require_torch(what: str) -> None:
    """One line, not an ImportError traceback, when a command needs the training extra."""
    if importlib.util.find_spec("torch") is None:
        raise DigitzooError(f"{what} needs PyTorch, which is not installed here: {TRAIN_EXTRA}")


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="digitzoo: train, export and serve a zoo of MNIST models.")


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
    name: str = typer.Argument(..., help="model name"),
    as_json: bool = typer.Option(False, "--json", help="print the metrics as JSON"),
    data_dir: Optional[str] = typer.Option(None, help="MNIST root"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    limit_test: Optional[int] = typer.Option(None, help="first N test images only"),
    sketch_eval: int = typer.Option(10000, help="test digits re-drawn as sketches (0: skip)"),
    threads: Optional[int] = typer.Option(None, help="torch CPU threads"),
) -> None:
    """Recompute a checkpoint's metrics on the MNIST test set."""
    require_torch("digitzoo eval")
    import torch

    from digitzoo.hub.checkpoint import find_checkpoint, load_checkpoint
    from digitzoo.hub.registry import get_spec
    from digitzoo.train.evaluate import evaluate
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
    report = {"name": name, "checkpoint": str(folder), "weights_sha256": card["weights_sha256"],
              "metrics": results, "floors": floors}
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:30s} {value}")
        for metric, floor in floors.items():
            print(f"floor {metric} {floor['floor']}: {'ok' if floor['holds'] else 'NOT MET'}")


@app.command("export")
def export_(
    names: list[str] = typer.Argument(..., help="model names, or 'all'"),
    formats: str = typer.Option("onnx,torchscript,pt2", help="comma-separated: onnx, torchscript, pt2"),
    out_dir: Optional[str] = typer.Option(None, help="exports folder (default: $DIGITZOO_HOME/exports)"),
    data_dir: Optional[str] = typer.Option(None, help="MNIST root (test images for verification)"),
    threads: Optional[int] = typer.Option(None, help="torch CPU threads"),
) -> None:
    """Export checkpoints to verified ONNX / TorchScript / .pt2 files and update the manifest."""
    require_torch("digitzoo export")
    import torch

    from digitzoo.export.pipeline import export
    from digitzoo.hub import paths

    if threads:
        torch.set_num_threads(threads)
    root = Path(out_dir) if out_dir else paths.exports_dir()
    wanted = tuple(f.strip() for f in formats.split(",") if f.strip())
    export(names, root, wanted, data_dir, log=lambda msg: print(msg, file=sys.stderr))
    print(f"manifest: {root.resolve() / 'manifest.json'}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0 for all)"),
    port: int = typer.Option(7860, help="port"),
    backend: str = typer.Option("onnx", help="onnx | torchscript"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    tab: Optional[list[str]] = typer.Option(None, help="serve only these tabs: draw, latent, gan, models, playground"),
    mcp: bool = typer.Option(False, "--mcp", help="also serve classify, encode, decode and sample as MCP tools at "
                             "/gradio_api/mcp/ (needs digitzoo's mcp extra)"),
) -> None:
    """Start the Gradio demo hub on the exported models."""
    from digitzoo.apps.hub_app import TABS, require_mcp, serve as run_server

    if mcp:
        require_mcp()
    if backend not in ("onnx", "torchscript"):
        raise DigitzooError("--backend must be onnx or torchscript")
    if backend == "torchscript":
        require_torch("digitzoo serve --backend torchscript")
    unknown = set(tab or []) - set(TABS)
    if unknown:
        raise DigitzooError(f"unknown tab(s) {', '.join(sorted(unknown))}; choose from {', '.join(TABS)}")
    _check_port_free(host, port)
    run_server(host, port, backend, device, tab or None, mcp=mcp)


def _check_port_free(host: str, port: int) -> None:
    """One line naming the flag, before Gradio's own traceback about a port it cannot take."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a TIME_WAIT port is free
        try:
            probe.bind((host, port))
        except OSError:
            raise DigitzooError(f"port {port} on {host} is busy (another digitzoo serve?): "
                                f"choose another with --port, e.g. --port {port + 1}") from None


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="print the manifest as JSON"),
    table: bool = typer.Option(False, "--table", help="print the classifier leaderboard (accuracy, size, latency, training)"),
    markdown: bool = typer.Option(False, "--markdown", help="with --table: as a Markdown table"),
    readme: Optional[str] = typer.Option(None, help="with --table: rewrite the leaderboard block of this README"),
    exports: Optional[str] = typer.Option(None, help="exports folder (default: yours, else the shipped one)"),
) -> None:
    """The exported models: the manifest (files, sha256, shapes, metrics) that the apps serve."""
    from digitzoo.hub import leaderboard
    from digitzoo.hub.manifest import exports_root, read_manifest

    root = Path(exports) if exports else exports_root()
    manifest = read_manifest(root)
    if as_json:
        print(json.dumps({"root": str(root), **manifest}, indent=2))
        return
    if table:
        if readme:
            changed = leaderboard.update_readme(readme, manifest)
            print(f"{readme}: leaderboard block {'updated' if changed else 'already up to date'}", file=sys.stderr)
        print(leaderboard.markdown(manifest) if markdown else leaderboard.text(manifest))
        return
    print(f"exports in {root}")
    for name, entry in manifest["models"].items():
        for a in entry["artifacts"]:
            print(f"{name:18s} {a['part']:10s} {a['format']:12s} {a['file']:40s} {a['bytes']:>10,d}  {a['sha256'][:12]}")


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
    from digitzoo.hub.manifest import exports_root
    from digitzoo.hub.publish.hfclient import check_repo_id, push_files
    from digitzoo.hub.publish.model_repo import model_repo_files

    files = model_repo_files(exports_root(), check_repo_id(repo_id), model or None)
    push_files(repo_id, files, repo_type="model", private=private, revision=revision,
               message=f"digitzoo push: {', '.join(sorted({f.path.split('/')[0] for f in files if '/' in f.path}))}",
               dry_run=dry_run, out=print)


@app.command()
def pull(
    repo_id: str = typer.Argument(..., help="model repository pushed with `digitzoo push`"),
    revision: Optional[str] = typer.Option(None, help="branch, tag or commit (default main)"),
) -> None:
    """Download a pushed model repository, verify every file's sha256, and serve its models."""
    from digitzoo.hub.publish.hfclient import pull as run_pull

    run_pull(repo_id, revision, out=print)


space_app = typer.Typer(no_args_is_help=True, help="A ready-to-run Space: the Gradio demo hub, or (--static) the static site.")
app.add_typer(space_app, name="space")


@space_app.command("build")
def space_build(
    out_dir: str = typer.Argument(..., help="new folder to write the Space into"),
    hardware: str = typer.Option("cpu-basic", help="suggested Space hardware (cpu-basic, t4-small, a10g-small, ...)"),
    model_repo: Optional[str] = typer.Option(None, help="the model repository the Space's card links to"),
    playground: bool = typer.Option(False, help="include the Playground (its lessons train with CPU torch)"),
    static: bool = typer.Option(False, "--static", help="a static Space: the `digitzoo web build` site, models run in the browser"),
    vendor: bool = typer.Option(False, "--vendor", help="with --static: copy onnxruntime-web into the Space (needs `npm ci` in apps/web)"),
) -> None:
    """Write a self-contained Space folder: app.py, code, ONNX models, pinned requirements, README."""
    from digitzoo.hub.manifest import exports_root
    from digitzoo.hub.publish.space import build_space

    if static:
        folder = _build_static_space(out_dir, model_repo, vendor, playground)
        print(f"static Space written to {folder}; try it: python -m http.server -d {folder} 8000")
        return
    if vendor:
        raise DigitzooError("--vendor goes with --static (a Gradio Space runs its models with onnxruntime in Python)")
    if playground:
        require_torch("digitzoo space build --playground")
    folder = build_space(out_dir, exports_root(), hardware, model_repo, playground)
    print(f"Space written to {folder}; try it: cd {folder} && pip install -r requirements.txt && python app.py")


def _build_static_space(out_dir, model_repo: str | None, vendor: bool, playground: bool) -> Path:
    """The static site of `digitzoo web build` plus the README a static Space needs."""
    from digitzoo.apps.web_build import build_site
    from digitzoo.hub.manifest import exports_root
    from digitzoo.hub.publish.space import make_static_space

    if playground:
        raise DigitzooError("--playground needs a Gradio Space (its lessons train in Python): drop --static")
    return make_static_space(build_site(out_dir, exports_root(), vendor), model_repo)


@space_app.command("push")
def space_push(
    repo_id: str = typer.Argument(..., help="Space on the Hub, e.g. your-name/digitzoo"),
    folder: Optional[str] = typer.Option(None, "--dir", help="a folder from `digitzoo space build` (default: build one now)"),
    hardware: str = typer.Option("cpu-basic", help="Space hardware to request (cpu-basic, t4-small, ...)"),
    model_repo: Optional[str] = typer.Option(None, help="the model repository the Space's card links to"),
    private: bool = typer.Option(False, help="create the Space as private"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print what would be uploaded; no network"),
    static: bool = typer.Option(False, "--static", help="a static Space (`space build --static`): models run in the browser"),
    vendor: bool = typer.Option(False, "--vendor", help="with --static: copy onnxruntime-web into the Space"),
) -> None:
    """Create the Space if needed and upload the built folder in one commit."""
    import tempfile

    from digitzoo.hub.manifest import exports_root
    from digitzoo.hub.publish.hfclient import check_repo_id, folder_files, push_files
    from digitzoo.hub.publish.space import build_space

    check_repo_id(repo_id)
    entry_file = "index.html" if static else "app.py"
    with tempfile.TemporaryDirectory() as tmp:
        if folder is None and static:
            built = _build_static_space(Path(tmp) / "space", model_repo, vendor, playground=False)
        elif folder is None:
            built = build_space(Path(tmp) / "space", exports_root(), hardware, model_repo)
        else:
            built = Path(folder)
            if not (built / entry_file).is_file() or not (built / "README.md").is_file():
                raise DigitzooError(f"{built} is not a {'static ' if static else ''}Space folder from "
                                    f"`digitzoo space build{' --static' if static else ''}` (no {entry_file}/README.md)")
        push_files(repo_id, folder_files(built), repo_type="space", private=private, revision=None,
                   message="digitzoo space push", dry_run=dry_run, out=print,
                   space_hardware=None if static else hardware, space_sdk="static" if static else "gradio")


web_app = typer.Typer(no_args_is_help=True, help="A static site: the models run in the visitor's browser.")
app.add_typer(web_app, name="web")


@web_app.command("build")
def web_build(
    out_dir: str = typer.Argument(..., help="new folder to write the site into"),
    vendor: bool = typer.Option(False, "--vendor", help="copy onnxruntime-web into the site (needs `npm ci` in apps/web) "
                                "instead of loading it from its pinned CDN URL"),
) -> None:
    """Write a static site (Draw, Latent space, GAN in the browser): page, verified ONNX files, models.json."""
    from digitzoo.apps.web_build import build_site
    from digitzoo.hub.manifest import exports_root

    folder = build_site(out_dir, exports_root(), vendor)
    print(f"site written to {folder}; try it: python -m http.server -d {folder} 8000  (then open http://127.0.0.1:8000/)")


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


@lesson_app.command("run")
def lesson_run(
    name: str = typer.Argument(..., help="lesson name (`digitzoo lesson list`)"),
    seed: int = typer.Option(0, help="seed: same seed and knobs, same run"),
    knob: Optional[list[str]] = typer.Option(None, help="a knob as NAME=VALUE, e.g. --knob lr=0.05 (repeatable)"),
    threads: int = typer.Option(1, help="torch CPU threads"),
    full: bool = typer.Option(False, help="train the whole step budget instead of stopping at the target"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Train one lesson headless (the code path the Playground streams); exit 1 if it missed its target."""
    require_torch("digitzoo lesson")
    from digitzoo.hub.lessons.run import run_headless

    knobs = {}
    for item in knob or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise DigitzooError(f"--knob takes NAME=VALUE, not {item!r}")
        knobs[key.strip()] = value.strip()
    summary = run_headless(name, seed, knobs, threads=threads, stop_when_reached=not full)
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{name}: {summary['message']} (status {summary['status']}, {summary['steps']} steps, {summary['seconds']:.2f} s)")
        print(f"target: {summary['target']}: {'reached' if summary['reached'] else 'NOT reached'}")
        for key, value in summary["result"].items():
            print(f"  {key:24s} {value:.6g}")
    if not summary["reached"]:
        raise typer.Exit(1)


bench_app = typer.Typer(help="Benchmarks that print measured figures. Without a subcommand: all of them, "
                        "written to docs/BENCHMARKS.md.")
app.add_typer(bench_app, name="bench")


@bench_app.callback(invoke_without_command=True)
def bench_all(
    ctx: typer.Context,
    threads: int = typer.Option(2, help="torch and ONNX Runtime threads (pinned)"),
    quick: bool = typer.Option(False, help="few repetitions and no time-to-99% run: a smoke test, rough figures"),
    skip: Optional[list[str]] = typer.Option(None, help="leave out a section: training, inference, serving"),
    docs: str = typer.Option("docs", help="folder for BENCHMARKS.md and its plots"),
    data_dir: Optional[str] = typer.Option(None, help="MNIST root"),
) -> None:
    """Run every benchmark, print the figures and write docs/BENCHMARKS.md with PNG plots."""
    if ctx.invoked_subcommand is not None:
        return
    require_torch("digitzoo bench")
    from digitzoo.hub.cli.benchmarks import SECTIONS, print_summary, run, write_report

    unknown = set(skip or []) - set(SECTIONS)
    if unknown:
        raise DigitzooError(f"--skip takes {', '.join(SECTIONS)}, not {', '.join(sorted(unknown))}")
    result = run(threads, quick, tuple(skip or ()), data_dir, log=lambda msg: print(msg, file=sys.stderr))
    print_summary(result)
    print(f"report: {write_report(result, Path(docs))}")


@bench_app.command("leaderboard")
def bench_leaderboard(
    exports: Optional[str] = typer.Option(None, help="exports folder whose manifest gets the figures "
                                                     "(default: yours, else the shipped one)"),
    model: Optional[list[str]] = typer.Option(None, help="only these classifiers (default: every one)"),
    runs: int = typer.Option(200, help="timed calls per model; the median is stored"),
) -> None:
    """Re-measure every classifier's batch-1 latency (ONNX Runtime, CPU, 1 thread) into the manifest."""
    from digitzoo.export.latency import measure_manifest
    from digitzoo.hub import leaderboard
    from digitzoo.hub.manifest import exports_root

    root = Path(exports) if exports else exports_root()
    manifest = measure_manifest(root, model or None, runs, log=lambda msg: print(msg, file=sys.stderr))
    print(leaderboard.text(manifest))


@bench_app.command("hostile")
def bench_hostile(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """The hub under hostile load (a decompression bomb through every pad path, a burst of large
    drawings, 2,000 half-open connections, a Playground crowd, concurrent lesson exports), each
    figure beside its goal."""
    from digitzoo.apps import hostile_bench

    result = hostile_bench.run(log=lambda msg: print(msg, file=sys.stderr))
    print(hostile_bench.as_json(result) if as_json else hostile_bench.report(result))


@bench_app.command("not-digit")
def bench_not_digit(
    data_dir: Optional[str] = typer.Option(None, help="MNIST root"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """How often "not a digit" is said of digits and of letters, shapes, scribbles and taps: the shipped
    detector beside the CNN's confidence and the autoencoder's reconstruction error."""
    require_torch("digitzoo bench not-digit")  # MNIST is read through torchvision
    from digitzoo.train import not_digit_bench

    result = not_digit_bench.run(data_dir, log=lambda msg: print(msg, file=sys.stderr))
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        not_digit_bench.print_report(result)


@bench_app.command("fast-cnn")
def bench_fast_cnn(
    threads: int = typer.Option(2, help="torch CPU threads (pinned)"),
    repeats: int = typer.Option(3, help="runs of each recipe; medians are reported"),
    data_dir: Optional[str] = typer.Option(None, help="MNIST root"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Fast CNN recipe vs the classic tutorial recipe: training seconds and test accuracy."""
    require_torch("digitzoo bench fast-cnn")
    from digitzoo.train.bench import fast_cnn

    result = fast_cnn(threads, repeats, data_dir, log=lambda msg: print(msg, file=sys.stderr))
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(f"{'recipe':52s} {'train s (median)':>16s} {'test acc (median)':>18s} {'min':>7s}")
    for name, row in result.items():
        if isinstance(row, dict) and "runs" in row:
            print(f"{name:52s} {row['train_seconds_median']:16.1f} {row['test_accuracy_median']:18.4f} {row['test_accuracy_min']:7.4f}")
    print(f"speed-up of the fast recipe: {result['speedup_fast_vs_tutorial']:.2f}x; machine: {result['machine']}")


@bench_app.command("train-scaling")
def bench_train_scaling(
    model: Optional[str] = typer.Option(None, help="model to train (default: the first classifier)"),
    recipe: str = typer.Option("default", help="its recipe: global batch and augmentation"),
    nproc: str = typer.Option("1,2", help="comma-separated world sizes, each a torchrun --standalone run"),
    steps: int = typer.Option(30, help="timed steps per world size (after the warm-up)"),
    warmup: int = typer.Option(5, help="untimed steps first"),
    threads: int = typer.Option(1, help="torch CPU threads per rank"),
    data_dir: Optional[str] = typer.Option(None, help="MNIST root"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Images/s of real training steps at world size 1 and 2 (torchrun, gloo, DDP), their ratio, the machine."""
    require_torch("digitzoo bench train-scaling")
    from digitzoo.train.bench import train_scaling

    try:
        worlds = tuple(int(n) for n in nproc.split(","))
    except ValueError:
        raise DigitzooError(f"--nproc takes world sizes like 1,2, not {nproc!r}") from None
    result = train_scaling(model, recipe, worlds, steps, warmup, threads, data_dir, log=lambda msg: print(msg, file=sys.stderr))
    if as_json:
        print(json.dumps(result, indent=2))
        return
    base = worlds[0]
    print(f"{result['model']} --recipe {result['recipe']}: global batch {result['worlds'][str(base)]['global_batch']}, "
          f"{steps} timed steps, gloo, {threads} thread(s) per rank")
    print(f"{'world size':>10s} {'images/s':>9s} {'step ms (median)':>17s} {'vs ' + str(base):>7s}")
    for world, row in result["worlds"].items():
        print(f"{world:>10s} {row['images_per_s']:9.0f} {row['step_ms_median']:17.1f} "
              f"{result['speedup_vs_world_size_' + str(base)][world]:6.2f}x")
    m = result["machine"]
    print(f"machine: {m['cpus']} cores, load average {' '.join(f'{x:.2f}' for x in m['loadavg'])}")


@bench_app.command("serve")
def bench_serve(
    requests: int = typer.Option(200, help="timed requests per concurrency level"),
    clients: str = typer.Option("1,8", help="comma-separated numbers of concurrent clients"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """/classify over HTTP (p50/p99, requests/s, errors), start-up time, server memory, model-only latency."""
    from digitzoo.apps.bench import serve_latency

    try:
        levels = tuple(int(c) for c in clients.split(","))
    except ValueError:
        raise DigitzooError(f"--clients takes numbers like 1,8,32, not {clients!r}") from None
    result = serve_latency(requests, levels)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    start = result["startup"]
    print(f"digitzoo serve: page after {start['page_s']:.2f} s, first /classify answer after {start['first_classify_s']:.2f} s")
    print(f"{'clients':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'req/s':>7s} {'requests':>9s} {'errors':>7s}")
    for n, row in result["classify"].items():
        print(f"{n:8d} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f} {row['requests_per_s']:7.1f} {row['requests']:9d} {row['errors']:7d}"
              + (f"  {row['error_kinds']}" if row["errors"] else ""))
    up = result["classify_uploaded_1_client"]
    print(f"{'1, upload':>8s} {up['p50_ms']:8.1f} {up['p99_ms']:8.1f} {up['requests_per_s']:7.1f} {up['requests']:9d} {up['errors']:7d}"
          "  (PNG uploaded first instead of inline)")
    fresh = result["classify_new_session_each_call_1_client"]
    print(f"{'1, new':>8s} {fresh['p50_ms']:8.1f} {fresh['p99_ms']:8.1f} {fresh['requests_per_s']:7.1f} {fresh['requests']:9d} "
          f"{fresh['errors']:7d}  (no session_hash: a new Gradio session per call)")
    local = result["model_only"]
    print(f"in-process: PNG decode {local['png_decode_ms_p50']:.1f} ms + preprocess {local['preprocess_ms_p50']:.1f} ms"
          f" + CNN+LSTM {local['models_ms_p50']:.1f} ms (p50); HTTP p50 / in-process = {result['ratio_http_p50_to_model_only']:.1f}x")
    print(f"Gradio's own floor: an endpoint that only echoes its text answers in p50 {result['echo_endpoint_p50_ms']:.1f} ms"
          " over the same protocol")
    if result["gradio_client_p50_ms"] is not None:
        print(f"the same call through the gradio_client library: p50 {result['gradio_client_p50_ms']:.1f} ms (1 client)")
    mem = result["server_memory"]
    print(f"server memory: {mem['rss_mb']:.0f} MB resident, peak {mem['peak_rss_mb']:.0f} MB; machine: {result['machine']}")


@bench_app.command("browser")
def bench_browser(
    per_digit: int = typer.Option(5, help="drawings of each digit 0-9 (each drawn on both paths)"),
    first_runs: int = typer.Option(3, help="page loads timed to their first answer, per page"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
    out: Optional[Path] = typer.Option(None, help="also write the JSON here (docs/benchmarks/browser.json: "
                                                  "`digitzoo bench` puts it in docs/BENCHMARKS.md)"),
) -> None:
    """Chromium draws digits on the Draw tab: mouse-up to answer, in the page (wasm) and by the server; first answers."""
    from digitzoo.apps.browser_bench import browser_bench, print_report

    result = browser_bench(per_digit, first_runs, log=lambda msg: print(msg, file=sys.stderr))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print_report(result)


@bench_app.command("playground")
def bench_playground(
    learners: int = typer.Option(8, help="visitors who press Start at once"),
    stream_seconds: float = typer.Option(5.0, help="seconds of each lesson's stream to count updates over"),
    lesson: Optional[list[str]] = typer.Option(None, help="only these lessons (default: all)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Per lesson: seconds to its result and updates/s in the page; a crowd of learners; server memory."""
    require_torch("digitzoo bench playground")
    from digitzoo.apps.playground_bench import playground

    result = playground(learners, stream_seconds, lesson or None, log=lambda msg: print(msg, file=sys.stderr))
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(f"{'lesson':22s} {'result after s':>15s} {'steps':>7s} {'updates/s':>10s} {'first update s':>15s}")
    for name, row in result["lessons"].items():
        after = f"{row['seconds_to_result']:.2f}" if row["reached"] else "not reached"
        print(f"{name:22s} {after:>15s} {row['steps_to_result'] or '-':>7} {row['updates_per_s']:10.1f} "
              f"{row['first_update_s'] or float('nan'):15.2f}")
    rush, mem = result["crowd"], result["server_memory_mb"]
    print(f"{rush['learners']} learners at once ({rush['lesson']}): {rush['served']} served, {rush['busy']} told busy, "
          f"{rush['lost']} lost; slowest answer {rush['slowest_answer_s']:.1f} s")
    for outcome in {o for o in rush["outcomes"] if o not in ("served", "busy")}:
        print(f"  lost: {outcome}")
    again = result["second_crowd"]
    print(f"the same crowd again: {again['served']} served, {again['busy']} told busy, {again['lost']} lost")
    print(f"server memory: {mem['before']['rss_mb']:.0f} MB before, {mem['after']['rss_mb']:.0f} MB after the crowd, "
          f"{mem['after_second_crowd']['rss_mb']:.0f} MB after the second; machine: {result['machine']}")


@bench_app.command("serve-reliability")
def bench_serve_reliability(
    seconds: float = typer.Option(60, help="length of the load test"),
    clients: int = typer.Option(32, help="concurrent clients in the load test"),
    memory_requests: int = typer.Option(10000, help="requests of the memory check (after a warm-up)"),
    burst: int = typer.Option(200, help="clients that join at once in the overload check (queue holds 64)"),
    out: Optional[str] = typer.Option(None, help="also write the figures as JSON here"),
) -> None:
    """Load, overload and memory checks against a real server; exits 1 when one fails."""
    from digitzoo.apps.bench import reliability

    result = reliability(seconds, clients, memory_requests, burst, log=print)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=2))
    for check, ok in result["checks"].items():
        print(f"{'PASS' if ok else 'FAIL'}  {check}")
    if not result["passed"]:
        raise typer.Exit(1)


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
