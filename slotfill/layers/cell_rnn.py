"""What slotfill's recurrent cells and their RNN layers share: argument checks and the loop.

A wrapper layer (``JordanRNN``, ``PeepholeLSTM``) is a ``keras.layers.RNN`` over its
cell whose time loop does less per step than the cell's own ``call``: the input
projection of every step is one matmul before the loop, and the other weights are read
once per sequence. Its cell provides ``_input_projection(inputs)``,
``_step_weights(batch_size)`` and ``_recurrent_step(projected, states, weights)``, and
its ``call`` is ``_recurrent_step`` of ``_input_projection``. The wrapper lists the
cell's constructor arguments in ``CELL_ARGUMENTS``, which it exposes as attributes and
writes into its config.
"""

from __future__ import annotations

from typing import Any

import keras
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
        # Keras's loop, so masking, go_backwards and unroll behave as for any RNN.
        projected = self.cell._input_projection(sequences)
        weights = self.cell._step_weights(ops.shape(sequences)[0])

        def step(inputs, states):
            return self.cell._recurrent_step(inputs, states, weights)

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

    def get_config(self) -> dict:
        config = super().get_config()
        cell_config = config.pop("cell")["config"]
        return {**config, **{name: cell_config[name] for name in self.CELL_ARGUMENTS}}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)
