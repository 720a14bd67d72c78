"""The `digitzoo` command line: train, eval, list (more commands join as they are built).

User errors (DigitzooError) print one line on stderr and exit with status 2, no traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from hub.errors import DigitzooError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="digitzoo: train, export and serve four MNIST models.")


@app.command()
def train(
    name: str = typer.Argument(..., help="model name, e.g. mnist_cnn"),
    recipe: str = typer.Option("default", help="recipe in the model file (mnist_cnn also has 'fast')"),
    epochs: Optional[int] = typer.Option(None, help="override the recipe's epochs"),
    batch_size: Optional[int] = typer.Option(None, help="override the recipe's batch size"),
    lr: Optional[float] = typer.Option(None, help="override the recipe's peak learning rate"),
    weight_decay: Optional[float] = typer.Option(None, help="override the recipe's weight decay"),
    augment: Optional[str] = typer.Option(None, help="none | sketch"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    seed: int = typer.Option(0, help="seed: same seed, same weights on CPU"),
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
) -> None:
    """Train a model and write its checkpoint (safetensors + card.json)."""
    from train.loop import TrainConfig, train as run_training

    config = TrainConfig(**{k: v for k, v in locals().items() if k != "run_training" and k != "TrainConfig"})
    card = run_training(config, log=lambda msg: print(msg, file=sys.stderr))
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
    import torch

    from hub.checkpoint import find_checkpoint, load_checkpoint
    from hub.registry import get_spec
    from train.evaluate import evaluate
    from train.loop import resolve_device

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


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="print as JSON")) -> None:
    """The registered models and their checkpoints."""
    from hub.checkpoint import find_checkpoint, read_card
    from hub.registry import get_spec, list_models, spec_summary

    rows = []
    for name in list_models():
        row = spec_summary(get_spec(name))
        try:
            folder = find_checkpoint(name)
            card = read_card(folder)
            row["checkpoint"] = {"folder": str(folder), "weights_sha256": card["weights_sha256"],
                                 "metrics": card["metrics"], "device": card["device"],
                                 "wall_time_s": card["wall_time_s"]}
        except DigitzooError as exc:
            row["checkpoint"] = {"error": str(exc)}
        rows.append(row)
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            ck = row["checkpoint"]
            print(f"{row['name']:12s} {row['task']:12s} {ck.get('folder', ck.get('error'))}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `digitzoo` console script."""
    try:
        app(args=argv, standalone_mode=False)
    except DigitzooError as exc:
        print(f"digitzoo: error: {exc}", file=sys.stderr)
        return 2
    except (typer.Exit, SystemExit) as exc:
        return int(getattr(exc, "exit_code", getattr(exc, "code", 0)) or 0)
    except KeyboardInterrupt:
        print("digitzoo: interrupted (an unfinished training run continues with --resume)", file=sys.stderr)
        return 130
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
