"""The model folder: what it holds, where the latest one is, and writing it safely.

A model folder is self-describing::

    model.keras      the Keras model (architecture + weights; loaded with safe_mode on)
    config.json      every hyperparameter used
    vocab/           words.txt, chars.txt, tags.txt, intents.txt (plain, one per line)
    history.json     per-epoch losses and validation scores
    scores.json      validation and test scores of the kept epoch
    saved_model/     the TensorFlow SavedModel export (raw strings in, tags out)

Folders are written under a temporary name beside their destination and renamed
into place only when complete, so an interrupted run never leaves half a model.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slotfill.errors import SlotfillError

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
VOCAB_DIR = "vocab"
HISTORY_FILE = "history.json"
SCORES_FILE = "scores.json"
SAVED_MODEL_DIR = "saved_model"
LATEST_FILE = "latest"
REQUIRED = (MODEL_FILE, CONFIG_FILE, f"{VOCAB_DIR}/words.txt", f"{VOCAB_DIR}/tags.txt")


class ModelError(SlotfillError):
    """A model folder that is missing, incomplete, corrupt or incompatible."""


def models_root() -> Path:
    """Where models go by default: $SLOTFILL_MODELS, else ./models."""
    return Path(os.environ.get("SLOTFILL_MODELS", "models"))


def default_model_dir(arch: str) -> Path:
    return models_root() / arch


def latest_model_dir() -> Path:
    """The folder recorded by the last successful ``train``."""
    pointer = models_root() / LATEST_FILE
    if not pointer.is_file():
        raise ModelError(
            f"no trained model found ({pointer} does not exist); train one with "
            "`python cli.py train` or pass --model DIR"
        )
    return Path(os.fsdecode(pointer.read_bytes().strip()))


def set_latest(model_dir: Path) -> None:
    root = models_root()
    root.mkdir(parents=True, exist_ok=True)
    # The path's own bytes: a folder name need not be valid UTF-8.
    write_bytes_atomic(root / LATEST_FILE, os.fsencode(Path(model_dir).resolve()) + b"\n")


def resolve(model_dir: str | os.PathLike | None) -> Path:
    """``model_dir`` or the latest model, checked to hold every required file."""
    path = Path(model_dir) if model_dir is not None else latest_model_dir()
    if not path.exists():
        raise ModelError(f"model folder {path} does not exist")
    if not path.is_dir():
        raise ModelError(f"{path} is not a model folder (it is a file)")
    missing = [name for name in REQUIRED if not (path / name).is_file()]
    if missing:
        raise ModelError(f"model folder {path} is incomplete: missing {', '.join(missing)}")
    return path


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"cannot read {path}: {err}") from err


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# What a folder holds when slotfill wrote it (a model folder), so may replace it.
MODEL_MARKERS = (MODEL_FILE, CONFIG_FILE)


def check_destination(destination: str | os.PathLike,
                      markers: tuple[str, ...] = MODEL_MARKERS) -> Path:
    """A folder we may (re)write: absent, empty, or one holding any of ``markers`` (one that
    slotfill wrote: by default a model folder); never a user's file or other folder, nor
    below a file. A mistyped ``--out`` (the dataset, a home folder) must not be deleted."""
    destination = Path(destination)
    if destination.exists() and not destination.is_dir():
        raise ModelError(f"{destination} exists and is not a folder; choose another destination")
    here = Path.cwd()
    if Path(os.path.abspath(destination)) in (here, *here.parents):
        # Replacing it would leave the user's shell in a deleted folder.
        raise ModelError(f"{destination} is the current folder or holds it; choose a folder "
                         "below it (e.g. --out ./model)")
    if destination.is_dir() and any(destination.iterdir()) and not any(
            (destination / marker).exists() for marker in markers):
        raise ModelError(
            f"{destination} is not a folder this command writes (it holds no "
            f"{' or '.join(markers)}), and writing there would delete what it holds; "
            "choose another destination, or empty or remove it first")
    below = os.path.abspath(destination.parent)
    if not _is_utf8(below):
        # TensorFlow encodes paths as UTF-8; the folder's own name is safe (see staged_dir).
        raise ModelError(f"cannot write below {below}: its path is not valid UTF-8, which "
                         "TensorFlow needs; choose another destination")
    for parent in destination.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ModelError(f"cannot write {destination}: {parent} is a file")
            break
    return destination


def _is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_writable(folder: str | os.PathLike) -> None:
    """Fail now, not after training, if ``folder`` (made if missing) cannot take a new entry."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(dir=folder, prefix=".slotfill-probe-"))
    except OSError as err:
        raise ModelError(f"cannot write in {folder}: {err.strerror or err}") from None


@contextlib.contextmanager
def staged_dir(destination: str | os.PathLike,
               markers: tuple[str, ...] = MODEL_MARKERS) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces ``destination`` only on success
    (see ``check_destination`` for which folders may be replaced)."""
    destination = check_destination(destination, markers)
    destination.parent.mkdir(parents=True, exist_ok=True)
    # TensorFlow writes into the staging folder and needs a UTF-8 path; the final rename
    # does not.
    name = os.fsencode(destination.name).decode("utf-8", "replace")
    staging = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{name}.tmp-"))
    try:
        yield staging
        # mkdtemp makes the folder private (0700); a model folder is as shareable as any
        # other folder the user makes.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)
        replace_dir(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def replace_dir(source: Path, destination: Path) -> None:
    """Move ``source`` to ``destination``; the old destination is removed only afterwards."""
    old = None
    if destination.exists():
        old = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}.old-"))
        os.rmdir(old)
        os.replace(destination, old)
    try:
        os.replace(source, destination)
    except BaseException:
        if old is not None:
            os.replace(old, destination)  # put the previous folder back
        raise
    if old is not None and old.is_symlink():
        old.unlink()  # a link to a folder: the link goes, what it pointed to stays
    elif old is not None:
        shutil.rmtree(old, ignore_errors=True)
