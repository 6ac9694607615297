"""Token <-> id mappings, saved as plain one-entry-per-line files.

A :class:`Vocabulary` reserves id 0 for padding and id 1 for unknown entries; a
:class:`LabelSet` (tags, intents) has no reserved entries. Both are pure Python
so the text side never needs TensorFlow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

PAD = "<pad>"
UNK = "<unk>"
PAD_ID = 0
UNK_ID = 1


class Vocabulary:
    """Strings to ids with ``<pad>`` = 0 and ``<unk>`` = 1."""

    def __init__(self, entries: Sequence[str]) -> None:
        if list(entries[:2]) != [PAD, UNK]:
            raise ValueError(f"entries must start with {PAD!r}, {UNK!r}; got {list(entries[:2])!r}")
        self.entries = list(entries)
        self.index = {entry: i for i, entry in enumerate(self.entries)}
        if len(self.index) != len(self.entries):
            raise ValueError("entries must be unique")

    @classmethod
    def build(cls, items: Iterable[str], min_count: int = 1) -> Vocabulary:
        """Vocabulary of the items seen at least ``min_count`` times, most frequent first."""
        counts = Counter(items)
        counts.pop(PAD, None)
        counts.pop(UNK, None)
        # Sorting by (-count, item) makes the ids independent of input order: reproducible.
        kept = sorted((item for item, n in counts.items() if n >= min_count),
                      key=lambda item: (-counts[item], item))
        return cls([PAD, UNK, *kept])

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, item: str) -> bool:
        return item in self.index and self.index[item] > UNK_ID

    def id(self, item: str) -> int:
        return self.index.get(item, UNK_ID)

    def ids(self, items: Iterable[str]) -> list[int]:
        return [self.index.get(item, UNK_ID) for item in items]

    def save(self, path: str | Path) -> None:
        _write_lines(path, self.entries)

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        return cls(_read_lines(path))


class LabelSet:
    """An ordered set of labels (tags or intents); unknown labels have no id."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self.index = {label: i for i, label in enumerate(self.labels)}
        if len(self.index) != len(self.labels):
            raise ValueError("labels must be unique")

    @classmethod
    def build(cls, labels: Iterable[str], first: Sequence[str] = ()) -> LabelSet:
        seen = dict.fromkeys(first)
        seen.update(dict.fromkeys(sorted(set(labels) - set(seen))))
        return cls(list(seen))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> str:
        return self.labels[i]

    def id(self, label: str, default: int = -1) -> int:
        return self.index.get(label, default)

    def save(self, path: str | Path) -> None:
        _write_lines(path, self.labels)

    @classmethod
    def load(cls, path: str | Path) -> LabelSet:
        return cls(_read_lines(path))


def _write_lines(path: str | Path, entries: Iterable[str]) -> None:
    entries = list(entries)
    bad = [e for e in entries if "\n" in e or "\r" in e]
    if bad:
        raise ValueError(f"entries cannot contain line breaks: {bad[:3]!r}")
    Path(path).write_text("".join(f"{e}\n" for e in entries), encoding="utf-8")


def _read_lines(path: str | Path) -> list[str]:
    text = Path(path).read_text(encoding="utf-8")
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")
