"""benchmarks/intent_errors.py: errors shared by models, their ensemble, and a real run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from conftest import BUNDLED  # noqa: E402

from benchmarks import intent_errors  # noqa: E402

LABELS = ["flight", "airfare", "flight#airfare"]


def model(probs, labels=LABELS, multi_intent=False):
    """A stand-in for a Tagger: its intent list and the probabilities it gives each sentence."""
    intents = SimpleNamespace(labels=labels)
    return SimpleNamespace(encoder=SimpleNamespace(intents=intents, multi_intent=multi_intent),
                           probs=np.asarray(probs, np.float32))


@pytest.fixture
def given_probabilities(monkeypatch):
    monkeypatch.setattr(intent_errors, "intent_probabilities", lambda tagger, tokens: tagger.probs)


def test_counts_errors_shared_by_k_models_and_scores_their_ensemble(given_probabilities):
    split = {"intent": ["flight", "airfare", "airfare#flight", "flight"],
             "tokens": [["a"], ["b"], ["c"], ["d"]]}
    models = {
        # sentence 0 right for all; 1 wrong for two; 2 wrong for all three; 3 wrong for one
        "m1": model([[.9, .1, 0], [.6, .4, 0], [.8, .2, 0], [.1, .9, 0]]),
        "m2": model([[.9, .1, 0], [.3, .7, 0], [.7, 0, .3], [.8, .2, 0]]),
        "m3": model([[.9, .1, 0], [.55, .45, 0], [.6, .4, 0], [.8, .2, 0]]),
    }
    result = intent_errors.analyse(models, split)
    assert result["models"]["m1"] == {"intent_accuracy": 25.0, "errors": 3}
    assert result["models"]["m2"]["errors"] == 1
    assert result["wrong_for_k_models"] == {1: 1, 2: 1, 3: 1}
    # Averaged: sentence 1 -> airfare (0.52 against 0.48) and sentence 3 -> flight are right;
    # sentence 2 -> flight is wrong (its gold names both intents, in any order).
    assert result["ensemble"] == {"intent_accuracy": 75.0, "errors": 1}
    shared = {s["index"]: s for s in result["shared_errors"]}
    assert set(shared) == {1, 2}   # wrong for at least n - 1 = 2 models
    assert shared[2]["wrong_for"] == 3 and shared[2]["said"] == ["flight"]
    assert shared[1]["said"] == ["airfare", "flight"] and shared[1]["gold"] == "airfare"


@pytest.mark.parametrize("other", [model([[1, 0, 0]], labels=["airfare", "flight", "x"]),
                                   model([[1, 0, 0]], multi_intent=True)])
def test_models_must_name_single_intents_from_one_list(given_probabilities, other):
    split = {"intent": ["flight"], "tokens": [["a"]]}
    with pytest.raises(ValueError, match="other|single"):
        intent_errors.analyse({"m1": model([[1, 0, 0]]), "m2": other}, split)


def test_a_real_run_records_what_evaluate_scores(trained, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(trained.model_dir, copy)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "intent_errors.py"), "--data",
         str(BUNDLED), "--models", str(trained.model_dir), str(copy),
         "--out", str(out), "--name", "shared"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "shared.json").read_text())
    accuracy = trained.test["intent_accuracy"]
    assert [m["intent_accuracy"] for m in result["models"].values()] == pytest.approx(
        [accuracy, accuracy])
    # Two copies of one model: every error is shared, and the ensemble is the model.
    errors = result["models"][str(copy)]["errors"]
    assert result["wrong_for_k_models"] == {"1": 0, "2": errors}
    assert result["ensemble"]["errors"] == errors and len(result["shared_errors"]) == errors
    assert result["command"] and result["versions"]["tensorflow"]
    assert "| ensemble (averaged probabilities) |" in (out / "shared.md").read_text()


def test_seeds_train_the_default_model_with_each_seed_first(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "intent_errors.py"), "--data",
         str(BUNDLED), "--seeds", "3", "--out", str(out),
         "--train-args", "--epochs 1 --hidden 8 --embedding-dim 8 --char-filters 4"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "intent_errors_flights.json").read_text())
    assert list(result["models"]) == ["seed 3"]
    assert sum(result["wrong_for_k_models"].values()) <= result["sentences"]
    assert not list(tmp_path.glob("*/model.keras"))  # the trained models were temporary
