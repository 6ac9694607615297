"""Speed benchmark: slotfill against a sklearn-crfsuite CRF, all ratios from one run.

Usage::

    python benchmarks/speed.py --data ../shared/datasets/atis [--out benchmarks/results]
    python benchmarks/speed.py --quick [--out DIR]      # smoke run on the bundled data

writes ``speed_<name>.json`` (environment, raw numbers of every measure, ratios with
pass/fail against the targets) and ``speed_<name>.md`` (the same as readable tables) to
``--out``; ``<name>`` is the dataset folder's name (``--name`` to choose another).

What is measured, and how. Every measure runs in its own child process, one after
another (the machine has two cores; nothing is measured while anything else of ours
runs); wall time and peak memory (``ru_maxrss`` from ``os.wait4``) are taken for each
child by a tiny launcher process, so the benchmark's own memory never counts.

1. CRF peer (child): sklearn-crfsuite (features in ``benchmarks/crf_baseline.py``,
   c1 = c2 = 0.1, 100 L-BFGS iterations): training seconds (features + fit), tagging
   throughput on the test utterances from raw text (best of 3), seqeval test F1.
2. Full default train: ``python cli.py train --data DATA --out TMP --quiet`` with every
   other option at its default, as a user runs it (it stops ``patience`` epochs after its
   best epoch and keeps the best); the wall time of the whole command.
3. Seconds per epoch of ``bilstm``, ``bipeephole``, ``bijordan``, ``bigru`` at the same
   (default) sizes: one child sets each arch up as ``slotfill.training.train`` does
   (``seed_everything``, ``prepare_training``: encoder, model, noisy batches), then trains
   them an epoch at a time in turn, the order flipping every round (``epoch_schedule``),
   timed by a callback, without validation scoring; the median epoch time excluding the
   first epoch (which traces the graph). Taking turns epoch by epoch makes the archs share
   the machine's slow and fast spells, which otherwise decide the ratios (with one child
   per arch, run minutes apart, ``bijordan`` / ``bilstm`` measured 1.04 and 1.29 in two
   runs of the same code).
4. Tagging (child, TensorFlow only): the SavedModel written by step 2, called through its
   ``serving_default`` signature on the raw test utterances, after one warm-up pass;
   utterances/s of the best of 3 passes, for all utterances in one call (the target: the
   SavedModel sorts a call's texts by length and runs chunks of similar length, see
   ``slotfill.export``) and for batches of 64 in file order. Then the latency of one
   utterance per call (p50, p99) after a warm-up. The throughput target compares the
   one-call passes with the CRF of step 1 tagging the same raw texts in the same process,
   the two alternating pass by pass (best of each): the machine is shared, and its speed
   drifts between steps that run minutes apart. The tagging process runs TensorFlow as
   README advises for serving (``SERVING_THREADS``: one thread per op); step 4 is then
   repeated in a process with TensorFlow's default thread pools, reported beside it.
5. Cold start: ``python cli.py tag --model M "..."`` (a new process tagging one sentence)
   against ``python -c "import tensorflow"``, alternated in the same run (which goes first
   flips every round) after one untimed run of each; medians of 7 each.

``--quick`` shrinks everything (bundled data, tiny sizes, 2 epochs, 20 CRF iterations,
2 repeats, no untimed cold-start runs) for the smoke test; its
numbers only show that the benchmark works. Without ``--out`` it writes to a new
temporary folder, never over the recorded results.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as `python benchmarks/speed.py`: the repository root holds the benchmarks package.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

log = logging.getLogger("benchmarks.speed")

ARCHS = ("bilstm", "bipeephole", "bijordan", "bigru")
BASELINE_ARCH = "bilstm"
TAG_BATCH_SIZE = 64
LATENCY_WARMUP_CALLS = 20
COLD_START_TEXT = "show me flights from boston to denver on november second"
# How README tells a server to run the SavedModel: one thread per op, ops side by side on
# every core. Its ops are small (a few hundred rows), so splitting one op across cores
# costs more in hand-offs than it gains; independent ops (the LSTM directions, the chunks)
# keep the cores busy instead. The tagging measures also run once with TensorFlow's defaults.
SERVING_THREADS = {"intra_op": 1, "inter_op": os.cpu_count() or 1}
CLI = common.REPO / "cli.py"


@dataclass(frozen=True)
class Profile:
    """How much of each measure to run."""

    name: str
    epochs: int                        # per-arch timing epochs; the first is excluded
    sizes: dict[str, Any]              # Config overrides, the same for every arch
    train_args: tuple[str, ...]        # extra options of the full `train` command
    crf_iterations: int
    repeats: int                       # tagging passes (best is kept)
    side_by_side_rounds: int           # alternated SavedModel / CRF passes (best of each)
    cold_starts: int                   # timed runs of each cold-start command
    latency_calls: int
    cold_start_warmup: bool = True     # one untimed run of each cold-start command first


FULL = Profile("full", epochs=6, sizes={}, train_args=(), crf_iterations=100, repeats=3,
               side_by_side_rounds=7, cold_starts=7, latency_calls=500)
QUICK = Profile(
    "quick", epochs=2,
    sizes={"hidden": 16, "embedding_dim": 16, "char_dim": 8, "char_filters": 16},
    train_args=("--epochs", "2", "--patience", "1", "--hidden", "16", "--embedding-dim", "16"),
    crf_iterations=20, repeats=2, side_by_side_rounds=2, cold_starts=2, latency_calls=50,
    cold_start_warmup=False,
)


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    op: str          # "<=" or ">="
    bound: float


TARGETS = (
    Target("train_vs_crf", "full default `train` wall time / CRF training time", "<=", 1.5),
    Target("throughput_vs_crf", "SavedModel tagging utterances/s (all in one call) / CRF "
           "utterances/s, alternated in one process", ">=", 3.0),
    Target("bipeephole_vs_bilstm", "bipeephole s/epoch / bilstm s/epoch (same sizes)", "<=", 1.25),
    Target("bijordan_vs_bilstm", "bijordan s/epoch / bilstm s/epoch (same sizes)", "<=", 1.25),
    Target("cold_start_vs_import", "`cli.py tag` cold start / `import tensorflow` (medians)",
           "<=", 1.5),
    Target("latency_p50_ms", "warm single-utterance latency p50 (ms)", "<=", 10.0),
)


METHOD = (
    "Each measure runs in its own process, one after another; wall time and peak RSS "
    "(ru_maxrss) are the process's own.",
    "CRF training time = feature extraction + L-BFGS fit; CRF tagging starts from raw text.",
    "Full train = wall time of the whole `cli.py train` command with default options "
    "(early stopping keeps the best epoch; includes import, evaluation, saving and export).",
    "Seconds per epoch = `model.fit` with `slotfill.training.prepare_training` (train's own "
    "setup, noise included), timed by a callback, without validation scoring; median of the "
    "epochs after "
    "the first (tracing); the archs train in one process, an epoch each in turn, the order "
    "flipping every round.",
    "SavedModel throughput = raw test utterances through `serving_default`, all in one call "
    "(the target) and in batches, after "
    "a warm-up pass, best pass kept; latency = one utterance per call, after a warm-up.",
    "Throughput target = the one-call SavedModel passes and the CRF's passes over the same "
    "raw texts, alternated in one process (the CRF pickled by its own step), best of each.",
    "Tagging processes run TensorFlow as README advises for serving (one thread per op, as "
    "many ops at once as cores); the tagging measures are repeated with TensorFlow's default "
    "thread pools and reported beside them.",
    "Cold start = `cli.py tag` tagging one sentence in a new process vs "
    "`python -c \"import tensorflow\"`, alternated, medians.",
)


class BenchmarkError(RuntimeError):
    """A measured child failed; the message carries the end of its log."""


@dataclass
class ChildRun:
    seconds: float
    peak_rss_mb: float


@dataclass
class Workspace:
    """Temporary files of one run: the dataset as JSON, models, logs."""

    root: Path
    data_file: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def crf_model(self) -> Path:
        return self.root / "crf.pickle"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"


# --- running children ----------------------------------------------------------------------


# Runs the measured command as its own child and reports that child's wall time and peak
# RSS. The launcher is a tiny Python (-S: no site) so that the command starts from a small
# process: Linux counts the memory of the process that forked a child (a vfork shares it)
# in that child's ru_maxrss, so measuring straight from a big parent would report at least
# the parent's peak.
_LAUNCHER = """
import json, os, sys, time
result, args = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(args[0], args)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(result, "w") as f:
    json.dump({"seconds": seconds, "maxrss_kib": usage.ru_maxrss,
               "exit_code": os.waitstatus_to_exitcode(status)}, f)
"""


def run_child(args: Sequence[str], env: dict[str, str], log_file: Path) -> ChildRun:
    """Run one command to completion: its wall time and its own peak RSS.

    ``args[0]`` must be an absolute path to the executable. Output goes to ``log_file``;
    a non-zero exit raises :class:`BenchmarkError` with the end of that log.
    """
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result_file = Path(f.name)
    try:
        with open(log_file, "ab") as out:
            out.write(f"$ {shlex.join(args)}\n".encode())
            out.flush()
            # Its own process group: an interrupted benchmark stops the command with its launcher.
            proc = subprocess.Popen([sys.executable, "-S", "-c", _LAUNCHER, str(result_file),
                                     *args], cwd=common.REPO, env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                proc.wait()
            except BaseException:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
        measured = json.loads(result_file.read_text()) if result_file.stat().st_size else None
    finally:
        result_file.unlink(missing_ok=True)
    code = measured["exit_code"] if measured else proc.returncode
    if proc.returncode != 0 or code != 0:
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-25:])
        raise BenchmarkError(f"`{shlex.join(args)}` exited with {code}; "
                             f"end of {log_file}:\n{tail}")
    # ru_maxrss is in KiB on Linux.
    return ChildRun(measured["seconds"], measured["maxrss_kib"] / 1024)


def run_worker(ws: Workspace, name: str, spec: dict[str, Any]) -> tuple[dict[str, Any], ChildRun]:
    """Run ``speed.py --worker NAME SPEC`` in a child; its JSON result and its ChildRun."""
    spec_file = ws.root / f"{name}-{time.monotonic_ns()}.spec.json"
    result_file = spec_file.with_suffix(".result.json")
    spec = {**spec, "data_file": str(ws.data_file), "result_file": str(result_file)}
    spec_file.write_text(json.dumps(spec))
    run = run_child([sys.executable, str(Path(__file__).resolve()), "--worker", name,
                     str(spec_file)], ws.env, ws.root / f"{name}.log")
    return json.loads(result_file.read_text()), run


def alternate(calls: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[Any]]:
    """Each call ``rounds`` times, in turns; which goes first flips every round, so that
    neither always runs right after the other. Every call's results, in order."""
    results: dict[str, list[Any]] = {name: [] for name in calls}
    order = list(calls)
    for _ in range(rounds):
        for name in order:
            results[name].append(calls[name]())
        order.reverse()
    return results


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


# --- the measures (parent side) ------------------------------------------------------------


def measure_crf(ws: Workspace, profile: Profile) -> dict[str, Any]:
    log.info("CRF peer: training (%d iterations) and tagging", profile.crf_iterations)
    result, run = run_worker(ws, "crf", {"iterations": profile.crf_iterations,
                                         "repeats": profile.repeats,
                                         "save_to": str(ws.crf_model)})
    return {**result, "process_seconds": run.seconds, "peak_rss_mb": run.peak_rss_mb}


def measure_full_train(ws: Workspace, profile: Profile, data: Path) -> dict[str, Any]:
    args = [sys.executable, str(CLI), "train", "--data", str(data), "--out", str(ws.model_dir),
            "--quiet", *profile.train_args]
    log.info("full train: %s", shlex.join(args[1:]))
    run = run_child(args, ws.env, ws.root / "train.log")
    scores = json.loads((ws.model_dir / "scores.json").read_text())
    return {
        "command": shlex.join(["python", "cli.py", *args[2:]]),
        "wall_seconds": run.seconds,
        "in_process_seconds": scores.get("train_seconds"),
        "best_epoch": scores.get("best_epoch"),
        "epochs_run": scores.get("epochs_run"),
        "stopped_early": scores.get("stopped_early"),
        "test_slot_f1": (scores.get("test") or {}).get("slot_f1"),
        "peak_rss_mb": run.peak_rss_mb,
    }


def measure_epochs(ws: Workspace, profile: Profile) -> dict[str, Any]:
    log.info("seconds per epoch: %s, %d epochs each, in turn", ", ".join(ARCHS), profile.epochs)
    found, run = run_worker(ws, "epochs", {"epochs": profile.epochs, "sizes": profile.sizes,
                                           "archs": list(ARCHS)})
    # One process trains them all, so its peak memory is the largest arch's or more.
    return {arch: {**found[arch], "peak_rss_mb": run.peak_rss_mb} for arch in ARCHS}


def epoch_schedule(archs: Sequence[str], epochs: int) -> list[tuple[int, str]]:
    """(epoch, arch) in the order they are trained: each arch's epoch ``e`` in turn, the
    order of the archs reversed every other round, so none always goes first or last."""
    return [(epoch, arch) for epoch in range(epochs)
            for arch in (archs if epoch % 2 == 0 else list(reversed(archs)))]


def measure_tagging(ws: Workspace, profile: Profile,
                    threads: dict[str, int] | None = SERVING_THREADS) -> dict[str, Any]:
    """The tagging measures in a process whose TensorFlow runs with ``threads`` (None:
    TensorFlow's defaults)."""
    log.info("SavedModel tagging (%s threads): throughput (best of %d) and latency",
             "serving" if threads else "default", profile.repeats)
    result, run = run_worker(ws, "tag", {
        "saved_model": str(ws.model_dir / "saved_model"), "batch_size": TAG_BATCH_SIZE,
        "repeats": profile.repeats, "latency_calls": profile.latency_calls,
        "crf_model": str(ws.crf_model), "side_by_side_rounds": profile.side_by_side_rounds,
        "threads": threads,
    })
    return {**result, "threads": threads, "peak_rss_mb": run.peak_rss_mb}


def measure_cold_start(ws: Workspace, profile: Profile) -> dict[str, Any]:
    commands = {
        "tag": [sys.executable, str(CLI), "tag", "--model", str(ws.model_dir), COLD_START_TEXT],
        "import_tensorflow": [sys.executable, "-c", "import tensorflow"],
    }
    log.info("cold start: %d alternating runs of each command", profile.cold_starts)
    logs = ws.root / "cold_start.log"
    if profile.cold_start_warmup:
        for args in commands.values():  # untimed: the first run pays for reading files from disk
            run_child(args, ws.env, logs)
    runs = alternate({name: lambda args=args: run_child(args, ws.env, logs)
                      for name, args in commands.items()}, profile.cold_starts)
    seconds = {name: [run.seconds for run in done] for name, done in runs.items()}
    peaks = {name: [run.peak_rss_mb for run in done] for name, done in runs.items()}
    return {
        "text": COLD_START_TEXT,
        "commands": {name: shlex.join(["python", *args[1:]]).replace(str(CLI), "cli.py")
                     for name, args in commands.items()},
        "seconds": seconds,
        "median_seconds": {name: statistics.median(v) for name, v in seconds.items()},
        "peak_rss_mb": {name: max(v) for name, v in peaks.items()},
    }


# --- ratios and report ---------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def evaluate_targets(measures: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target with its value from this run and whether it is met."""
    crf, train, epochs = measures["crf"], measures["full_train"], measures["epochs"]
    tagging, cold = measures["tagging"], measures["cold_start"]
    base = epochs[BASELINE_ARCH]["seconds_per_epoch"]
    values = {
        "train_vs_crf": _ratio(train["wall_seconds"], crf["train_seconds"]),
        "throughput_vs_crf": _ratio(tagging["side_by_side"]["slotfill_utterances_per_second"],
                                    tagging["side_by_side"]["crf_utterances_per_second"]),
        "bipeephole_vs_bilstm": _ratio(epochs["bipeephole"]["seconds_per_epoch"], base),
        "bijordan_vs_bilstm": _ratio(epochs["bijordan"]["seconds_per_epoch"], base),
        "cold_start_vs_import": _ratio(cold["median_seconds"]["tag"],
                                       cold["median_seconds"]["import_tensorflow"]),
        "latency_p50_ms": tagging["latency_ms"]["p50"],
    }
    rows = []
    for target in TARGETS:
        value = values[target.name]
        if value is None or not math.isfinite(value):
            passed = None
        elif target.op == "<=":
            passed = value <= target.bound
        else:
            passed = value >= target.bound
        rows.append({**asdict(target), "value": value, "passed": passed})
    return rows


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _threads_text(threads: dict[str, int] | None) -> str:
    if not threads:
        return "TensorFlow's default thread pools"
    return f"{threads['intra_op']} thread per op, {threads['inter_op']} ops at once"


def _default_threads_rows(default: dict[str, Any] | None) -> list[str]:
    if not default:
        return []
    side = default["side_by_side"]
    ratio = _ratio(side["slotfill_utterances_per_second"], side["crf_utterances_per_second"])
    return [f"| slotfill, one call, *default threads* | | "
            f"{_fmt(default.get('utterances_per_second_one_call'), 0)} | "
            f"{_fmt(default['latency_ms']['p50'])} / {_fmt(default['latency_ms']['p99'])} | | "
            f"tag {_fmt(default['peak_rss_mb'], 0)} |",
            f"| slotfill / CRF alternated, *default threads* | | "
            f"{_fmt(side['slotfill_utterances_per_second'], 0)} / "
            f"{_fmt(side['crf_utterances_per_second'], 0)} (ratio {_fmt(ratio)}) | | | |"]


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables."""
    m = report["measures"]
    crf, train, tagging, cold = m["crf"], m["full_train"], m["tagging"], m["cold_start"]
    side = tagging["side_by_side"]
    default = m.get("tagging_default_threads")
    lines = ["# Speed benchmark", ""]
    if report["quick"]:
        lines += ["**Quick smoke run** (tiny sizes, few epochs and repeats): these numbers only "
                  "show that the benchmark runs; they are not results.", ""]
    lines += [f"Data: `{report['data']}`. All ratios are from this one run; measures ran one "
              "after another, each in its own process.", "",
              "## Environment", "", common.environment_markdown(report["environment"]),
              "## Targets", "", "| measure | value | target | result |", "|---|---:|---:|---|"]
    for t in report["targets"]:
        result = {True: "pass", False: "**FAIL**", None: "n/a"}[t["passed"]]
        lines.append(f"| {t['description']} | {_fmt(t['value'])} | {t['op']} {t['bound']:g} | "
                     f"{result} |")
    lines += ["", "## Training", "",
              f"Seconds per epoch at equal sizes ({report['settings']['epochs']} epochs each, "
              "trained in turn in one process, the order flipping every round; median "
              "excluding the first; no validation scoring; peak RSS is the process's):", "",
              "| arch | s/epoch | all epochs (s) | parameters | peak RSS (MB) |",
              "|---|---:|---|---:|---:|"]
    for arch, e in m["epochs"].items():
        all_epochs = ", ".join(f"{s:.2f}" for s in e["epoch_seconds"])
        lines.append(f"| {arch} | {_fmt(e['seconds_per_epoch'])} | {all_epochs} | "
                     f"{e['parameters']:,} | {_fmt(e['peak_rss_mb'], 0)} |")
    lines += ["", f"Full default train: `{train['command']}`", "",
              "| wall (s) | best epoch / epochs run | test slot F1 | peak RSS (MB) |",
              "|---:|---:|---:|---:|",
              f"| {_fmt(train['wall_seconds'], 1)} | {train['best_epoch']} / "
              f"{train['epochs_run']} | {_fmt(train['test_slot_f1'])} | "
              f"{_fmt(train['peak_rss_mb'], 0)} |", "",
              "## Tagging and the CRF peer", "",
              f"{tagging['utterances']} test utterances, best of "
              f"{len(tagging['pass_seconds'])} warm passes: all in one call (the target; the "
              f"SavedModel batches them by length itself), and in batches of "
              f"{tagging['batch_size']} in the test file's order; latency over "
              f"{tagging['latency_calls']} single-utterance calls. The target: "
              f"{side['rounds']} one-call passes alternated with {side['rounds']} CRF passes "
              "in one process, best of each. TensorFlow runs as README advises for serving "
              f"({_threads_text(tagging.get('threads'))}); the rows marked *default threads* "
              "repeat the measures in a process with TensorFlow's own defaults.", "",
              "| | train (s) | utterances/s | latency p50 / p99 (ms) | test slot F1 | "
              "peak RSS (MB) |", "|---|---:|---:|---:|---:|---:|",
              f"| slotfill (default train, SavedModel, one call) | "
              f"{_fmt(train['wall_seconds'], 1)} | "
              f"{_fmt(tagging.get('utterances_per_second_one_call'), 0)} | "
              f"{_fmt(tagging['latency_ms']['p50'])} / {_fmt(tagging['latency_ms']['p99'])} | "
              f"{_fmt(train['test_slot_f1'])} | train {_fmt(train['peak_rss_mb'], 0)}, "
              f"tag {_fmt(tagging['peak_rss_mb'], 0)} |",
              f"| slotfill, batches of {tagging['batch_size']} | | "
              f"{_fmt(tagging['utterances_per_second'], 0)} | | | |",
              f"| slotfill, batches of {tagging['batch_size']} sorted by length | | "
              f"{_fmt(tagging.get('utterances_per_second_length_sorted'), 0)} | | | |",
              f"| slotfill, one call, alternated with the CRF (the target) | | "
              f"{_fmt(side['slotfill_utterances_per_second'], 0)} | | | |",
              f"| CRF, alternated with slotfill (the target) | | "
              f"{_fmt(side['crf_utterances_per_second'], 0)} | | | |",
              *_default_threads_rows(default),
              f"| CRF (sklearn-crfsuite, {crf['max_iterations']} iterations), own process | "
              f"{_fmt(crf['train_seconds'], 1)} | {_fmt(crf['utterances_per_second'], 0)} | "
              f"n/a | {_fmt(crf['slot_f1'])} | {_fmt(crf['peak_rss_mb'], 0)} |", "",
              "## Cold start", "",
              f"One sentence, {len(cold['seconds']['tag'])} alternating runs of each:", "",
              "| command | median (s) | all runs (s) | peak RSS (MB) |", "|---|---:|---|---:|"]
    for name, command in cold["commands"].items():
        runs = ", ".join(f"{s:.2f}" for s in cold["seconds"][name])
        lines.append(f"| `{command}` | {_fmt(cold['median_seconds'][name])} | {runs} | "
                     f"{_fmt(cold['peak_rss_mb'][name], 0)} |")
    lines += ["", "## Method", ""] + [f"- {line}" for line in METHOD] + [""]
    return "\n".join(lines)


# --- the run -------------------------------------------------------------------------------


def _write_data(data_path: Path | None, out: Path) -> Path:
    """Read the dataset once (any supported format) and hand the children plain JSON."""
    from slotfill.data import load_dataset, resolve_data_path

    resolved = resolve_data_path(data_path)
    data = load_dataset(resolved)
    out.write_text(json.dumps({
        split: {column: list(data[split][column]) for column in ("tokens", "tags", "intent")}
        for split in ("train", "test")
    }))
    return resolved


def run(data: Path, out_dir: Path, profile: Profile,
        argv: Sequence[str] | None = None, name: str = "speed") -> dict[str, Any]:
    """Run every measure in order, write ``<name>.json`` and ``<name>.md``; return the
    report."""
    environment = common.environment(argv)
    with tempfile.TemporaryDirectory(prefix="slotfill-speed-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow",
               # `train` records the latest model under $SLOTFILL_MODELS: keep it out of the repo.
               "SLOTFILL_MODELS": str(root / "models"), "PYTHONUNBUFFERED": "1"}
        ws = Workspace(root, root / "data.json", env)
        data_path = _write_data(data, ws.data_file)
        steps = {
            "crf": lambda: measure_crf(ws, profile),
            "full_train": lambda: measure_full_train(ws, profile, data_path),
            "epochs": lambda: measure_epochs(ws, profile),
            "tagging": lambda: measure_tagging(ws, profile),
            "tagging_default_threads": lambda: measure_tagging(ws, profile, threads=None),
            "cold_start": lambda: measure_cold_start(ws, profile),
        }
        measures: dict[str, Any] = {}
        step_seconds: dict[str, float] = {}
        for step_name, step in steps.items():  # strictly one after another
            started = time.perf_counter()
            measures[step_name] = step()
            step_seconds[step_name] = time.perf_counter() - started
    environment["machine_at_end"] = {"load_average": common.machine()["load_average"]}
    targets = evaluate_targets(measures)
    report = {
        "benchmark": "speed",
        "quick": profile.name == "quick",
        "data": str(data_path),
        "environment": environment,
        "settings": asdict(profile) | {"archs": list(ARCHS), "tag_batch_size": TAG_BATCH_SIZE},
        "method": list(METHOD),
        "measures": measures,
        "targets": targets,
        "all_passed": all(t["passed"] for t in targets),
        "step_seconds": step_seconds,
        "total_seconds": sum(step_seconds.values()),
    }
    common.write_json(out_dir / f"{name}.json", report)
    common.write_atomic(out_dir / f"{name}.md", render_markdown(report))
    return report


# --- workers (children) --------------------------------------------------------------------


def _worker_crf(spec: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    from benchmarks import crf_baseline

    return crf_baseline.measure(data["train"]["tokens"], data["train"]["tags"],
                                data["test"]["tokens"], data["test"]["tags"],
                                max_iterations=spec["iterations"], repeats=spec["repeats"],
                                save_to=Path(spec["save_to"]))


def _worker_epochs(spec: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    import keras

    from slotfill.config import Config
    from slotfill.training import prepare_training, seed_everything

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            # Keras has turned the epoch's logs into numbers: the last step has finished.
            self.seconds.append(time.perf_counter() - self.started)

    runs = {}
    for arch in spec["archs"]:
        config = Config(arch=arch, epochs=spec["epochs"], patience=spec["epochs"],
                        **spec["sizes"])
        # train()'s own setup (noise included), without its validation scoring and saving.
        seed_everything(config.seed)
        setup = prepare_training(config, data["train"])
        runs[arch] = (setup.model, setup.dataset, setup.batches, config)
    timers = {arch: EpochTimer() for arch in runs}
    # Each one-epoch fit makes a new iterator over the generator and replays its first epoch's
    # batches; a new iterator can stall an epoch (slotfill.training._dataset), which the
    # median of the epochs absorbs.
    for epoch, arch in epoch_schedule(list(runs), spec["epochs"]):
        model, dataset, batches, _ = runs[arch]
        model.fit(dataset, initial_epoch=epoch, epochs=epoch + 1, steps_per_epoch=batches,
                  callbacks=[timers[arch]], verbose=0, shuffle=False)
    results = {}
    for arch, (model, _, _, config) in runs.items():
        seconds = timers[arch].seconds
        results[arch] = {"epoch_seconds": seconds,
                         "seconds_per_epoch": statistics.median(seconds[1:] or seconds),
                         "parameters": model.count_params(), "sizes": {
                             k: getattr(config, k) for k in ("hidden", "embedding_dim",
                                                             "char_dim", "char_filters",
                                                             "layers", "batch_size")}}
    return results


def _worker_tag(spec: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import tensorflow as tf

    if spec.get("threads"):
        tf.config.threading.set_intra_op_parallelism_threads(spec["threads"]["intra_op"])
        tf.config.threading.set_inter_op_parallelism_threads(spec["threads"]["inter_op"])
    texts = [" ".join(tokens) for tokens in data["test"]["tokens"]]
    loaded = tf.saved_model.load(spec["saved_model"])  # keep a reference: it owns the variables
    serve = loaded.signatures["serving_default"]
    batch = spec["batch_size"]

    def tag_all(order: list[str], size: int) -> None:
        for start in range(0, len(order), size):
            serve(text=tf.constant(order[start:start + size]))["tags"].numpy()

    def best_passes(order: list[str], size: int = batch) -> list[float]:
        tag_all(order, size)  # warm-up
        seconds = []
        for _ in range(spec["repeats"]):
            started = time.perf_counter()
            tag_all(order, size)
            seconds.append(time.perf_counter() - started)
        return seconds

    # The target: every utterance in one call; the SavedModel sorts them by length and
    # runs chunks of similar length itself (slotfill.export.CHUNK_SIZE).
    one_call_seconds = best_passes(texts, len(texts))
    pass_seconds = best_passes(texts)
    # A client that groups texts of similar length pads less: measured apart, not the target.
    sorted_seconds = best_passes(sorted(texts, key=lambda text: len(text.split())))

    side_by_side = _side_by_side(spec, texts, lambda: tag_all(texts, len(texts)))

    for i in range(LATENCY_WARMUP_CALLS):
        serve(text=tf.constant([texts[i % len(texts)]]))["tags"].numpy()
    latencies = []
    for i in range(spec["latency_calls"]):
        started = time.perf_counter()
        serve(text=tf.constant([texts[i % len(texts)]]))["tags"].numpy()
        latencies.append(1000 * (time.perf_counter() - started))
    return {
        "utterances": len(texts),
        "batch_size": batch,
        "pass_seconds": pass_seconds,
        "utterances_per_second": len(texts) / min(pass_seconds),
        "one_call_pass_seconds": one_call_seconds,
        "utterances_per_second_one_call": len(texts) / min(one_call_seconds),
        "sorted_pass_seconds": sorted_seconds,
        "utterances_per_second_length_sorted": len(texts) / min(sorted_seconds),
        "side_by_side": side_by_side,
        "latency_calls": len(latencies),
        "latency_ms": {"p50": float(np.percentile(latencies, 50)),
                       "p99": float(np.percentile(latencies, 99)),
                       "mean": float(np.mean(latencies))},
    }


def _side_by_side(spec: dict[str, Any], texts: list[str], slotfill_pass) -> dict[str, Any]:
    """The CRF and slotfill tagging ``texts`` in turn, ``rounds`` passes each; which goes
    first flips every round."""
    import pickle

    from benchmarks import crf_baseline

    crf = pickle.loads(Path(spec["crf_model"]).read_bytes())
    passes = {"crf": lambda: crf_baseline.tag_texts(crf, texts), "slotfill": slotfill_pass}
    for run_pass in passes.values():  # warm-up
        run_pass()
    seconds = alternate({name: lambda run_pass=run_pass: _timed(run_pass)
                         for name, run_pass in passes.items()}, spec["side_by_side_rounds"])
    return {"rounds": spec["side_by_side_rounds"],
            "crf_pass_seconds": seconds["crf"], "slotfill_pass_seconds": seconds["slotfill"],
            "crf_utterances_per_second": len(texts) / min(seconds["crf"]),
            "slotfill_utterances_per_second": len(texts) / min(seconds["slotfill"])}


WORKERS = {"crf": _worker_crf, "epochs": _worker_epochs, "tag": _worker_tag}


def _run_worker_here(name: str, spec_file: Path) -> None:
    spec = json.loads(spec_file.read_text())
    data = json.loads(Path(spec["data_file"]).read_text())
    result = WORKERS[name](spec, data)
    Path(spec["result_file"]).write_text(json.dumps(result))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Speed of slotfill (training, tagging, cold start, memory) against a "
                    "sklearn-crfsuite CRF; writes speed_NAME.json and speed_NAME.md.")
    parser.add_argument("--data", type=Path, default=None,
                        help="Dataset folder, e.g. ../shared/datasets/atis (required unless "
                             "--quick, which defaults to the bundled dataset).")
    parser.add_argument("--quick", action="store_true",
                        help="Tiny smoke run: small sizes, 2 epochs, 2 repeats.")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"Folder for the two files. Default: {common.RESULTS} "
                             "(with --quick: a new temporary folder).")
    parser.add_argument("--name", default=None,
                        help="The files' names are speed_NAME.json and .md. Default: the "
                             "dataset folder's name (atis, snips, flights).")
    parser.add_argument("--worker", nargs=2, metavar=("NAME", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        name, spec_file = args.worker
        if name not in WORKERS:
            parser.error(f"--worker must be one of {', '.join(WORKERS)}, got {name!r}")
        _run_worker_here(name, Path(spec_file))
        return
    if args.data is None and not args.quick:
        parser.error("--data is required for a full run (e.g. --data ../shared/datasets/atis)")
    out = args.out
    if out is None and args.quick:
        out = Path(tempfile.mkdtemp(prefix="slotfill-speed-quick-"))
    elif out is None:
        out = common.RESULTS
    data = args.data if args.data is not None else common.REPO / "slotfill" / "bundled" / "flights"

    logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    log.setLevel(logging.INFO)
    try:
        stem = f"speed_{args.name or data.resolve().name}"
        report = run(data, out, QUICK if args.quick else FULL,
                     sys.argv if argv is None else ["benchmarks/speed.py", *argv], stem)
    except BenchmarkError as err:
        sys.exit(f"error: {err}")
    for t in report["targets"]:
        verdict = {True: "pass", False: "FAIL", None: "n/a"}[t["passed"]]
        print(f"{t['name']:<22} {_fmt(t['value']):>8}  {t['op']} {t['bound']:g}  {verdict}")
    print(f"wrote {out / (stem + '.json')} and {out / (stem + '.md')}")


if __name__ == "__main__":
    main()
