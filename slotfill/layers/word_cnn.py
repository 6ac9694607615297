"""A convolution over a sentence's word vectors that ignores padding."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="slotfill")
class WordCNN(keras.layers.Layer):
    """Each word's vector from the words around it: one convolution along the sentence.

    ```
    x'_t = x_t for a real word, 0 for padding (and outside the sentence)
    h_t  = relu(b + sum_{j=-k//2}^{k//2} W_j x'_{t+j})        k = kernel_size
    h_t  = 0 at padding
    ```

    Padding reads as the convolution's own zero edge, so a word's output does not depend
    on how far its batch was padded. The mask passes through, so that a masked pooling
    after it (``SequencePooling``) sees the real words only. Unlike a recurrent layer it has
    no loop over time: every step is computed at once.

    Args:
        filters: int, size of each output vector.
        kernel_size: int, words seen by one filter (odd: centred on the word). Default 3.

    Example:
        >>> WordCNN(8)(np.ones((2, 5, 4), "float32")).shape
        (2, 5, 8)
    """

    def __init__(self, filters: int, kernel_size: int = 3, **kwargs) -> None:
        for name, value in (("filters", filters), ("kernel_size", kernel_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (centred on the word), got {kernel_size}")
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.supports_masking = True
        self.conv = keras.layers.Conv1D(filters, kernel_size, padding="same",
                                        activation="relu", name="conv")

    def build(self, input_shape) -> None:
        self.conv.build(input_shape)

    def call(self, inputs, mask=None):
        if mask is None:
            return self.conv(inputs)
        real = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        return self.conv(inputs * real) * real

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}
