"""The classic peer: a linear-chain CRF over hand-made word features (sklearn-crfsuite).

Features of token ``i`` (all from the token strings; nothing dataset-specific):

    w            the lower-cased word
    p2, p3       its first 2 and 3 characters (lower-cased)
    s2, s3       its last 2 and 3 characters (lower-cased)
    digit        it contains a digit;  alldigit: it is all digits
    title, upper capitalised / all upper case
    shape        character classes with runs collapsed: "Nov2nd" -> "Xxdx", "10:30" -> "d:d"
    -2:w .. +2:w the lower-cased neighbours at offsets -2, -1, +1, +2, with their digit flag
                 and shape; "-1:pad" etc. mark positions before the start / after the end

Training uses L-BFGS with c1 = c2 = 0.1 (L1 and L2 penalties) for 100 iterations.
Timings count feature extraction: training time is features + fit, and tagging
starts from raw whitespace-separated text, as a user of the CRF would run it.

Usage::

    python benchmarks/crf_baseline.py --data ../shared/datasets/atis
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sklearn_crfsuite
from seqeval.metrics import f1_score

C1 = 0.1
C2 = 0.1
MAX_ITERATIONS = 100
NEIGHBOURS = (-2, -1, 1, 2)

Features = dict[str, Any]


def word_shape(word: str) -> str:
    """Upper -> X, lower -> x, digit -> d, anything else kept; runs of one class collapsed."""
    shape: list[str] = []
    for ch in word:
        if ch.isdigit():
            cls = "d"
        elif ch.isalpha():
            cls = "X" if ch.isupper() else "x"
        else:
            cls = ch
        if not shape or shape[-1] != cls:
            shape.append(cls)
    return "".join(shape)


def token_features(tokens: Sequence[str], i: int) -> Features:
    """The feature dict of ``tokens[i]`` (see the module docstring)."""
    if not 0 <= i < len(tokens):
        raise ValueError(f"i must be in [0, {len(tokens)}), got {i!r}")
    word = tokens[i]
    low = word.lower()
    features: Features = {
        "bias": 1.0,
        "w": low,
        "p2": low[:2],
        "p3": low[:3],
        "s2": low[-2:],
        "s3": low[-3:],
        "digit": any(ch.isdigit() for ch in word),
        "alldigit": word.isdigit(),
        "title": word.istitle(),
        "upper": word.isupper(),
        "shape": word_shape(word),
    }
    for offset in NEIGHBOURS:
        j = i + offset
        key = f"{offset:+d}"
        if 0 <= j < len(tokens):
            other = tokens[j]
            features[f"{key}:w"] = other.lower()
            features[f"{key}:digit"] = any(ch.isdigit() for ch in other)
            features[f"{key}:shape"] = word_shape(other)
        else:
            features[f"{key}:pad"] = True
    return features


def sentence_features(tokens: Sequence[str]) -> list[Features]:
    """One feature dict per token."""
    return [token_features(tokens, i) for i in range(len(tokens))]


def train_crf(sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]], *,
              c1: float = C1, c2: float = C2,
              max_iterations: int = MAX_ITERATIONS) -> sklearn_crfsuite.CRF:
    """Fit the CRF on tokenized sentences and their BIO tags."""
    if len(sentences) != len(tags):
        raise ValueError(f"tags must have one sequence per sentence ({len(sentences)}), "
                         f"got {len(tags)}")
    if not isinstance(max_iterations, int) or max_iterations < 1:
        raise ValueError(f"max_iterations must be an integer >= 1, got {max_iterations!r}")
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=c1, c2=c2, max_iterations=max_iterations)
    crf.fit([sentence_features(s) for s in sentences], [list(t) for t in tags])
    return crf


def tag_texts(crf: sklearn_crfsuite.CRF, texts: Sequence[str]) -> list[list[str]]:
    """Tags for raw texts split on whitespace (empty texts get no tags)."""
    return [list(t) for t in crf.predict([sentence_features(text.split()) for text in texts])]


def measure(train_tokens: Sequence[Sequence[str]], train_tags: Sequence[Sequence[str]],
            test_tokens: Sequence[Sequence[str]], test_tags: Sequence[Sequence[str]], *,
            max_iterations: int = MAX_ITERATIONS, repeats: int = 3,
            save_to: Path | None = None) -> dict[str, Any]:
    """Train, time tagging (best of ``repeats``) and score the CRF on the test split.

    Returns raw numbers: ``train_seconds`` (features + fit), ``tag_seconds`` of every
    repeat, ``utterances_per_second`` (from the best repeat) and seqeval ``slot_f1`` in
    percent on the test split. With ``save_to``, the trained CRF is also pickled there
    (for timing it beside slotfill in another process).
    """
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    started = time.perf_counter()
    crf = train_crf(train_tokens, train_tags, max_iterations=max_iterations)
    train_seconds = time.perf_counter() - started
    if save_to is not None:
        Path(save_to).write_bytes(pickle.dumps(crf))

    texts = [" ".join(tokens) for tokens in test_tokens]
    tag_seconds = []
    predicted: list[list[str]] = []
    for _ in range(repeats):
        started = time.perf_counter()
        predicted = tag_texts(crf, texts)
        tag_seconds.append(time.perf_counter() - started)
    best = min(tag_seconds)
    return {
        "c1": C1, "c2": C2, "max_iterations": max_iterations,
        "train_sentences": len(train_tokens),
        "train_seconds": train_seconds,
        "test_utterances": len(texts),
        "tag_seconds": tag_seconds,
        "utterances_per_second": len(texts) / best if best > 0 else math.inf,
        "slot_f1": 100 * f1_score([list(t) for t in test_tags], predicted, zero_division=0),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", default=None,
                        help="Dataset folder (default: the bundled dataset).")
    parser.add_argument("--iterations", type=int, default=MAX_ITERATIONS)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from slotfill.data import load_dataset

    data = load_dataset(args.data)
    result = measure(list(data["train"]["tokens"]), list(data["train"]["tags"]),
                     list(data["test"]["tokens"]), list(data["test"]["tags"]),
                     max_iterations=args.iterations, repeats=args.repeats)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
