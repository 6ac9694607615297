"""slotfill: slot filling and intent detection with classic recurrent taggers.

The public API::

    from slotfill import Config, Tagger, load_dataset, train

    result = train(Config(arch="bilstm"), load_dataset(), "models/bilstm")
    print(Tagger.load("models/bilstm").tag(["arrive Taipei on November 2nd"])[0].format())

``import slotfill`` itself is light (no TensorFlow), so the command line answers ``--help``
at once; the names below import their modules on first use. Importing
:mod:`slotfill.layers` (which any of them does) registers the custom Keras layers, so
``keras.saving.load_model`` needs no ``custom_objects``.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# Keras 3 picks its backend at import time; slotfill's graphs and exports are TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.2.0"

# Public name -> the module that defines it.
_API = {
    "Config": "slotfill.config",
    "load_dataset": "slotfill.data",
    "Tagger": "slotfill.tagger",
    "TagResult": "slotfill.tagger",
    "Slot": "slotfill.tagger",
    "train": "slotfill.training",
    "TrainResult": "slotfill.training",
    "export_model": "slotfill.export",
}
__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'slotfill' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
