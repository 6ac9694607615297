"""How many threads TensorFlow gives an op: one, so a seed means the same model everywhere.

A multi-threaded op splits its sums across threads, and how it splits them depends on the
number of threads. Floating-point sums in another order round differently, and over an epoch
of updates the difference grows into another model: with TensorFlow's defaults, the same
``--seed`` trained one model on a 2-core machine, another with one thread per op (the
accuracy benchmark's jobs) and would train a third on a machine with more cores. With one
thread per op the arithmetic no longer depends on the machine's cores; independent ops (the
two LSTM directions, the character CNN, the intent's encoder) still run side by side on
every core. It costs no speed, since the ops are small (docs/design-notes.md, "One thread
per op").
"""

from __future__ import annotations

import os

import tensorflow as tf


def use_one_thread_per_op() -> bool:
    """Run every TensorFlow op on one thread, and up to one op per core at a time
    (``$TF_NUM_INTEROP_THREADS`` ops, if set: the accuracy benchmark's parallel jobs share
    the cores that way).

    TensorFlow fixes its threads when it runs its first op, so call this before that (the
    CLI and :func:`slotfill.training.train` do).

    Returns:
        Whether TensorFlow now runs one thread per op: ``False`` if it had already started
        with other settings, which then stay.

    Example:
        >>> use_one_thread_per_op()
        True
        >>> tf.config.threading.get_intra_op_parallelism_threads()
        1
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(
            int(os.environ.get("TF_NUM_INTEROP_THREADS") or os.cpu_count() or 1))
    except RuntimeError:
        # Already started. Only the threads per op change the arithmetic, so a runtime that
        # started with one thread per op (and another number of parallel ops) is as good.
        return tf.config.threading.get_intra_op_parallelism_threads() == 1
    return True
