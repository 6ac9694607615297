"""Model construction: the ``--arch`` registry and ``build_model(config, encoder)``.

Every architecture shares one frame::

    words ─ WordDropout ─ [KnownWords] ─ Embedding ─┐
                        [frozen pretrained vectors] ┤
    chars ─ CharCNN ────────────────────────────────┴ concat ─ Dropout = word features
    word features ─ [ContextWindow] ─ encoder ─ Dense ─ softmax | CRF      → "tags"
    word features ─ intent BiLSTM or CNN ─ SequencePooling ─ Dense ─ softmax → "intent"

and differs only in the encoder: ``layers`` recurrent layers of one cell family,
one direction or bidirectional, with dropout after each (not across time; none after a
Jordan layer, whose outputs are log-probabilities). The intent reads the word features
through its own encoder (``intent_encoder``: a BiLSTM by default, or a convolution); with
``intent_hidden`` 0 it pools the tagger's encoder instead. With pretrained vectors
(``--embeddings``) each word also gets its vector from the file, kept fixed so that words
only the file has stay in the same space as the training words; the trained embedding
reads those words as unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
from keras import ops

from slotfill import bio
from slotfill.averaging import AveragingAdam
from slotfill.config import Config
from slotfill.layers import (
    CharCNN,
    ContextWindow,
    KnownWords,
    SequencePooling,
    WordCNN,
    WordDropout,
)
from slotfill.layers.crf import CRF
from slotfill.layers.jordan_rnn import JordanRNN
from slotfill.layers.peephole_lstm import PeepholeLSTM
from slotfill.preprocess import Encoder


def _recurrent_initializer(config: Config):
    if config.recurrent_init == "identity":
        return keras.initializers.Identity()
    return config.recurrent_init


def _elman(config: Config, num_tags: int, name: str) -> keras.layers.Layer:
    return keras.layers.SimpleRNN(config.hidden, activation=config.activation,
                                  recurrent_initializer=_recurrent_initializer(config),
                                  return_sequences=True, name=name)


def _jordan(config: Config, num_tags: int, name: str) -> keras.layers.Layer:
    # The fed-back state is the previous tag posterior, as in Mesnil et al.; the emission
    # layer reads its log (see JordanRNNCell: probabilities saturate and train slowly).
    return JordanRNN(config.hidden, output_units=num_tags, activation=config.activation,
                     recurrent_initializer=_recurrent_initializer(config), log_output=True,
                     return_sequences=True, name=name)


def _lstm(config: Config, num_tags: int, name: str) -> keras.layers.Layer:
    return keras.layers.LSTM(config.hidden, recurrent_initializer=_recurrent_initializer(config),
                             return_sequences=True, name=name)


def _peephole(config: Config, num_tags: int, name: str) -> keras.layers.Layer:
    return PeepholeLSTM(config.hidden, recurrent_initializer=_recurrent_initializer(config),
                        return_sequences=True, name=name)


def _gru(config: Config, num_tags: int, name: str) -> keras.layers.Layer:
    return keras.layers.GRU(config.hidden, recurrent_initializer=_recurrent_initializer(config),
                            return_sequences=True, name=name)


# Cell family -> factory of one single-direction recurrent layer returning sequences.
CELLS: dict[str, Callable[[Config, int, str], keras.layers.Layer]] = {
    "elman": _elman,
    "jordan": _jordan,
    "lstm": _lstm,
    "peephole": _peephole,
    "gru": _gru,
}


def recurrent_stack(x, config: Config, num_tags: int):
    """``config.layers`` recurrent layers (bidirectional if the arch says so), dropout between."""
    make = CELLS[config.cell]
    for i in range(config.layers):
        layer = make(config, num_tags, f"{config.cell}_{i}")
        if config.bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bi{config.cell}_{i}")
        x = layer(x)
        # A Jordan layer outputs log tag posteriors: dropout would zero some of them, i.e.
        # declare those tags certain (docs/design-notes.md, "Jordan schedules").
        if config.cell != "jordan":
            x = keras.layers.Dropout(config.dropout, seed=config.seed + i + 1,
                                     name=f"dropout_{i + 1}")(x)
    return x


def _embedding_with_vectors(ids, config: Config, vocab_size: int, vectors: np.ndarray):
    """The trained embedding of the training words beside the frozen pretrained vectors of
    the whole vocabulary (see the module docstring)."""
    trained_words = config.embeddings_source["training_words"] + 2  # + <pad>, <unk>
    trained = keras.layers.Embedding(trained_words, config.embedding_dim, mask_zero=True,
                                     name="word_embedding")
    # Built with zeros and then set: an initializer would copy the matrix into the model's
    # JSON config.
    pretrained = keras.layers.Embedding(vocab_size, vectors.shape[1], mask_zero=True,
                                        trainable=False, embeddings_initializer="zeros",
                                        name="word_vectors")
    known = KnownWords(trained_words, name="known_words")(ids)
    x = keras.layers.Concatenate(name="word_embeddings")([trained(known), pretrained(ids)])
    pretrained.set_weights([vectors])
    return x


def build_model(config: Config, encoder: Encoder,
                vectors: np.ndarray | None = None) -> keras.Model:
    """The tagger for ``config.arch``.

    Outputs ``tags`` (softmax probabilities, or CRF emissions) and ``intent``. ``vectors``
    (one row per word of ``encoder.words``) are the pretrained vectors of
    :func:`slotfill.vectors.vocabulary_with_vectors`; the trained embedding then covers
    the training words only (``config.embeddings_source["training_words"]``).
    """
    config.validate()
    num_tags = len(encoder.tags)
    words = keras.Input((None,), dtype="int32", name="words")
    inputs = {"words": words}
    ids = words
    if config.word_dropout > 0:
        ids = WordDropout(config.word_dropout, seed=config.seed, name="word_dropout")(words)
    if vectors is None:
        x = keras.layers.Embedding(len(encoder.words), config.embedding_dim, mask_zero=True,
                                   name="word_embedding")(ids)
    else:
        x = _embedding_with_vectors(ids, config, len(encoder.words), vectors)
    if encoder.chars is not None:
        chars = keras.Input((None, None), dtype="int32", name="chars")
        inputs["chars"] = chars
        char_vectors = CharCNN(len(encoder.chars), config.char_dim, config.char_filters,
                               name="char_cnn")(chars)
        x = keras.layers.Concatenate(name="word_features")([x, char_vectors])
    x = word_features = keras.layers.Dropout(config.dropout, seed=config.seed, name="dropout_0")(x)
    if config.context_window > 0:
        x = ContextWindow(config.context_window, name="context_window")(x)
    x = recurrent_stack(x, config, num_tags)

    outputs = {}
    emissions = keras.layers.Dense(num_tags, name="emissions")(x)
    if config.decoder == "crf":
        allowed, start = bio.allowed_transitions(encoder.tags.labels)
        outputs["tags"] = CRF(num_tags, allowed_transitions=allowed, allowed_start=start,
                              name="tags")(emissions)
    else:
        outputs["tags"] = keras.layers.Activation("softmax", name="tags")(emissions)
    if config.intent and encoder.intents is not None:
        if config.intent_hidden > 0 and config.intent_encoder == "cnn":
            features = WordCNN(2 * config.intent_hidden, name="intent_encoder")(word_features)
        elif config.intent_hidden > 0:
            features = keras.layers.Bidirectional(
                keras.layers.LSTM(config.intent_hidden, return_sequences=True),
                name="intent_encoder")(word_features)
        elif config.cell == "jordan":
            # A Jordan encoder's output is only tag posteriors, which say little about the
            # intent ("fares" is tagged O) and pulled the shared loss into the tagger, so the
            # intent reads the word features.
            features = word_features
        else:
            features = x
        pooled = SequencePooling(name="pooling")(features)
        # A set of intents: one independent probability each; a single label: a distribution.
        activation = "sigmoid" if encoder.multi_intent else "softmax"
        outputs["intent"] = keras.layers.Dense(len(encoder.intents), activation=activation,
                                               name="intent")(pooled)
    return keras.Model(inputs, outputs, name=config.arch)


def predicts_intent_sets(model: keras.Model) -> bool:
    """The model's intent head scores each intent on its own (sigmoid), not one label."""
    if "intent" not in model.output_names:
        return False
    return model.get_layer("intent").activation is keras.activations.sigmoid


def multi_intent_loss(y_true, y_pred):
    """Binary cross-entropy summed (not averaged) over intents, per sentence.

    Summing keeps the intent loss on the scale of a softmax cross-entropy whatever the
    number of intents, so ``intent_weight`` means the same for both heads.
    """
    num_intents = keras.ops.cast(keras.ops.shape(y_pred)[-1], y_pred.dtype)
    return keras.losses.binary_crossentropy(y_true, y_pred) * num_intents


def intent_class_weights(intent_ids: Sequence[int], num_intents: int,
                         power: float) -> list[float]:
    """Loss weight per intent id: ``n_c ** -power`` for an intent seen ``n_c`` times,
    scaled so that the average weight over the training sentences is 1 (the loss keeps its
    scale). Intents never seen get 0; ``power`` 0 gives 1 everywhere.
    """
    counts = np.bincount(np.asarray(intent_ids, dtype=np.int64), minlength=num_intents)
    seen = counts > 0
    weights = np.where(seen, np.maximum(counts, 1).astype(np.float64) ** -power, 0.0)
    weights /= (counts * weights).sum() / max(counts.sum(), 1)
    return [float(w) for w in weights]


@keras.saving.register_keras_serializable(package="slotfill")
class WeightedIntentLoss(keras.losses.Loss):
    """Cross-entropy with smoothed targets, times a weight per gold class.

    ```
    q_k  = (1 - smoothing) * [k == y] + smoothing / K      K intents
    loss = -w[y] * sum_k q_k log p_k                        0 for targets of -1 (no intent)
    ```

    With ``smoothing`` 0 this is ``-w[y] log p[y]``.

    Example:
        >>> WeightedIntentLoss([1.0, 3.0])(np.array([1]), np.array([[0.5, 0.5]]))  # 3 ln 2
        >>> smoothed = WeightedIntentLoss([1.0, 1.0], smoothing=0.2)  # q = [0.9, 0.1]
        >>> smoothed(np.array([0]), np.array([[0.8, 0.2]]))  # 0.9 ln 1.25 + 0.1 ln 5
    """

    def __init__(self, class_weights: Sequence[float], smoothing: float = 0.0,
                 name: str = "weighted_intent", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing!r}")
        self.class_weights = [float(w) for w in class_weights]
        self.smoothing = float(smoothing)

    def call(self, y_true, y_pred):
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        known = ops.greater_equal(labels, 0)
        safe = ops.where(known, labels, 0)
        num_intents = len(self.class_weights)
        targets = (ops.one_hot(safe, num_intents, dtype=y_pred.dtype) * (1.0 - self.smoothing)
                   + self.smoothing / num_intents)
        cross_entropy = keras.losses.categorical_crossentropy(targets, y_pred)
        weights = ops.take(ops.convert_to_tensor(self.class_weights, y_pred.dtype), safe)
        return ops.where(known, cross_entropy * weights, ops.zeros_like(cross_entropy))

    def get_config(self) -> dict:
        return {**super().get_config(), "class_weights": self.class_weights,
                "smoothing": self.smoothing}


def compile_model(model: keras.Model, config: Config,
                  intent_weights: Sequence[float] | None = None) -> None:
    """Attach optimizer and losses; called after building and after loading (saved without them).

    ``intent_weights`` (see ``intent_class_weights``) weight a single-label intent loss,
    whose targets are smoothed by ``config.intent_smoothing``.
    """
    losses: dict = {}
    weights: dict = {}
    if config.decoder == "crf":
        losses["tags"] = model.get_layer("tags").loss
    else:
        losses["tags"] = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)
    weights["tags"] = 1.0
    if "intent" in model.output_names:
        if predicts_intent_sets(model):
            losses["intent"] = multi_intent_loss
        elif intent_weights is not None or config.intent_smoothing > 0:
            num_intents = model.get_layer("intent").units
            losses["intent"] = WeightedIntentLoss(
                intent_weights if intent_weights is not None else [1.0] * num_intents,
                smoothing=config.intent_smoothing)
        else:
            losses["intent"] = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)
        weights["intent"] = config.intent_weight
    optimizer = AveragingAdam(
        learning_rate=config.learning_rate,
        global_clipnorm=config.clipnorm if config.clipnorm > 0 else None,
        use_ema=config.ema > 0,
        ema_momentum=config.ema,
    )
    model.compile(optimizer=optimizer, loss=losses, loss_weights=weights)
