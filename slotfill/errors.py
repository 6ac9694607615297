"""The base of every error slotfill raises for a problem the user can fix.

Kept free of heavy imports so the CLI can catch these without loading TensorFlow.
"""


class SlotfillError(Exception):
    """Bad data, an unusable model folder, training that could not produce a model."""
