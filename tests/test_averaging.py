"""Weight averaging: the warmed-up moving average, and lending it to the model."""

import keras
import numpy as np
import pytest

from slotfill.averaging import WARMUP_STEPS, AveragingAdam, averaged_weights
from slotfill.config import Config


def test_average_follows_the_warmed_up_recurrence():
    variable = keras.Variable(np.array([1.0, -2.0], "float32"))
    optimizer = AveragingAdam(learning_rate=0.1, use_ema=True, ema_momentum=0.5)
    optimizer.build([variable])
    rng = np.random.default_rng(0)
    expected = None
    for step in range(6):
        optimizer.apply_gradients([(rng.normal(size=2).astype("float32"), variable)])
        momentum = min(0.5, step / (step + WARMUP_STEPS))
        weight = variable.numpy()
        expected = weight if expected is None else momentum * expected + (1 - momentum) * weight
        average = optimizer._model_variables_moving_average[0].numpy()
        np.testing.assert_allclose(average, expected, rtol=1e-6)
    # Early steps ramp up (1/11, 2/12, ...) instead of jumping to 0.5: the average differs
    # from Keras's constant-momentum one.
    assert not np.allclose(expected, variable.numpy())


def test_without_averaging_it_is_plain_adam():
    a, b = (keras.Variable(np.ones(3, "float32")) for _ in range(2))
    ours, adam = AveragingAdam(learning_rate=0.1), keras.optimizers.Adam(learning_rate=0.1)
    for _ in range(3):
        ours.apply_gradients([(np.arange(3, dtype="float32"), a)])
        adam.apply_gradients([(np.arange(3, dtype="float32"), b)])
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_round_trips_through_get_config():
    optimizer = AveragingAdam(learning_rate=0.01, use_ema=True, ema_momentum=0.9)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(again, AveragingAdam)
    assert again.use_ema and again.ema_momentum == pytest.approx(0.9)


def _fitted_classifier(ema: float) -> keras.Model:
    from slotfill.models import compile_model

    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, {"tags": keras.layers.Dense(2, activation="softmax",
                                                            name="tags")(inputs)})
    compile_model(model, Config(ema=ema, decoder="softmax", learning_rate=0.1))
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    model.fit(x, {"tags": (x[:, 0] > 0).astype("int32")}, batch_size=8, epochs=2, verbose=0)
    return model


def test_averaged_weights_swaps_in_the_moving_average_and_puts_the_trained_weights_back():
    model = _fitted_classifier(ema=0.9)
    assert isinstance(model.optimizer, AveragingAdam) and model.optimizer.use_ema
    # fit() ends by writing the average into the model; give it distinct trained weights.
    trained = [w + 1.0 for w in model.get_weights()]
    model.set_weights(trained)
    expected = [np.asarray(v) for v in model.optimizer._model_variables_moving_average]
    with averaged_weights(model):
        inside = model.get_weights()
    assert all(np.allclose(a, b) for a, b in zip(inside, expected))
    assert not any(np.allclose(a, b) for a, b in zip(inside, trained))
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), trained))


def test_averaged_weights_changes_nothing_without_averaging():
    model = _fitted_classifier(ema=0.0)
    assert not model.optimizer.use_ema
    before = model.get_weights()
    with averaged_weights(model):
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
