"""Masked mean-and-max pooling over time: one vector per sentence."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="slotfill")
class SequencePooling(keras.layers.Layer):
    """Mean and max of the real (unmasked) steps, concatenated.

    ```
    s = [ (1/n) sum_{t<n} h_t ; max_{t<n} h_t ]      n = number of real steps
    ```

    Used for the sentence-level intent head on top of the shared encoder.

    Example:
        >>> SequencePooling()(np.ones((2, 5, 4), "float32")).shape
        (2, 8)
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        count = ops.maximum(ops.sum(weights, axis=1), 1.0)
        mean = ops.sum(inputs * weights, axis=1) / count
        # A large negative fill keeps padded steps out of the max; an all-padding row gives 0.
        masked = ops.where(weights > 0, inputs, ops.full_like(inputs, -1e9))
        maximum = ops.where(ops.sum(weights, axis=1) > 0, ops.max(masked, axis=1), 0.0)
        return ops.concatenate([mean, maximum], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        last = None if input_shape[-1] is None else 2 * input_shape[-1]
        return (input_shape[0], last)
