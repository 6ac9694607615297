"""Shared fixtures: tiny datasets written on the fly, and the bundled dataset's path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config) -> None:
    # TensorFlow as the CLI runs it (one thread per op), set before any test runs an op.
    from slotfill.threads import use_one_thread_per_op

    use_one_thread_per_op()


REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "slotfill" / "bundled" / "flights"


def atis_path() -> Path | None:
    """ATIS from $SLOTFILL_ATIS or ../shared/datasets/atis; None when absent."""
    candidates = [os.environ.get("SLOTFILL_ATIS"), REPO.parent / "shared" / "datasets" / "atis"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "train" / "seq.in").is_file():
            return Path(candidate)
    return None


@pytest.fixture
def isolated_models(tmp_path, monkeypatch) -> Path:
    """Models (and the 'latest' pointer) go to a temporary folder, never to the repo."""
    root = tmp_path / "models"
    monkeypatch.setenv("SLOTFILL_MODELS", str(root))
    return root


# Small enough to train in seconds on two cores, big enough to learn the bundled data.
SMALL = dict(epochs=5, patience=3, hidden=24, embedding_dim=24, char_dim=8, char_filters=16,
             intent_hidden=16,
             batch_size=16, learning_rate=0.01, seed=1)


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """One small bilstm-CRF with intent, trained once on the bundled data for the whole test run.

    Returns the TrainResult; its model folder is also recorded as the latest model
    under a $SLOTFILL_MODELS shared by the whole run.
    """
    from slotfill.config import Config
    from slotfill.data import load_dataset
    from slotfill.training import train

    root = tmp_path_factory.mktemp("shared-models")
    patch = pytest.MonkeyPatch()
    patch.setenv("SLOTFILL_MODELS", str(root))
    try:
        yield train(Config(**SMALL), load_dataset(BUNDLED), root / "tiny", verbose=0)
    finally:
        patch.undo()


@pytest.fixture(scope="session")
def bundled():
    from slotfill.data import load_dataset

    return load_dataset(BUNDLED)
