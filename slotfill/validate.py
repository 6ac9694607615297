"""``slotfill validate``: the checks ``train`` makes on a dataset, and more, without TensorFlow.

:func:`validate` reads the folder as ``train`` does (every format error names its file and
line, and makes the data unusable), then reports what would make training or its scores
misleading: tags and intents of valid/test that train never shows, utterances repeated
across splits, the stray ``I-`` tags ``train`` would repair, and how often each slot and
intent occurs. Those are warnings: the data is usable.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from slotfill import bio
from slotfill.data import DataError, read_splits

# Below this many training examples a slot type or intent is reported as rare.
RARE = 3


@dataclass
class Report:
    usable: bool
    path: str
    format: str | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sentences: dict[str, int] = field(default_factory=dict)
    slots: dict[str, dict[str, int]] = field(default_factory=dict)    # split -> type -> count
    intents: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> intent -> count
    repairs: dict[str, int] = field(default_factory=dict)
    intent_head: bool = False

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    def format_text(self) -> str:
        """The report as ``slotfill validate`` prints it."""
        lines = [f"{self.path}: {'usable' if self.usable else 'NOT usable'}"
                 + (f" ({self.format})" if self.format else "")]
        lines += [f"error: {e}" for e in self.errors]
        if self.sentences:
            lines.append("sentences: " + ", ".join(f"{k} {v}" for k, v in self.sentences.items()))
            lines.append("intent head: " + ("yes" if self.intent_head else
                                            "no (no intents, or only one)"))
        train_slots = self.slots.get("train", {})
        if train_slots:
            lines.append(f"slot types in train ({len(train_slots)}): " + ", ".join(
                f"{k} {v}" for k, v in sorted(train_slots.items(), key=lambda kv: -kv[1])))
        train_intents = self.intents.get("train", {})
        if train_intents:
            lines.append(f"intents in train ({len(train_intents)}): " + ", ".join(
                f"{k} {v}" for k, v in sorted(train_intents.items(), key=lambda kv: -kv[1])))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"


def validate(path: str | os.PathLike | None = None) -> Report:
    """Check a dataset folder (ATIS layout or CoNLL); never raises for bad data."""
    try:
        raw = read_splits(path)
    except DataError as err:
        return Report(usable=False, path=str(path), errors=[str(err)])
    splits = {name: columns for name, columns in raw.splits.items() if columns is not None}
    report = Report(usable=True, path=str(raw.root), format=raw.format,
                    repairs={k: v for k, v in raw.repairs.items() if v})
    for name, columns in splits.items():
        report.sentences[name] = len(columns["tokens"])
        report.slots[name] = dict(Counter(span.slot for tags in columns["tags"]
                                          for span in bio.to_spans(tags)))
        report.intents[name] = dict(Counter(i for i in columns["intent"] if i))
    train = splits["train"]
    intents = set(train["intent"])
    report.intent_head = all(train["intent"]) and len(intents) > 1
    if "valid" not in splits:
        report.warnings.append("no valid split: train holds out 10 % of train (--seed draws it)")
    for name, count in report.repairs.items():
        report.warnings.append(f"{name}: {count} I- tag(s) do not continue a span of their "
                               "type; train reads them as B- (as conlleval does)")
    _unseen(report, splits)
    _repeated(report, splits)
    for kind, counts in (("slot type", report.slots["train"]),
                         ("intent", report.intents["train"])):
        rare = sorted(k for k, v in counts.items() if v < RARE)
        if rare:
            report.warnings.append(f"{len(rare)} {kind}(s) seen fewer than {RARE} times in "
                                   f"train: {', '.join(rare)}")
    return report


def _unseen(report: Report, splits: dict[str, dict[str, list]]) -> None:
    train_tags = {tag for tags in splits["train"]["tags"] for tag in tags}
    train_intents = set(splits["train"]["intent"])
    for name in ("valid", "test"):
        if name not in splits:
            continue
        tags = sorted({t for ts in splits[name]["tags"] for t in ts} - train_tags)
        if tags:
            report.warnings.append(f"{name}: tag(s) never seen in train (the model cannot "
                                   f"predict them): {', '.join(tags)}")
        intents = sorted(set(i for i in splits[name]["intent"] if i) - train_intents)
        if intents:
            report.warnings.append(f"{name}: intent(s) never seen in train: "
                                   f"{', '.join(intents)}")


def _repeated(report: Report, splits: dict[str, dict[str, list]]) -> None:
    seen: dict[tuple[str, ...], str] = {}
    for name, columns in splits.items():
        repeated = 0
        for tokens in columns["tokens"]:
            key = tuple(t.lower() for t in tokens)
            if key in seen and seen[key] != name:
                repeated += 1
            seen.setdefault(key, name)
        if repeated:
            report.warnings.append(f"{name}: {repeated} utterance(s) also in an earlier split "
                                   "(scores on them measure memory, not generalisation)")
