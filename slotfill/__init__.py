"""slotfill: slot filling and intent detection with classic recurrent taggers."""

import os

# Keras 3 picks its backend at import time; slotfill's graphs and exports are TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
