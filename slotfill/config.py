"""Every hyperparameter of a slotfill model, with its default, in one place.

The CLI overrides fields; the chosen values are saved next to the model as
``config.json`` so a model folder says how it was made.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ARCHS = (
    "elman", "jordan", "lstm", "peephole", "gru",
    "bielman", "bijordan", "bilstm", "bipeephole", "bigru",
)
DECODERS = ("softmax", "crf")
INTENT_ENCODERS = ("cnn", "bilstm")
ACTIVATIONS = ("tanh", "relu")
RECURRENT_INITS = ("orthogonal", "identity", "glorot_uniform")
SINGLE_DIRECTION_WINDOW = 2

# Training schedule when epochs / patience / learning_rate are left at None.
TRAINING_DEFAULTS: dict[str, Any] = {"epochs": 20, "patience": 3, "learning_rate": 0.003}
# Jordan taggers feed back a softmax and learn more slowly: the default schedule stopped them
# while still learning (docs/design-notes.md, "Jordan schedules").
JORDAN_TRAINING: dict[str, Any] = {"epochs": 30, "patience": 5, "learning_rate": 0.001}
# A Jordan cell sees the other words only through the tag posteriors it feeds back, so the
# bidirectional one gets the one-direction window too, and with both directions it trains
# well at the usual rate.
BIJORDAN_TRAINING: dict[str, Any] = {**JORDAN_TRAINING, "learning_rate": 0.003}
# Where an arch departs from the shared defaults (arch_defaults), with the reasons above.
ARCH_OVERRIDES: dict[str, dict[str, Any]] = {
    "jordan": JORDAN_TRAINING,
    "bijordan": {**BIJORDAN_TRAINING, "window": SINGLE_DIRECTION_WINDOW},
}
# Fields added after models were first saved, with the value those models were made with.
LEGACY_VALUES: dict[str, Any] = {"intent_encoder": "bilstm", "intent_smoothing": 0.0,
                                 "case_noise": 0.0, "prefix_noise": 0.0}


def arch_defaults(arch: str) -> dict[str, Any]:
    """The values an arch gets for the fields left at None: window, epochs, patience and
    learning rate."""
    # A one-direction tagger cannot see what follows a word ("boston *to*"); a short
    # window gives it that, as in Mesnil et al. A bidirectional one sees it already.
    window = 0 if arch.startswith("bi") else SINGLE_DIRECTION_WINDOW
    return {"window": window, **TRAINING_DEFAULTS, **ARCH_OVERRIDES.get(arch, {})}


@dataclass
class Config:
    """Hyperparameters of one model; field names match the CLI flags (``--embedding-dim``)."""

    arch: str = "bilstm"
    layers: int = 1
    # Small on purpose: larger sizes tagged no better, with 2.5x the weights and twice the
    # time per epoch (docs/design-notes.md, "Small sizes").
    hidden: int = 64
    embedding_dim: int = 64
    # Pretrained word vectors (slotfill.vectors): a text file, the number of its top lines
    # whose words the vocabulary gains, and what training recorded of the file.
    embeddings: str | None = None
    embeddings_words: int = 20_000
    embeddings_source: dict[str, Any] | None = None
    # How slot values are normalized (slotfill.normalize): canonical value -> its variants,
    # and slot name (or suffix) -> kind, both read from the files given to train.
    synonyms: dict[str, list[str]] | None = None
    value_types: dict[str, str] | None = None
    chars: bool = True
    char_dim: int = 32
    char_filters: int = 32
    max_word_length: int = 20
    window: int | None = None       # None: the arch's (arch_defaults): 0 bi* but bijordan, 2 others
    activation: str = "tanh"
    recurrent_init: str = "orthogonal"
    dropout: float = 0.3
    # More word dropout gained nothing beyond seed noise and tagged unseen cities worse
    # (docs/design-notes.md, "Noise for typed text").
    word_dropout: float = 0.05
    punctuation_noise: float = 0.2   # share of training sentences given punctuation (augment)
    name_noise: float = 0.15         # share of open-slot values made-up names (augment)
    # Share of training sentences written with capitals (first word, names; augment), for a
    # model that reads case: its character encoder marks capitalised words (0, or no
    # character CNN, = no mark).
    case_noise: float = 0.3
    # Share of training sentences whose words before the first slot value are dropped
    # ("boston to denver monday"; augment.drop_lead_in), for terse typed queries that open
    # with a slot (docs/design-notes.md, "Noise for typed text").
    prefix_noise: float = 0.1
    decoder: str = "crf"
    intent: bool = True
    intent_weight: float = 1.0
    # The intent reads the word features through its own encoder (intent_encoder, of this
    # size); 0 pools the tagging encoder instead, whose states the larger slot loss shapes
    # (docs/design-notes.md, "The intent's own encoder").
    intent_hidden: int = 32
    # What reads the word features for the intent: a BiLSTM (intent_hidden units a
    # direction) or a convolution over each word and its neighbours (2 * intent_hidden
    # filters). The convolution is faster but names rare intents for short typed queries.
    intent_encoder: str = "bilstm"
    # Weight of an intent seen n times in training proportional to n ** -intent_balance
    # (0 = every sentence counts the same; single-label intents only), so that rare intents
    # are learned rather than swamped by the frequent ones.
    intent_balance: float = 0.5
    # Share of each single-label intent target spread evenly over all intents (label
    # smoothing), so the intent loss no longer pays for driving every training sentence to
    # certainty; intent confidences come out lower for it.
    intent_smoothing: float = 0.1
    # Intents as sets ("flight#airfare" = {flight, airfare}, one sigmoid per intent) rather
    # than one label each (softmax). Off by default: on ATIS it did not beat the softmax.
    multi_intent: bool = False
    # None: the arch's own value (arch_defaults), filled in when the Config is made.
    epochs: int | None = None
    patience: int | None = None
    batch_size: int = 32
    learning_rate: float | None = None
    clipnorm: float = 5.0
    # Validate, keep and export an exponential moving average of the weights, with this
    # momentum per batch (slotfill.averaging; 0 = the raw weights); docs/design-notes.md,
    # "Weight averaging".
    ema: float = 0.99
    valid_fraction: float = 0.1
    seed: int = 42
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.arch in ARCHS:  # (an unknown arch is reported by validate)
            for name, value in arch_defaults(self.arch).items():
                if getattr(self, name) is None:
                    setattr(self, name, value)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field whose value is not allowed."""
        _choice("arch", self.arch, ARCHS)
        _choice("decoder", self.decoder, DECODERS)
        _choice("intent_encoder", self.intent_encoder, INTENT_ENCODERS)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("recurrent_init", self.recurrent_init, RECURRENT_INITS)
        for name in ("layers", "hidden", "embedding_dim", "char_dim", "char_filters",
                     "max_word_length", "epochs", "patience", "batch_size"):
            _at_least(name, getattr(self, name), 1)
        if self.window is not None:  # (None only with an unknown arch, reported above)
            _at_least("window", self.window, 0)
        for name in ("dropout", "word_dropout", "intent_smoothing"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        _at_least("intent_hidden", self.intent_hidden, 0)
        _at_least("embeddings_words", self.embeddings_words, 0)
        if not 0.0 <= self.intent_balance <= 1.0:
            raise ValueError(f"intent_balance must be in [0, 1], got {self.intent_balance!r}")
        for name in ("punctuation_noise", "name_noise", "case_noise", "prefix_noise"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        if not 0.0 < self.valid_fraction < 1.0:
            raise ValueError(f"valid_fraction must be in (0, 1), got {self.valid_fraction!r}")
        for name in ("learning_rate", "intent_weight"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema must be in [0, 1) (0 turns averaging off), got {self.ema!r}")
        if self.clipnorm < 0:
            raise ValueError(f"clipnorm must be >= 0 (0 turns clipping off), got {self.clipnorm!r}")

    @property
    def bidirectional(self) -> bool:
        return self.arch.startswith("bi")

    @property
    def context_window(self) -> int:
        """Words of context on each side of every step (``window``, resolved for the arch)."""
        return self.window

    @property
    def cell(self) -> str:
        """The recurrent family without the direction prefix: elman, jordan, lstm, peephole, gru."""
        return self.arch[2:] if self.bidirectional else self.arch

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config fields {unknown}; known fields are {sorted(known)}")
        # A config saved before a field existed describes a model made the old way.
        return cls(**{**LEGACY_VALUES, **values})

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes``; a new arch brings its own defaults (``arch_defaults``),
        except for values that differ from the old arch's defaults (those were chosen) or
        are given."""
        if "arch" in changes and self.arch in ARCHS:
            for name, value in arch_defaults(self.arch).items():
                if name not in changes and getattr(self, name) == value:
                    changes[name] = None
        return dataclasses.replace(self, **changes)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Config:
        return cls.from_dict(json.loads(Path(path).read_text()))


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _at_least(name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
