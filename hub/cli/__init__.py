"""The `digitzoo` command line: the one module of the core that dispatches to the stages.

Every stage (``digitzoo.train``, ``digitzoo.export``, ``digitzoo.apps``) is imported inside the
command that needs it, so ``digitzoo list`` or ``digitzoo pull`` start without torch or Gradio,
and a command that needs the training extra says so in one line when it is missing.
User errors (DigitzooError) print one line on stderr and exit with status 2, no traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from digitzoo.hub.errors import DigitzooError

from digitzoo.hub.cli.bench import bench_app
from digitzoo.hub.cli.common import TRAIN_EXTRA, require_torch  # noqa: F401 (TRAIN_EXTRA: as before)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="digitzoo: train, export and serve a zoo of MNIST models.")
app.add_typer(bench_app, name="bench")


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
