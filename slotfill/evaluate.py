"""Scores: seqeval entity-level slot precision/recall/F1, intent and sentence accuracy."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

from slotfill.preprocess import same_intent
from slotfill.tagger import Prediction, Tagger


def score(gold_tags: Sequence[Sequence[str]], predictions: Sequence[Prediction],
          gold_intents: Sequence[str] | None = None) -> dict[str, Any]:
    """Scores as plain data (JSON-ready).

    Slot scores are seqeval's default (conlleval) micro averages in percent. An intent
    is right when the predicted label names exactly the gold label's intents, in any
    order (gold ``a#b``: ``a#b`` and ``b#a`` are right, ``a`` and ``a#b#c`` wrong); a
    sentence is right when its intent and every tag are right. Intents never seen in
    training can't be predicted and so count as errors.
    """
    if len(gold_tags) != len(predictions):
        raise ValueError(
            f"gold_tags has {len(gold_tags)} sentences, predictions {len(predictions)}")
    gold = [list(t) for t in gold_tags]
    pred = [p.tags for p in predictions]
    with warnings.catch_warnings():
        # seqeval averages over zero entities with numpy when a split has none; 0 is the answer.
        warnings.simplefilter("ignore", RuntimeWarning)
        report = classification_report(gold, pred, output_dict=True, zero_division=0)
    per_slot = {
        name: {"precision": 100 * v["precision"], "recall": 100 * v["recall"],
               "f1": 100 * v["f1-score"], "support": int(v["support"])}
        for name, v in report.items() if not name.endswith(" avg")
    }
    result: dict[str, Any] = {
        "sentences": len(gold),
        "slot_precision": 100 * precision_score(gold, pred, zero_division=0),
        "slot_recall": 100 * recall_score(gold, pred, zero_division=0),
        "slot_f1": 100 * f1_score(gold, pred, zero_division=0),
    }
    tags_right = [g == p for g, p in zip(gold, pred)]
    use_intent = gold_intents is not None and all(p.intent is not None for p in predictions)
    if use_intent:
        intent_right = [same_intent(g, p.intent) for g, p in zip(gold_intents, predictions)]
        result["intent_accuracy"] = 100 * sum(intent_right) / max(len(gold), 1)
        result["sentence_accuracy"] = 100 * sum(
            a and b for a, b in zip(tags_right, intent_right)) / max(len(gold), 1)
    else:
        result["intent_accuracy"] = None
        result["sentence_accuracy"] = 100 * sum(tags_right) / max(len(gold), 1)
    result["per_slot"] = per_slot
    return result


def evaluate(tagger: Tagger, split: Any) -> dict[str, Any]:
    """Score a tagger on a dataset split with ``tokens``, ``tags`` and ``intent`` columns."""
    tokens = split["tokens"]
    predictions = tagger.predict_tokens(tokens, confidence=False)
    intents = split["intent"] if "intent" in split.column_names else None
    if intents is not None and not any(intents):
        intents = None
    return score(split["tags"], predictions, intents)


def format_scores(scores: dict[str, Any]) -> str:
    """A readable report: the summary line, then one line per slot type."""
    lines = [
        f"sentences  {scores['sentences']}",
        f"slot       precision {scores['slot_precision']:.2f}  recall {scores['slot_recall']:.2f}"
        f"  f1 {scores['slot_f1']:.2f}",
    ]
    if scores.get("intent_accuracy") is not None:
        lines.append(f"intent     accuracy {scores['intent_accuracy']:.2f}")
    lines.append(f"sentence   accuracy {scores['sentence_accuracy']:.2f}")
    lines.append("")
    width = max([len(n) for n in scores["per_slot"]] + [4])
    lines.append(f"{'slot':<{width}}  precision  recall      f1  support")
    for name, v in sorted(scores["per_slot"].items()):
        lines.append(f"{name:<{width}}  {v['precision']:9.2f}  {v['recall']:6.2f}  {v['f1']:6.2f}"
                     f"  {v['support']:7d}")
    return "\n".join(lines)
