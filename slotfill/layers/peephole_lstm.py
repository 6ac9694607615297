"""LSTM with diagonal peephole connections (Gers & Schmidhuber, 2000): cell and RNN layer."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from slotfill.layers.cell_rnn import (
    CellRNN,
    cell_property,
    resolve_activation,
    resolve_initializer,
)


@keras.saving.register_keras_serializable(package="slotfill")
class PeepholeLSTMCell(keras.layers.Layer):
    """One step of an LSTM whose gates also look at the cell state (diagonal peepholes).

    ```
    i_t = σ(W_i x_t + U_i h_tm1 + p_i ⊙ c_tm1 + b_i)
    f_t = σ(W_f x_t + U_f h_tm1 + p_f ⊙ c_tm1 + b_f)
    g_t = a(W_c x_t + U_c h_tm1 + b_c)
    c_t = f_t ⊙ c_tm1 + i_t ⊙ g_t
    o_t = σ(W_o x_t + U_o h_tm1 + p_o ⊙ c_t + b_o)      the output gate sees the new cell
    h_t = o_t ⊙ a(c_t)
    ```

    σ is ``recurrent_activation`` and ``a`` is ``activation``. The input gate and the forget
    gate peek at the previous cell state, the output gate at the new one. ``kernel`` holds
    W_i, W_f, W_c, W_o side by side (blocks ordered i, f, c, o like Keras's LSTM),
    ``recurrent_kernel`` holds U_*, and ``bias`` b_*, so with all peepholes at zero (their
    default initialisation) the cell computes exactly ``keras.layers.LSTMCell``. The state is
    ``[h_t, c_t]``; the output is ``h_t``. It follows the Keras cell contract, so it runs in
    ``keras.layers.RNN`` and ``keras.layers.Bidirectional``; ``PeepholeLSTM`` is the faster
    ready-made layer.

    Args:
        units: int > 0, size of h_t and c_t.
        activation: activation name or callable, ``a`` for the cell input and output.
            Default ``"tanh"``.
        recurrent_activation: activation name or callable, σ for the gates.
            Default ``"sigmoid"``.
        use_bias: bool, whether the gates have a bias ``b``. Default True.
        kernel_initializer: initializer of ``kernel`` (input_dim × 4·units).
            Default ``"glorot_uniform"``.
        recurrent_initializer: initializer of ``recurrent_kernel`` (units × 4·units).
            Default ``"orthogonal"``.
        bias_initializer: initializer of ``bias`` (4·units). Default ``"zeros"``.
        unit_forget_bias: bool, add 1 to the forget-gate bias at initialisation
            (Jozefowicz et al., 2015). Default True.
        peephole_initializer: initializer of ``peephole_i``, ``peephole_f`` and
            ``peephole_o`` (units each). Default ``"zeros"``.
        **kwargs: base ``keras.layers.Layer`` arguments (name, dtype, trainable).

    Example:
        >>> layer = keras.layers.RNN(PeepholeLSTMCell(8), return_sequences=True)
        >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)
        (2, 5, 8)

    Reference:
        Gers, F. A. and Schmidhuber, J. (2000). Recurrent nets that time and count.
        IJCNN 2000.
    """

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
        peephole_initializer: Any = "zeros",
        **kwargs,
    ) -> None:
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        resolved = {
            "activation": resolve_activation(activation, "activation"),
            "recurrent_activation": resolve_activation(
                recurrent_activation, "recurrent_activation"
            ),
            "kernel_initializer": resolve_initializer(kernel_initializer, "kernel_initializer"),
            "recurrent_initializer": resolve_initializer(
                recurrent_initializer, "recurrent_initializer"
            ),
            "bias_initializer": resolve_initializer(bias_initializer, "bias_initializer"),
            "peephole_initializer": resolve_initializer(
                peephole_initializer, "peephole_initializer"
            ),
        }
        super().__init__(**kwargs)
        self.units = units
        self.activation = resolved["activation"]
        self.recurrent_activation = resolved["recurrent_activation"]
        self.use_bias = bool(use_bias)
        self.kernel_initializer = resolved["kernel_initializer"]
        self.recurrent_initializer = resolved["recurrent_initializer"]
        self.bias_initializer = resolved["bias_initializer"]
        self.unit_forget_bias = bool(unit_forget_bias)
        self.peephole_initializer = resolved["peephole_initializer"]
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape) -> None:
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, 4 * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, 4 * self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(4 * self.units,),
                name="bias",
                initializer=self._gate_bias_initializer,
            )
        else:
            self.bias = None
        self.peephole_i = self.add_weight(
            shape=(self.units,), name="peephole_i", initializer=self.peephole_initializer
        )
        self.peephole_f = self.add_weight(
            shape=(self.units,), name="peephole_f", initializer=self.peephole_initializer
        )
        self.peephole_o = self.add_weight(
            shape=(self.units,), name="peephole_o", initializer=self.peephole_initializer
        )

    def call(self, inputs, states, training=False):
        return self._recurrent_step(self._input_projection(inputs), states, self._step_weights())

    def _input_projection(self, inputs):
        """``W x + b`` for the four gates, for one step ``[B, D]`` or a whole sequence
        ``[B, T, D]``: it does not depend on the state, so a time loop can compute it for
        every step in one matmul before it starts."""
        z = ops.matmul(inputs, self.kernel)
        return z + self.bias if self.use_bias else z

    def _step_weights(self, batch_size=None) -> tuple:
        """The tensors a step reads besides its input projection: (U, p_i, p_f, p_o).

        With ``batch_size``, the peepholes come broadcast to (batch_size, units): a time loop
        that captures these once does no per-step variable reads, and its gradient no
        per-step reductions over the batch for them.
        """
        if batch_size is None:
            return self.recurrent_kernel, self.peephole_i, self.peephole_f, self.peephole_o

        def per_row(vector):
            return ops.broadcast_to(vector, (batch_size, ops.shape(vector)[0]))

        return (ops.convert_to_tensor(self.recurrent_kernel), per_row(self.peephole_i),
                per_row(self.peephole_f), per_row(self.peephole_o))

    def _recurrent_step(self, projected, states, weights):
        recurrent_kernel, p_i, p_f, p_o = weights
        h_tm1, c_tm1 = states[0], states[1]
        # One fused matmul for the four gates; the blocks are split afterwards.
        z = projected + ops.matmul(h_tm1, recurrent_kernel)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i + p_i * c_tm1)
        f = self.recurrent_activation(z_f + p_f * c_tm1)
        c = f * c_tm1 + i * self.activation(z_c)
        o = self.recurrent_activation(z_o + p_o * c)
        h = o * self.activation(c)
        return h, [h, c]

    def _gate_bias_initializer(self, shape, dtype=None):
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        block = (self.units,)
        return ops.concatenate(
            [
                self.bias_initializer(block, dtype=dtype),
                ops.ones(block, dtype=dtype),
                self.bias_initializer((2 * self.units,), dtype=dtype),
            ]
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "peephole_initializer": keras.initializers.serialize(self.peephole_initializer),
        }


_CELL_ARGUMENTS = (
    "units",
    "activation",
    "recurrent_activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "unit_forget_bias",
    "peephole_initializer",
)


@keras.saving.register_keras_serializable(package="slotfill")
class PeepholeLSTM(CellRNN):
    """A ``keras.layers.RNN`` running a ``PeepholeLSTMCell`` over a sequence.

    ```
    for t in 1..T:   h_t, c_t = PeepholeLSTMCell(x_t, [h_tm1, c_tm1])      h_0 = c_0 = 0
    returns h_1..h_T (return_sequences=True) or h_T
    ```

    The equations are the cell's. Masked (padding) steps leave h and c unchanged, as in every
    Keras RNN. Results are those of ``keras.layers.RNN(PeepholeLSTMCell(...))``, faster:
    ``W x_t + b`` is computed for all steps in one matmul before the loop, and the loop
    reads its weights, and broadcasts the peepholes, once per sequence rather than per step.
    Returning sequences with a mask, the loop runs without it (``CellRNN``): the mask must pad
    each row at the end only, as batches of sentences do; one with a gap raises.

    Args:
        units, activation, recurrent_activation, use_bias, kernel_initializer,
        recurrent_initializer, bias_initializer, unit_forget_bias, peephole_initializer:
            as for ``PeepholeLSTMCell``.
        return_sequences: bool, return every step's h_t (for tagging) instead of the last.
            Default True.
        go_backwards: bool, run from the last step to the first and return the outputs in
            that reversed order. Default False.
        **kwargs: other ``keras.layers.RNN`` arguments (return_state, stateful, unroll,
            zero_output_for_mask) and base layer arguments (name, dtype, trainable).

    Example:
        >>> tagger = keras.layers.Bidirectional(PeepholeLSTM(64))
        >>> tuple(tagger(np.zeros((2, 7, 100), "float32")).shape)
        (2, 7, 128)

    Reference:
        Gers, F. A. and Schmidhuber, J. (2000). Recurrent nets that time and count.
        IJCNN 2000.
    """

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
        peephole_initializer: Any = "zeros",
        return_sequences: bool = True,
        go_backwards: bool = False,
        **kwargs,
    ) -> None:
        cell = PeepholeLSTMCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
            peephole_initializer=peephole_initializer,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="peephole_lstm_cell",
        )
        super().__init__(
            cell, return_sequences=return_sequences, go_backwards=go_backwards, **kwargs
        )
        self.input_spec = keras.layers.InputSpec(ndim=3)

    CELL_ARGUMENTS = _CELL_ARGUMENTS
    units = cell_property("units")
    activation = cell_property("activation")
    recurrent_activation = cell_property("recurrent_activation")
    use_bias = cell_property("use_bias")
    kernel_initializer = cell_property("kernel_initializer")
    recurrent_initializer = cell_property("recurrent_initializer")
    bias_initializer = cell_property("bias_initializer")
    unit_forget_bias = cell_property("unit_forget_bias")
    peephole_initializer = cell_property("peephole_initializer")

