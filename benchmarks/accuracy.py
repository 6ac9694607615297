"""Accuracy benchmark: train architectures on a dataset with several seeds, record test scores.

    python benchmarks/accuracy.py --data ../shared/datasets/atis --archs all --seeds 1 2 3
        -> benchmarks/results/archs_atis.{json,md}     (every --arch at its default settings)
           and default_atis.{json,md} from its bilstm row (the default model)
    python benchmarks/accuracy.py --data ../shared/datasets/atis --default --seeds 1 2 3
        -> benchmarks/results/default_atis.{json,md}   (the default model, with intent scores)

Each training runs in its own process, so one run's graphs and memory cannot disturb
the next. ``--jobs N`` runs N trainings at once, each running cores/N TensorFlow ops at a
time (seconds per epoch are then per job, not comparable with a one-job run). Every op runs
on one thread (``slotfill.threads``), so a seed trains the same model whatever ``--jobs``
is, and the same as ``cli.py train --seed``. Results are
written after every architecture, so an interrupted benchmark keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, environment, environment_markdown, write_atomic, write_json  # noqa: E402
from slotfill.config import ARCHS, Config  # noqa: E402

DEFAULT_ARCH = Config().arch

WORKER = """
import json, sys, time
from slotfill.config import Config
from slotfill.data import load_dataset
from slotfill.training import train
arch, seed, data, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
config = Config(arch=arch, seed=seed)
result = train(config, load_dataset(data, seed=seed), out, verbose=0)
import keras
model = keras.saving.load_model(out + "/model.keras", compile=False)
print("RESULT " + json.dumps({
    "arch": arch, "seed": seed, "params": model.count_params(),
    "best_epoch": result.best_epoch, "epochs_run": result.epochs_run, "seconds": result.seconds,
    "slot_f1": result.test["slot_f1"], "intent_accuracy": result.test["intent_accuracy"],
    "sentence_accuracy": result.test["sentence_accuracy"],
}))
"""


def run_one(arch: str, seed: int, data: str, threads: int | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="slotfill-accuracy-") as tmp:
        env = _env(tmp)
        if threads is not None:
            env.update(TF_NUM_INTEROP_THREADS=str(threads))
        done = subprocess.run([sys.executable, "-c", WORKER, arch, str(seed), data, f"{tmp}/m"],
                              capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{arch} seed {seed} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def _env(tmp: str) -> dict[str, str]:
    return {**os.environ, "SLOTFILL_MODELS": tmp, "TF_CPP_MIN_LOG_LEVEL": "2"}


def summarize(arch: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    def mean_std(key: str) -> tuple[float, float]:
        values = [r[key] for r in runs]
        return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0

    f1_mean, f1_std = mean_std("slot_f1")
    intent_mean, intent_std = mean_std("intent_accuracy")
    sentence_mean, sentence_std = mean_std("sentence_accuracy")
    return {
        "arch": arch,
        "params": runs[0]["params"],
        "f1_mean": f1_mean, "f1_std": f1_std,
        "seeds": [r["slot_f1"] for r in runs],
        "seed_values": [r["seed"] for r in runs],
        "intent_accuracy_mean": intent_mean, "intent_accuracy_std": intent_std,
        "sentence_accuracy_mean": sentence_mean, "sentence_accuracy_std": sentence_std,
        "best_epochs": [r["best_epoch"] for r in runs],
        "sec_per_epoch": statistics.mean(r["seconds"] / r["epochs_run"] for r in runs),
    }


def previous_rows(path: Path, replaced: list[str]) -> list[dict[str, Any]]:
    """The rows of an earlier result file whose arch is not being measured again."""
    if not path.is_file():
        return []
    rows = json.loads(path.read_text())
    return [row for row in (rows if isinstance(rows, list) else [rows])
            if row["arch"] not in replaced]


def write_default(stem: Path, row: dict[str, Any], dataset: str, env: dict[str, Any]) -> None:
    write_json(stem.with_suffix(".json"), row)
    write_atomic(stem.with_suffix(".md"), markdown(f"Default model on {dataset}", [row], env))


def markdown(title: str, rows: list[dict[str, Any]], env: dict[str, Any]) -> str:
    lines = [f"# {title}", "", "Test split, seqeval entity F1 (mean ± std over seeds); "
             "intent and sentence accuracy in %.", "",
             "| arch | params | slot F1 | per seed | intent acc | sentence acc | best epochs "
             "| s/epoch | commit |",
             "|---|---:|---:|---|---:|---:|---|---:|---|"]
    for r in rows:
        commit = ((r.get("git") or {}).get("commit") or "unknown")[:8]
        lines.append(
            f"| {r['arch']} | {r['params']:,} | {r['f1_mean']:.2f} ± {r['f1_std']:.2f} | "
            f"{', '.join(f'{x:.2f}' for x in r['seeds'])} | {r['intent_accuracy_mean']:.2f} | "
            f"{r['sentence_accuracy_mean']:.2f} | {r['best_epochs']} | {r['sec_per_epoch']:.1f} "
            f"| {commit} |")
    return "\n".join(lines) + "\n\n" + environment_markdown(env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--archs", nargs="+", default=["all"])
    parser.add_argument("--default", action="store_true", help="benchmark the default model")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default=None, help="result file stem (default from data)")
    parser.add_argument("--jobs", type=int, default=1, help="trainings run at once")
    parser.add_argument("--update", action="store_true",
                        help="keep the other archs' rows of an existing result file")
    args = parser.parse_args()

    dataset = Path(args.data).name
    archs = ["bilstm"] if args.default else (list(ARCHS) if args.archs == ["all"] else args.archs)
    stem = args.name or (f"default_{dataset}" if args.default else f"archs_{dataset}")
    env = environment()
    env["jobs"] = args.jobs
    threads = max(1, (os.cpu_count() or 1) // args.jobs) if args.jobs > 1 else None
    kept = previous_rows(args.out / f"{stem}.json", archs) if args.update else []
    rows: list[dict[str, Any]] = []
    pool = ThreadPoolExecutor(max(1, args.jobs))
    futures = {arch: [pool.submit(run_one, arch, seed, args.data, threads) for seed in args.seeds]
               for arch in archs}
    for arch in archs:
        runs = []
        for future in futures[arch]:
            run = future.result()
            print(json.dumps(run), flush=True)
            runs.append(run)
        rows.append({**summarize(arch, runs), "machine": env["machine"],
                     "versions": env["versions"], "command": env["command"]["command"],
                     "git": env["git"], "date": env["date"]})
        records = sorted(kept + rows, key=lambda r: ARCHS.index(r["arch"]))
        if args.default:
            write_default(args.out / stem, rows[-1], dataset, env)
            continue
        write_json(args.out / f"{stem}.json", records)
        write_atomic(args.out / f"{stem}.md", markdown(f"Architectures on {dataset}", records, env))
        if arch == DEFAULT_ARCH and args.name is None:
            # The default arch at default settings *is* the default model: record it as such.
            write_default(args.out / f"default_{dataset}", rows[-1], dataset, env)


if __name__ == "__main__":
    main()
