"""The Elman network is Keras's SimpleRNN: the design doc's worked example, and the IRNN option."""

import keras
import numpy as np


def test_worked_example_all_weights_one():
    # Two inputs, two hidden units, two outputs; every weight 1, every bias 0, linear.
    ones = keras.initializers.Constant(1.0)
    inputs = keras.Input((3, 2))
    hidden = keras.layers.SimpleRNN(
        2, activation="linear", kernel_initializer=ones, recurrent_initializer=ones,
        bias_initializer="zeros", return_sequences=True,
    )(inputs)
    outputs = keras.layers.Dense(2, activation="linear", kernel_initializer=ones)(hidden)
    model = keras.Model(inputs, [hidden, outputs])

    h, y = model(np.array([[[1, 1], [1, 1], [2, 2]]], "float32"))

    np.testing.assert_array_equal(h.numpy()[0], [[2, 2], [6, 6], [16, 16]])
    np.testing.assert_array_equal(y.numpy()[0], [[4, 4], [12, 12], [32, 32]])


def test_irnn_identity_recurrence_keeps_its_memory():
    # IRNN: relu with an identity recurrent matrix. A positive input seen once is carried
    # unchanged through steps with zero input, so the gradient path does not shrink either.
    layer = keras.layers.SimpleRNN(
        3, activation="relu", kernel_initializer=keras.initializers.Identity(),
        recurrent_initializer=keras.initializers.Identity(), return_sequences=True,
    )
    x = np.zeros((1, 6, 3), "float32")
    x[0, 0] = [1.0, 2.0, 3.0]

    outputs = layer(x).numpy()[0]

    np.testing.assert_array_equal(layer.cell.recurrent_kernel.numpy(), np.eye(3))
    np.testing.assert_array_equal(outputs, np.tile([1.0, 2.0, 3.0], (6, 1)))


def test_irnn_default_kernel_trains_on_a_batch():
    layer = keras.layers.SimpleRNN(
        8, activation="relu", recurrent_initializer=keras.initializers.Identity(),
    )
    model = keras.Sequential([keras.Input((5, 4)), layer, keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 5, 4)).astype("float32")
    history = model.fit(x, x.sum(axis=(1, 2))[:, None], epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert np.all(layer(x).numpy() >= 0.0)  # relu
