"""Tests for the Jordan network: NumPy reference, output feedback, masking, saving."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from slotfill.layers.jordan_rnn import JordanRNN, JordanRNNCell

from .loops import (
    assert_mask_with_a_gap_is_refused,
    assert_wrapper_equals_cell_step_by_step,
    mask_of,
)
from .saving import assert_saved_model_round_trip, load_in_fresh_process

RNG = np.random.default_rng(11)


def set_random_weights(cell: JordanRNNCell, seed: int) -> None:
    """Non-trivial weights everywhere (biases included), so every term matters."""
    rng = np.random.default_rng(seed)
    for weight in cell.weights:
        weight.assign(rng.normal(scale=0.7, size=weight.shape).astype(weight.dtype))


def weights_of(cell: JordanRNNCell) -> list:
    names = ("kernel", "recurrent_kernel", "bias", "output_kernel", "output_bias")
    return [getattr(cell, name).numpy().astype("float64") for name in names]


def numpy_jordan(x, kernel, recurrent_kernel, bias, output_kernel, output_bias):
    """The design doc's recurrence, tanh hidden and softmax output, y_0 = 0."""
    y = np.zeros((x.shape[0], output_kernel.shape[1]))
    outputs = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ kernel + y @ recurrent_kernel + bias)
        z = h @ output_kernel + output_bias
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        outputs.append(y)
    return np.stack(outputs, axis=1)


# --- shapes and weights -------------------------------------------------------------------


def test_shapes_and_weights():
    cell = JordanRNNCell(4, 3)
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    outputs, state = layer(np.zeros((2, 6, 5), "float32"))
    assert outputs.shape == (2, 6, 3) and state.shape == (2, 3)
    assert cell.state_size == 3 and cell.output_size == 3
    shapes = {w.name: tuple(w.shape) for w in cell.trainable_weights}
    assert shapes == {
        "kernel": (5, 4),
        "recurrent_kernel": (3, 4),
        "bias": (4,),
        "output_kernel": (4, 3),
        "output_bias": (3,),
    }
    assert layer.count_params() == 5 * 4 + 3 * 4 + 4 + 4 * 3 + 3
    # softmax output by default: a distribution over the output units at every step
    np.testing.assert_allclose(outputs.numpy().sum(axis=-1), 1.0, atol=1e-6)


def test_without_bias():
    cell = JordanRNNCell(4, 3, use_bias=False)
    keras.layers.RNN(cell)(np.ones((1, 2, 5), "float32"))
    assert cell.bias is None and cell.output_bias is None
    assert [w.name for w in cell.trainable_weights] == [
        "kernel", "recurrent_kernel", "output_kernel"]


def test_wrapper_shapes_and_bidirectional():
    layer = keras.layers.Bidirectional(JordanRNN(6, 4))
    assert layer(np.zeros((2, 7, 3), "float32")).shape == (2, 7, 8)
    last = JordanRNN(6, 4, return_sequences=False)(np.zeros((2, 7, 3), "float32"))
    assert last.shape == (2, 4)


# --- the recurrence -----------------------------------------------------------------------


@pytest.mark.parametrize("use_wrapper", [True, False])
def test_matches_numpy_recurrence(use_wrapper):
    if use_wrapper:
        layer = JordanRNN(4, 3)
    else:
        layer = keras.layers.RNN(JordanRNNCell(4, 3), return_sequences=True)
    layer.build((None, 5, 2))
    set_random_weights(layer.cell, seed=1)
    x = RNG.normal(size=(2, 5, 2)).astype("float32")
    expected = numpy_jordan(x, *weights_of(layer.cell))
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_wrapper_loop_over_input_projections_equals_the_cell_step_by_step(
        go_backwards, zero_output_for_mask):
    x = RNG.normal(size=(4, 6, 2)).astype("float32")
    mask = mask_of([6, 4, 2, 0], 6)
    wrapper = JordanRNN(4, 3, go_backwards=go_backwards, log_output=True,
                        zero_output_for_mask=zero_output_for_mask)
    wrapper.build((None, 6, 2))
    set_random_weights(wrapper.cell, seed=5)
    assert_wrapper_equals_cell_step_by_step(wrapper, x, mask)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_a_mask_with_a_gap_is_refused(go_backwards):
    wrapper = JordanRNN(4, 3, go_backwards=go_backwards)
    assert_mask_with_a_gap_is_refused(wrapper, RNG.normal(size=(2, 4, 2)).astype("float32"))


def test_log_output_returns_log_probabilities_and_still_feeds_back_probabilities():
    plain = JordanRNN(4, 3, return_state=True)
    logged = JordanRNN(4, 3, log_output=True, return_state=True)
    for layer in (plain, logged):
        layer.build((None, 5, 2))
        set_random_weights(layer.cell, seed=4)
    x = RNG.normal(size=(2, 5, 2)).astype("float32")
    probs, state = plain(x)
    logs, logged_state = logged(x)
    np.testing.assert_allclose(np.exp(logs.numpy()), probs.numpy(), atol=1e-6)
    np.testing.assert_allclose(logged_state.numpy(), state.numpy(), atol=1e-6)
    assert JordanRNN.from_config(logged.get_config()).log_output


def test_fed_back_state_is_the_previous_output():
    layer = JordanRNN(4, 3, output_activation="linear", return_state=True)
    layer.build((None, 4, 2))
    set_random_weights(layer.cell, seed=2)
    x = RNG.normal(size=(2, 4, 2)).astype("float32")
    outputs, state = layer(x)
    np.testing.assert_allclose(state.numpy(), outputs[:, -1].numpy())
    # y_0 = 0, so the recurrent kernel cannot change step 1 but must change step 2.
    layer.cell.recurrent_kernel.assign(layer.cell.recurrent_kernel * 2.0)
    changed, _ = layer(x)
    np.testing.assert_allclose(changed[:, 0], outputs[:, 0], atol=1e-7)
    assert np.abs(changed[:, 1] - outputs[:, 1]).max() > 1e-3


def test_given_initial_state_is_used_as_y_0():
    layer = JordanRNN(4, 3)
    layer.build((None, 3, 2))
    set_random_weights(layer.cell, seed=5)
    x = RNG.normal(size=(1, 3, 2)).astype("float32")
    y_0 = np.array([[0.0, 1.0, 0.0]], "float32")
    kernel, recurrent_kernel, bias, output_kernel, output_bias = weights_of(layer.cell)
    z = np.tanh(x[:, 0] @ kernel + y_0 @ recurrent_kernel + bias) @ output_kernel + output_bias
    expected = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    got = layer(x, initial_state=[y_0]).numpy()[:, 0]
    np.testing.assert_allclose(got, expected, atol=1e-5)


# --- masking ------------------------------------------------------------------------------

PADDED = np.array([[3, 4, 5, 0, 0], [6, 7, 0, 0, 0], [2, 3, 4, 5, 6]])


def embedded_model(recurrent: keras.layers.Layer) -> keras.Model:
    ids = keras.Input((None,), dtype="int32")
    vectors = keras.layers.Embedding(10, 3, mask_zero=True)(ids)
    return keras.Model(ids, recurrent(vectors))


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("use_wrapper", [True, False])
def test_padded_batch_equals_each_sentence_alone(go_backwards, use_wrapper):
    if use_wrapper:
        recurrent = JordanRNN(4, 3, go_backwards=go_backwards)
    else:
        recurrent = keras.layers.RNN(JordanRNNCell(4, 3), return_sequences=True,
                                     go_backwards=go_backwards)
    model = embedded_model(recurrent)
    batch = model(PADDED).numpy()
    for row, ids in zip(batch, PADDED, strict=True):
        length = int((ids > 0).sum())
        alone = model(ids[None, :length]).numpy()[0]
        # go_backwards returns outputs in processing order: the padding (first when
        # reversed) is skipped, so the sentence's outputs are the last `length` rows.
        valid = row[-length:] if go_backwards else row[:length]
        np.testing.assert_allclose(valid, alone, atol=1e-6)


def test_padded_batch_bidirectional_with_explicit_mask():
    layer = keras.layers.Bidirectional(JordanRNN(3, 2))
    x = RNG.normal(size=(3, 5, 2)).astype("float32")
    lengths = [3, 5, 1]
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    x[~mask] = 9.0  # garbage in the padding must not leak into real steps
    batch = layer(x, mask=mask).numpy()
    for row, sentence, length in zip(batch, x, lengths, strict=True):
        alone = layer(sentence[None, :length]).numpy()[0]
        np.testing.assert_allclose(row[:length], alone, atol=1e-6)


# --- gradients ----------------------------------------------------------------------------


@pytest.mark.parametrize("use_wrapper", [True, False])
def test_gradients_match_finite_differences(use_wrapper):
    if use_wrapper:
        layer = JordanRNN(3, 2, dtype="float64")
    else:
        layer = keras.layers.RNN(JordanRNNCell(3, 2, dtype="float64"), return_sequences=True,
                                 dtype="float64")
    layer.build((None, 3, 2))
    set_random_weights(layer.cell, seed=3)
    rng = np.random.default_rng(4)
    x = tf.constant(rng.normal(size=(2, 3, 2)))
    mask = tf.constant([[True, True, True], [True, True, False]])
    projection = tf.constant(rng.normal(size=(2, 3, 2)))

    @tf.function
    def loss():
        return tf.reduce_sum(layer(x, mask=mask) * projection)

    with tf.GradientTape() as tape:
        value = loss()
    gradients = tape.gradient(value, layer.trainable_weights)
    eps = 1e-6
    for weight, gradient in zip(layer.trainable_weights, gradients, strict=True):
        original = weight.numpy()
        numeric = np.zeros_like(original)
        for index in np.ndindex(original.shape):
            shifted = original.copy()
            shifted[index] += eps
            weight.assign(shifted)
            plus = float(loss())
            shifted[index] -= 2 * eps
            weight.assign(shifted)
            minus = float(loss())
            numeric[index] = (plus - minus) / (2 * eps)
        weight.assign(original)
        np.testing.assert_allclose(gradient.numpy(), numeric, rtol=1e-5, atol=1e-7,
                                   err_msg=weight.name)
        assert np.abs(numeric).max() > 1e-4, weight.name  # every weight matters


# --- configuration and arguments ----------------------------------------------------------


def test_cell_config_round_trip():
    cell = JordanRNNCell(5, 2, activation="relu", output_activation="sigmoid", use_bias=False,
                         output_initializer=keras.initializers.Constant(0.5))
    config = cell.get_config()
    parameters = set(inspect.signature(JordanRNNCell.__init__).parameters) - {"self", "kwargs"}
    assert parameters <= set(config)
    for name in parameters:
        assert hasattr(cell, name), name
    clone = JordanRNNCell.from_config(config)
    assert clone.get_config() == config
    clone.build((None, 3))
    np.testing.assert_array_equal(clone.output_kernel.numpy(), np.full((5, 2), 0.5))


def test_wrapper_config_round_trip():
    layer = JordanRNN(5, 2, output_activation="linear", go_backwards=True,
                      return_sequences=False, return_state=True, name="jordan")
    config = layer.get_config()
    parameters = set(inspect.signature(JordanRNN.__init__).parameters) - {"self", "kwargs"}
    assert parameters <= set(config)
    for name in parameters:
        assert hasattr(layer, name), name
    assert layer.units == 5 and layer.output_units == 2
    clone = JordanRNN.from_config(config)
    assert clone.get_config() == config
    assert clone.go_backwards and clone.return_state and not clone.return_sequences


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(units=0, output_units=2), "units"),
        (dict(units=3, output_units=0), "output_units"),
        (dict(units=3, output_units=-1), "output_units"),
        (dict(units=1.5, output_units=2), "units"),
        (dict(units=3, output_units=2, activation="nope"), "activation"),
        (dict(units=3, output_units=2, output_activation="nope"), "output_activation"),
        (dict(units=3, output_units=2, output_initializer="nope"), "output_initializer"),
        (dict(units=3, output_units=2, recurrent_initializer="nope"), "recurrent_initializer"),
    ],
)
@pytest.mark.parametrize("cls", [JordanRNNCell, JordanRNN])
def test_bad_arguments_raise(cls, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        cls(**kwargs)


# --- saving -------------------------------------------------------------------------------


def tiny_model() -> keras.Model:
    ids = keras.Input((None,), dtype="int32")
    vectors = keras.layers.Embedding(10, 3, mask_zero=True)(ids)
    cell = JordanRNNCell(4, 3)
    hidden = keras.layers.Bidirectional(keras.layers.RNN(cell, return_sequences=True))(vectors)
    outputs = keras.layers.Bidirectional(JordanRNN(5, 2))(hidden)
    return keras.Model(ids, outputs)


def test_keras_file_loads_in_fresh_process_without_custom_objects(tmp_path):
    assert load_in_fresh_process(tiny_model(), PADDED, tmp_path) == "JordanRNN"


def test_tf_saved_model_round_trip(tmp_path):
    assert_saved_model_round_trip(tiny_model(), PADDED, tmp_path)
