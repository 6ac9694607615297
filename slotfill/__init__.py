"""slotfill: slot filling and intent detection with classic recurrent taggers."""

import os

# Keras 3 picks its backend at import time; slotfill's graphs and exports are TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# Registers the custom layers, so `keras.saving.load_model` needs no custom_objects. That
# imports TensorFlow (seconds), so the CLI defers it (DEFER_LAYERS_ENV): its commands import
# what they need after parsing, and --help and option errors come at once.
DEFER_LAYERS_ENV = "SLOTFILL_DEFER_LAYERS"
if not os.environ.get(DEFER_LAYERS_ENV):
    import slotfill.layers  # noqa: E402, F401

__version__ = "0.1.0"
