"""Jordan recurrent network (the memory is the previous output): cell and RNN layer."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from slotfill.layers.cell_rnn import (
    CellRNN,
    cell_property,
    check_positive_int,
    resolve_activation,
    resolve_initializer,
)


@keras.saving.register_keras_serializable(package="slotfill")
class JordanRNNCell(keras.layers.Layer):
    """One step of a Jordan network: the state fed back is the previous *output*.

    ```
    h_t = f(W_x x_t + W_y y_tm1 + b)         W_x: kernel, W_y: recurrent_kernel
    y_t = g(W_o h_t + b_o)                   W_o: output_kernel, b_o: output_bias
    y_0 = 0
    ```

    Unlike an Elman network (``keras.layers.SimpleRNN``), which feeds back its hidden state
    h_tm1, a Jordan cell feeds back its previous output y_tm1. With ``g = softmax`` that
    output is the tag distribution the cell just predicted for the previous word, so each
    step sees what it tagged before (Mesnil et al.). The cell therefore owns its output
    projection, and its state is ``[y_tm1]`` with ``output_units`` values; it returns
    ``(y_t, [y_t])``. It follows the Keras cell contract, so it runs in ``keras.layers.RNN``
    and ``keras.layers.Bidirectional``; ``JordanRNN`` is the faster ready-made layer.

    Args:
        units: int > 0, size of the hidden layer h_t.
        output_units: int > 0, size of the output y_t (and of the fed-back state), e.g. the
            number of tags.
        activation: activation name or callable, the hidden activation f. Default ``"tanh"``.
        output_activation: activation name or callable, the output activation g.
            Default ``"softmax"``.
        use_bias: bool, whether h_t and y_t have biases ``b`` and ``b_o``. Default True.
        kernel_initializer: initializer of ``kernel`` (input_dim × units).
            Default ``"glorot_uniform"``.
        recurrent_initializer: initializer of ``recurrent_kernel`` (output_units × units).
            Default ``"orthogonal"``.
        output_initializer: initializer of ``output_kernel`` (units × output_units).
            Default ``"glorot_uniform"``.
        bias_initializer: initializer of ``bias`` (units) and ``output_bias``
            (output_units). Default ``"zeros"``.
        log_output: bool, return log y_t instead of y_t (the state fed back is still y_t).
            A tagger that puts a layer on top learns far faster from log-probabilities:
            probabilities saturate, and their gradients vanish. Default False.
        **kwargs: base ``keras.layers.Layer`` arguments (name, dtype, trainable).

    Example:
        >>> layer = keras.layers.RNN(JordanRNNCell(16, 5), return_sequences=True)
        >>> tuple(layer(np.zeros((2, 7, 3), "float32")).shape)
        (2, 7, 5)

    Reference:
        Jordan, M. I. (1986). Serial order: a parallel distributed processing approach.
        ICS Report 8604, UC San Diego.
        Mesnil, G. et al. (2015). Using recurrent neural networks for slot filling in
        spoken language understanding. IEEE/ACM TASLP 23(3).
    """

    def __init__(
        self,
        units: int,
        output_units: int,
        activation: Any = "tanh",
        output_activation: Any = "softmax",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        output_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        log_output: bool = False,
        **kwargs,
    ) -> None:
        check_positive_int(units, "units")
        check_positive_int(output_units, "output_units")
        resolved = {
            "activation": resolve_activation(activation, "activation"),
            "output_activation": resolve_activation(output_activation, "output_activation"),
            "kernel_initializer": resolve_initializer(kernel_initializer, "kernel_initializer"),
            "recurrent_initializer": resolve_initializer(
                recurrent_initializer, "recurrent_initializer"
            ),
            "output_initializer": resolve_initializer(output_initializer, "output_initializer"),
            "bias_initializer": resolve_initializer(bias_initializer, "bias_initializer"),
        }
        super().__init__(**kwargs)
        self.units = units
        self.output_units = output_units
        self.activation = resolved["activation"]
        self.output_activation = resolved["output_activation"]
        self.use_bias = bool(use_bias)
        self.kernel_initializer = resolved["kernel_initializer"]
        self.recurrent_initializer = resolved["recurrent_initializer"]
        self.output_initializer = resolved["output_initializer"]
        self.bias_initializer = resolved["bias_initializer"]
        self.log_output = bool(log_output)
        self.state_size = output_units
        self.output_size = output_units

    def build(self, input_shape) -> None:
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, self.units), name="kernel", initializer=self.kernel_initializer
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.output_units, self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,), name="bias", initializer=self.bias_initializer
            )
        self.output_kernel = self.add_weight(
            shape=(self.units, self.output_units),
            name="output_kernel",
            initializer=self.output_initializer,
        )
        self.output_bias = None
        if self.use_bias:
            self.output_bias = self.add_weight(
                shape=(self.output_units,), name="output_bias", initializer=self.bias_initializer
            )

    def call(self, inputs, states, training=False):
        return self._recurrent_step(self._input_projection(inputs), states, self._step_weights())

    def _input_projection(self, inputs):
        """``W_x x + b``, for one step ``[B, D]`` or a whole sequence ``[B, T, D]``: it does
        not depend on the state, so a time loop can compute it for every step in one matmul
        before it starts."""
        z = ops.matmul(inputs, self.kernel)
        return z + self.bias if self.use_bias else z

    def _step_weights(self, batch_size=None) -> tuple:
        """The tensors a step reads besides its input projection: (W_y, W_o, b_o).

        With ``batch_size``, the output bias comes broadcast to (batch_size, ·): a time loop
        that captures these once does no per-step variable reads, and its gradient no
        per-step reductions over the batch for it.
        """
        if batch_size is None:
            return self.recurrent_kernel, self.output_kernel, self.output_bias
        output_bias = None
        if self.use_bias:
            output_bias = ops.broadcast_to(self.output_bias, (batch_size, self.output_units))
        return (ops.convert_to_tensor(self.recurrent_kernel),
                ops.convert_to_tensor(self.output_kernel), output_bias)

    def _recurrent_step(self, projected, states, weights):
        recurrent_kernel, output_kernel, output_bias = weights
        y_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        h = self.activation(projected + ops.matmul(y_tm1, recurrent_kernel))
        z_y = ops.matmul(h, output_kernel)
        if output_bias is not None:
            z_y = z_y + output_bias
        if self.log_output and self.output_activation is keras.activations.softmax:
            # One op for log y, finite where a softmax underflows to 0, instead of a softmax,
            # a floor and a log: fewer ops in every step of the loop and of its gradient.
            log_y = ops.log_softmax(z_y)
            return log_y, [ops.exp(log_y)]
        y = self.output_activation(z_y)
        if self.log_output:
            # The floor keeps log finite where a softmax underflows to 0.
            return ops.log(ops.maximum(y, 1e-12)), [y]
        return y, [y]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "output_units": self.output_units,
            "activation": keras.activations.serialize(self.activation),
            "output_activation": keras.activations.serialize(self.output_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "output_initializer": keras.initializers.serialize(self.output_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "log_output": self.log_output,
        }


_CELL_ARGUMENTS = (
    "units",
    "output_units",
    "activation",
    "output_activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "output_initializer",
    "bias_initializer",
    "log_output",
)


@keras.saving.register_keras_serializable(package="slotfill")
class JordanRNN(CellRNN):
    """A ``keras.layers.RNN`` over a ``JordanRNNCell``: the fed-back state is the previous output.

    ```
    for t in 1..T:   y_t = g(W_o f(W_x x_t + W_y y_tm1 + b) + b_o)        y_0 = 0
    returns y_1..y_T (return_sequences=True) or y_T
    ```

    The equations are the cell's. Masked (padding) steps leave y unchanged, as in every Keras
    RNN. Results are those of ``keras.layers.RNN(JordanRNNCell(...))``, faster: ``W_x x_t + b``
    is computed for all steps in one matmul before the loop, and the loop reads its weights,
    and broadcasts the output bias, once per sequence rather than per step. Returning
    sequences with a mask, the loop runs without it (``CellRNN``): the mask must pad each
    row at the end only, as batches of sentences do; one with a gap raises. In
    ``keras.layers.Bidirectional`` each direction has its own Jordan cell, fed back its own
    previous output, and the two outputs are joined per token.

    Args:
        units, output_units, activation, output_activation, use_bias, kernel_initializer,
        recurrent_initializer, output_initializer, bias_initializer, log_output:
            as for ``JordanRNNCell``.
        return_sequences: bool, return every step's y_t (for tagging) instead of the last.
            Default True.
        go_backwards: bool, run from the last step to the first and return the outputs in
            that reversed order. Default False.
        **kwargs: other ``keras.layers.RNN`` arguments (return_state, stateful, unroll,
            zero_output_for_mask) and base layer arguments (name, dtype, trainable).

    Example:
        >>> tagger = keras.layers.Bidirectional(JordanRNN(100, 9))
        >>> tuple(tagger(np.zeros((2, 7, 50), "float32")).shape)
        (2, 7, 18)

    Reference:
        Jordan, M. I. (1986). Serial order: a parallel distributed processing approach.
        ICS Report 8604, UC San Diego.
        Mesnil, G. et al. (2015). Using recurrent neural networks for slot filling in
        spoken language understanding. IEEE/ACM TASLP 23(3).
    """

    def __init__(
        self,
        units: int,
        output_units: int,
        activation: Any = "tanh",
        output_activation: Any = "softmax",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        output_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        log_output: bool = False,
        return_sequences: bool = True,
        go_backwards: bool = False,
        **kwargs,
    ) -> None:
        cell = JordanRNNCell(
            units,
            output_units,
            activation=activation,
            output_activation=output_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            output_initializer=output_initializer,
            bias_initializer=bias_initializer,
            log_output=log_output,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="jordan_rnn_cell",
        )
        super().__init__(
            cell, return_sequences=return_sequences, go_backwards=go_backwards, **kwargs
        )
        self.input_spec = keras.layers.InputSpec(ndim=3)

    CELL_ARGUMENTS = _CELL_ARGUMENTS
    units = cell_property("units")
    output_units = cell_property("output_units")
    activation = cell_property("activation")
    output_activation = cell_property("output_activation")
    use_bias = cell_property("use_bias")
    kernel_initializer = cell_property("kernel_initializer")
    recurrent_initializer = cell_property("recurrent_initializer")
    output_initializer = cell_property("output_initializer")
    bias_initializer = cell_property("bias_initializer")
    log_output = cell_property("log_output")

