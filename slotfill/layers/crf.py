"""Linear-chain conditional random field (CRF) output layer."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from slotfill.layers import viterbi

# Added to the score of a forbidden transition. Large enough that exp() of it is 0 in float32
# and Viterbi never picks it, small enough that sums of a few of them stay finite (no inf/NaN).
DISALLOWED_PENALTY = -1e4


@keras.saving.register_keras_serializable(package="slotfill")
class CRF(keras.layers.Layer):
    """Linear-chain CRF over per-token tag scores (emissions), with optional hard constraints.

    The layer only owns the transition parameters: `call` returns the emissions unchanged, and
    training, decoding and posteriors go through `loss`, `decode` and `marginals`. For a
    sentence of length n with emissions `e[t, k]` and tags `y = y_0 .. y_{n-1}`:

    ```
    A[i, j] = transitions[i, j] + penalty(allowed_transitions[i][j])   # i = from, j = to
    s[j]    = start_transitions[j] + penalty(allowed_start[j])
    f[j]    = end_transitions[j] + penalty(allowed_end[j])
    penalty(allowed) = 0 if allowed else -1e4                            # constant, not trained

    score(y) = s[y_0] + sum_{t=0}^{n-1} e[t, y_t] + sum_{t=1}^{n-1} A[y_{t-1}, y_t] + f[y_{n-1}]
    p(y | e) = exp(score(y)) / Z

    forward algorithm (log-partition):
        alpha_0[j] = s[j] + e[0, j]
        alpha_t[j] = e[t, j] + logsumexp_i(alpha_{t-1}[i] + A[i, j])
        log Z      = logsumexp_j(alpha_{n-1}[j] + f[j])
    backward algorithm (for posteriors):
        beta_{n-1}[i] = f[i]
        beta_t[i]     = logsumexp_j(A[i, j] + e[t+1, j] + beta_{t+1}[j])
        p(y_t = k | e) = exp(alpha_t[k] + beta_t[k] - log Z)
    Viterbi (best path):
        delta_0[j] = s[j] + e[0, j]
        delta_t[j] = e[t, j] + max_i(delta_{t-1}[i] + A[i, j])
        y_{n-1} = argmax_j(delta_{n-1}[j] + f[j]),  y_{t-1} = argmax_i(delta_{t-1}[i] + A[i, y_t])
    ```

    Masks are boolean (or 0/1) `[batch, time]` and left-aligned: real tokens first, padding at
    the end. Padded positions are ignored; a row with no real token has log-likelihood 0, is
    decoded as all zeros and has all-zero marginals. All computation is float32 and loops over
    time with `tf.scan`, vectorised over the batch, so it runs eagerly, inside `tf.function`
    and inside a SavedModel with unknown batch and time dimensions.

    If a gold tag sequence itself uses a disallowed transition, its score includes the penalty
    and its loss is about 1e4: constraints should agree with the training data.

    Args:
        num_tags: int, number of tags K (size of the last axis of the emissions).
        allowed_transitions: optional K x K nested list of bools, `[from][to]`; False forbids
            that transition. Default None: every transition allowed.
        allowed_start: optional list of K bools; False forbids a tag as the first tag.
            Default None: all allowed.
        allowed_end: optional list of K bools; False forbids a tag as the last tag.
            Default None: all allowed.
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Example:

    ```python
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(vocab_size, 64, mask_zero=True)(tokens)
    x = keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True))(x)
    emissions = keras.layers.Dense(num_tags)(x)
    crf = CRF(num_tags, name="tags")
    outputs = crf(emissions)
    model = keras.Model(tokens, {"tags": outputs})
    model.compile(optimizer="adam", loss={"tags": crf.loss})
    model.fit(token_ids, {"tags": tag_ids_padded_with_minus_1}, epochs=10)
    scores = model.predict(token_ids)["tags"]
    best_tags = crf.decode(scores, token_ids != 0)
    model.save("tagger.keras")
    # compile=False: Keras cannot deserialize a bound method such as crf.loss as a loss.
    reloaded = keras.models.load_model("tagger.keras", compile=False)
    ```

    Reference:
        Lafferty, McCallum and Pereira (2001), "Conditional Random Fields: Probabilistic Models
        for Segmenting and Labeling Sequence Data", ICML.
        Lample, Ballesteros, Subramanian, Kawakami and Dyer (2016), "Neural Architectures for
        Named Entity Recognition", NAACL.
    """

    def __init__(
        self,
        num_tags: int,
        allowed_transitions: list[list[bool]] | None = None,
        allowed_start: list[bool] | None = None,
        allowed_end: list[bool] | None = None,
        **kwargs,
    ) -> None:
        if isinstance(num_tags, bool) or not isinstance(num_tags, (int, np.integer)):
            raise ValueError(f"num_tags must be a positive int; received {num_tags!r}")
        if num_tags < 1:
            raise ValueError(f"num_tags must be a positive int; received {num_tags!r}")
        num_tags = int(num_tags)
        allowed_transitions = _as_bool_list(
            "allowed_transitions", allowed_transitions, (num_tags, num_tags)
        )
        allowed_start = _as_bool_list("allowed_start", allowed_start, (num_tags,))
        allowed_end = _as_bool_list("allowed_end", allowed_end, (num_tags,))
        if allowed_start is not None and not any(allowed_start):
            raise ValueError("allowed_start must allow at least one tag; received all False")
        if allowed_end is not None and not any(allowed_end):
            raise ValueError("allowed_end must allow at least one tag; received all False")
        super().__init__(**kwargs)
        self.num_tags = num_tags
        self.allowed_transitions = allowed_transitions
        self.allowed_start = allowed_start
        self.allowed_end = allowed_end
        # Numpy, not variables: constraints are fixed, and must neither be trained nor saved
        # as weights (they live in get_config).
        self._transition_penalty = _penalty(allowed_transitions, (num_tags, num_tags))
        self._start_penalty = _penalty(allowed_start, (num_tags,))
        self._end_penalty = _penalty(allowed_end, (num_tags,))
        self._max_plus = viterbi.MaxPlusPlan(allowed_transitions, num_tags)

    def build(self, input_shape=None) -> None:
        if input_shape is not None and input_shape[-1] is not None:
            if input_shape[-1] != self.num_tags:
                raise ValueError(
                    f"emissions must have last dimension num_tags={self.num_tags}; "
                    f"received input shape {tuple(input_shape)}"
                )
        init = keras.initializers.RandomUniform(-0.1, 0.1)
        self.transitions = self.add_weight(
            name="transitions", shape=(self.num_tags, self.num_tags), initializer=init
        )
        self.start_transitions = self.add_weight(
            name="start_transitions", shape=(self.num_tags,), initializer=init
        )
        self.end_transitions = self.add_weight(
            name="end_transitions", shape=(self.num_tags,), initializer=init
        )

    def call(self, emissions, mask=None):
        # The mask is accepted so Keras passes it without warning; decoding needs it explicitly.
        # A new tensor, not the input object: Keras keeps a mask already attached to the object
        # it gets back, whatever compute_mask says.
        return tf.identity(emissions)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "num_tags": self.num_tags,
                # Keras wraps list attributes in tracking containers; the config gets plain lists.
                "allowed_transitions": _plain(self.allowed_transitions),
                "allowed_start": _plain(self.allowed_start),
                "allowed_end": _plain(self.allowed_end),
            }
        )
        return config

    def compute_mask(self, inputs, mask=None) -> None:
        # A mask on the model output would make Keras weight the per-sequence loss [B] with a
        # [B, T] mask; the CRF loss already handles padding itself.
        return None

    def compute_output_shape(self, input_shape):
        return input_shape

    # ----------------------------------------------------------------------------------------
    # Public inference / training API.

    def log_likelihood(self, emissions, tags, mask) -> tf.Tensor:
        """Log-probability of each tag sequence: `score(tags) - log Z`, shape `[B]` float32.

        Args:
            emissions: float `[B, T, K]` tag scores.
            tags: int `[B, T]` gold tags; values at padded positions are ignored.
            mask: bool or 0/1 `[B, T]`, left-aligned.
        """
        emissions, mask = self._prepare(emissions, mask)
        tags = tf.where(mask, tf.cast(tags, tf.int32), 0)
        return self._path_score(emissions, tags, mask) - self._log_partition(emissions, mask)

    def loss(self, y_true, y_pred) -> tf.Tensor:
        """Per-sequence negative log-likelihood `[B]`, usable as a Keras loss function.

        Args:
            y_true: int (or float holding ints) `[B, T]` gold tags padded with -1; the mask is
                `y_true >= 0`. A trailing axis of size 1 is accepted.
            y_pred: float `[B, T, K]` emissions (this layer's output).
        """
        y_true = tf.convert_to_tensor(y_true)
        if y_true.shape.rank == 3:
            y_true = tf.squeeze(y_true, axis=-1)
        if y_true.dtype.is_floating:
            # Keras converts targets to the loss dtype; round before the cast so 2.9999 -> 3.
            y_true = tf.round(y_true)
        tags = tf.cast(y_true, tf.int32)
        return -self.log_likelihood(y_pred, tags, tags >= 0)

    def decode(self, emissions, mask) -> tf.Tensor:
        """Most probable tag sequence (Viterbi, :func:`slotfill.layers.viterbi.decode`),
        int32 `[B, T]`; padded positions are 0."""
        emissions, mask = self._prepare(emissions, mask)
        return viterbi.decode(emissions, mask, *self._potentials(), self._max_plus)

    def marginals(self, emissions, mask) -> tf.Tensor:
        """Posterior `p(y_t = k | emissions)` by forward-backward, float32 `[B, T, K]`.

        Rows of real steps sum to 1; padded rows are 0.
        """
        emissions, mask = self._prepare(emissions, mask)
        trans, _, end = self._potentials()
        alphas = self._forward(emissions, mask)  # [T, B, K]
        log_z = tf.reduce_logsumexp(alphas[-1] + end[tf.newaxis], axis=1)  # [B]

        emissions_tm, mask_tm, _ = viterbi.time_major(emissions, mask)
        end_b = tf.broadcast_to(end[tf.newaxis], tf.shape(emissions_tm[0]))

        exp_trans_t = tf.transpose(tf.exp(trans))

        def step(beta_tp1, inputs):
            emit_tp1, mask_tp1 = inputs
            beta_t = _log_matmul_exp(emit_tp1 + beta_tp1, exp_trans_t)
            # A step followed by padding is the last real step: its continuation is the end.
            return tf.where(mask_tp1[:, tf.newaxis], beta_t, end_b)

        # Element t of the reverse scan sees step t+1 and yields beta_t; a padding step appended
        # after the last one makes element T-1 yield beta_{T-1} = end.
        next_emit = tf.concat([emissions_tm[1:], tf.zeros_like(emissions_tm[:1])], axis=0)
        next_mask = tf.concat([mask_tm[1:], tf.zeros_like(mask_tm[:1])], axis=0)
        betas = tf.scan(step, (next_emit, next_mask), initializer=end_b, reverse=True)
        log_post = alphas + betas - log_z[tf.newaxis, :, tf.newaxis]
        # Clamp before exp: at padding alpha/beta are meaningless and must not overflow.
        post = tf.transpose(tf.exp(tf.minimum(log_post, 0.0)), [1, 0, 2])
        return tf.where(mask[:, :, tf.newaxis], post, tf.zeros_like(post))

    # ----------------------------------------------------------------------------------------
    # Internals.

    def _prepare(self, emissions, mask):
        if not self.built:
            self.build(tuple(emissions.shape))
        emissions = tf.cast(tf.convert_to_tensor(emissions), tf.float32)
        if emissions.shape.rank is not None and emissions.shape.rank != 3:
            raise ValueError(
                f"emissions must have rank 3 [batch, time, num_tags]; "
                f"received shape {emissions.shape}"
            )
        if emissions.shape[-1] is not None and emissions.shape[-1] != self.num_tags:
            raise ValueError(
                f"emissions must have last dimension num_tags={self.num_tags}; "
                f"received shape {emissions.shape}"
            )
        if mask is None:
            mask = tf.ones(tf.shape(emissions)[:2], dtype=tf.bool)
        else:
            mask = tf.convert_to_tensor(mask)
            if mask.dtype != tf.bool:
                mask = tf.not_equal(mask, tf.zeros_like(mask))
        return emissions, mask

    def _potentials(self):
        """Transition, start and end scores with the constant constraint penalties added."""
        trans = tf.cast(self.transitions, tf.float32) + self._transition_penalty
        start = tf.cast(self.start_transitions, tf.float32) + self._start_penalty
        end = tf.cast(self.end_transitions, tf.float32) + self._end_penalty
        return trans, start, end

    def _forward(self, emissions, mask) -> tf.Tensor:
        """Forward variables alpha, time-major `[T, B, K]`; padding carries the last value."""
        trans, start, _ = self._potentials()
        emissions_tm, mask_tm, is_first = viterbi.time_major(emissions, mask)

        exp_trans = tf.exp(trans)

        def step(alpha_tm1, inputs):
            emit_t, mask_t, first = inputs
            from_previous = _log_matmul_exp(alpha_tm1, exp_trans)
            alpha_t = tf.where(first, start[tf.newaxis], from_previous) + emit_t
            return tf.where(mask_t[:, tf.newaxis] | first, alpha_t, alpha_tm1)

        return tf.scan(
            step, (emissions_tm, mask_tm, is_first), initializer=tf.zeros_like(emissions_tm[0])
        )

    def _log_partition(self, emissions, mask) -> tf.Tensor:
        """log Z per sequence `[B]`; 0 for rows without real tokens."""
        _, _, end = self._potentials()
        alpha_last = self._forward(emissions, mask)[-1]
        log_z = tf.reduce_logsumexp(alpha_last + end[tf.newaxis], axis=1)
        return tf.where(tf.reduce_any(mask, axis=1), log_z, tf.zeros_like(log_z))

    def _path_score(self, emissions, tags, mask) -> tf.Tensor:
        """score(tags) per sequence `[B]`, without a time loop; 0 for rows without tokens."""
        trans, start, end = self._potentials()
        maskf = tf.cast(mask, tf.float32)
        emit = tf.gather(emissions, tags, axis=2, batch_dims=2)  # [B, T]
        total = tf.reduce_sum(emit * maskf, axis=1)

        pair_mask = maskf[:, 1:] * maskf[:, :-1]
        pair_ids = tags[:, :-1] * self.num_tags + tags[:, 1:]
        pair = tf.gather(tf.reshape(trans, [-1]), pair_ids)  # [B, T-1]
        total += tf.reduce_sum(pair * pair_mask, axis=1)

        has_tokens = maskf[:, 0]
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        last = tf.gather(tags, tf.maximum(lengths - 1, 0), axis=1, batch_dims=1)
        total += (tf.gather(start, tags[:, 0]) + tf.gather(end, last)) * has_tokens
        return total


def _log_matmul_exp(log_a, exp_b):
    """``log(exp(log_a) @ exp_b)`` for ``log_a`` [B, K], stably.

    The same value as ``logsumexp(log_a[:, :, None] + log(exp_b)[None], axis=1)``, but one
    matrix product instead of a [B, K, K] tensor of exponentials: several times faster for
    the ~120 tags of ATIS. Subtracting each row's maximum keeps ``exp`` in range; disallowed
    transitions are exp(-1e4) = 0 in ``exp_b``, which the product handles exactly.
    """
    shift = tf.stop_gradient(tf.reduce_max(log_a, axis=1, keepdims=True))
    product = tf.matmul(tf.exp(log_a - shift), exp_b)
    # A row whose every path is disallowed sums to 0: keep it finite and hugely negative.
    return tf.math.log(tf.maximum(product, 1e-30)) + shift


def _as_bool_list(name: str, value, shape: tuple[int, ...]) -> list | None:
    """Validate a nested bool list of the given shape; return it as plain Python bools."""
    if value is None:
        return None
    array = np.asarray(value)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; received shape {array.shape}")
    if array.dtype != np.bool_:
        if not np.all(np.isin(array, (0, 1))):
            raise ValueError(f"{name} must contain only booleans; received {value!r}")
        array = array.astype(bool)
    return array.tolist()


def _plain(value) -> list | None:
    return None if value is None else np.asarray(value, dtype=bool).tolist()


def _penalty(allowed: Sequence | None, shape: tuple[int, ...]) -> np.ndarray:
    if allowed is None:
        return np.zeros(shape, dtype=np.float32)
    return np.where(np.asarray(allowed, dtype=bool), 0.0, DISALLOWED_PENALTY).astype(np.float32)
