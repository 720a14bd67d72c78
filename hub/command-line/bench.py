"""`digitzoo bench ...`: dispatch to the benchmarks and print what they return.

Each benchmark lives with what it measures (train/bench.py, train/not_digit_bench.py, export/bench.py,
export/latency.py, apps/bench.py, apps/browser_bench.py, apps/playground_bench.py, apps/hostile_bench.py,
apps/explain_bench.py),
returns a typed result (``digitzoo.hub.benchmarking.Result``: its ``to_json()`` is what ``--json``
prints) and owns its ``report(result) -> str``; what they share (the ``Machine`` record, a server on a
free port, its memory) is ``digitzoo.hub.benchmarking``. Every stage is imported inside its command, as in the
rest of the command line; `digitzoo bench` alone (every benchmark, docs/BENCHMARKS.md) is
``digitzoo.cli.benchmarks``.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Optional

import typer

from digitzoo.cli.common import log_to_stderr, require_torch
from digitzoo.hub.serving.errors import DigitzooError

bench_app = typer.Typer(help="Benchmarks that print measured figures. Without a subcommand: all of them, "
                        "written to docs/BENCHMARKS.md.")

JSON = typer.Option(False, "--json", help="print JSON")
DATA_DIR = typer.Option(None, help="MNIST root")


def show(result, report, as_json: bool, out: Optional[Path] = None) -> None:
    """The result's report, or its JSON; the JSON also written to ``out`` when given."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result.to_json(), indent=2) if as_json else report(result))


def needs_torch(name: str):
    """``@bench_app.command(name)`` for a benchmark that needs the training extra: without it, one line
    says what to install (``require_torch``) before the command imports its stage."""
    def register(command):
        @functools.wraps(command)
        def checked(*args, **kwargs):
            require_torch(f"digitzoo bench {name}")
            return command(*args, **kwargs)

        return bench_app.command(name)(checked)

    return register


def _numbers(text: str, option: str, example: str) -> tuple[int, ...]:
    try:
        return tuple(int(n) for n in text.split(","))
    except ValueError:
        raise DigitzooError(f"{option} takes {example}, not {text!r}") from None


@bench_app.callback(invoke_without_command=True)
def bench_all(
    ctx: typer.Context,
    threads: int = typer.Option(2, help="torch and ONNX Runtime threads (pinned)"),
    quick: bool = typer.Option(False, help="few repetitions and no time-to-99% run: a smoke test, rough figures"),
    skip: Optional[list[str]] = typer.Option(None, help="leave out a section: training, inference, serving"),
    docs: str = typer.Option("docs", help="folder for BENCHMARKS.md and its plots"),
    data_dir: Optional[str] = DATA_DIR,
) -> None:
    """Run every benchmark, print the figures and write docs/BENCHMARKS.md with PNG plots."""
    if ctx.invoked_subcommand is not None:
        return
    require_torch("digitzoo bench")
    from digitzoo.cli.benchmarks import SECTIONS, report, run, write_report

    unknown = set(skip or []) - set(SECTIONS)
    if unknown:
        raise DigitzooError(f"--skip takes {', '.join(SECTIONS)}, not {', '.join(sorted(unknown))}")
    result = run(threads, quick, tuple(skip or ()), data_dir, log=log_to_stderr)
    print(report(result))
    print(f"report: {write_report(result, Path(docs))}")


@bench_app.command("leaderboard")
def bench_leaderboard(
    exports: Optional[str] = typer.Option(None, help="exports folder whose manifest gets the figures "
                                                     "(default: yours, else the shipped one)"),
    model: Optional[list[str]] = typer.Option(None, help="only these classifiers (default: every one)"),
    runs: int = typer.Option(200, help="timed calls per model; the median is stored"),
) -> None:
    """Re-measure every classifier's batch-1 latency (ONNX Runtime, CPU, 1 thread) into the manifest."""
    from digitzoo.export.latency import measure_manifest, report
    from digitzoo.hub.serving.manifest import exports_root

    root = Path(exports) if exports else exports_root()
    show(measure_manifest(root, model or None, runs, log=log_to_stderr), report, False)


@bench_app.command("hostile")
def bench_hostile(as_json: bool = JSON) -> None:
    """The hub under hostile load (a decompression bomb through every pad path, a burst of large
    drawings, 2,000 half-open connections, a Playground crowd, concurrent lesson exports), each
    figure beside its goal."""
    from digitzoo.apps import hostile_bench

    show(hostile_bench.run(log=log_to_stderr), hostile_bench.report, as_json)


@bench_app.command("classroom")
def bench_classroom(
    students: int = typer.Option(40, help="simulated student devices"),
    seconds: float = typer.Option(120.0, help="how long they draw"),
    every: float = typer.Option(2.0, help="seconds between one device's drawings"),
    processes: int = typer.Option(1, help="`digitzoo serve` processes sharing the database"),
    db: Optional[str] = typer.Option(None, help="the classroom database (default: a SQLite file made for the run); "
                                     "postgresql://USER:PASSWORD@HOST/DB for several processes as deployed"),
    nginx: Optional[str] = typer.Option(None, help="an nginx binary to put in front of the processes (ip_hash upstream)"),
    as_json: bool = JSON,
    out: Optional[Path] = typer.Option(None, help="also write the JSON here"),
) -> None:
    """A class of simulated students sending drawings over HTTP while the teacher's dashboard is read:
    drawings lost or duplicated, send -> saved and dashboard latency, each beside its goal."""
    from digitzoo.apps import classroom_bench

    if students < 1 or processes < 1 or seconds <= 0 or every < 1:
        raise DigitzooError("--students and --processes are at least 1, --seconds above 0, --every at least 1 (s)")
    result = classroom_bench.run(students, seconds, every, processes, db, nginx, log=log_to_stderr)
    show(result, classroom_bench.report, as_json, out)


@needs_torch("not-digit")  # MNIST is read through torchvision
def bench_not_digit(data_dir: Optional[str] = DATA_DIR, as_json: bool = JSON) -> None:
    """How often "not a digit" is said of digits and of letters, shapes, scribbles and taps: the shipped
    detector beside the CNN's confidence and the autoencoder's reconstruction error."""
    from digitzoo.train import not_digit_bench

    show(not_digit_bench.run(data_dir, log=log_to_stderr), not_digit_bench.report, as_json)


@needs_torch("fast-cnn")
def bench_fast_cnn(
    threads: int = typer.Option(2, help="torch CPU threads (pinned)"),
    repeats: int = typer.Option(3, help="runs of each recipe; medians are reported"),
    data_dir: Optional[str] = DATA_DIR,
    as_json: bool = JSON,
) -> None:
    """Fast CNN recipe vs the classic tutorial recipe: training seconds and test accuracy."""
    from digitzoo.train.bench import fast_cnn, report_fast_cnn

    show(fast_cnn(threads, repeats, data_dir, log=log_to_stderr), report_fast_cnn, as_json)


@needs_torch("train-scaling")
def bench_train_scaling(
    model: Optional[str] = typer.Option(None, help="model to train (default: the first classifier)"),
    recipe: str = typer.Option("default", help="its recipe: global batch and augmentation"),
    nproc: str = typer.Option("1,2", help="comma-separated world sizes, each a torchrun --standalone run"),
    steps: int = typer.Option(30, help="timed steps per world size (after the warm-up)"),
    warmup: int = typer.Option(5, help="untimed steps first"),
    threads: int = typer.Option(1, help="torch CPU threads per rank"),
    data_dir: Optional[str] = DATA_DIR,
    as_json: bool = JSON,
) -> None:
    """Images/s of real training steps at world size 1 and 2 (torchrun, gloo, DDP), their ratio, the machine."""
    from digitzoo.train.bench import report_train_scaling, train_scaling

    worlds = _numbers(nproc, "--nproc", "world sizes like 1,2")
    show(train_scaling(model, recipe, worlds, steps, warmup, threads, data_dir, log=log_to_stderr),
         report_train_scaling, as_json)


@bench_app.command("serve")
def bench_serve(
    requests: int = typer.Option(200, help="timed requests per concurrency level"),
    clients: str = typer.Option("1,8", help="comma-separated numbers of concurrent clients"),
    as_json: bool = JSON,
) -> None:
    """/classify over HTTP (p50/p99, requests/s, errors), start-up time, server memory, model-only latency."""
    from digitzoo.apps.bench import report_serve, serve_latency

    show(serve_latency(requests, _numbers(clients, "--clients", "numbers like 1,8,32")), report_serve, as_json)


@bench_app.command("browser")
def bench_browser(
    per_digit: int = typer.Option(5, help="drawings of each digit 0-9 (each drawn on both paths)"),
    first_runs: int = typer.Option(3, help="page loads timed to their first answer, per page"),
    as_json: bool = JSON,
    out: Optional[Path] = typer.Option(None, help="also write the JSON here (docs/benchmarks/browser.json: "
                                                  "`digitzoo bench` puts it in docs/BENCHMARKS.md)"),
) -> None:
    """Chromium draws digits on the Draw tab: mouse-up to answer, in the page (wasm) and by the server; first answers."""
    from digitzoo.apps.browser_bench import browser_bench, report

    show(browser_bench(per_digit, first_runs, log=log_to_stderr), report, as_json, out)


@bench_app.command("yours")
def bench_yours(
    runs: int = typer.Option(3, help="page loads per model"),
    as_json: bool = JSON,
    out: Optional[Path] = typer.Option(None, help="also write the JSON here (docs/benchmarks/yours.json)"),
) -> None:
    """Chromium scores a shipped classifier given as your own file: seconds per 10,000 digits, pauses, Cancel, page vs CLI."""
    from digitzoo.apps.yours_bench import report, yours_bench

    show(yours_bench(runs, log=log_to_stderr), report, as_json, out)


@needs_torch("playground")
def bench_playground(
    learners: int = typer.Option(8, help="visitors who press Start at once"),
    stream_seconds: float = typer.Option(5.0, help="seconds of each lesson's stream to count updates over"),
    lesson: Optional[list[str]] = typer.Option(None, help="only these lessons (default: all)"),
    as_json: bool = JSON,
) -> None:
    """Per lesson: seconds to its result and updates/s in the page; a crowd of learners; server memory."""
    from digitzoo.apps.playground_bench import playground, report

    show(playground(learners, stream_seconds, lesson or None, log=log_to_stderr), report, as_json)


@bench_app.command("serve-reliability")
def bench_serve_reliability(
    seconds: float = typer.Option(60, help="length of the load test"),
    clients: int = typer.Option(32, help="concurrent clients in the load test"),
    memory_requests: int = typer.Option(10000, help="requests of the memory check (after a warm-up)"),
    burst: int = typer.Option(200, help="clients that join at once in the overload check (queue holds 64)"),
    out: Optional[Path] = typer.Option(None, help="also write the figures as JSON here"),
) -> None:
    """Load, overload and memory checks against a real server; exits 1 when one fails."""
    from digitzoo.apps.bench import reliability, report_reliability

    result = reliability(seconds, clients, memory_requests, burst, log=print)
    show(result, report_reliability, False, out)
    if not result.passed:
        raise typer.Exit(1)


@bench_app.command("explain")
def bench_explain(
    digits: int = typer.Option(1000, help="the first N digits of each set (MNIST test, re-drawn)"),
    models: Optional[str] = typer.Option(None, help="comma-separated Draw classifiers (default: all of them)"),
    methods: Optional[str] = typer.Option(None, help="comma-separated attribution methods (default: all of them)"),
    threads: int = typer.Option(1, help="ONNX Runtime intra-op threads (pinned)"),
    as_json: bool = JSON,
    out: Optional[Path] = typer.Option(None, help="also write the JSON here (docs/benchmarks/explain.json)"),
    ship: bool = typer.Option(False, "--ship", help="also write the verdicts the page labels each method with "
                                                    "(hub/pretrained/explain_verdicts.json, shipped in the package)"),
) -> None:
    """"Why this digit?": each method's deletion test (top 10% of the ink vs random ink), deletion and insertion
    curves, and a verdict per Draw classifier and method."""
    from digitzoo.apps.explain_bench import report, run
    from digitzoo.hub.serving import faithfulness
    from digitzoo.hub.serving.files import atomic_write_text

    split = lambda text: [w.strip() for w in text.split(",") if w.strip()] if text else None  # noqa: E731
    result = run(digits, split(models), split(methods), threads=threads, log=log_to_stderr)
    show(result, report, as_json, out)
    if ship:
        command = "digitzoo bench explain " + " ".join(sys.argv[3:])
        shipped = faithfulness.verdicts_file(result.to_json(), command)
        atomic_write_text(faithfulness.SHIPPED_VERDICTS, json.dumps(shipped, indent=2, sort_keys=True) + "\n")
        log_to_stderr(f"verdicts: {faithfulness.SHIPPED_VERDICTS}")
