"""Examples to padded id arrays and tf.data pipelines, and predicted ids back to labels.

The :class:`Encoder` owns everything a model needs to turn tokens into ids: the
word and character vocabularies, the tag and intent label sets and the word
length cap. It is saved as plain files next to the model, and the SavedModel
export builds its lookup tables from the same files.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slotfill import bio
from slotfill.tokenizer import is_capitalized, normalize
from slotfill.vocabulary import LabelSet, Vocabulary

WORDS_FILE = "words.txt"
CHARS_FILE = "chars.txt"
TAGS_FILE = "tags.txt"
INTENTS_FILE = "intents.txt"
# Joins the intents of a multi-intent label, as ATIS writes them: "atis_flight#atis_airfare".
INTENT_SEPARATOR = "#"
# Put before the characters of a capitalised word (tokenizer.is_capitalized) by an encoder
# whose character vocabulary has it, i.e. one built for a model trained on capitalised
# sentences (Config.case_noise). A private-use character, which typed text hardly contains
# (where it does, it reads as the mark, the same in Python and in the SavedModel).
CASE_MARK = "\ue000"

# Lengths are rounded up to a multiple of this so that a model sees few distinct
# shapes (fewer retraces) while short batches stay short.
LENGTH_QUANTUM = 8


@dataclass
class Encoder:
    """Token/label <-> id conversions for one model."""

    words: Vocabulary
    chars: Vocabulary | None
    tags: LabelSet
    intents: LabelSet | None
    max_word_length: int
    multi_intent: bool = False    # intents are sets of the labels in ``intents``

    @classmethod
    def build(cls, tokens: Sequence[Sequence[str]], tags: Sequence[Sequence[str]],
              intents: Sequence[str] | None, *, chars: bool, max_word_length: int,
              multi_intent: bool = False, mark_case: bool = False) -> Encoder:
        """Vocabularies and label sets from the training split only (no test leakage).

        With ``multi_intent`` the intent label set holds the single intents, and a label
        is the set of those it joins with ``#``. With ``mark_case`` (and ``chars``) the
        character vocabulary ends with :data:`CASE_MARK`, and capitalised words are encoded
        with it first.
        """
        keys = [normalize(t) for sentence in tokens for t in sentence]
        char_vocab = None
        if chars:
            # The mark is in the vocabulary only when asked for, even if the data has the
            # character: its presence is what says the model reads case (marks_case).
            char_vocab = Vocabulary.build(c for key in keys for c in key[:max_word_length]
                                          if c != CASE_MARK)
            if mark_case:
                char_vocab = Vocabulary([*char_vocab.entries, CASE_MARK])
        # "O" first, so tag id 0 is the outside tag whatever the dataset; then the order
        # that lets the CRF decode without reordering its emissions.
        tag_set = LabelSet.build((t for sentence in tags for t in sentence), first=["O"])
        tag_set = LabelSet(bio.crf_order(tag_set.labels))
        intent_set = None
        if intents is not None:
            if multi_intent:
                intents = [part for label in intents for part in split_intent(label)]
            intent_set = LabelSet.build(intents)
        return cls(Vocabulary.build(keys), char_vocab, tag_set, intent_set, max_word_length,
                   multi_intent)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.words.save(folder / WORDS_FILE)
        if self.chars is not None:
            self.chars.save(folder / CHARS_FILE)
        self.tags.save(folder / TAGS_FILE)
        if self.intents is not None:
            self.intents.save(folder / INTENTS_FILE)

    @classmethod
    def load(cls, folder: str | Path, max_word_length: int, multi_intent: bool = False) -> Encoder:
        folder = Path(folder)
        chars = folder / CHARS_FILE
        intents = folder / INTENTS_FILE
        return cls(
            words=Vocabulary.load(folder / WORDS_FILE),
            chars=Vocabulary.load(chars) if chars.exists() else None,
            tags=LabelSet.load(folder / TAGS_FILE),
            intents=LabelSet.load(intents) if intents.exists() else None,
            max_word_length=max_word_length,
            multi_intent=multi_intent,
        )

    @property
    def marks_case(self) -> bool:
        """Capitalised words' characters start with :data:`CASE_MARK`."""
        return self.chars is not None and CASE_MARK in self.chars

    def encode_tokens(self, tokens: Sequence[str]) -> dict[str, np.ndarray]:
        """One sentence's model inputs: ``words`` [T] and (with chars) ``chars`` [T, C]."""
        keys = [normalize(t) for t in tokens]
        out = {"words": np.asarray(self.words.ids(keys), dtype=np.int32)}
        if self.chars is not None:
            if self.marks_case:
                keys = [CASE_MARK + key if is_capitalized(token) else key
                        for key, token in zip(keys, tokens, strict=True)]
            width = max([len(k[: self.max_word_length]) for k in keys], default=1) or 1
            chars = np.zeros((len(keys), width), dtype=np.int32)
            for i, key in enumerate(keys):
                ids = self.chars.ids(key[: self.max_word_length])
                chars[i, : len(ids)] = ids
            out["chars"] = chars
        return out

    def encode_targets(self, tags: Sequence[str], intent: str | None) -> dict[str, np.ndarray]:
        """Target ids; labels the model never saw become -1, which scores as an error.

        A multi-intent target is a 0/1 vector over the intent set (unseen intents left out).
        """
        out = {"tags": np.asarray([self.tags.id(t) for t in tags], dtype=np.int32)}
        if self.intents is not None and self.multi_intent:
            target = np.zeros(len(self.intents), dtype=np.float32)
            for part in split_intent(intent or ""):
                if self.intents.id(part) >= 0:
                    target[self.intents.id(part)] = 1.0
            out["intent"] = target
        elif self.intents is not None:
            out["intent"] = np.asarray(self.intents.id(intent or ""), dtype=np.int32)
        return out

    def decode_tags(self, ids: Sequence[int], length: int) -> list[str]:
        return [self.tags[int(i)] for i in ids[:length]]


def split_intent(label: str) -> list[str]:
    """The intents a label joins: "a#b" -> ["a", "b"]; "" -> []."""
    return [part for part in label.split(INTENT_SEPARATOR) if part]


def same_intent(a: str | None, b: str | None) -> bool:
    """Labels name the same intents, in any order: "a#b" matches "b#a"."""
    if a is None or b is None:
        return a == b
    return set(split_intent(a)) == set(split_intent(b))


def pad_batch(items: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Stack per-sentence arrays, padding every axis to a multiple of LENGTH_QUANTUM.

    Inputs pad with 0 (the pad id); ``tags`` pads with -1 so losses and scores skip it.
    ``intent`` (one id, or one 0/1 vector, per sentence) is stacked as it is.
    """
    out: dict[str, np.ndarray] = {}
    for key in items[0]:
        arrays = [item[key] for item in items]
        if arrays[0].ndim == 0 or key == "intent":
            out[key] = np.stack(arrays)
            continue
        shape = [_round_up(max(a.shape[axis] for a in arrays)) for axis in range(arrays[0].ndim)]
        fill = -1 if key == "tags" else 0
        batch = np.full([len(arrays), *shape], fill, dtype=arrays[0].dtype)
        for i, a in enumerate(arrays):
            batch[(i, *(slice(0, n) for n in a.shape))] = a
        out[key] = batch
    return out


def _round_up(n: int) -> int:
    return max(LENGTH_QUANTUM, -(-n // LENGTH_QUANTUM) * LENGTH_QUANTUM)


def length_batches(lengths: Sequence[int], batch_size: int, *, shuffle: bool,
                   rng: random.Random | None = None) -> list[list[int]]:
    """Group sentence indices into batches of similar length.

    Sorting inside pools of 50 batches keeps padding low while shuffling the pools
    and the batch order keeps the gradient noise of random batches.
    """
    order = list(range(len(lengths)))
    if shuffle:
        (rng or random.Random(0)).shuffle(order)
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    if shuffle:
        (rng or random.Random(0)).shuffle(batches)
    return batches


class EncodedSplit:
    """A split's sentences encoded once, to be batched many times."""

    def __init__(self, encoder: Encoder, tokens: Sequence[Sequence[str]],
                 tags: Sequence[Sequence[str]] | None = None,
                 intents: Sequence[str] | None = None) -> None:
        self.encoder = encoder
        self.inputs = [encoder.encode_tokens(t) for t in tokens]
        self.targets = None
        if tags is not None:
            self.targets = [
                encoder.encode_targets(t, intents[i] if intents is not None else None)
                for i, t in enumerate(tags)
            ]
        self.lengths = [len(t) for t in tokens]

    def __len__(self) -> int:
        return len(self.inputs)

    def iter_batches(self, batch_size: int, *, shuffle: bool = False,
                     rng: random.Random | None = None,
                     ) -> Iterator[tuple[list[int], dict, dict | None]]:
        """Yield (indices, padded inputs, padded targets or None)."""
        for idx in length_batches(self.lengths, batch_size, shuffle=shuffle, rng=rng):
            inputs = pad_batch([self.inputs[i] for i in idx])
            targets = pad_batch([self.targets[i] for i in idx]) if self.targets else None
            yield idx, inputs, targets
