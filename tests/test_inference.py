import keras
import numpy as np
import pytest
import tensorflow as tf

from slotfill.inference import Predictor
from slotfill.layers import SequencePooling

TAGS = ["O", "B-city", "I-city", "B-date"]
INTENTS = ["airfare", "flight", "meal"]


def tiny_model(intent_activation: str) -> keras.Model:
    words = keras.Input((None,), dtype="int32", name="words")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(words)
    tags = keras.layers.Dense(len(TAGS), activation="softmax", name="tags")(x)
    intent = keras.layers.Dense(len(INTENTS), activation=intent_activation,
                                name="intent")(SequencePooling()(x))
    return keras.Model({"words": words}, {"tags": tags, "intent": intent})


def decode_intents(predictor: Predictor, probs: list[list[float]]):
    labels, confidence = predictor._intent(tf.constant(probs, tf.float32))
    return [label.decode() for label in labels.numpy()], confidence.numpy()


def test_single_label_intent_is_the_most_probable():
    predictor = Predictor(tiny_model("softmax"), TAGS, INTENTS)
    labels, confidence = decode_intents(predictor, [[0.2, 0.7, 0.1], [0.5, 0.1, 0.4]])
    assert labels == ["flight", "airfare"]
    assert confidence == pytest.approx([0.7, 0.5])


def test_multi_intent_joins_the_best_and_all_above_half_most_probable_first():
    predictor = Predictor(tiny_model("sigmoid"), TAGS, INTENTS, multi_intent=True)
    labels, confidence = decode_intents(
        predictor, [[0.6, 0.9, 0.1], [0.2, 0.3, 0.1], [0.8, 0.1, 0.7]])
    assert labels == ["flight#airfare", "flight", "airfare#meal"]
    # The probability of exactly the chosen set under independent intents.
    assert confidence == pytest.approx([0.6 * 0.9 * 0.9, 0.8 * 0.3 * 0.9, 0.8 * 0.9 * 0.7])


def test_softmax_tags_are_repaired_to_valid_bio():
    predictor = Predictor(tiny_model("softmax"), TAGS, INTENTS)
    ids = tf.constant([[2, 2, 0, 1, 2, 3, 2]])  # I-city starting a span, after O, after B-date
    mask = tf.ones_like(ids, tf.bool)
    repaired = predictor._repair(ids, mask).numpy()[0]
    assert [TAGS[i] for i in repaired] == ["B-city", "I-city", "O", "B-city", "I-city",
                                           "B-date", "B-city"]


def test_predictions_are_zero_at_padding_and_carry_intents():
    predictor = Predictor(tiny_model("sigmoid"), TAGS, INTENTS, multi_intent=True)
    out = predictor({"words": np.array([[3, 4, 0, 0], [5, 0, 0, 0]], np.int32)})
    assert out["tag_ids"].shape == (2, 4) and (out["tag_ids"][0, 2:] == 0).all()
    assert out["tag_probs"].shape == (2, 4, len(TAGS))
    assert all(set(label.decode().split("#")) <= set(INTENTS) for label in out["intent"])


def test_a_small_first_call_runs_eagerly_and_later_calls_use_the_same_traced_graph():
    from slotfill.inference import EAGER_FIRST_CALL_ROWS

    predictor = Predictor(tiny_model("softmax"), TAGS, INTENTS)
    inputs = {"words": np.array([[3, 4, 0], [5, 0, 0]], np.int32)}
    eager = predictor(inputs)
    assert predictor._with_confidence.experimental_get_tracing_count() == 0
    traced = predictor(inputs)
    assert predictor._with_confidence.experimental_get_tracing_count() == 1
    assert set(eager) == set(traced)
    for key in eager:
        if eager[key].dtype.kind in "fc":
            np.testing.assert_allclose(eager[key], traced[key], rtol=1e-6)
        else:
            np.testing.assert_array_equal(eager[key], traced[key])
    # A large first call is traced at once: tracing pays off over many rows.
    big = Predictor(tiny_model("softmax"), TAGS, INTENTS)
    big({"words": np.ones((EAGER_FIRST_CALL_ROWS + 1, 3), np.int32)})
    assert big._with_confidence.experimental_get_tracing_count() == 1
