"""Epoch checkpoints, so an interrupted ``train`` can ``--resume`` where it stopped.

After every epoch the complete training state is written beside the destination
folder, in ``.<name>.checkpoint/``: every model variable (weights and dropout seed
states), the optimizer's variables, the best weights so far and the score history.
Resuming restores all of it, and since each epoch's batch order is derived from the
seed and the epoch number, a resumed run ends with the same model and scores as an
uninterrupted one. The checkpoint is removed once the model folder is complete.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import keras
import numpy as np

from slotfill import model_dir
from slotfill.config import LEGACY_VALUES, Config

STATE_FILE = "state.json"
VARIABLES_FILE = "variables.npz"
OPTIMIZER_FILE = "optimizer.npz"
BEST_FILE = "best.npz"


def checkpoint_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.checkpoint"


def _save_arrays(path: Path, arrays: list[np.ndarray]) -> None:
    np.savez(path, **{f"a{i}": a for i, a in enumerate(arrays)})


def _load_arrays(path: Path) -> list[np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return [data[f"a{i}"] for i in range(len(data.files))]


def save(folder: Path, model: keras.Model, config: Config, epoch: int,
         scorer_state: dict[str, Any], best_weights: list[np.ndarray] | None) -> None:
    """Write the state after ``epoch`` (0-based) atomically, replacing the previous one."""
    with model_dir.staged_dir(folder, markers=(STATE_FILE,)) as tmp:
        _save_arrays(tmp / VARIABLES_FILE, [np.asarray(v) for v in model.variables])
        _save_arrays(tmp / OPTIMIZER_FILE, [np.asarray(v) for v in model.optimizer.variables])
        if best_weights is not None:
            _save_arrays(tmp / BEST_FILE, best_weights)
        model_dir.write_json(tmp / STATE_FILE, {
            "epoch": epoch, "config": config.to_dict(), "scorer": scorer_state,
        })


class Checkpoint:
    """A checkpoint read back from disk."""

    def __init__(self, folder: Path, config: Config) -> None:
        state_file = folder / STATE_FILE
        if not state_file.is_file():
            raise model_dir.ModelError(
                f"nothing to resume: no checkpoint at {folder} (train without --resume)")
        state = model_dir.read_json(state_file)
        problem = _state_problem(state)
        if problem:
            raise model_dir.ModelError(
                f"the checkpoint at {folder} is unusable: {state_file} {problem}; "
                f"train without --resume to start again")
        # A checkpoint written before a field existed was made with that field's legacy value.
        saved = {**LEGACY_VALUES, **state["config"]}
        if saved != config.to_dict():
            changed = sorted(k for k in set(saved) | set(config.to_dict())
                             if saved.get(k) != config.to_dict().get(k))
            raise model_dir.ModelError(
                f"the checkpoint at {folder} was made with different settings "
                f"({', '.join(changed)}); resume with the same options, or train without --resume")
        self.folder = folder
        self.epoch: int = state["epoch"]
        self.scorer_state: dict[str, Any] = state["scorer"]

    @property
    def next_epoch(self) -> int:
        return self.epoch + 1

    def restore(self, model: keras.Model) -> list[np.ndarray] | None:
        """Load variables and optimizer state into ``model``; returns the best weights."""
        try:
            for variable, value in zip(model.variables, _load_arrays(self.folder / VARIABLES_FILE),
                                       strict=True):
                variable.assign(value)
            model.optimizer.build(model.trainable_variables)
            for variable, value in zip(model.optimizer.variables,
                                       _load_arrays(self.folder / OPTIMIZER_FILE), strict=True):
                variable.assign(value)
            best_file = self.folder / BEST_FILE
            best = _load_arrays(best_file) if best_file.is_file() else None
            if best is not None:
                # Checked now: set_weights would fail only once training has finished.
                expected = [w.shape for w in model.get_weights()]
                if [w.shape for w in best] != expected:
                    raise ValueError(f"{best_file} does not hold this model's weights")
        except (OSError, ValueError, KeyError) as err:
            raise model_dir.ModelError(
                f"the checkpoint at {self.folder} is unusable: {err}") from err
        if self.scorer_state["best_epoch"] >= 0 and best is None:
            raise model_dir.ModelError(
                f"the checkpoint at {self.folder} is unusable: it has a best epoch but no "
                f"{BEST_FILE}")
        return best


def _state_problem(state: Any) -> str | None:
    """What is wrong with a checkpoint's state (a hand-edited or truncated file), or None."""
    if not isinstance(state, dict):
        return "is not a JSON object"
    if not isinstance(state.get("config"), dict):
        return "has no valid 'config' object"
    epoch = state.get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        return f"has no valid 'epoch' (got {epoch!r})"
    scorer = state.get("scorer")
    if not isinstance(scorer, dict):
        return "has no 'scorer' object"
    best_epoch = scorer.get("best_epoch")
    checks = {
        "history": isinstance(scorer.get("history"), list),
        "best_key": scorer.get("best_key") is None or (
            isinstance(scorer["best_key"], list) and len(scorer["best_key"]) == 2
            and all(isinstance(v, (int, float)) for v in scorer["best_key"])),
        "best_epoch": isinstance(best_epoch, int) and not isinstance(best_epoch, bool)
        and -1 <= best_epoch <= epoch,
        "stopped_early": scorer.get("stopped_early") is None
        or isinstance(scorer["stopped_early"], str),
    }
    bad = [name for name, ok in checks.items() if not ok]
    return f"has no valid scorer {', '.join(repr(b) for b in bad)}" if bad else None


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)

