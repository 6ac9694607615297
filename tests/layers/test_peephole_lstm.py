"""Tests for the peephole LSTM: hand-worked numbers, Keras LSTM equivalence, masking, saving."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from slotfill.layers.peephole_lstm import PeepholeLSTM, PeepholeLSTMCell

from .loops import (
    assert_mask_with_a_gap_is_refused,
    assert_wrapper_equals_cell_step_by_step,
    mask_of,
)
from .saving import assert_saved_model_round_trip, load_in_fresh_process

RNG = np.random.default_rng(7)


def set_random_weights(cell: PeepholeLSTMCell, seed: int, peephole_scale: float = 0.5) -> None:
    """Non-trivial weights everywhere, so every term of the equations matters."""
    rng = np.random.default_rng(seed)
    for weight in cell.weights:
        scale = peephole_scale if weight.name.startswith("peephole") else 0.5
        weight.assign(rng.normal(scale=scale, size=weight.shape).astype(weight.dtype))


# --- shapes and weights -------------------------------------------------------------------


def test_shapes_and_weights():
    cell = PeepholeLSTMCell(4)
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    outputs, h, c = layer(np.zeros((2, 5, 3), "float32"))
    assert outputs.shape == (2, 5, 4) and h.shape == (2, 4) and c.shape == (2, 4)
    assert cell.state_size == [4, 4] and cell.output_size == 4
    shapes = {w.name: tuple(w.shape) for w in cell.trainable_weights}
    assert shapes == {
        "kernel": (3, 16),
        "recurrent_kernel": (4, 16),
        "bias": (16,),
        "peephole_i": (4,),
        "peephole_f": (4,),
        "peephole_o": (4,),
    }
    assert layer.count_params() == 3 * 16 + 4 * 16 + 16 + 3 * 4
    # unit_forget_bias: blocks i, f, c, o start at 0, 1, 0, 0; peepholes start at zero.
    np.testing.assert_array_equal(cell.bias.numpy(), np.repeat([0.0, 1.0, 0.0, 0.0], 4))
    assert not np.any(cell.peephole_o.numpy())


def test_without_bias():
    cell = PeepholeLSTMCell(2, use_bias=False)
    PeepholeLSTM(2, use_bias=False)  # the wrapper accepts it too
    keras.layers.RNN(cell)(np.ones((1, 2, 3), "float32"))
    assert cell.bias is None
    assert len(cell.trainable_weights) == 5


def test_wrapper_shapes_and_bidirectional():
    layer = keras.layers.Bidirectional(PeepholeLSTM(5))
    assert layer(np.zeros((2, 6, 3), "float32")).shape == (2, 6, 10)
    assert PeepholeLSTM(5, return_sequences=False)(np.zeros((2, 6, 3), "float32")).shape == (2, 5)


# --- the design doc's "memory that adds" --------------------------------------------------


def test_memory_that_adds_worked_example():
    # One unit; gates are sigmoid, cell input and output activation the identity.
    cell = PeepholeLSTMCell(1, activation="linear", recurrent_activation="sigmoid")
    cell.build((None, 3))
    kernel = np.zeros((3, 4), "float32")  # columns: i, f, c, o
    kernel[1, 0] = 100.0  # z_i = 100 x2 - 10
    kernel[1, 1] = 100.0  # z_f = 100 x2 + 10
    kernel[0, 2] = 1.0  # z   = x1
    kernel[2, 3] = 100.0  # z_o = 100 x3 - 10
    cell.kernel.assign(kernel)
    cell.recurrent_kernel.assign(np.zeros((1, 4), "float32"))
    cell.bias.assign(np.array([-10.0, 10.0, 0.0, -10.0], "float32"))
    xs = np.array([[3, 1, 0], [4, 1, 0], [2, 0, 0], [1, 0, 1], [3, -1, 0]], "float32")

    states = [np.zeros((1, 1), "float32"), np.zeros((1, 1), "float32")]
    ys, cs = [], []
    for x in xs:
        y, states = cell(x[None], states)
        ys.append(float(y[0, 0]))
        cs.append(float(states[1][0, 0]))

    np.testing.assert_allclose(cs, [3.0, 7.0, 6.9998, 6.9995, 0.0], atol=5e-4)
    np.testing.assert_allclose(ys, [0.0001, 0.0003, 0.0003, 6.9995, 0.0], atol=5e-4)
    assert round(cs[2], 4) == 6.9998 and round(ys[3], 4) == 6.9995

    # The sequence layer (its own time loop, same weights) gives the same outputs.
    layer = PeepholeLSTM(1, activation="linear")
    layer.build((None, 5, 3))
    for mine, theirs in zip(layer.cell.weights, cell.weights, strict=True):
        mine.assign(theirs)
    np.testing.assert_allclose(layer(xs[None])[0, :, 0].numpy(), ys, atol=1e-6)


# --- equivalence with Keras's LSTM --------------------------------------------------------


def keras_lstm_and_peephole(go_backwards: bool):
    keras_lstm = keras.layers.LSTM(5, return_sequences=True, go_backwards=go_backwards)
    keras_lstm.build((None, 6, 4))
    peephole = PeepholeLSTM(5, go_backwards=go_backwards)
    peephole.build((None, 6, 4))
    set_random_weights(peephole.cell, seed=1)
    for weight in peephole.cell.weights:
        if weight.name.startswith("peephole"):
            weight.assign(np.zeros(weight.shape, "float32"))
    keras_lstm.cell.kernel.assign(peephole.cell.kernel)
    keras_lstm.cell.recurrent_kernel.assign(peephole.cell.recurrent_kernel)
    keras_lstm.cell.bias.assign(peephole.cell.bias)
    return keras_lstm, peephole


@pytest.mark.parametrize("go_backwards", [False, True])
def test_zero_peepholes_equal_keras_lstm_with_mask(go_backwards):
    x = RNG.normal(size=(3, 6, 4)).astype("float32")
    mask = np.arange(6)[None, :] < np.array([6, 4, 2])[:, None]
    keras_lstm, peephole = keras_lstm_and_peephole(go_backwards)
    expected = keras_lstm(x, mask=mask).numpy()
    np.testing.assert_allclose(peephole(x, mask=mask).numpy(), expected, atol=1e-5)
    # The bare cell in a plain keras.layers.RNN computes the same.
    plain = keras.layers.RNN(peephole.cell, return_sequences=True, go_backwards=go_backwards)
    np.testing.assert_allclose(plain(x, mask=mask).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_wrapper_loop_over_input_projections_equals_the_cell_step_by_step(
        go_backwards, zero_output_for_mask):
    x = RNG.normal(size=(4, 6, 4)).astype("float32")
    mask = mask_of([6, 4, 2, 0], 6)
    wrapper = PeepholeLSTM(5, go_backwards=go_backwards,
                           zero_output_for_mask=zero_output_for_mask)
    wrapper.build((None, 6, 4))
    set_random_weights(wrapper.cell, seed=4)  # every weight non-zero, peepholes too
    assert_wrapper_equals_cell_step_by_step(wrapper, x, mask)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_a_mask_with_a_gap_is_refused(go_backwards):
    wrapper = PeepholeLSTM(5, go_backwards=go_backwards)
    assert_mask_with_a_gap_is_refused(wrapper, RNG.normal(size=(2, 4, 4)).astype("float32"))


def test_nonzero_peepholes_change_the_output():
    x = RNG.normal(size=(2, 6, 4)).astype("float32")
    keras_lstm, peephole = keras_lstm_and_peephole(go_backwards=False)
    peephole.cell.peephole_o.assign(np.full(5, 0.8, "float32"))
    assert np.abs(peephole(x).numpy() - keras_lstm(x).numpy()).max() > 1e-2


def test_each_peephole_enters_its_own_gate():
    # Set one peephole at a time; each must change the result, and the input and forget
    # peepholes (which see c_tm1) must not change the first step, where c_tm1 = 0.
    x = RNG.normal(size=(2, 4, 3)).astype("float32")
    layer = PeepholeLSTM(3, peephole_initializer="zeros")
    layer.build((None, 4, 3))
    set_random_weights(layer.cell, seed=2, peephole_scale=0.0)
    base = layer(x).numpy()
    for name in ("peephole_i", "peephole_f", "peephole_o"):
        weight = getattr(layer.cell, name)
        weight.assign(np.full(3, 1.5, "float32"))
        changed = layer(x).numpy()
        weight.assign(np.zeros(3, "float32"))
        assert np.abs(changed - base).max() > 1e-3, name
        first_step_changed = np.abs(changed[:, 0] - base[:, 0]).max() > 1e-6
        assert first_step_changed == (name == "peephole_o"), name


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
        recurrent = PeepholeLSTM(4, go_backwards=go_backwards, peephole_initializer="ones")
    else:
        cell = PeepholeLSTMCell(4, peephole_initializer="ones")
        recurrent = keras.layers.RNN(cell, return_sequences=True, go_backwards=go_backwards)
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
    layer = keras.layers.Bidirectional(PeepholeLSTM(3, peephole_initializer="ones"))
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
    cell_args = dict(units=2, dtype="float64")
    if use_wrapper:
        layer = PeepholeLSTM(**cell_args)
    else:
        layer = keras.layers.RNN(PeepholeLSTMCell(**cell_args), return_sequences=True,
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
    cell = PeepholeLSTMCell(
        3, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False,
        unit_forget_bias=False, peephole_initializer=keras.initializers.Constant(0.25),
    )
    config = cell.get_config()
    parameters = set(inspect.signature(PeepholeLSTMCell.__init__).parameters) - {"self", "kwargs"}
    assert parameters <= set(config)
    for name in parameters:
        assert hasattr(cell, name), name
    clone = PeepholeLSTMCell.from_config(config)
    assert clone.get_config() == config
    clone.build((None, 2))
    np.testing.assert_array_equal(clone.peephole_f.numpy(), [0.25] * 3)


def test_wrapper_config_round_trip():
    layer = PeepholeLSTM(3, activation="relu", unit_forget_bias=False, go_backwards=True,
                         return_sequences=False, return_state=True, name="tagger")
    config = layer.get_config()
    parameters = set(inspect.signature(PeepholeLSTM.__init__).parameters) - {"self", "kwargs"}
    assert parameters <= set(config)
    for name in parameters:
        assert hasattr(layer, name), name
    assert layer.units == 3 and layer.activation is keras.activations.relu
    clone = PeepholeLSTM.from_config(config)
    assert clone.get_config() == config
    assert clone.go_backwards and clone.return_state and not clone.return_sequences


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(units=0), "units"),
        (dict(units=-2), "units"),
        (dict(units=2.5), "units"),
        (dict(units=True), "units"),
        (dict(units=2, activation="no_such_activation"), "activation"),
        (dict(units=2, recurrent_activation="nope"), "recurrent_activation"),
        (dict(units=2, kernel_initializer="nope"), "kernel_initializer"),
        (dict(units=2, peephole_initializer="nope"), "peephole_initializer"),
    ],
)
@pytest.mark.parametrize("cls", [PeepholeLSTMCell, PeepholeLSTM])
def test_bad_arguments_raise(cls, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        cls(**kwargs)


# --- saving -------------------------------------------------------------------------------


def tiny_model() -> keras.Model:
    ids = keras.Input((None,), dtype="int32")
    vectors = keras.layers.Embedding(10, 3, mask_zero=True)(ids)
    cell = PeepholeLSTMCell(4, peephole_initializer="ones")
    hidden = keras.layers.Bidirectional(keras.layers.RNN(cell, return_sequences=True))(vectors)
    outputs = keras.layers.Bidirectional(PeepholeLSTM(3, peephole_initializer="ones"))(hidden)
    return keras.Model(ids, outputs)


def test_keras_file_loads_in_fresh_process_without_custom_objects(tmp_path):
    assert load_in_fresh_process(tiny_model(), PADDED, tmp_path) == "PeepholeLSTM"


def test_tf_saved_model_round_trip(tmp_path):
    assert_saved_model_round_trip(tiny_model(), PADDED, tmp_path)
