"""Word dropout: during training, replace random words by the unknown id."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="slotfill")
class WordDropout(keras.layers.Layer):
    """Replaces each real word id by ``unknown_id`` with probability ``rate`` in training.

    ```
    w'_t = unknown_id   with probability rate, if w_t is not padding (0)
    w'_t = w_t          otherwise, and always at inference
    ```

    The model so learns to tag words it has never seen from their characters and context.

    Args:
        rate: float in [0, 1), the replacement probability. Default 0.05.
        unknown_id: int, the id that stands for an unknown word. Default 1.
        seed: int or None, seed of the dropout noise. Default None.

    Example:
        >>> layer = WordDropout(0.1)
        >>> layer(np.array([[5, 6, 0]]), training=True).shape
        (1, 3)

    Reference: Lample et al. (2016), Neural Architectures for Named Entity Recognition.
    """

    def __init__(self, rate: float = 0.05, unknown_id: int = 1, seed: int | None = None,
                 **kwargs) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"rate must be in [0, 1), got {rate!r}")
        super().__init__(**kwargs)
        self.rate = rate
        self.unknown_id = unknown_id
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        noise = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator)
        drop = ops.logical_and(noise < self.rate, inputs > 0)
        return ops.where(drop, ops.cast(self.unknown_id, inputs.dtype), inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "unknown_id": self.unknown_id,
                "seed": self.seed}
