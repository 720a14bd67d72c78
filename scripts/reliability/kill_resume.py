"""SIGKILL real training runs at random moments, then check what is on disk and that --resume is exact.

Claim checked: a training run killed with SIGKILL at any moment resumes from the last complete
resumable state, which always loads and matches its checksum; no partial (temporary) file is
ever taken for a checkpoint or a resume state; and the resumed run ends with weights bit for bit
equal to an uninterrupted run with the same seed and configuration.

    python scripts/reliability/kill_resume.py --trials 10 --out test-artifacts/reliability/kill_resume.json

Once per invocation an uninterrupted reference run records the hash of every resume state it
writes (step -> model + optimiser tensors) and of its final weights. Each trial then:

1. starts ``python -m digitzoo.cli train MODEL ...`` in a fresh ``DIGITZOO_HOME`` and SIGKILLs it at a
   moment chosen by the seeded RNG, in one of these ways (cycled over the trials):
   - ``delay``: a random delay from 0 to 1.1x the reference run's wall time (start-up, training,
     evaluation, final save, or after the end);
   - ``temp``: the instant the n-th ``.resume.safetensors.*.tmp`` appears (n random): inside a
     resume-state write;
   - ``temp+jitter``: 0-12 ms after the n-th temporary file appears (safetensors' own temporary
     file, the rename, the directory fsync, just after);
   - ``final``: the instant the final save reaches a random point (weights temp file, weights
     renamed in, card temp file, card renamed in);
2. inspects the folder: ``resume.safetensors`` must load and equal the reference's state of the
   same step, and must not be older than the last state the monitor saw completed; ``card.json``,
   if present, must load with a matching sha256 (and then equal the reference); weights without
   a card must be refused by ``load_checkpoint`` and skipped by ``find_checkpoint``; temporary
   files are recorded;
3. runs the same command with ``--resume`` (or, with nothing to resume, checks that ``--resume``
   says so and starts the run again) and checks it resumed from the step on disk, that the final
   checkpoint loads and matches its checksum, that its weights equal the reference's, and that
   no resume state or temporary file is left behind.

Exit status 0 only when every trial passes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

MODES = ("delay", "temp", "delay", "temp+jitter", "final")
FINAL_POINTS = ("weights-temp", "weights-renamed", "card-temp", "card-renamed")
POLL_S = 0.0005


# ---- the reference run: a real `digitzoo train`, with a spy on its resume-state writes --------

def reference_worker(out_json: str, flags: list[str]) -> int:
    """Run `digitzoo train FLAGS` in this process and record the hash of every resume state it writes."""
    import digitzoo.train.loop as loop
    from digitzoo.hub.checkpoint import load_tensors
    from digitzoo.cli import main

    states: dict[str, str] = {}
    write = loop.save_tensors

    def spy(path, tensors, metadata=None):
        write(path, tensors, metadata=metadata)
        if Path(path).name == loop.RESUME_FILE:
            step, digest = common.resume_state_sha256(*load_tensors(path))
            states[str(step)] = digest

    loop.save_tensors = spy
    code = main(["train", *flags])
    Path(out_json).write_text(json.dumps({"states": states}))
    return code


def reference_run(args: argparse.Namespace, workdir: Path) -> dict:
    folder_root = workdir / "reference"
    shutil.rmtree(folder_root, ignore_errors=True)
    store = folder_root / "store"
    store.mkdir(parents=True)
    spy_json = folder_root / "states.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--reference-worker", str(spy_json), "--",
           *common.train_flags(args)]
    began = time.monotonic()
    done = common.run_to_completion(cmd, store, folder_root / "train.log")
    wall = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"reference run failed (exit {done.returncode}): {common.tail(folder_root / 'train.log')}")
    folder = store / "checkpoints" / args.model
    states = json.loads(spy_json.read_text())["states"]
    digest = common.checkpoint_digest(args.model, folder)
    return {"wall_s": round(wall, 2), "states": states, "state_steps": sorted(int(s) for s in states), **digest}


# ---- one trial ---------------------------------------------------------------------------------

@dataclass
class Plan:
    mode: str
    delay_s: float | None = None  # delay
    nth: int | None = None  # temp, temp+jitter
    jitter_s: float | None = None  # temp+jitter
    point: str | None = None  # final

    def describe(self) -> str:
        if self.mode == "delay":
            return f"delay {self.delay_s:.2f}s"
        if self.mode == "temp":
            return f"temp #{self.nth}"
        if self.mode == "temp+jitter":
            return f"temp #{self.nth}+{self.jitter_s * 1000:.0f}ms"
        return f"final:{self.point}"


@dataclass
class Monitor:
    """What the polling loop saw in the checkpoint folder before the kill."""
    resume_temps: list[str] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)


def make_plan(mode: str, rng: random.Random, reference: dict) -> Plan:
    n_states = len(reference["state_steps"])
    if mode == "delay":
        return Plan(mode, delay_s=rng.uniform(0.0, 1.1 * reference["wall_s"]))
    if mode == "temp":
        return Plan(mode, nth=rng.randint(1, n_states))
    if mode == "temp+jitter":
        return Plan(mode, nth=rng.randint(1, n_states), jitter_s=rng.uniform(0.0, 0.012))
    if mode == "final":
        return Plan(mode, point=rng.choice(FINAL_POINTS))
    raise ValueError(mode)


def _final_point_reached(point: str, names: set[str]) -> bool:
    if point == "weights-temp":
        return any(n.startswith(".model.safetensors.") and n.endswith(".tmp") for n in names)
    if point == "weights-renamed":
        return "model.safetensors" in names
    if point == "card-temp":
        return any(n.startswith(".card.json.") and n.endswith(".tmp") for n in names)
    return "card.json" in names


def start_and_kill(cmd: list[str], store: Path, folder: Path, plan: Plan, log: Path, timeout: float) -> dict:
    """Start the run, SIGKILL it when the plan says; what happened."""
    mon = Monitor()
    trigger_at: float | None = plan.delay_s if plan.mode == "delay" else None
    with open(log, "w") as out:
        began = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=common.REPO, env=common.child_env(store), stdout=out, stderr=subprocess.STDOUT)
        try:
            while proc.poll() is None:
                now = time.monotonic() - began
                if now > timeout:
                    raise TimeoutError(f"run did not finish within {timeout} s")
                try:
                    names = set(os.listdir(folder))
                except FileNotFoundError:
                    names = set()
                for name in sorted(names - mon.names):
                    mon.events.append((round(now, 4), name))
                    if name.startswith(".resume.safetensors.") and name.endswith(".tmp"):
                        mon.resume_temps.append(name)
                mon.names |= names
                if trigger_at is None:
                    if plan.mode in ("temp", "temp+jitter") and len(mon.resume_temps) >= plan.nth:
                        trigger_at = now + (plan.jitter_s or 0.0)
                    elif plan.mode == "final" and _final_point_reached(plan.point, names):
                        trigger_at = now
                if trigger_at is not None and now >= trigger_at:
                    break
                time.sleep(POLL_S)
            killed_at = time.monotonic() - began
            proc.send_signal(signal.SIGKILL)  # does nothing when the run has already ended (and been reaped)
            proc.wait()
            exited_first = proc.returncode != -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return {"kill_s": round(killed_at, 3), "exited_before_kill": exited_first, "returncode": proc.returncode,
            "temps_seen": len(mon.resume_temps), "events": mon.events}


def inspect(name: str, store: Path, folder: Path, reference: dict, temps_seen: int) -> tuple[dict, list[str]]:
    """Check every file in the folder after the kill; (what is on disk, problems)."""
    from digitzoo.hub import checkpoint as ck
    from digitzoo.hub.serving.errors import CheckpointError
    from digitzoo.train.loop import RESUME_FILE

    problems: list[str] = []
    files = {p.name: p.stat().st_size for p in folder.iterdir()} if folder.is_dir() else {}
    partial = sorted(n for n in files if is_partial(n))
    strangers = sorted(n for n in files if not is_partial(n) and n not in (RESUME_FILE, ck.WEIGHTS_FILE, ck.CARD_FILE))
    if strangers:
        problems.append(f"unexpected files in the checkpoint folder: {', '.join(strangers)}")
    disk = {"files": files, "partial_files": partial, "resume_step": None, "complete_checkpoint": False}

    if RESUME_FILE in files:
        try:
            step, digest = common.resume_state_sha256(*ck.load_tensors(folder / RESUME_FILE))
            disk["resume_step"] = step
            if reference["states"].get(str(step)) != digest:
                problems.append(f"resume state at step {step} differs from the reference run's state at that step")
            # the n-th temporary file appearing means the (n-1)-th state was complete and renamed in
            steps = reference["state_steps"]
            known = min(temps_seen, len(steps)) - 2
            if known >= 0 and step < steps[known]:
                problems.append(f"resume state is at step {step}, older than step {steps[known]} "
                                "which the monitor saw completed")
        except (CheckpointError, KeyError, ValueError) as exc:
            problems.append(f"resume.safetensors does not load: {exc}")

    if ck.CARD_FILE in files:
        try:
            digest = common.checkpoint_digest(name, folder)
            disk["complete_checkpoint"] = True
            if digest["card_sha256"] != reference["card_sha256"]:
                problems.append("a complete checkpoint on disk differs from the reference run's")
        except CheckpointError as exc:
            problems.append(f"card.json present but the checkpoint does not load: {exc}")
    elif ck.WEIGHTS_FILE in files:
        try:
            ck.load_checkpoint(name, folder)
            problems.append("weights without a card were loaded as a checkpoint")
        except CheckpointError:
            pass

    # find_checkpoint must name this folder exactly when it holds a complete checkpoint.
    saved = os.environ.get("DIGITZOO_HOME")
    os.environ["DIGITZOO_HOME"] = str(store)
    try:
        try:
            found = ck.find_checkpoint(name)
        except CheckpointError:
            found = None
        if (found == folder) != disk["complete_checkpoint"]:
            problems.append(f"find_checkpoint({name}) gave {found} with complete={disk['complete_checkpoint']}")
    finally:
        if saved is None:
            os.environ.pop("DIGITZOO_HOME", None)
        else:
            os.environ["DIGITZOO_HOME"] = saved
    return disk, problems


def is_partial(name: str) -> bool:
    """A file a save was writing when killed: atomic_write's ``.NAME.XXXX.tmp`` (mkstemp) or the
    ``.tmpXXXXXX`` that safetensors' own writer creates in the same folder and renames onto it."""
    return name.startswith(".")


def phase_of(disk: dict, kill: dict) -> str:
    files = disk["files"]
    if kill["exited_before_kill"]:
        return "after exit"
    if disk["complete_checkpoint"]:
        return "after final save"
    if any(n.startswith((".model.", ".card.")) for n in files) or "model.safetensors" in files:
        return "final save"
    if disk["resume_step"] is None and not files:
        return "before 1st save"
    return "training"


def run_trial(index: int, plan: Plan, args: argparse.Namespace, workdir: Path, reference: dict) -> dict:
    root = workdir / f"trial-{index:02d}"
    shutil.rmtree(root, ignore_errors=True)
    store = root / "store"
    store.mkdir(parents=True)
    folder = store / "checkpoints" / args.model
    cmd = common.train_command(common.train_flags(args))
    trial = {"trial": index, "mode": plan.mode, "plan": plan.describe()}
    problems: list[str] = []
    try:
        kill = start_and_kill(cmd, store, folder, plan, root / "killed.log", timeout=args.timeout)
        disk, found = inspect(args.model, store, folder, reference, kill["temps_seen"])
        problems += found
        trial.update(kill_s=kill["kill_s"], exited_before_kill=kill["exited_before_kill"],
                     killed_returncode=kill["returncode"], phase=phase_of(disk, kill),
                     resume_step=disk["resume_step"], partial_files=disk["partial_files"],
                     complete_before_resume=disk["complete_checkpoint"], files_after_kill=disk["files"],
                     monitor_events=kill["events"][-8:])
        if kill["exited_before_kill"] and kill["returncode"] != 0:
            problems.append(f"the run failed on its own before the kill (exit {kill['returncode']}): "
                            f"{common.tail(root / 'killed.log')}")

        # Resume. With nothing to resume, --resume must say so (and must not take a partial file).
        done = common.run_to_completion(cmd + ["--resume"], store, root / "resume.log", timeout=args.timeout)
        resume_log = (root / "resume.log").read_text(errors="replace")
        started = re.search(rf"resumed {args.model} from step (\d+)/(\d+)", resume_log)
        if disk["resume_step"] is not None:
            trial["outcome"] = f"resumed from {started.group(1)}" if started else f"--resume failed ({done.returncode})"
            if done.returncode != 0 or not started:
                problems.append(f"--resume failed (exit {done.returncode}): {common.tail(root / 'resume.log')}")
            elif int(started.group(1)) != disk["resume_step"]:
                problems.append(f"--resume started from step {started.group(1)}, not the {disk['resume_step']} on disk")
        else:
            if done.returncode != 2 or "no unfinished run" not in resume_log:
                problems.append(f"--resume with no resume state: exit {done.returncode}, expected 2 'no unfinished run': "
                                f"{common.tail(root / 'resume.log')}")
            if disk["complete_checkpoint"]:
                trial["outcome"] = "complete; nothing to resume"
            else:  # killed before the first resume state: start over
                again = common.run_to_completion(cmd, store, root / "restart.log", timeout=args.timeout)
                trial["outcome"] = "nothing to resume; restarted" if again.returncode == 0 else f"restart failed ({again.returncode})"
                if again.returncode != 0:
                    problems.append(f"restart failed: {common.tail(root / 'restart.log')}")

        # The final checkpoint: loads, matches its checksum, equals the uninterrupted run.
        from digitzoo.hub.serving.errors import CheckpointError
        from digitzoo.train.loop import RESUME_FILE

        try:
            final = common.checkpoint_digest(args.model, folder)
            trial["final_sha256"] = final["card_sha256"]
            trial["final_loads"] = True
            trial["identical_to_reference"] = all(final[k] == reference[k] for k in ("card_sha256", "file_sha256", "tensors_sha256"))
            if not trial["identical_to_reference"]:
                problems.append(f"final weights {final['card_sha256'][:12]} differ from the reference {reference['card_sha256'][:12]}")
        except CheckpointError as exc:
            trial.update(final_loads=False, identical_to_reference=False)
            problems.append(f"final checkpoint does not load: {exc}")
        leftovers = sorted(p.name for p in folder.iterdir() if p.name == RESUME_FILE or is_partial(p.name))
        trial["left_after_resume"] = leftovers
        if leftovers:
            problems.append(f"left in the checkpoint folder after the run completed: {', '.join(leftovers)}")
    except Exception as exc:  # a crash of the harness is a failed trial, reported like the others
        problems.append(f"{type(exc).__name__}: {exc}")
    trial["problems"] = problems
    trial["passed"] = not problems
    if trial["passed"] and not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return trial


# ---- report --------------------------------------------------------------------------------

def print_table(trials: list[dict]) -> None:
    head = f"{'#':>2} {'kill plan':<22} {'kill s':>7} {'phase':<16} {'resume step':>11} {'partial':>7} {'outcome':<28} {'= ref':>5}  result"
    print(head)
    print("-" * len(head))
    for t in trials:
        step = "-" if t.get("resume_step") is None else str(t["resume_step"])
        same = {True: "yes", False: "NO"}.get(t.get("identical_to_reference"), "?")
        print(f"{t['trial']:>2} {t['plan']:<22} {t.get('kill_s', float('nan')):>7.2f} {t.get('phase', '?'):<16} {step:>11} "
              f"{len(t.get('partial_files', [])):>7} {t.get('outcome', '?'):<28} {same:>5}  {'ok' if t['passed'] else 'FAIL'}")
        for problem in t["problems"]:
            print(f"     ! {problem}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--reference-worker"]:  # internal: the spied reference run
        return reference_worker(argv[1], argv[3:])

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--modes", default=",".join(MODES),
                        help=f"kill modes (delay, temp, temp+jitter, final), cycled over the trials (default {','.join(MODES)})")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--workdir", help="folder for the runs (default: a temporary folder, removed)")
    parser.add_argument("--keep", action="store_true", help="keep the folders of passed trials too (failed ones are kept)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per training process")
    common.add_config_args(parser, limit_train=512, epochs=2, checkpoint_every=4)
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        if mode not in ("delay", "temp", "temp+jitter", "final"):
            parser.error(f"unknown mode {mode!r}")

    import torch

    torch.set_num_threads(1)
    workdir = Path(args.workdir).resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="digitzoo-kill-resume-"))
    workdir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    flags = common.train_flags(args)
    print(f"kill/resume: {args.trials} trials of `digitzoo {' '.join(['train', *flags])}` (seed {args.seed}); work in {workdir}",
          flush=True)
    reference = reference_run(args, workdir)
    print(f"reference (uninterrupted): {reference['wall_s']:.1f} s, {reference['steps']} steps, resume states at steps "
          f"{reference['state_steps']}, weights sha256 {reference['card_sha256'][:16]}", flush=True)

    rng = random.Random(args.seed)
    trials = []
    for i in range(args.trials):
        plan = make_plan(modes[i % len(modes)], rng, reference)
        trials.append(run_trial(i + 1, plan, args, workdir, reference))
        t = trials[-1]
        print(f"  trial {i + 1}/{args.trials}: {t['plan']}, killed at {t.get('kill_s', float('nan')):.2f} s "
              f"({t.get('phase', '?')}), {t.get('outcome', '?')}: {'ok' if t['passed'] else 'FAIL'}", flush=True)

    n = len(trials)
    resumed = sum(t["passed"] for t in trials)
    identical = sum(bool(t.get("identical_to_reference")) for t in trials)
    in_write = sum(bool(t.get("partial_files")) for t in trials)
    phases: dict[str, int] = {}
    for t in trials:
        phases[t.get("phase", "?")] = phases.get(t.get("phase", "?"), 0) + 1
    summary = (f"{resumed}/{n} trials resumed from the last complete state; "
               f"final weights identical to the uninterrupted run in {identical}/{n}")
    print()
    print_table(trials)
    print()
    print(f"killed during: {', '.join(f'{k} {v}' for k, v in sorted(phases.items()))}; "
          f"kill left a partial temp file in {in_write}/{n} (none taken for a checkpoint or resume state"
          f"{'' if resumed == n else ' where the trial passed'})")
    resumed_from = sum(t.get("outcome", "").startswith("resumed from") for t in trials)
    complete = sum(t.get("outcome", "").startswith("complete") for t in trials)
    restarted = sum(t.get("outcome", "").startswith("nothing to resume; restarted") for t in trials)
    print(f"outcomes: resumed from a saved step {resumed_from}, already complete (--resume: nothing to resume) "
          f"{complete}, killed before the first save (--resume refused, run again) {restarted}")
    print(summary)
    wall = time.monotonic() - began
    print(f"wall time {wall:.1f} s")
    result = {
        "check": "kill_resume", "passed": resumed == n and n > 0, "summary": summary,
        "trials_total": n, "trials_passed": resumed, "final_identical": identical, "kills_inside_a_write": in_write,
        "phases": phases, "outcomes": {"resumed": resumed_from, "complete": complete, "restarted": restarted},
        "model": args.model, "seed": args.seed, "command": ["digitzoo", "train", *flags],
        "modes": modes, "wall_s": round(wall, 1),
        "reference": {k: v for k, v in reference.items() if k != "states"}, "trials": trials,
    }
    common.write_json(args.out, result)
    if not args.workdir and result["passed"] and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
