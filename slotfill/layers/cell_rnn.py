"""What slotfill's recurrent cells and their RNN layers share: argument checks and the loop.

A wrapper layer (``JordanRNN``, ``PeepholeLSTM``) is a ``keras.layers.RNN`` over its
cell whose time loop does less per step than the cell's own ``call``: the input
projection of every step is one matmul before the loop, the other weights are read
once per sequence, and a mask that pads at the end is applied around the loop rather
than at every step. Its cell provides ``_input_projection(inputs)``,
``_step_weights(batch_size)`` and ``_recurrent_step(projected, states, weights)``, and
its ``call`` is ``_recurrent_step`` of ``_input_projection``. The wrapper lists the
cell's constructor arguments in ``CELL_ARGUMENTS``, which it exposes as attributes and
writes into its config.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import ops

# keras.layers.RNN drives its time loop with the backend's `rnn` function, which has no public
# name; CellRNN.inner_loop calls it with a step that captures the weights read once.
from keras.src import backend as keras_backend
from keras.src import tree


def resolve_activation(value: Any, argument: str):
    return _resolve(keras.activations.get, value, argument, "an activation name or callable")


def resolve_initializer(value: Any, argument: str):
    return _resolve(keras.initializers.get, value, argument,
                    "an initializer name, config or instance")


def _resolve(get, value: Any, argument: str, expected: str):
    """``get(value)``, with Keras's errors turned into one that names the argument."""
    try:
        return get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{argument} must be {expected} known to Keras, got {value!r}") from error


def check_positive_int(value: Any, argument: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{argument} must be a positive integer, got {value!r}")


def cell_property(name: str) -> property:
    # The wrapper's constructor arguments live on its cell; expose them under the same names.
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's ``{name}``.")


class CellRNN(keras.layers.RNN):
    """Base of the wrapper layers: Keras's RNN loop over the cell's input projections."""

    CELL_ARGUMENTS: tuple[str, ...] = ()

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if tree.is_nested(mask):
            mask = mask[0]
        # The cell's own step, split: the input projections of all steps in one matmul (per
        # step they were small matmuls, each with its own kernel-gradient accumulation in
        # the backward loop), and the other weights read (and vectors broadcast) once.
        projected = self.cell._input_projection(sequences)
        weights = self.cell._step_weights(ops.shape(sequences)[0])

        def step(inputs, states):
            return self.cell._recurrent_step(inputs, states, weights)

        if (mask is not None and self.return_sequences and not self.return_state
                and not self.stateful and not self.unroll):
            return self._padded_loop(step, projected, initial_state, mask)
        # Keras's loop, so masking, go_backwards and unroll behave as for any RNN.
        return keras_backend.rnn(
            step,
            projected,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )

    def _padded_loop(self, step, projected, initial_state, mask):
        """Keras's masked loop for sequences padded at the end, without a mask in the loop.

        Keras's loop selects between the new and the previous output and state at every
        step: several ops a step, each with its gradient, about a third of a Jordan layer's
        time. Padding at the end cannot change a forward pass's real steps, and a backward
        pass reverses each row within its length (``tf.reverse_sequence``) so that its
        padding comes last too. The padded positions then get what Keras's loop gives them:
        zeros, or with ``zero_output_for_mask=False`` going forwards the last real output.
        A mask with gaps (a real step after a padded one) raises InvalidArgumentError.
        """
        mask = tf.cast(mask, tf.bool)
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        left_aligned = tf.reduce_all(tf.equal(mask, tf.sequence_mask(lengths, tf.shape(mask)[1])))
        tf.debugging.Assert(left_aligned, [f"{self.name} needs masks that pad at the end only "
                                           "(every real step before every padded one)"])
        if self.go_backwards:
            projected = tf.reverse_sequence(projected, lengths, seq_axis=1, batch_axis=0)
        _, outputs, states = keras_backend.rnn(step, projected, list(initial_state),
                                               input_length=projected.shape[1])
        real = mask[:, :, tf.newaxis]
        if self.go_backwards:
            # Back to time order, padding zeroed, then in Keras's order for go_backwards:
            # the last step first.
            outputs = tf.reverse_sequence(outputs, lengths, seq_axis=1, batch_axis=0)
            outputs = tf.reverse(tf.where(real, outputs, tf.zeros_like(outputs)), [1])
        elif self.zero_output_for_mask:
            outputs = tf.where(real, outputs, tf.zeros_like(outputs))
        else:
            last = tf.gather(outputs, tf.maximum(lengths - 1, 0), axis=1, batch_dims=1)
            last = tf.where(lengths[:, tf.newaxis] > 0, last, tf.zeros_like(last))
            outputs = tf.where(real, outputs, last[:, tf.newaxis])
        # (return_state is off on this path, so the states are not read.)
        return outputs[:, -1], outputs, states

    def get_config(self) -> dict:
        config = super().get_config()
        cell_config = config.pop("cell")["config"]
        return {**config, **{name: cell_config[name] for name in self.CELL_ARGUMENTS}}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)
