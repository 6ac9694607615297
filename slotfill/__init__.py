"""slotfill: slot filling and intent detection with classic recurrent taggers."""

import os

# Keras 3 picks its backend at import time; slotfill's graphs and exports are TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# Registers the custom layers, so `keras.saving.load_model` needs no custom_objects. That
# imports TensorFlow (seconds), so cli.py sets SLOTFILL_DEFER_LAYERS while it imports the
# package: its commands import what they need after parsing, and --help comes at once.
if not os.environ.get("SLOTFILL_DEFER_LAYERS"):
    import slotfill.layers  # noqa: E402, F401

__version__ = "0.1.0"
