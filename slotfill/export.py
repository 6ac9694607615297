"""SavedModel export: raw utterances in, tokens / tags / intent out, all inside the graph.

The exported ``serving_default`` signature takes ``text``, a 1-D ``tf.string``
tensor, and returns (padded with "" / 0 past each utterance's ``length``)::

    tokens             [N, T] string   the tokens, as typed
    tags               [N, T] string   one BIO tag per token
    tag_confidence     [N, T] float    probability of each chosen tag
    tag_probs          [N, T, K] float per-token probability of every tag (order: tag_names)
    length             [N] int32       number of tokens
    intent             [N] string      ("" when the model has no intent head)
    intent_confidence  [N] float

Plain TensorFlow loads it; neither slotfill nor keras needs to be importable::

    import tensorflow as tf
    tagger = tf.saved_model.load("models/bilstm/saved_model")
    out = tagger.signatures["serving_default"](text=tf.constant(["arrive Taipei on November 2nd"]))
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from slotfill.graph_tokenizer import normalize_graph, tokenize_graph
from slotfill.tagger import Tagger
from slotfill.vocabulary import UNK_ID


def _table(keys: list[str], default: int) -> tf.lookup.StaticHashTable:
    initializer = tf.lookup.KeyValueTensorInitializer(
        tf.constant(keys, tf.string), tf.range(len(keys), dtype=tf.int32),
        key_dtype=tf.string, value_dtype=tf.int32)
    return tf.lookup.StaticHashTable(initializer, default_value=default)


def _at_least_one_step(ids: tf.Tensor, pad=0) -> tf.Tensor:
    """Pad axis 1 to length >= 1, so a batch of empty strings still runs through the model."""
    missing = tf.maximum(1 - tf.shape(ids)[1], 0)
    paddings = tf.concat([[[0, 0], [0, missing]], tf.zeros([tf.rank(ids) - 2, 2], tf.int32)], 0)
    return tf.pad(ids, paddings, constant_values=pad)


class ServingModule(tf.Module):
    """The tagger as a tf.Module: tokenizer, lookups, model and decoding in one graph."""

    def __init__(self, tagger: Tagger) -> None:
        super().__init__(name="slotfill")
        encoder = tagger.encoder
        self.model = tagger.model
        self._predictor = tagger.predictor
        self.word_table = _table(encoder.words.entries, UNK_ID)
        self.char_table = _table(encoder.chars.entries, UNK_ID) if encoder.chars else None
        self.max_word_length = encoder.max_word_length
        self.tag_names = tf.Variable(encoder.tags.labels, trainable=False, name="tag_names")

    def inputs(self, text: tf.Tensor) -> tuple[tf.RaggedTensor, dict[str, tf.Tensor]]:
        tokens = tokenize_graph(text)
        keys = normalize_graph(tokens)
        words = tf.ragged.map_flat_values(self.word_table.lookup, keys)
        inputs = {"words": _at_least_one_step(words.to_tensor(0))}
        if self.char_table is not None:
            chars = tf.strings.unicode_split(keys, "UTF-8", errors="replace")
            chars = chars[:, :, : self.max_word_length]
            char_ids = tf.ragged.map_flat_values(self.char_table.lookup, chars)
            inputs["chars"] = _at_least_one_step(char_ids.to_tensor(0))
        return tokens, inputs

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        tokens, inputs = self.inputs(text)
        out = self._predictor.graph(inputs)
        mask = inputs["words"] > 0
        result = {
            "tokens": _at_least_one_step(tokens.to_tensor(""), pad=""),
            "tags": tf.where(mask, tf.gather(self.tag_names, out["tag_ids"]), ""),
            "tag_confidence": tf.where(mask, out["tag_confidence"], 0.0),
            "tag_probs": out["tag_probs"] * tf.cast(mask, out["tag_probs"].dtype)[..., None],
            "length": tf.cast(tokens.row_lengths(), tf.int32),
        }
        n = tf.shape(text)[0]
        if "intent" in out:
            # An utterance with no tokens has no intent, as in Tagger.tag.
            has_tokens = result["length"] > 0
            result["intent"] = tf.where(has_tokens, out["intent"], "")
            result["intent_confidence"] = tf.where(has_tokens, out["intent_confidence"], 0.0)
        else:
            result["intent"] = tf.fill([n], "")
            result["intent_confidence"] = tf.zeros([n])
        return result


def export_saved_model(tagger: Tagger, out_dir: str | Path) -> Path:
    """Write the SavedModel to ``out_dir`` (replacing nothing else); returns the path."""
    module = ServingModule(tagger)
    out = Path(out_dir)
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.serve})
    return out


def export_model(model_path: str | Path | None = None, out_dir: str | Path | None = None) -> Path:
    """Export a trained model folder (default: the latest) to ``out_dir``, atomically.

    The default destination is the model folder's own ``saved_model/``.
    """
    from slotfill import model_dir

    folder = model_dir.resolve(model_path)
    tagger = Tagger.load(folder)
    out = Path(out_dir) if out_dir is not None else folder / model_dir.SAVED_MODEL_DIR
    model_dir.check_destination(out)
    with model_dir.staged_dir(out) as staging:
        export_saved_model(tagger, staging)
    return out
