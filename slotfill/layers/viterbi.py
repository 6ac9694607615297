"""Viterbi decoding for the CRF layer, with an exact pruning of its max over previous tags.

:class:`slotfill.layers.crf.CRF` owns the transition scores; this module finds the best tag
path for them. The recurrences are the ones the CRF docstring states::

    delta_0[j] = s[j] + e[0, j]
    delta_t[j] = e[t, j] + max_i(delta_{t-1}[i] + A[i, j])
    y_{n-1} = argmax_j(delta_{n-1}[j] + f[j]),  y_{t-1} = argmax_i(delta_{t-1}[i] + A[i, y_t])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

# Viterbi's max over previous tags looks at this many best ones first (see MaxPlusPlan).
VITERBI_CANDIDATES = 3
# Below this many rows the dense max is cheaper than the candidates' fixed cost of ops
# (one utterance: ~10 us against ~100 us a step).
PRUNE_MIN_ROWS = 32
# A tag with at most this many allowed predecessors (BIO's I-x: B-x and I-x) takes its
# max over exactly those.
FEW_PREDECESSORS = 4


def decode(emissions: tf.Tensor, mask: tf.Tensor, trans: tf.Tensor, start: tf.Tensor,
           end: tf.Tensor, plan: MaxPlusPlan) -> tf.Tensor:
    """Most probable tag sequence, int32 `[B, T]`; padded positions are 0.

    Args:
        emissions: float32 `[B, T, K]` tag scores.
        mask: bool `[B, T]`, left-aligned (real tokens first).
        trans, start, end: the penalised transition `[K, K]` (from, to), start `[K]` and
            end `[K]` scores.
        plan: the ``MaxPlusPlan`` of the transitions' allowed pattern.

    The forward pass keeps only the best scores ``delta_t``; the backtrace recomputes
    each step's argmax for the one chosen tag, ``y_{t-1} = argmax_i(delta_{t-1}[i] +
    A[i, y_t])``, a `[B, K]` problem, instead of storing a `[B, K]` argmax per step.
    The forward max reduces over the last, contiguous axis (``A`` transposed). Together
    these make decoding about three times faster for the ~120 tags of ATIS, and the
    forward max looks first at the few best previous tags (``MaxPlusPlan``), which
    is exact and again several times faster.
    """
    # Decoded in the plan's tag order (see MaxPlusPlan), mapped back at the end.
    trans, start, end = (plan.reorder(x) for x in (trans, start, end))
    emissions = plan.reorder(emissions, axes=[2])
    trans_to_from = tf.transpose(trans)  # [to, from]
    emissions_tm, mask_tm, is_first = time_major(emissions, mask)
    best_previous = plan.bind(trans)

    def forward(delta_tm1, inputs):
        emit_t, mask_t, first = inputs
        delta_t = tf.where(first, start[tf.newaxis], best_previous(delta_tm1)) + emit_t
        # Padding carries the last real step's scores to the end.
        return tf.where(mask_t[:, tf.newaxis] | first, delta_t, delta_tm1)

    # Started from delta_0 itself (step 0 overwrites it): zeros would tie every tag and
    # defeat the candidate pruning of the first step.
    deltas = tf.scan(forward, (emissions_tm, mask_tm, is_first),
                     initializer=start[tf.newaxis] + emissions_tm[0])
    best_last = tf.argmax(deltas[-1] + end[tf.newaxis], axis=1, output_type=tf.int32)

    def backtrack(y_tp1, inputs):
        delta_t, mask_tp1 = inputs
        y_t = tf.argmax(delta_t + tf.gather(trans_to_from, y_tp1), axis=1,
                        output_type=tf.int32)
        # Step t+1 is padding: the best tag passes through unchanged.
        return tf.where(mask_tp1, y_t, y_tp1)

    # Element t of the reverse scan yields y_t from y_{t+1}; a padding step appended after
    # the last one makes element T-1 yield best_last itself.
    next_mask = tf.concat([mask_tm[1:], tf.zeros_like(mask_tm[:1])], axis=0)
    path = tf.transpose(tf.scan(backtrack, (deltas, next_mask), initializer=best_last,
                                reverse=True))
    path = plan.restore(path)
    return tf.where(mask, path, tf.zeros_like(path))


class MaxPlusPlan:
    """Viterbi's step ``m[b, j] = max_i(delta[b, i] + A[i, j])``, computed exactly but
    without the dense ``[B, K, K]`` sum for almost every row.

    The dense sum is the slowest part of decoding (memory-bound, ~0.5 ms a step for 64
    sentences and 120 tags). Two facts avoid it:

    - A tag with few allowed predecessors (``I-x``: ``B-x`` and ``I-x``) takes the max
      over exactly those.
    - For every other tag j, a previous tag outside a row's ``c`` best scores at most
      ``delta_(c+1) + max_i A[i, j]`` (``delta_(c+1)`` the row's (c+1)-th best). So if
      the max over the ``c`` best beats that bound, it is the max over all. In a trained
      tagger the best few tags stand far apart and the bound holds for all but a fraction
      of a percent of rows (ATIS test: 0.3 % with ``c = 3``); only those rows take the
      dense sum. The ``c`` best come from ``c`` rounds of argmax, several times cheaper
      than ``tf.math.top_k`` for this size.

    Either way the values are the same sums as the dense max, so decoding is unchanged
    (the predecessors left out are forbidden ones, which lose to an allowed one unless
    scores differ by more than ``DISALLOWED_PENALTY``).

    The step works in its own tag order, ``tag_order``: the other tags first, then the
    few-predecessor tags' other predecessors in the same order as those tags, then the
    few-predecessor tags. For BIO that makes every "predecessor f of each I-x" a
    contiguous slice rather than a gather, and the step's two parts concatenate without a
    reorder. Tags already numbered in this order (``bio.crf_order``, as slotfill numbers
    them) give the identity, and decoding skips reordering its ``[B, T, K]`` emissions.
    """

    def __init__(self, allowed: list[list[bool]] | None, num_tags: int) -> None:
        allowed_array = (np.ones((num_tags, num_tags), bool) if allowed is None
                         else np.asarray(allowed, bool))
        degree = allowed_array.sum(axis=0)
        few_tags = np.flatnonzero((degree > 0) & (degree <= FEW_PREDECESSORS))
        # Each few tag's predecessors, itself first when it may follow itself, padded by
        # repeats (a repeat cannot change a max).
        sources = [sorted(np.flatnonzero(allowed_array[:, j]), key=lambda i, j=j: i != j)
                   for j in few_tags]
        width = max((len(row) for row in sources), default=1)
        sources = np.asarray([np.resize(row, width) for row in sources], np.int64)
        few = [int(j) for j in few_tags]
        # Column by column, so that each column of ``sources`` is one run of tags.
        feeding = [int(i) for column in sources.T[1:] for i in column if i not in few]
        tail = list(dict.fromkeys(feeding + few))
        self.tag_order = np.asarray([i for i in range(num_tags) if i not in tail] + tail,
                                    np.int32)
        self.is_identity = bool(np.array_equal(self.tag_order, np.arange(num_tags)))
        position = np.argsort(self.tag_order)
        self.num_tags = num_tags
        self.num_few = len(few)
        self.num_many = num_tags - self.num_few
        self.few_sources = position[sources].reshape(-1, width).astype(np.int32)
        self.prune = self.num_many > 0 and num_tags > VITERBI_CANDIDATES

    def reorder(self, x: tf.Tensor, axes: Sequence[int] | None = None) -> tf.Tensor:
        """``x`` indexed by tag on ``axes`` (default every axis) in ``tag_order``."""
        if self.is_identity:
            return x
        for axis in range(len(x.shape)) if axes is None else axes:
            x = tf.gather(x, self.tag_order, axis=axis)
        return x

    def restore(self, tag_ids: tf.Tensor) -> tf.Tensor:
        """Tag ids in ``tag_order`` back to the layer's own ids."""
        return tag_ids if self.is_identity else tf.gather(self.tag_order, tag_ids)

    def bind(self, trans: tf.Tensor) -> MaxPlusStep:
        """The step for penalised ``trans`` (in ``tag_order``), callable as
        ``delta [B, K] -> m [B, K]``."""
        return MaxPlusStep(self, trans)


class MaxPlusStep:
    """``MaxPlusPlan`` bound to one transition matrix (the tensors gathered once)."""

    def __init__(self, plan: MaxPlusPlan, trans: tf.Tensor) -> None:
        self.plan = plan
        targets = np.arange(plan.num_many, plan.num_tags)
        self.few_trans = [tf.gather_nd(trans, np.stack([column, targets], 1))
                          for column in plan.few_sources.T]                     # each [Jf]
        self.many_trans = trans[:, :plan.num_many]                               # [K, Jm]
        self.many_trans_t = tf.transpose(self.many_trans)                        # [Jm, K]
        self.bound = tf.reduce_max(self.many_trans, axis=0)                      # [Jm]

    def __call__(self, delta: tf.Tensor) -> tf.Tensor:
        parts = []
        if self.plan.prune:
            parts.append(tf.cond(tf.shape(delta)[0] < PRUNE_MIN_ROWS,
                                 lambda: self.dense(delta), lambda: self._pruned_exact(delta)))
        elif self.plan.num_many:
            parts.append(self.dense(delta))
        if self.plan.num_few:
            few = None
            for column, column_trans in zip(self.plan.few_sources.T, self.few_trans,
                                            strict=True):
                score = _columns(delta, column) + column_trans
                few = score if few is None else tf.maximum(few, score)
            parts.append(few)
        return parts[0] if len(parts) == 1 else tf.concat(parts, axis=1)

    def _pruned_exact(self, delta: tf.Tensor) -> tf.Tensor:
        candidates, exact = self.pruned(delta)
        return tf.cond(tf.reduce_all(exact), lambda: candidates,
                       lambda: self._fix_rows(delta, candidates, exact))

    def pruned(self, delta: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The many-predecessor tags' max over each row's best candidates ``[B, Jm]``, and
        for each row whether that is provably its max over all previous tags ``[B]``."""
        rest = delta
        rows = tf.range(tf.shape(delta)[0])
        removed = tf.fill(tf.shape(rows), tf.constant(-np.inf, delta.dtype))
        candidates = None
        for _ in range(VITERBI_CANDIDATES):
            best = tf.argmax(rest, axis=1, output_type=tf.int32)
            score = tf.gather(rest, best, batch_dims=1)[:, tf.newaxis] + tf.gather(
                self.many_trans, best)
            candidates = score if candidates is None else tf.maximum(candidates, score)
            rest = tf.tensor_scatter_nd_update(rest, tf.stack([rows, best], axis=1), removed)
        beyond = tf.reduce_max(rest, axis=1, keepdims=True)
        # A float difference is > 0 exactly when a > b, so this is ``all(candidates > beyond
        # + bound)``, the sums rounded as the dense max rounds them; as a float min it is
        # several times cheaper than a [B, Jm] boolean compare.
        margin = tf.reduce_min(candidates - (beyond + self.bound), axis=1)
        return candidates, margin > 0

    def dense(self, delta: tf.Tensor) -> tf.Tensor:
        """The many-predecessor tags' max over all previous tags: ``[B, Jm, K]``."""
        return tf.reduce_max(delta[:, tf.newaxis, :] + self.many_trans_t, axis=2)

    def _fix_rows(self, delta, candidates, exact):
        rows = tf.where(~exact)
        return tf.tensor_scatter_nd_update(candidates, rows, self.dense(tf.gather_nd(delta, rows)))


def _columns(x: tf.Tensor, ids: np.ndarray) -> tf.Tensor:
    """``x[:, ids]``, as a slice when ``ids`` are consecutive."""
    if len(ids) and np.array_equal(ids, np.arange(ids[0], ids[0] + len(ids))):
        return x[:, int(ids[0]):int(ids[0]) + len(ids)]
    return tf.gather(x, ids, axis=1)


def time_major(emissions, mask):
    """Emissions `[T, B, K]`, mask `[T, B]` and a `[T]` flag for step 0.

    Every scan runs over all T steps, step 0 included (told apart by the flag), rather than
    over steps 1..T-1: a scan over zero elements cannot stack its outputs when the batch size
    is unknown, which breaks one-token inputs in a traced graph.
    """
    emissions_tm = tf.transpose(emissions, [1, 0, 2])
    mask_tm = tf.transpose(mask, [1, 0])
    is_first = tf.equal(tf.range(tf.shape(mask_tm)[0]), 0)
    return emissions_tm, mask_tm, is_first
