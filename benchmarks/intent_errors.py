"""Intent errors shared by several models: what more seeds, or an ensemble, could still fix.

    python benchmarks/intent_errors.py --data ../shared/datasets/atis --seeds 1 2 3 4 5
        -> benchmarks/results/intent_errors_<data>.{json,md}

trains the default model with each seed first (``cli.py train --seed N``, two at a time,
in a temporary folder; ``--train-args`` adds options); ``--models M1 M2 ...`` scores model
folders that exist instead. Each model is scored on the split (intent accuracy). Across
the models it counts the sentences that exactly k of the n models get wrong, scores their
ensemble (the averaged intent probabilities), and lists the sentences that all models, or
all but one, get wrong, with the gold label and what each model said. A sentence every
model gets wrong is one that retraining with other seeds, or averaging the models, does
not fix: its gold label disagrees with how the training split labels such sentences, or
names an intent the training split never has.

The models must predict single labels (not ``--multi-intent``) from the same intent list,
as models trained on one dataset do.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    REPO,
    RESULTS,
    environment,
    environment_markdown,
    write_atomic,
    write_json,
)


def train_seeds(data: str, seeds: Sequence[int], folder: Path, train_args: Sequence[str] = (),
                jobs: int = 2) -> dict[str, Path]:
    """``cli.py train --seed N`` for each seed, ``jobs`` at a time: name -> model folder."""
    def one(seed: int) -> tuple[str, Path]:
        out = folder / f"seed{seed}"
        done = subprocess.run(
            [sys.executable, str(REPO / "cli.py"), "train", "--data", data, "--seed", str(seed),
             "--out", str(out), "--quiet", *train_args],
            capture_output=True, text=True,
            env={**os.environ, "SLOTFILL_MODELS": str(folder), "TF_CPP_MIN_LOG_LEVEL": "2"})
        if done.returncode != 0:
            raise RuntimeError(f"training seed {seed} failed:\n{done.stdout[-2000:]}"
                               f"{done.stderr[-2000:]}")
        return f"seed {seed}", out

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return dict(pool.map(one, seeds))


def intent_probabilities(tagger: Any, tokens: Sequence[Sequence[str]]) -> Any:
    """The model's intent distribution for every sentence, [sentences, intents], in order."""
    import numpy as np

    from slotfill.preprocess import EncodedSplit

    probs = np.zeros((len(tokens), len(tagger.encoder.intents)), np.float32)
    for indices, inputs, _ in EncodedSplit(tagger.encoder, tokens).iter_batches(256):
        probs[indices] = np.asarray(tagger.model(inputs, training=False)["intent"])
    return probs


def analyse(taggers: dict[str, Any], split: Any) -> dict[str, Any]:
    """Per-model accuracy, the count of sentences wrong for exactly k models, the
    ensemble's accuracy, and the sentences wrong for at least n - 1 of the n models."""
    import numpy as np

    from slotfill.preprocess import same_intent

    labels = None
    for name, tagger in taggers.items():
        if tagger.encoder.intents is None or tagger.encoder.multi_intent:
            raise ValueError(f"{name} does not predict single intent labels")
        if labels is not None and tagger.encoder.intents.labels != labels:
            raise ValueError(f"{name} has another intent list than the first model")
        labels = tagger.encoder.intents.labels
    gold = list(split["intent"])
    probs = {name: intent_probabilities(t, split["tokens"]) for name, t in taggers.items()}
    said = {name: [labels[i] for i in p.argmax(-1)] for name, p in probs.items()}
    wrong = {name: [not same_intent(g, s) for g, s in zip(gold, said[name])] for name in said}
    ensemble = np.mean(list(probs.values()), axis=0).argmax(-1)
    ensemble_wrong = [not same_intent(g, labels[i]) for g, i in zip(gold, ensemble)]
    n = len(taggers)
    times_wrong = [sum(w[i] for w in wrong.values()) for i in range(len(gold))]
    counts = Counter(times_wrong)

    def accuracy(errors: Sequence[bool]) -> float:
        return 100 * (1 - sum(errors) / max(len(errors), 1))

    return {
        "sentences": len(gold),
        "models": {name: {"intent_accuracy": accuracy(w), "errors": sum(w)}
                   for name, w in wrong.items()},
        "wrong_for_k_models": {k: counts.get(k, 0) for k in range(1, n + 1)},
        "ensemble": {"intent_accuracy": accuracy(ensemble_wrong), "errors": sum(ensemble_wrong)},
        "shared_errors": [
            {"index": i, "text": " ".join(split["tokens"][i]), "gold": gold[i],
             "wrong_for": times_wrong[i], "said": sorted({s[i] for s in said.values()})}
            for i in range(len(gold)) if times_wrong[i] >= max(n - 1, 1)],
    }


def markdown(result: dict[str, Any], env: dict[str, Any]) -> str:
    n = len(result["models"])
    lines = [f"# Intent errors shared by {n} models on {result['dataset']} ({result['split']})",
             "", f"{result['sentences']} sentences.", "",
             "| model | intent accuracy | errors |", "|---|---:|---:|"]
    for name, m in result["models"].items():
        lines.append(f"| {name} | {m['intent_accuracy']:.2f} | {m['errors']} |")
    e = result["ensemble"]
    lines += [f"| ensemble (averaged probabilities) | {e['intent_accuracy']:.2f} | {e['errors']} |",
              "", "| wrong for exactly k models | " + " | ".join(
                  str(k) for k in result["wrong_for_k_models"]) + " |",
              "|---|" + "---:|" * n,
              "| sentences | " + " | ".join(
                  str(c) for c in result["wrong_for_k_models"].values()) + " |",
              "", f"Wrong for at least {max(n - 1, 1)} of the {n} models:", "",
              "| # | sentence | gold | the models said | wrong for |", "|---:|---|---|---|---:|"]
    for s in result["shared_errors"]:
        lines.append(f"| {s['index']} | {s['text']} | {s['gold']} | {', '.join(s['said'])} "
                     f"| {s['wrong_for']} |")
    return "\n".join(lines) + "\n\n" + environment_markdown(env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument("--seeds", nargs="+", type=int, help="train the default model with these")
    given.add_argument("--models", nargs="+", help="model folders")
    parser.add_argument("--train-args", default="",
                        help="more options for cli.py train with --seeds, e.g. '--epochs 5'")
    parser.add_argument("--jobs", type=int, default=2, help="trainings at once with --seeds")
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default=None, help="result file stem (default from data)")
    args = parser.parse_args()

    from slotfill.data import load_dataset
    from slotfill.tagger import Tagger
    from slotfill.threads import use_one_thread_per_op

    env = environment()
    with tempfile.TemporaryDirectory(prefix="slotfill-intent-errors-") as tmp:
        if args.seeds:
            folders = train_seeds(args.data, args.seeds, Path(tmp),
                                  shlex.split(args.train_args), args.jobs)
        else:
            folders = {str(path): Path(path) for path in args.models}
        use_one_thread_per_op()  # as cli.py evaluate: the arithmetic training scored with
        taggers = {name: Tagger.load(folder) for name, folder in folders.items()}
        split = load_dataset(args.data)[args.split]
        analysis = analyse(taggers, split)
    dataset = Path(args.data).name
    result = {"dataset": dataset, "split": args.split, **analysis,
              "machine": env["machine"], "versions": env["versions"],
              "command": env["command"]["command"], "git": env["git"], "date": env["date"]}
    stem = args.out / (args.name or f"intent_errors_{dataset}")
    write_json(stem.with_suffix(".json"), result)
    text = markdown(result, env)
    write_atomic(stem.with_suffix(".md"), text)
    print(text)


if __name__ == "__main__":
    main()
