"""Tests for Viterbi decoding's max-plus step: exact against the dense max it prunes."""

import numpy as np
import pytest
import tensorflow as tf

from slotfill.layers.crf import DISALLOWED_PENALTY
from slotfill.layers.viterbi import PRUNE_MIN_ROWS, MaxPlusPlan

from .test_crf import bio_constraints


def test_plan_of_unconstrained_tags_keeps_their_order_and_prunes():
    plan = MaxPlusPlan(None, 5)
    assert plan.is_identity and plan.num_few == 0 and plan.prune


def max_plus_case(constrained: bool, scale: float, seed: int = 3):
    """A plan's bound Viterbi step, a batch of previous scores, and the penalised transitions
    (41 tags: O and 20 BIO slots)."""
    slots = 20
    num_tags = 1 + 2 * slots
    allowed = bio_constraints(slots) if constrained else None
    plan = MaxPlusPlan(allowed, num_tags)
    rng = np.random.default_rng(seed)
    trans = rng.normal(size=(num_tags, num_tags))
    if allowed is not None:
        trans = trans + np.where(np.asarray(allowed), 0.0, DISALLOWED_PENALTY)
    # The step works in its plan's tag order: so do the scores and transitions here.
    order = plan.tag_order
    trans = trans[np.ix_(order, order)]
    # Enough rows for the step to prune (PRUNE_MIN_ROWS); fewer take the dense max.
    delta = (rng.normal(size=(PRUNE_MIN_ROWS + 8, num_tags)) * scale).astype("float32")
    return plan.bind(tf.constant(trans, tf.float32)), delta, trans


def dense_max_plus(delta, trans):
    return (delta[:, :, None].astype("float64") + trans).max(axis=1)


@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize("scale", [0.5, 30.0])
def test_pruned_viterbi_step_equals_dense_max(constrained, scale):
    step, delta, trans = max_plus_case(constrained, scale)
    np.testing.assert_allclose(step(tf.constant(delta)).numpy(), dense_max_plus(delta, trans),
                               rtol=1e-6, atol=1e-4)


def test_pruned_viterbi_step_skips_dense_sum_only_when_provably_exact():
    # Peaked scores (a trained tagger's): the few best previous tags settle every max.
    step, delta, trans = max_plus_case(True, 30.0)
    candidates, exact = step.pruned(tf.constant(delta))
    assert np.all(exact.numpy())
    want = dense_max_plus(delta, trans)
    np.testing.assert_allclose(candidates.numpy(), want[:, :step.plan.num_many], atol=1e-4)
    # All previous tags tied in some rows: the best few prove nothing there, so those rows
    # (and only those) must take the dense max, and the step is still exact.
    delta[::3] = 0.0
    _, exact = step.pruned(tf.constant(delta))
    assert exact.numpy().tolist() == [b % 3 != 0 for b in range(len(delta))]
    np.testing.assert_allclose(step(tf.constant(delta)).numpy(), dense_max_plus(delta, trans),
                               rtol=1e-6, atol=1e-4)
