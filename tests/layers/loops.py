"""Shared check for the wrapper layers (PeepholeLSTM, JordanRNN): their loop is the cell's."""

import keras
import numpy as np
import pytest
import tensorflow as tf


def assert_wrapper_equals_cell_step_by_step(wrapper: keras.layers.RNN, x: np.ndarray,
                                            mask: np.ndarray) -> None:
    """The wrapper projects every step's input before its loop and, given a mask, runs
    the loop without it; the cell's own call projects inside each step, in a plain
    ``keras.layers.RNN`` that masks every step. Same outputs, padding included, and the
    same gradients for the input and every weight."""
    x = tf.constant(x)
    plain = keras.layers.RNN(wrapper.cell, return_sequences=True,
                             go_backwards=wrapper.go_backwards,
                             zero_output_for_mask=wrapper.zero_output_for_mask)
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


def mask_of(lengths: list[int], steps: int) -> np.ndarray:
    """A mask that pads each row at the end to ``steps``."""
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


def assert_mask_with_a_gap_is_refused(wrapper: keras.layers.RNN, x: np.ndarray) -> None:
    """The wrapper's loop relies on padding at the end; a real step after a padded one
    would be read differently from Keras's loop, so it is an error, not a silent change."""
    mask = np.ones(x.shape[:2], bool)
    mask[0, 1] = False
    with pytest.raises(tf.errors.InvalidArgumentError, match="pad at the end"):
        wrapper(x, mask=mask)
