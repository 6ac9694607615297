"""Shared check for the wrapper layers (PeepholeLSTM, JordanRNN): their loop is the cell's."""

import keras
import numpy as np
import tensorflow as tf


def assert_wrapper_equals_cell_step_by_step(wrapper: keras.layers.RNN, x: np.ndarray,
                                            mask: np.ndarray) -> None:
    """The wrapper projects every step's input before its loop; the cell's own call does it
    inside each step (in a plain ``keras.layers.RNN``). Same outputs, and the same gradients
    for the input and every weight."""
    x = tf.constant(x)
    plain = keras.layers.RNN(wrapper.cell, return_sequences=True,
                             go_backwards=wrapper.go_backwards)
    results = []
    for layer in (wrapper, plain):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = layer(x, mask=mask)
            # Position-dependent weights, so that a step out of place changes the loss.
            loss = tf.reduce_sum(out * tf.range(1.0, out.shape[-1] + 1.0))
        results.append((out, tape.gradient(loss, [x, *wrapper.cell.weights])))
    (out_wrapper, grads_wrapper), (out_plain, grads_plain) = results
    np.testing.assert_allclose(out_wrapper.numpy(), out_plain.numpy(), atol=1e-6)
    for got, expected in zip(grads_wrapper, grads_plain, strict=True):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-5)
