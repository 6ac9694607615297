"""CharCNN, WordCNN, WordDropout, KnownWords, ContextWindow, SequencePooling: shapes, masking,
config round trip."""

import keras
import numpy as np
import pytest

import slotfill.layers  # noqa: F401
from slotfill.layers import (
    CharCNN,
    ContextWindow,
    KnownWords,
    SequencePooling,
    WordCNN,
    WordDropout,
)


def test_char_cnn_shape_and_padding_invariance():
    layer = CharCNN(vocab_size=10, char_dim=4, filters=6, kernel_size=3)
    chars = np.array([[[2, 3, 4], [5, 0, 0]]], dtype="int32")
    out = np.asarray(layer(chars))
    assert out.shape == (1, 2, 6)
    # The first word fills its row: padding the batch wider must not change its vector.
    wider = np.pad(chars, [[0, 0], [0, 0], [0, 5]])
    np.testing.assert_allclose(np.asarray(layer(wider)), out, atol=1e-6)
    assert layer.count_params() == 10 * 4 + 3 * 4 * 6 + 6


def test_char_cnn_encodes_repeated_words_like_each_word_alone_and_trains():
    layer = CharCNN(vocab_size=10, char_dim=4, filters=6, kernel_size=3)
    chars = np.array([[[2, 3, 4], [5, 6, 0], [2, 3, 4]],
                      [[5, 6, 0], [0, 0, 0], [7, 0, 0]]], dtype="int32")
    out = np.asarray(layer(chars))
    for b, t in np.ndindex(2, 3):
        alone = np.asarray(layer(chars[b:b + 1, t:t + 1]))[0, 0]
        np.testing.assert_allclose(out[b, t], alone, atol=1e-6)
    np.testing.assert_array_equal(out[1, 1], 0.0)  # a padded word
    # Gradients reach the weights through the shared (deduplicated) rows.
    import tensorflow as tf
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(chars) ** 2)
    grads = tape.gradient(loss, layer.trainable_variables)
    assert all(g is not None and float(tf.reduce_sum(tf.abs(tf.convert_to_tensor(g)))) > 0
               for g in grads)


def test_char_cnn_gives_zero_vectors_for_words_without_characters():
    # What the SavedModel feeds for a batch of empty strings: one word slot, zero characters.
    layer = CharCNN(vocab_size=10, char_dim=3, filters=5)
    out = layer(np.zeros((2, 1, 0), "int32"))
    assert tuple(out.shape) == (2, 1, 5)
    np.testing.assert_array_equal(np.asarray(out), 0.0)


def test_char_cnn_mask_keeps_padding_masked_after_concatenation():
    words = keras.Input((None,), dtype="int32")
    chars = keras.Input((None, None), dtype="int32")
    joined = keras.layers.Concatenate()([keras.layers.Embedding(10, 3, mask_zero=True)(words),
                                         CharCNN(10, 4, 5)(chars)])
    probe = keras.Model([words, chars], keras.layers.LSTM(2, return_sequences=True)(joined))
    w = np.array([[3, 4, 0, 0]], "int32")
    c = np.array([[[2, 3], [4, 0], [0, 0], [0, 0]]], "int32")
    short = np.asarray(probe([w[:, :2], c[:, :2]]))
    long = np.asarray(probe([w, c]))
    # Masked steps repeat the last real output; unmasked padding would change it.
    np.testing.assert_allclose(long[:, 3], short[:, 1], atol=1e-6)


def test_word_dropout_only_in_training_and_never_on_padding():
    layer = WordDropout(0.5, unknown_id=1, seed=3)
    ids = np.array([[5, 6, 7, 8, 0, 0]] * 200, dtype="int32")
    np.testing.assert_array_equal(np.asarray(layer(ids)), ids)
    dropped = np.asarray(layer(ids, training=True))
    assert (dropped[:, 4:] == 0).all()
    share = (dropped[:, :4] == 1).mean()
    assert 0.4 < share < 0.6
    with pytest.raises(ValueError, match="rate"):
        WordDropout(1.5)


def test_known_words_reads_ids_past_the_trained_vocabulary_as_unknown():
    ids = np.array([[0, 1, 2, 4, 5, 9]], dtype="int32")
    np.testing.assert_array_equal(np.asarray(KnownWords(5)(ids)), [[0, 1, 2, 4, 1, 1]])
    with pytest.raises(ValueError, match="vocab_size"):
        KnownWords(1)


def test_context_window_shifts_and_masks():
    x = np.arange(1, 4, dtype="float32").reshape(1, 3, 1)
    out = np.asarray(ContextWindow(1)(x))
    np.testing.assert_array_equal(out[0], [[0, 1, 2], [1, 2, 3], [2, 3, 0]])
    mask = np.array([[True, True, False]])
    out = np.asarray(ContextWindow(1)(x, mask=mask))
    assert out[0, 1, 2] == 0  # the padded third step does not leak into step two


def test_sequence_pooling_ignores_padding():
    x = np.array([[[1.0], [3.0], [100.0]]], dtype="float32")
    mask = np.array([[True, True, False]])
    np.testing.assert_allclose(np.asarray(SequencePooling()(x, mask=mask)), [[2.0, 3.0]])


def test_word_cnn_reads_neighbours_and_ignores_how_far_the_batch_is_padded():
    layer = WordCNN(4, kernel_size=3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 3, 5)).astype("float32")
    alone = np.asarray(layer(x))
    assert alone.shape == (1, 3, 4)
    # Padding filled with garbage, masked: the real words' outputs are those of the sentence
    # alone (the last word's right neighbour is the zero edge either way), padding gives 0.
    padded = np.concatenate([x, np.full((1, 2, 5), 7.0, "float32")], axis=1)
    mask = np.array([[True, True, True, False, False]])
    out = np.asarray(layer(padded, mask=mask))
    np.testing.assert_allclose(out[:, :3], alone, atol=1e-5)
    np.testing.assert_array_equal(out[:, 3:], 0.0)
    # A word's output depends on its neighbours (kernel 3), not on words further away.
    changed = x.copy()
    changed[0, 2] += 1.0
    moved = np.asarray(layer(changed))
    assert not np.allclose(moved[0, 1], alone[0, 1]) and np.allclose(moved[0, 0], alone[0, 0])


def test_word_cnn_passes_the_mask_to_a_masked_pooling():
    ids = keras.Input((None,), dtype="int32")
    vectors = keras.layers.Embedding(10, 3, mask_zero=True)(ids)
    model = keras.Model(ids, SequencePooling()(WordCNN(4)(vectors)))
    short = np.array([[3, 4]], "int32")
    long = np.array([[3, 4, 0, 0]], "int32")
    np.testing.assert_allclose(np.asarray(model(long)), np.asarray(model(short)), atol=1e-6)


@pytest.mark.parametrize(("kwargs", "argument"), [({"filters": 0}, "filters"),
                                                   ({"filters": 4, "kernel_size": 2}, "odd"),
                                                   ({"filters": 4, "kernel_size": 1.5},
                                                    "kernel_size")])
def test_word_cnn_bad_arguments_name_the_problem(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        WordCNN(**kwargs)


@pytest.mark.parametrize("layer", [CharCNN(12, 4, 5), WordDropout(0.2), KnownWords(7, 3),
                                   ContextWindow(2),
                                   SequencePooling(), WordCNN(6, 5)])
def test_config_round_trip(layer):
    config = keras.saving.serialize_keras_object(layer)
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()
