"""SavedModel export: raw utterances in, tokens / tags / intent out, all inside the graph.

The exported ``serving_default`` signature takes ``text``, a 1-D ``tf.string``
tensor, and returns (padded with "" / 0 past each utterance's ``length``)::

    tokens             [N, T] string   the tokens, as typed
    tags               [N, T] string   one BIO tag per token
    tag_confidence     [N, T] float    probability of each chosen tag
    tag_probs          [N, T, K] float per-token probability of every tag (order: tag_names)
    length             [N] int32       number of tokens
    intent             [N] string      ("" for a text with no tokens)
    intent_confidence  [N] float       (both absent when the model has no intent head)

Plain TensorFlow loads it; neither slotfill nor keras needs to be importable::

    import tensorflow as tf
    tagger = tf.saved_model.load("models/bilstm/saved_model")
    out = tagger.signatures["serving_default"](text=tf.constant(["arrive Taipei on November 2nd"]))
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from slotfill.errors import SlotfillError
from slotfill.graph_tokenizer import is_capitalized_graph, normalize_graph, tokenize_graph
from slotfill.preprocess import CASE_MARK
from slotfill.tagger import Tagger
from slotfill.vocabulary import UNK_ID

# Rows per length-sorted chunk in the SavedModel (see ServingModule.predict_by_length).
# Sorted rows pad little even in big chunks, and a bigger chunk spreads the per-step cost
# of the recurrent loops over more rows; on the ATIS test set 128 to 256 rows were fastest.
CHUNK_SIZE = 256
# The file every SavedModel folder holds (what tells an export it may replace a folder).
SAVED_MODEL_FILE = "saved_model.pb"


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


def _mark_capitalized(tokens: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
    """The keys, with :data:`CASE_MARK` before those of capitalised tokens (as
    ``Encoder.encode_tokens``)."""
    return tf.where(is_capitalized_graph(tokens), tf.strings.join([CASE_MARK, keys]), keys)


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
        self.marks_case = encoder.marks_case
        self.tag_names = tf.Variable(encoder.tags.labels, trainable=False, name="tag_names")

    def inputs(self, tokens: tf.RaggedTensor) -> dict[str, tf.Tensor]:
        """The model's id inputs for tokenized texts ``[N, (tokens)]``, at least one step wide."""
        keys = normalize_graph(tokens)
        words = tf.ragged.map_flat_values(self.word_table.lookup, keys)
        inputs = {"words": _at_least_one_step(words.to_tensor(0))}
        if self.char_table is not None:
            if self.marks_case:
                keys = tf.ragged.map_flat_values(_mark_capitalized, tokens, keys)
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
        if "intent" in out:
            # An utterance with no tokens has no intent, as in Tagger.tag.
            has_tokens = result["length"] > 0
            result["intent"] = tf.where(has_tokens, out["intent"], "")
            result["intent_confidence"] = tf.where(has_tokens, out["intent_confidence"], 0.0)
        return result

    def predict_by_length(self, tokens: tf.RaggedTensor) -> dict[str, tf.Tensor]:
        """The predictor's outputs for every row of ``tokens``, computed in chunks of
        similar length; per-token outputs are ``max(1, longest row)`` steps wide, 0 past
        each row's tokens.

        A batch is padded to its longest utterance, and the recurrent layers and the CRF pay
        for every padded step. So the rows are sorted by length and cut into chunks of
        ``CHUNK_SIZE``, each trimmed to its own longest row; the outputs come back in the
        caller's order. Each chunk also makes its own ids (normalisation and lookups), so
        that this string work, otherwise a serial start to every call, runs beside other
        chunks' model work.

        A chunk keeps only its tokens' rows of the per-token outputs, and one scatter puts
        them at (row, step) of the batch. ``tag_probs`` ([N, T, K], mostly padding) is the
        one large output, and padding each chunk's to the batch's width, joining them and
        reordering the rows would copy all of it three times.
        """
        lengths = tf.cast(tokens.row_lengths(), tf.int32)
        n = tf.shape(lengths)[0]
        width = tf.maximum(tf.reduce_max(tf.concat([lengths, [0]], 0)), 1)
        order = tf.argsort(lengths, stable=True)
        # At least one chunk, so that an empty batch still yields outputs of the right shapes.
        chunks = tf.maximum((n + CHUNK_SIZE - 1) // CHUNK_SIZE, 1)
        arrays = {key: tf.TensorArray(dtype, size=chunks, infer_shape=False)
                  for key, (dtype, _) in self._outputs.items()}

        def body(i, arrays):
            rows = order[i * CHUNK_SIZE:tf.minimum((i + 1) * CHUNK_SIZE, n)]
            out = self._predictor.graph(self.inputs(tf.gather(tokens, rows)))
            real = tf.sequence_mask(tf.gather(lengths, rows), tf.shape(out["tag_ids"])[1])
            for key, (_, per_token) in self._outputs.items():
                value = tf.boolean_mask(out[key], real) if per_token else out[key]
                arrays[key] = arrays[key].write(i, value)
            return i + 1, arrays

        _, arrays = tf.while_loop(lambda i, _: i < chunks, body, (0, arrays))
        # The chunks took the rows in length order, and each row's tokens in sequence: token
        # j of the k-th row in that order belongs at (order[k], j).
        sorted_lengths = tf.gather(lengths, order)
        where = tf.stack([tf.repeat(order, sorted_lengths),
                          tf.ragged.range(sorted_lengths).flat_values], axis=1)
        back = tf.math.invert_permutation(order)
        result = {}
        for key, (_, per_token) in self._outputs.items():
            value = arrays[key].concat()
            if per_token:
                shape = tf.concat([[n, width], tf.shape(value)[1:]], axis=0)
                result[key] = tf.scatter_nd(where, value, shape)
            else:
                result[key] = tf.gather(value, back)
        return result

    @property
    def _outputs(self) -> dict[str, tuple[tf.DType, bool]]:
        """The predictor's outputs: key -> (dtype, whether it has a value per token)."""
        outputs = {"tag_ids": (tf.int32, True), "tag_confidence": (tf.float32, True),
                   "tag_probs": (tf.float32, True)}
        if self._predictor.has_intent:
            outputs.update(intent=(tf.string, False), intent_confidence=(tf.float32, False))
        return outputs


def export_saved_model(tagger: Tagger, out_dir: str | Path) -> Path:
    """Write the SavedModel to ``out_dir`` (replacing nothing else); returns the path."""
    module = ServingModule(tagger)
    out = Path(out_dir)
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.serve})
    return out


def next_version_dir(serving_base: str | Path) -> Path:
    """``serving_base/<n>``, n one more than the largest version folder there (1 if none):
    the layout ``tensorflow_model_server --model_base_path`` watches, serving the highest."""
    base = Path(serving_base)
    if base.exists() and not base.is_dir():
        raise SlotfillError(f"--serving-base {base} is a file, not a folder")
    numbers = [int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit()] \
        if base.is_dir() else []
    return base / str(max(numbers, default=0) + 1)


def export_model(model_path: str | Path | None = None, out_dir: str | Path | None = None,
                 serving_base: str | Path | None = None) -> Path:
    """Export a trained model folder (default: the latest) to ``out_dir``, atomically.

    The default destination is the model folder's own ``saved_model/``; with
    ``serving_base`` it is that folder's next version (see :func:`next_version_dir`),
    which appears only once complete, so a watching TF Serving never loads half of it.
    """
    from slotfill import model_dir

    if out_dir is not None and serving_base is not None:
        raise SlotfillError("give --out or --serving-base, not both")
    folder = model_dir.resolve(model_path)
    tagger = Tagger.load(folder)
    if serving_base is not None:
        out = next_version_dir(serving_base)
    else:
        out = Path(out_dir) if out_dir is not None else folder / model_dir.SAVED_MODEL_DIR
    # Only a SavedModel may be replaced: not the model folder itself, nor a user's folder
    # (staged_dir checks the destination before writing anything).
    with model_dir.staged_dir(out, markers=(SAVED_MODEL_FILE,)) as staging:
        export_saved_model(tagger, staging)
    return out
