"""Known words: ids beyond a trained vocabulary's end read as the unknown id."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="slotfill")
class KnownWords(keras.layers.Layer):
    """Maps every word id at or above ``vocab_size`` to ``unknown_id``.

    ```
    w'_t = w_t          if w_t < vocab_size
    w'_t = unknown_id   otherwise
    ```

    With pretrained vectors the vocabulary holds the training words first and then words
    only the vector file has. Those have a pretrained vector but no trained embedding row:
    for the trained embedding they are unknown words, like any word never seen in training.

    Args:
        vocab_size: int >= 2, the number of ids (padding and unknown included) the trained
            embedding has rows for.
        unknown_id: int, the id that stands for an unknown word. Default 1.

    Example:
        >>> KnownWords(4)(np.array([[2, 3, 7, 0]])).numpy().tolist()
        [[2, 3, 1, 0]]
    """

    def __init__(self, vocab_size: int, unknown_id: int = 1, **kwargs) -> None:
        if vocab_size < 2:
            raise ValueError(f"vocab_size must be >= 2 (padding and unknown), got {vocab_size!r}")
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.unknown_id = unknown_id

    def call(self, inputs):
        return ops.where(inputs < self.vocab_size, inputs,
                         ops.cast(self.unknown_id, inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "unknown_id": self.unknown_id}
