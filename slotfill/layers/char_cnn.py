"""A character-level word encoder: a CNN over each word's characters, max-pooled."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="slotfill")
class CharCNN(keras.layers.Layer):
    """Encodes every word from its characters, so unseen words still get a vector.

    ```
    e_{t,j} = E[c_{t,j}]                                  character embedding
    u_{t,j} = relu(W * [e_{t,j-k//2} .. e_{t,j+k//2}] + b)  convolution over characters
    v_t     = max_j over real characters of u_{t,j}       one vector per word
    ```

    Args:
        vocab_size: int, number of character ids (0 = padding, 1 = unknown).
        char_dim: int, size of the character embedding. Default 32.
        filters: int, size of the output word vector. Default 64.
        kernel_size: int, characters seen by one filter. Default 3.

    Inputs are character ids ``[batch, words, chars]`` with 0 as padding; the output
    is ``[batch, words, filters]`` (zeros for padded words). Each distinct word of a
    batch is encoded once (TensorFlow backend: ``tf.raw_ops.UniqueV2`` over rows).

    Example:
        >>> layer = CharCNN(vocab_size=40, filters=16)
        >>> layer(np.ones((2, 5, 7), "int32")).shape
        (2, 5, 16)

    Reference: Ma & Hovy (2016), End-to-end sequence labeling via bi-directional
    LSTM-CNNs-CRF.
    """

    def __init__(self, vocab_size: int, char_dim: int = 32, filters: int = 64,
                 kernel_size: int = 3, **kwargs) -> None:
        for name, value in (("vocab_size", vocab_size), ("char_dim", char_dim),
                            ("filters", filters), ("kernel_size", kernel_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.char_dim = char_dim
        self.filters = filters
        self.kernel_size = kernel_size
        self.embedding = keras.layers.Embedding(vocab_size, char_dim, name="char_embedding")
        self.conv = keras.layers.Conv1D(filters, kernel_size, padding="same",
                                        activation="relu", name="char_conv")

    def build(self, input_shape) -> None:
        self.embedding.build((None, None))
        self.conv.build((None, None, self.char_dim))

    def call(self, inputs):
        shape = ops.shape(inputs)
        # Explicit sizes, not -1: with zero words or characters -1 would be ambiguous.
        flat = ops.reshape(inputs, (shape[0] * shape[1], shape[2]))
        # A batch of words without characters (only empty strings) gets one padding column:
        # a convolution over zero steps returns a wrongly shaped tensor on the CPU kernels.
        flat = tf.pad(flat, [[0, 0], [0, tf.maximum(1 - shape[2], 0)]])
        # Utterances repeat words ("flights from boston to ...") and padding: encode each
        # distinct word of the batch once, then copy its vector to every occurrence. Same
        # result, a fraction of the work (ATIS batches hold ~3x more words than distinct ones).
        distinct, occurrence = tf.raw_ops.UniqueV2(x=flat, axis=[0])
        return ops.reshape(ops.take(self._encode(distinct), occurrence, axis=0),
                           (shape[0], shape[1], self.filters))

    def _encode(self, flat):
        """Character ids [N, chars] -> word vectors [N, filters]."""
        real = ops.expand_dims(ops.cast(flat > 0, self.compute_dtype), -1)
        # Zeroed padding looks like the convolution's own edge padding, so a word's vector does
        # not depend on how far its batch was padded.
        hidden = self.conv(self.embedding(flat) * real)
        # Padding characters must not win the max; relu outputs are >= 0, so zeroing them is enough.
        return ops.max(hidden * real, axis=1)

    def compute_mask(self, inputs, mask=None):
        # A real word has at least one character. Without this mask, Keras's Concatenate would
        # OR the word embedding's mask with "all true" and unmask the padding.
        return ops.any(inputs > 0, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "vocab_size": self.vocab_size, "char_dim": self.char_dim,
                "filters": self.filters, "kernel_size": self.kernel_size}
