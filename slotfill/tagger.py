"""The Tagger: a trained model applied to raw text, returning tokens, tags, slots and intent."""

from __future__ import annotations

import datetime
import json
import logging
import os
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from slotfill import bio, model_dir
from slotfill.config import Config
from slotfill.inference import EAGER_FIRST_CALL_ROWS, Predictor
from slotfill.normalize import combine, kind_of, normalize
from slotfill.preprocess import EncodedSplit, Encoder
from slotfill.tokenizer import tokenize
from slotfill.value_files import synonym_key, synonym_table
from slotfill.versions import mismatch

log = logging.getLogger(__name__)


@dataclass
class Prediction:
    """The model's decision for one tokenized sentence."""

    tags: list[str]
    confidences: list[float]
    intent: str | None = None
    intent_confidence: float | None = None


@dataclass
class Slot:
    slot: str
    value: str       # as typed, e.g. "Taipei"
    start: int       # character offsets into the text
    end: int
    confidence: float
    # The value as a program uses it (a number, "17:00", an ISO date, a synonym's canonical
    # value; slotfill.normalize), None where the slot's kind has none or it cannot be read.
    normalized: Any = None


@dataclass
class TagResult:
    text: str
    tokens: list[str]
    tags: list[str]
    slots: list[Slot] = field(default_factory=list)
    intent: str | None = None
    intent_confidence: float | None = None
    # The utterance's dates ("YYYY-MM-DD") and times ("HH:MM") by role ("depart",
    # "arrive", ...), combined from its slots (slotfill.normalize.combine).
    dates: dict[str, str] = field(default_factory=dict)
    times: dict[str, str] = field(default_factory=dict)
    # False for a model without an intent head: then the dict has no intent keys at all
    # (a text with no tokens, from a model with one, has them as None).
    has_intent: bool = field(default=True, repr=False)

    def to_dict(self) -> dict:
        """The result as one line of ``slotfill tag --json``."""
        result = asdict(self)
        del result["has_intent"]
        if not self.has_intent:
            del result["intent"], result["intent_confidence"]
        return result

    def format(self) -> str:
        """The result as ``slotfill tag`` prints it: the text, each token with its tag, the
        intent and the slots with their spans and confidences."""
        if not self.tokens:
            return f"(nothing to tag in {self.text!r})\n"
        width = max(len(t) for t in self.tokens)
        lines = [self.text]
        lines += [f"  {token:<{width}}  {tag}" for token, tag in zip(self.tokens, self.tags)]
        if self.intent is not None:
            lines.append(f"intent: {self.intent} ({self.intent_confidence:.2f})")
        lines.append("slots:" if self.slots else "slots: none")
        lines += [f"  {s.slot} = {s.value!r}  [{s.start}:{s.end}] ({s.confidence:.2f})"
                  + (f" -> {json.dumps(s.normalized)}" if s.normalized is not None else "")
                  for s in self.slots]
        lines += [f"{role or 'date'} date: {date}" for role, date in self.dates.items()]
        lines += [f"{role or 'time'} time: {time}" for role, time in self.times.items()]
        return "\n".join(lines) + "\n"


class Tagger:
    """A model with its encoder; thread-safe for concurrent ``tag`` calls."""

    def __init__(self, model: keras.Model, config: Config, encoder: Encoder) -> None:
        self.model = model
        self.config = config
        self.encoder = encoder
        self.predictor = Predictor(model, encoder.tags.labels,
                                   encoder.intents.labels if encoder.intents else None,
                                   multi_intent=encoder.multi_intent)
        self._synonyms = synonym_table(config.synonyms)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> Tagger:
        """Load a model folder (default: the latest trained); ModelError if it is unusable."""
        folder = model_dir.resolve(path)
        try:
            config = Config.from_dict(model_dir.read_json(folder / model_dir.CONFIG_FILE))
        except (ValueError, TypeError) as err:
            raise model_dir.ModelError(
                f"{folder / model_dir.CONFIG_FILE} is not a valid config: {err}") from err
        try:
            encoder = Encoder.load(folder / model_dir.VOCAB_DIR, config.max_word_length,
                                   config.multi_intent)
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise model_dir.ModelError(f"cannot read the vocabularies in {folder}: {err}") from err
        import slotfill.layers  # noqa: F401  (registers the custom layers)

        if not zipfile.is_zipfile(folder / model_dir.MODEL_FILE):
            raise model_dir.ModelError(
                f"{folder / model_dir.MODEL_FILE} is corrupt: not a .keras (zip) archive")
        try:
            # safe_mode stays on: loading never runs code stored in the file.
            model = keras.saving.load_model(folder / model_dir.MODEL_FILE, compile=False,
                                            safe_mode=True)
        except Exception as err:  # Keras raises many types for a bad file
            raise model_dir.ModelError(
                f"cannot load {folder / model_dir.MODEL_FILE}: {type(err).__name__}: {err}"
            ) from err
        _check_compatible(model, encoder, folder)
        _check_finite(model, folder)
        _warn_if_other_version(folder)
        return cls(model, config, encoder)

    def warm_up(self) -> None:
        """Trace the model's graph now, so that a server's first request is as fast as the
        rest (a first small call would otherwise run eagerly, and the next trace)."""
        self.tag(["warm up"] * (EAGER_FIRST_CALL_ROWS + 1))

    def predict_tokens(self, sentences: Sequence[Sequence[str]], batch_size: int = 64,
                       confidence: bool = True) -> list[Prediction]:
        """Tags (and intent) for already tokenized sentences, in input order.

        ``confidence=False`` skips the per-tag probabilities (faster; ``confidences`` is empty).
        """
        split = EncodedSplit(self.encoder, sentences)
        results: list[Prediction | None] = [None] * len(sentences)
        for indices, inputs, _ in split.iter_batches(batch_size):
            out = self.predictor(inputs, confidence=confidence)
            for row, i in enumerate(indices):
                n = split.lengths[i]
                prediction = Prediction(
                    tags=self.encoder.decode_tags(out["tag_ids"][row], n),
                    confidences=([float(c) for c in out["tag_confidence"][row, :n]]
                                 if confidence else []),
                )
                if "intent" in out:
                    prediction.intent = out["intent"][row].decode("utf-8")
                    prediction.intent_confidence = float(out["intent_confidence"][row])
                results[i] = prediction
        return results  # type: ignore[return-value]

    def tag(self, texts: Sequence[str], batch_size: int = 64,
            today: datetime.date | None = None) -> list[TagResult]:
        """Tokenize raw texts and tag them; slot values keep the text as typed, and each
        slot's ``normalized`` value reads relative dates from ``today`` (default: the
        current date)."""
        if isinstance(texts, str):
            raise ValueError("texts must be a list of strings, got one str; use tag([text])")
        tokenized = [tokenize(text) for text in texts]
        non_empty = [i for i, tokens in enumerate(tokenized) if tokens]
        sentences = [[t.text for t in tokenized[i]] for i in non_empty]
        predictions = self.predict_tokens(sentences, batch_size)
        has_intent = "intent" in self.model.output_names
        results = [TagResult(text=text, tokens=[], tags=[], has_intent=has_intent)
                   for text in texts]
        for i, prediction in zip(non_empty, predictions):
            tokens = tokenized[i]
            result = results[i]
            result.tokens = [t.text for t in tokens]
            result.tags = prediction.tags
            result.intent = prediction.intent
            result.intent_confidence = prediction.intent_confidence
            for span in bio.to_spans(prediction.tags):
                start, end = tokens[span.start].start, tokens[span.end - 1].end
                result.slots.append(Slot(
                    slot=span.slot,
                    value=texts[i][start:end],
                    start=start,
                    end=end,
                    # The weakest token bounds how sure the model is of the whole span.
                    confidence=min(prediction.confidences[span.start:span.end]),
                ))
            self._normalize(result, today or datetime.date.today())
        return results

    def _normalize(self, result: TagResult, today: datetime.date) -> None:
        parts = []
        for slot in result.slots:
            kind = kind_of(slot.slot, self.config.value_types)
            value = normalize(kind, slot.value, today)
            canonical = self._synonyms.get(synonym_key(slot.value))
            slot.normalized = canonical if canonical is not None else value
            parts.append((slot.slot, kind, value))
        result.dates, result.times = combine(parts, today)


def _check_compatible(model: keras.Model, encoder: Encoder, folder: Path) -> None:
    """The vocab files must fit the model's embedding and output sizes."""
    try:
        # With pretrained vectors, their table covers the whole vocabulary.
        names = {layer.name for layer in model.layers}
        words = model.get_layer("word_vectors" if "word_vectors" in names
                                else "word_embedding").input_dim
        tags = model.get_layer("emissions").units
    except ValueError as err:
        raise model_dir.ModelError(f"{folder} does not hold a slotfill model: {err}") from err
    vocab = folder / model_dir.VOCAB_DIR
    if "chars" in model.input and encoder.chars is None:
        raise model_dir.ModelError(f"model folder {folder} is incomplete: missing "
                                   f"{vocab.name}/chars.txt (the model reads characters)")
    if "intent" in model.output_names and encoder.intents is None:
        raise model_dir.ModelError(f"model folder {folder} is incomplete: missing "
                                   f"{vocab.name}/intents.txt (the model predicts intents)")
    if "chars" not in model.input and encoder.chars is not None:
        raise model_dir.ModelError(f"{folder} is inconsistent: {vocab.name}/chars.txt is there "
                                   "but the model reads no characters")
    expected = {"words.txt": (words, len(encoder.words)), "tags.txt": (tags, len(encoder.tags))}
    if encoder.chars is not None and "chars" in model.input:
        expected["chars.txt"] = (model.get_layer("char_cnn").vocab_size, len(encoder.chars))
    if encoder.intents is not None and "intent" in model.output_names:
        expected["intents.txt"] = (model.get_layer("intent").units, len(encoder.intents))
    for name, (model_size, file_size) in expected.items():
        if model_size != file_size:
            raise model_dir.ModelError(
                f"{folder} is inconsistent: the model expects {model_size} entries in "
                f"{vocab.name}/{name}, the file has {file_size}")


def _check_finite(model: keras.Model, folder: Path) -> None:
    """NaN weights would tag every word O with no other sign that the model is broken."""
    for weight in model.weights:
        if not np.all(np.isfinite(keras.ops.convert_to_numpy(weight))):
            raise model_dir.ModelError(
                f"{folder / model_dir.MODEL_FILE} is unusable: its weight {weight.path} holds "
                "NaN or infinite values (a diverged training or a damaged file); train it again")


def _warn_if_other_version(folder: Path) -> None:
    """Log one warning when the model was written by another major version of slotfill."""
    try:
        recorded = model_dir.read_json(folder / model_dir.SCORES_FILE).get("versions")
    except (model_dir.ModelError, OSError, ValueError, AttributeError):
        return  # scores.json is informative: a model without a readable one still tags
    warning = mismatch(recorded)
    if warning:
        log.warning("%s: %s", folder, warning)
