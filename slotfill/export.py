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

# Rows per length-sorted chunk in the SavedModel (see ServingModule.predict_by_length).
# Sorted rows pad little even in big chunks, and a bigger chunk spreads the per-step cost
# of the recurrent loops over more rows. With the pruned Viterbi, the 893 ATIS test
# utterances in one call took (best of 7, ms): 64 rows 175, 128 152, 192 162, 256 168,
# 320 177, 512 220, 1024 298 (/tmp scripts, one noisy run; 128-256 are within noise).
CHUNK_SIZE = 256


def _table(keys: list[str], default: int) -> tf.lookup.StaticHashTable:
    initializer = tf.lookup.KeyValueTensorInitializer(
        tf.constant(keys, tf.string), tf.range(len(keys), dtype=tf.int32),
        key_dtype=tf.string, value_dtype=tf.int32)
    return tf.lookup.StaticHashTable(initializer, default_value=default)


def _code_point_table(entries: list[str]) -> tf.lookup.StaticHashTable:
    """Code point -> id for the single-character entries (the rest, PAD and UNK, are
    never a character of a word)."""
    ids = [i for i, entry in enumerate(entries) if len(entry) == 1]
    initializer = tf.lookup.KeyValueTensorInitializer(
        tf.constant([ord(entries[i]) for i in ids], tf.int32), tf.constant(ids, tf.int32))
    return tf.lookup.StaticHashTable(initializer, default_value=UNK_ID)


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
        # The variables, not the Keras model: a tracked model also gets its own default
        # signature traced and saved, which nothing calls (about 1-3 s of every export).
        self.model_variables = list(tagger.model.variables)
        self._predictor = tagger.predictor
        self.word_table = _table(encoder.words.entries, UNK_ID)
        self.char_table = _code_point_table(encoder.chars.entries) if encoder.chars else None
        self.max_word_length = encoder.max_word_length
        self.tag_names = tf.Variable(encoder.tags.labels, trainable=False, name="tag_names")

    def inputs(self, tokens: tf.RaggedTensor) -> dict[str, tf.Tensor]:
        """The model's id inputs for tokenized texts ``[N, (tokens)]``, at least one step wide."""
        keys = normalize_graph(tokens)
        words = tf.ragged.map_flat_values(self.word_table.lookup, keys)
        inputs = {"words": _at_least_one_step(words.to_tensor(0))}
        if self.char_table is not None:
            # Code points, not one-character strings: the same ids, without a string per
            # character to build and hash.
            chars = tf.strings.unicode_decode(keys, "UTF-8", errors="replace")
            chars = chars[:, :, : self.max_word_length]
            char_ids = tf.ragged.map_flat_values(self.char_table.lookup, chars)
            inputs["chars"] = _at_least_one_step(char_ids.to_tensor(0))
        return inputs

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        tokens = tokenize_graph(text)
        out = self.predict_by_length(tokens)
        length = tf.cast(tokens.row_lengths(), tf.int32)
        mask = tf.sequence_mask(length, tf.shape(out["tag_ids"])[1])
        result = {
            "tokens": _at_least_one_step(tokens.to_tensor(""), pad=""),
            "tags": tf.where(mask, tf.gather(self.tag_names, out["tag_ids"]), ""),
            "tag_confidence": tf.where(mask, out["tag_confidence"], 0.0),
            # 0 at padding: predict_by_length places only the tokens' rows.
            "tag_probs": out["tag_probs"],
            "length": length,
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

    def predict_by_length(self, tokens: tf.RaggedTensor) -> dict[str, tf.Tensor]:
        """The predictor's outputs for every row of ``tokens``, computed in chunks of
        similar length; per-token outputs are ``max(1, longest row)`` steps wide.

        A batch is padded to its longest utterance, and the recurrent layers and the CRF pay
        for every padded step. So the rows are sorted by length and cut into chunks of
        ``CHUNK_SIZE``, each trimmed to its own longest row; the outputs are padded back to
        the batch's width (``tag_probs`` with zeros at every padded step, whatever the
        decoder) and returned in the caller's order. Each chunk also makes its own
        ids (normalisation and lookups), so that this string work, otherwise a serial start
        to every call, runs beside other chunks' model work.

        ``tag_probs`` ([N, T, K], mostly padding) is the one large output. Padding each
        chunk's, joining them and reordering the rows copied all of it three times; keeping
        only each chunk's token rows and placing them with one scatter took a call on the
        ATIS test set from 82.5 to 75.6 ms (best of 21, alternated; session 16).
        """
        lengths = tf.cast(tokens.row_lengths(), tf.int32)
        n = tf.shape(lengths)[0]
        width = tf.maximum(tf.reduce_max(tf.concat([lengths, [0]], 0)), 1)
        order = tf.argsort(lengths, stable=True)
        # At least one chunk, so that an empty batch still yields outputs of the right shapes.
        chunks = tf.maximum((n + CHUNK_SIZE - 1) // CHUNK_SIZE, 1)
        arrays = {key: tf.TensorArray(dtype, size=chunks, infer_shape=False)
                  for key, dtype in self._output_dtypes.items()}

        def body(i, arrays):
            rows = order[i * CHUNK_SIZE:tf.minimum((i + 1) * CHUNK_SIZE, n)]
            out = self._predictor.graph(self.inputs(tf.gather(tokens, rows)))
            for key, value in out.items():
                if key == "tag_probs":
                    real = tf.sequence_mask(tf.gather(lengths, rows), tf.shape(value)[1])
                    value = tf.boolean_mask(value, real)
                elif value.shape.rank >= 2:  # per-token outputs: pad the time axis back
                    steps = tf.shape(value)[1]
                    padding = [[0, 0], [0, width - steps]] + [[0, 0]] * (value.shape.rank - 2)
                    value = tf.pad(value, padding)
                arrays[key] = arrays[key].write(i, value)
            return i + 1, arrays

        _, arrays = tf.while_loop(lambda i, _: i < chunks, body, (0, arrays))
        back = tf.math.invert_permutation(order)
        result = {key: tf.gather(array.concat(), back)
                  for key, array in arrays.items() if key != "tag_probs"}
        # The chunks kept their rows in length order (order), and each row's tokens in
        # sequence: token j of the k-th row in that order goes to (order[k], j).
        sorted_lengths = tf.gather(lengths, order)
        where = tf.stack([tf.repeat(order, sorted_lengths),
                          tf.ragged.range(sorted_lengths).flat_values], axis=1)
        probs = arrays["tag_probs"].concat()
        result["tag_probs"] = tf.scatter_nd(
            where, probs, tf.stack([n, width, tf.shape(probs)[-1]]))
        return result

    @property
    def _output_dtypes(self) -> dict[str, tf.DType]:
        dtypes = {"tag_ids": tf.int32, "tag_confidence": tf.float32, "tag_probs": tf.float32}
        if self._predictor.has_intent:
            dtypes.update(intent=tf.string, intent_confidence=tf.float32)
        return dtypes


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
