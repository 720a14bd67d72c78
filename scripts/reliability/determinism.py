"""Two CPU training runs with the same seed give identical weights; a third with another seed does not.

    python scripts/reliability/determinism.py --out test-artifacts/reliability/determinism.json

Each run is a separate ``python -m digitzoo.cli train`` process from scratch (own DIGITZOO_HOME,
--device cpu, --threads 2 by default: the shipped models were trained with 2 threads).
Compared: the weights sha256 recorded in card.json, the sha256 of the model.safetensors file,
and a hash of the tensors themselves. The run with another seed shows
the comparison can fail. Exit status 0 only when the same-seed runs agree on all three and the
other seed differs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402


def one_run(label: str, seed: int, args: argparse.Namespace, workdir: Path) -> dict:
    root = workdir / label
    shutil.rmtree(root, ignore_errors=True)
    store = root / "store"
    store.mkdir(parents=True)
    began = time.monotonic()
    done = common.run_to_completion(common.train_command(common.train_flags(args, seed=seed)), store, root / "train.log",
                                    timeout=args.timeout)
    if done.returncode != 0:
        raise SystemExit(f"run {label} failed (exit {done.returncode}): {common.tail(root / 'train.log')}")
    digest = common.checkpoint_digest(args.model, store / "checkpoints" / args.model)
    return {"label": label, "seed": seed, "wall_s": round(time.monotonic() - began, 1), **digest}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--workdir", help="folder for the runs (default: a temporary folder, removed)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per training process")
    common.add_config_args(parser, limit_train=512, epochs=1, checkpoint_every=200, threads=2)
    args = parser.parse_args(argv)

    workdir = Path(args.workdir).resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="digitzoo-determinism-"))
    workdir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    flags = common.train_flags(args)
    print(f"determinism: `digitzoo train {' '.join(flags)}` twice, then with --seed {args.seed + 1}", flush=True)
    runs = [one_run("a", args.seed, args, workdir), one_run("b", args.seed, args, workdir),
            one_run("other-seed", args.seed + 1, args, workdir)]
    a, b, c = runs
    keys = ("card_sha256", "file_sha256", "tensors_sha256")
    for run in runs:
        print(f"  run {run['label']:<10} seed {run['seed']:<4} weights sha256 {run['card_sha256']}  "
              f"file {run['file_sha256'][:16]}  tensors {run['tensors_sha256'][:16]}  ({run['wall_s']} s)")
    same = all(a[k] == b[k] for k in keys)
    differs = all(a[k] != c[k] for k in keys)
    summary = (f"same seed: {'identical' if same else 'DIFFERENT'} weights (sha256 {a['card_sha256'][:12]} vs "
               f"{b['card_sha256'][:12]}); other seed: {'different' if differs else 'NOT different'} "
               f"({c['card_sha256'][:12]})")
    print(summary)
    wall = time.monotonic() - began
    print(f"wall time {wall:.1f} s")
    result = {"check": "determinism", "passed": same and differs, "same_seed_identical": same,
              "other_seed_differs": differs, "summary": summary, "model": args.model,
              "command": ["digitzoo", "train", *flags], "runs": runs, "wall_s": round(wall, 1)}
    common.write_json(args.out, result)
    if not args.workdir and result["passed"]:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
