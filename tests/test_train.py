"""train(): the model folder it writes, early stopping, reproducibility."""

import json

import numpy as np
import pytest
from conftest import SMALL

from slotfill import model_dir
from slotfill.config import Config
from slotfill.train import train


def test_model_folder_is_complete_and_self_describing(trained):
    folder = trained.model_dir
    for name in ("model.keras", "config.json", "vocab/words.txt", "vocab/chars.txt",
                 "vocab/tags.txt", "vocab/intents.txt", "history.json", "scores.json",
                 "saved_model/saved_model.pb"):
        assert (folder / name).is_file(), name
    assert Config.load(folder / "config.json") == Config(**SMALL)
    history = json.loads((folder / "history.json").read_text())
    assert len(history) == trained.epochs_run
    assert {"loss", "val_slot_f1", "val_intent_accuracy"} <= set(history[0])
    scores = json.loads((folder / "scores.json").read_text())
    assert scores["best_epoch"] == trained.best_epoch
    assert set(scores["test"]) >= {"slot_f1", "intent_accuracy", "sentence_accuracy", "per_slot"}
    # No staging folders are left beside it.
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


def test_kept_epoch_is_the_best_validation_epoch(trained):
    f1 = [h["val_slot_f1"] for h in trained.history]
    assert trained.best_epoch == int(np.argmax(f1)) + 1
    assert trained.valid["slot_f1"] == pytest.approx(max(f1))


def test_learns_the_bundled_data(trained):
    assert trained.test["slot_f1"] > 60
    assert trained.test["intent_accuracy"] > 60


def test_records_the_latest_model(trained):
    assert model_dir.latest_model_dir() == trained.model_dir.resolve()


def test_same_seed_gives_same_weights_and_scores(tmp_path, isolated_models, bundled):
    config = Config(**{**SMALL, "epochs": 1})
    a = train(config, bundled, tmp_path / "a", verbose=0)
    b = train(config, bundled, tmp_path / "b", verbose=0)
    assert a.test == b.test
    import keras

    wa = keras.saving.load_model(a.model_dir / "model.keras", compile=False).get_weights()
    wb = keras.saving.load_model(b.model_dir / "model.keras", compile=False).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(wa, wb))
