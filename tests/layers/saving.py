"""Saving checks shared by the recurrent-layer tests: `.keras` in a fresh process, SavedModel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import slotfill

# Only `import slotfill.layers`: registration comes with the layers, no custom_objects.
_LOAD_IN_FRESH_PROCESS = (
    "import sys, numpy as np\n"
    "import slotfill.layers\n"
    "import keras\n"
    "folder = sys.argv[1]\n"
    "model = keras.saving.load_model(folder + '/model.keras')\n"
    "got = model(np.load(folder + '/ids.npy')).numpy()\n"
    "np.testing.assert_allclose(got, np.load(folder + '/expected.npy'), atol=1e-6)\n"
    "print(type(model.layers[-1].forward_layer).__name__)\n"
)


def load_in_fresh_process(model: keras.Model, ids: np.ndarray, folder: Path) -> str:
    """Save ``model``, reload it in a new interpreter, check its outputs on ``ids``.

    Returns the class name of the last (Bidirectional) layer's forward layer as reloaded.
    """
    model.save(folder / "model.keras")
    np.save(folder / "ids.npy", ids)
    np.save(folder / "expected.npy", model(ids).numpy())
    repo_root = Path(slotfill.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(repo_root), KERAS_BACKEND="tensorflow")
    result = subprocess.run([sys.executable, "-c", _LOAD_IN_FRESH_PROCESS, str(folder)],
                            capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


class _Exported(tf.Module):
    def __init__(self, model: keras.Model):
        super().__init__()
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def __call__(self, ids):
        return self.model(ids, training=False)


def assert_saved_model_round_trip(model: keras.Model, ids: np.ndarray, folder: Path) -> None:
    """A tf.Module around ``model`` survives tf.saved_model and gives the same outputs."""
    expected = model(ids).numpy()
    tf.saved_model.save(_Exported(model), str(folder / "saved"))
    restored = tf.saved_model.load(str(folder / "saved"))
    np.testing.assert_allclose(restored(tf.constant(ids, tf.int32)).numpy(), expected, atol=1e-6)
