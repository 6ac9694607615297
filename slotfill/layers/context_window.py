"""A word window: each position sees the vectors of its neighbours."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="slotfill")
class ContextWindow(keras.layers.Layer):
    """Concatenates each step's vector with those of the ``size`` steps on either side.

    ```
    z_t = [x_{t-K}; ...; x_t; ...; x_{t+K}]      x outside the sentence (or padding) = 0
    ```

    Single-direction taggers of the literature read such a window so that a word's
    tag can depend on the words after it (Mesnil et al. use K = 3).

    Args:
        size: int >= 0, the K above. Default 3; 0 returns the input unchanged.

    Example:
        >>> ContextWindow(1)(np.ones((2, 5, 4), "float32")).shape
        (2, 5, 12)

    Reference: Mesnil et al. (2015), Using recurrent neural networks for slot filling
    in spoken language understanding.
    """

    def __init__(self, size: int = 3, **kwargs) -> None:
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be an integer >= 0, got {size!r}")
        super().__init__(**kwargs)
        self.size = size
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if self.size == 0:
            return inputs
        if mask is not None:
            # Padding must not leak into the last real words' windows.
            inputs = inputs * ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        k = self.size
        padded = ops.pad(inputs, [[0, 0], [k, k], [0, 0]])
        steps = ops.shape(inputs)[1]
        shifted = [padded[:, offset:offset + steps, :] for offset in range(2 * k + 1)]
        return ops.concatenate(shifted, axis=-1)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        last = None if input_shape[-1] is None else input_shape[-1] * (2 * self.size + 1)
        return (*input_shape[:-1], last)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}
