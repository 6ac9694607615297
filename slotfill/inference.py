"""Model outputs to decisions: tag ids, intent ids and their confidences.

One :class:`Predictor` is shared by validation during training, evaluation, the
tagger and the SavedModel export, so all of them decode the same way: Viterbi
for a CRF; for softmax, the per-token argmax with an ``I-x`` that does not
continue an ``x`` span read as ``B-x`` (conlleval's reading), so that every
output is well-formed BIO.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from slotfill import bio

# A first call with at most this many rows runs eagerly (see Predictor.__call__).
EAGER_FIRST_CALL_ROWS = 8


def _repair_tables(tags: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per tag id: its slot-type id (-1 for O) and the id to use if it must begin a span."""
    types: dict[str, int] = {}
    type_ids, begin_ids = [], []
    index = {t: i for i, t in enumerate(tags)}
    for i, tag in enumerate(tags):
        prefix, slot = bio.parse_tag(tag)
        type_ids.append(-1 if slot is None else types.setdefault(slot, len(types)))
        begin_ids.append(index.get(f"B-{slot}", i) if prefix == "I" else i)
    return np.asarray(type_ids, np.int32), np.asarray(begin_ids, np.int32)


class Predictor:
    """Callable: input id arrays -> dict of numpy arrays.

    Keys: ``tag_ids`` [B, T] (0 at padding), ``tag_confidence`` [B, T] (the
    probability of each chosen tag: CRF marginal or softmax), ``tag_probs``
    [B, T, K], and with an intent head ``intent`` [B] (the label, bytes) and
    ``intent_confidence`` [B].
    """

    def __init__(self, model: keras.Model, tags: list[str], intents: list[str] | None = None,
                 *, multi_intent: bool = False) -> None:
        self.model = model
        self.crf = model.get_layer("tags") if _is_crf(model) else None
        self.has_intent = "intent" in model.output_names and intents is not None
        self._intent_names = tf.constant(intents if intents else [""])
        self.multi_intent = multi_intent
        type_ids, begin_ids = _repair_tables(tags)
        self._type_ids = tf.constant(type_ids)
        self._begin_ids = tf.constant(begin_ids)
        # Traced once for all batch shapes: reduce_retracing traced each function twice
        # (the first shape, then a relaxed one), seconds per training run.
        signature = [{tensor.name: tf.TensorSpec([None] * len(tensor.shape), tf.int32)
                      for tensor in model.inputs}]
        self._with_confidence = tf.function(self.graph, input_signature=signature)
        self._ids_only = tf.function(lambda inputs: self.graph(inputs, confidence=False),
                                     input_signature=signature)
        self._called = False

    def graph(self, inputs: dict, confidence: bool = True) -> dict:
        """The decoding as TensorFlow ops (traceable into a SavedModel).

        Without ``confidence`` the CRF's forward-backward pass is skipped (scoring needs
        only the best path) and ``tag_confidence``/``tag_probs`` are left out.
        """
        outputs = self.model(inputs, training=False)
        mask = inputs["words"] > 0
        if self.crf is not None:
            ids = self.crf.decode(outputs["tags"], mask)
            probs = self.crf.marginals(outputs["tags"], mask) if confidence else None
        else:
            probs = outputs["tags"]
            ids = self._repair(tf.argmax(probs, axis=-1, output_type=tf.int32), mask)
        ids = tf.where(mask, ids, 0)
        result = {"tag_ids": ids}
        if confidence:
            result["tag_confidence"] = tf.gather(probs, ids, batch_dims=2)
            result["tag_probs"] = probs
        if self.has_intent:
            result["intent"], result["intent_confidence"] = self._intent(outputs["intent"])
        return result

    def _intent(self, probs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Intent label [B] (string) and its probability [B].

        Single-label: the most probable intent. Multi-intent: the most probable one plus
        every other above 1/2, joined by "#" most probable first; its confidence is the
        probability of exactly that set, prod(p chosen) * prod(1 - p not chosen).
        """
        best = tf.argmax(probs, axis=-1, output_type=tf.int32)
        if not self.multi_intent:
            return tf.gather(self._intent_names, best), tf.reduce_max(probs, axis=-1)
        chosen = (probs > 0.5) | tf.cast(tf.one_hot(best, tf.shape(probs)[-1]), tf.bool)
        confidence = tf.reduce_prod(tf.where(chosen, probs, 1.0 - probs), axis=-1)
        order = tf.argsort(probs, axis=-1, direction="DESCENDING")
        names = tf.ragged.boolean_mask(tf.gather(self._intent_names, order),
                                       tf.gather(chosen, order, batch_dims=1))
        return tf.strings.reduce_join(names, axis=-1, separator="#"), confidence

    def _repair(self, ids: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        types = tf.gather(self._type_ids, ids)
        previous = tf.pad(types[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
        inside = tf.not_equal(tf.gather(self._begin_ids, ids), ids)
        # One pass is enough: repairing changes I-x to B-x, never a token's slot type.
        broken = inside & tf.not_equal(previous, types)
        return tf.where(broken & mask, tf.gather(self._begin_ids, ids), ids)

    def __call__(self, inputs: dict[str, np.ndarray],
                 confidence: bool = True) -> dict[str, np.ndarray]:
        tensors = {k: tf.convert_to_tensor(v) for k, v in inputs.items()}
        first_call, self._called = not self._called, True
        if first_call and tensors["words"].shape[0] <= EAGER_FIRST_CALL_ROWS:
            # A process that tags a sentence and exits (`cli.py tag "..."`) would spend
            # longer tracing (about 1 s) than tagging eagerly; later calls use the graph.
            out = self.graph(tensors, confidence=confidence)
        else:
            function = self._with_confidence if confidence else self._ids_only
            out = function(tensors)
        return {k: v.numpy() for k, v in out.items()}


def _is_crf(model: keras.Model) -> bool:
    from slotfill.layers.crf import CRF

    try:
        return isinstance(model.get_layer("tags"), CRF)
    except ValueError:
        return False
