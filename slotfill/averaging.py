"""Weight averaging: an exponential moving average of the weights, validated and kept.

The weights after the last batch of an epoch are one noisy point of a trajectory; on a
training set the size of ATIS, validation F1 swings by half a point between epochs, and
early stopping picks among those swings. The average of the recent weights is smoother
and generalises better (Polyak averaging). ``AveragingAdam`` keeps the average inside the
compiled train step; ``averaged_weights`` lends it to the model while it is scored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keras
from keras import ops

# The momentum ramps up as t / (t + WARMUP_STEPS), so the first steps' weights (far from
# trained) fade quickly even on a small dataset with few batches per epoch.
WARMUP_STEPS = 10


@keras.saving.register_keras_serializable(package="slotfill")
class AveragingAdam(keras.optimizers.Adam):
    """Adam that keeps a moving average of the weights, with a warm-up.

    ```
    average_t = m_t * average_{t-1} + (1 - m_t) * w_t
    m_t       = min(ema_momentum, t / (t + 10))          t = optimizer step, from 0
    ```

    Keras's own ``use_ema`` uses the constant ``ema_momentum`` from the second step on, so
    with few steps the average stays close to the initial weights. Construct it like
    ``keras.optimizers.Adam`` with ``use_ema=True``.

    Example:
        >>> optimizer = AveragingAdam(learning_rate=0.003, use_ema=True, ema_momentum=0.99)
    """

    def _update_model_variables_moving_average(self, trainable_variables):
        # Keras's hook for the average, called after every update step.
        if not self.use_ema:
            return
        step = ops.cast(self.iterations, "float32")
        momentum = ops.minimum(self.ema_momentum, step / (step + WARMUP_STEPS))
        for variable, average in zip(trainable_variables, self._model_variables_moving_average,
                                     strict=True):
            if average is not None:
                m = ops.cast(momentum, variable.dtype)
                average.assign(m * average + (1 - m) * variable)


@contextmanager
def averaged_weights(model: keras.Model) -> Iterator[None]:
    """Inside, the model holds its optimizer's moving average of the weights, if it keeps
    one (``Config.ema``); the trained weights are put back on leaving."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not optimizer.use_ema or not optimizer.built:
        yield
        return
    trained = [variable.numpy() for variable in model.trainable_variables]
    optimizer.finalize_variable_values(model.trainable_variables)
    try:
        yield
    finally:
        for variable, value in zip(model.trainable_variables, trained, strict=True):
            variable.assign(value)
