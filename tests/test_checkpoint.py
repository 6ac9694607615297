import json

import keras
import numpy as np
import pytest

from slotfill import model_dir
from slotfill.checkpoint import BEST_FILE, STATE_FILE, Checkpoint, save
from slotfill.config import Config

SCORER = {"history": [], "best_key": [90.0, 50.0], "best_epoch": 1, "stopped_early": None}


def _write_state(folder, config_dict, **changes):
    folder.mkdir(parents=True, exist_ok=True)
    state = {"epoch": 2, "config": config_dict, "scorer": SCORER, **changes}
    (folder / STATE_FILE).write_text(json.dumps(state))


def test_a_checkpoint_from_before_a_field_existed_resumes_with_the_legacy_value(tmp_path):
    old = Config(intent_smoothing=0.0).to_dict()
    del old["intent_smoothing"]
    _write_state(tmp_path, old)
    assert Checkpoint(tmp_path, Config(intent_smoothing=0.0)).next_epoch == 3
    # The current default differs from the value that run was made with: say so.
    with pytest.raises(model_dir.ModelError, match="intent_smoothing"):
        Checkpoint(tmp_path, Config(intent_smoothing=0.1))


@pytest.mark.parametrize("changes, problem", [
    ({"config": None}, "'config'"),
    ({"epoch": None}, "'epoch'"),
    ({"epoch": "2"}, "'epoch'"),
    ({"scorer": None}, "'scorer'"),
    ({"scorer": {**SCORER, "history": None}}, "'history'"),
    ({"scorer": {**SCORER, "best_key": [1.0]}}, "'best_key'"),
    ({"scorer": {**SCORER, "best_epoch": 7}}, "'best_epoch'"),
])
def test_a_damaged_state_file_is_refused_in_words(tmp_path, changes, problem):
    _write_state(tmp_path, Config().to_dict(), **changes)
    with pytest.raises(model_dir.ModelError, match=f"unusable.*{problem}.*without --resume"):
        Checkpoint(tmp_path, Config())


def _tiny_model(units):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units)])
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_best_weights_of_another_model_are_refused_before_training(tmp_path):
    config = Config()
    model = _tiny_model(2)
    save(tmp_path / "ckpt", model, config, 2, SCORER, _tiny_model(4).get_weights())
    with pytest.raises(model_dir.ModelError, match=f"unusable.*{BEST_FILE}"):
        Checkpoint(tmp_path / "ckpt", config).restore(_tiny_model(2))


def test_a_checkpoint_missing_its_best_weights_is_refused(tmp_path):
    config = Config()
    model = _tiny_model(2)
    save(tmp_path / "ckpt", model, config, 2, SCORER, model.get_weights())
    restored = Checkpoint(tmp_path / "ckpt", config).restore(_tiny_model(2))
    assert all(np.array_equal(a, b) for a, b in zip(restored, model.get_weights(), strict=True))
    (tmp_path / "ckpt" / BEST_FILE).unlink()
    with pytest.raises(model_dir.ModelError, match=f"no {BEST_FILE}"):
        Checkpoint(tmp_path / "ckpt", config).restore(_tiny_model(2))
