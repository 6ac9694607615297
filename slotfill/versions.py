"""The versions a model folder is made with, and the check that a model fits this slotfill."""

from __future__ import annotations

from typing import Any


def versions() -> dict[str, str]:
    """slotfill's, TensorFlow's and Keras's versions, as recorded in a model's scores.json."""
    import keras
    import tensorflow as tf

    import slotfill

    return {"slotfill": slotfill.__version__, "tensorflow": tf.__version__,
            "keras": keras.version()}


def major(version: str) -> str:
    """The major part of a version string: ``"0"`` for ``"0.2.0"``."""
    return version.split(".", 1)[0]


def mismatch(recorded: dict[str, Any] | None) -> str | None:
    """A one-line warning when a model was written by another major version of slotfill,
    else None (also for models that predate the record)."""
    import slotfill

    written_by = (recorded or {}).get("slotfill")
    if not isinstance(written_by, str) or major(written_by) == major(slotfill.__version__):
        return None
    return (f"this model was written by slotfill {written_by} and this is slotfill "
            f"{slotfill.__version__}: it may load or tag differently; retrain it if in doubt")
