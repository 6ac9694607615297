"""Training: ``train(config, data, out_dir)`` -> a complete, self-describing model folder."""

from __future__ import annotations

import itertools
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from slotfill import checkpoint, model_dir
from slotfill.augment import (
    add_punctuation,
    capitalize_names,
    drop_lead_in,
    open_slot_types,
    replace_slot_values,
)
from slotfill.averaging import averaged_weights
from slotfill.config import Config
from slotfill.errors import SlotfillError
from slotfill.evaluate import evaluate, score
from slotfill.export import export_saved_model
from slotfill.models import build_model, compile_model, intent_class_weights
from slotfill.preprocess import EncodedSplit, Encoder
from slotfill.tagger import Tagger
from slotfill.threads import use_one_thread_per_op
from slotfill.vectors import vocabulary_with_vectors
from slotfill.versions import versions

log = logging.getLogger(__name__)


class TrainingError(SlotfillError, RuntimeError):
    """Training could not produce a model (e.g. the loss was NaN from the first epoch)."""


@dataclass
class TrainResult:
    model_dir: Path
    best_epoch: int                 # 1-based
    epochs_run: int
    seconds: float
    valid: dict[str, Any]
    test: dict[str, Any] | None
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: str | None = None   # why training ended before its epochs, if it did
    diverged: bool = False             # the loss became NaN or infinite
    # The training data: its folder, format and hash (when read by load_dataset) and
    # sentence counts, recorded in scores.json with the versions.
    data: dict[str, Any] = field(default_factory=dict)


class ValidationScorer(keras.callbacks.Callback):
    """Scores the validation split after every epoch, keeps the best weights, stops early.

    "Best" is the highest seqeval slot F1, ties broken by sentence accuracy; with weight
    averaging (``Config.ema``) the averaged weights are the ones scored and kept. Training
    also stops (keeping the best epoch so far) when the loss becomes NaN or infinite.
    """

    def __init__(self, tagger: Tagger, valid: Any, patience: int) -> None:
        super().__init__()
        self.tagger = tagger
        self.tokens = valid["tokens"]
        self.tags = valid["tags"]
        self.intents = valid["intent"] if tagger.encoder.intents is not None else None
        self.patience = patience
        self.best_key: tuple[float, float] | None = None
        self.best_epoch = -1
        self.best_weights: list[np.ndarray] | None = None
        self.history: list[dict[str, float]] = []
        self.stopped_early: str | None = None
        self.diverged = False

    def state(self) -> dict[str, Any]:
        return {"history": self.history, "best_key": self.best_key, "best_epoch": self.best_epoch,
                "stopped_early": self.stopped_early}

    def load_state(self, state: dict[str, Any], best_weights: list[np.ndarray] | None) -> None:
        self.history = state["history"]
        self.best_key = tuple(state["best_key"]) if state["best_key"] is not None else None
        self.best_epoch = state["best_epoch"]
        self.stopped_early = state["stopped_early"]
        self.best_weights = best_weights

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.stopped_early = f"the training loss became {loss} (batch {batch + 1})"
            self.diverged = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        if self.stopped_early:
            return
        with averaged_weights(self.model):
            predictions = self.tagger.predict_tokens(self.tokens, confidence=False)
            weights = self.model.get_weights()
        scores = score(self.tags, predictions, self.intents)
        logs["val_slot_f1"] = scores["slot_f1"]
        if scores["intent_accuracy"] is not None:
            logs["val_intent_accuracy"] = scores["intent_accuracy"]
        logs["val_sentence_accuracy"] = scores["sentence_accuracy"]
        self.history.append({"epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}})
        key = (scores["slot_f1"], scores["sentence_accuracy"])
        if self.best_key is None or key > self.best_key:
            self.best_key, self.best_epoch = key, epoch
            self.best_weights = weights
        elif epoch - self.best_epoch >= self.patience:
            self.stopped_early = f"no validation improvement for {self.patience} epochs"
            self.model.stop_training = True

    def restore_best(self) -> None:
        if self.best_weights is None:
            raise TrainingError(f"training produced no usable epoch: {self.stopped_early}")
        self.model.set_weights(self.best_weights)


@dataclass
class TrainingSentences:
    """The training split's sentences, to be given fresh noise every epoch."""

    tokens: list[list[str]]
    tags: list[list[str]]

    def with_noise(self, config: Config, names: set[str],
                   epoch: int) -> tuple[list[list[str]], list[list[str]]]:
        """Copies with epoch ``epoch``'s noise for typed text (slotfill.augment): punctuation,
        terse openings, made-up values of the ``names`` slot types, capitals.

        Drawn afresh every epoch, so that over a run each sentence is also seen as written:
        with capitals drawn once, 30 % of ATIS sentences were only ever seen capitalised, and
        the test split, all lower case, lost 0.6 sentence accuracy (seeds 1-3). Reproducible
        from the seed and the epoch, so a resumed run sees what the uninterrupted one did.
        """
        rng = random.Random(config.seed * 1_000_003 + epoch)
        tokens, tags = add_punctuation(self.tokens, self.tags, config.punctuation_noise, rng)
        tokens, tags = drop_lead_in(tokens, tags, config.prefix_noise, rng)
        tokens, tags = replace_slot_values(tokens, tags, config.name_noise, rng, names)
        return capitalize_names(tokens, tags, config.case_noise, rng, names), tags


def _dataset(sentences: Callable[[int], EncodedSplit], config: Config, has_chars: bool,
             has_intent: bool, first_epoch: int = 0) -> tuple[tf.data.Dataset, int]:
    """Length-bucketed batches of ``sentences(epoch)`` (the training set as given to that
    epoch), reshuffled every epoch, reproducible from the seed, and the number of batches
    per epoch (every epoch has as many sentences).

    The stream is endless, one epoch after another, and fit reads it with
    ``steps_per_epoch``: Keras then keeps one iterator for the whole run. A finite dataset
    gets a new iterator every epoch, and making one over a generator stalled some epochs
    for several seconds (ATIS: 7-9 s, against 4-5 s of training).
    """
    first = sentences(first_epoch)

    def generate():
        for epoch in itertools.count(first_epoch):
            split = first if epoch == first_epoch else sentences(epoch)
            # A fresh, seed-derived order per epoch: the same run always sees the same batches.
            rng = random.Random(config.seed * 100_003 + epoch)
            for _, inputs, targets in split.iter_batches(config.batch_size, shuffle=True,
                                                         rng=rng):
                yield inputs, targets

    inputs = {"words": tf.TensorSpec([None, None], tf.int32)}
    if has_chars:
        inputs["chars"] = tf.TensorSpec([None, None, None], tf.int32)
    targets = {"tags": tf.TensorSpec([None, None], tf.int32)}
    if has_intent and first.encoder.multi_intent:
        targets["intent"] = tf.TensorSpec([None, len(first.encoder.intents)], tf.float32)
    elif has_intent:
        targets["intent"] = tf.TensorSpec([None], tf.int32)
    batches = -(-len(first) // config.batch_size)
    dataset = tf.data.Dataset.from_generator(generate, output_signature=(inputs, targets))
    return dataset.prefetch(2), batches


def _build_loss_and_optimizer(model: keras.Model, dataset: tf.data.Dataset) -> None:
    """Create the loss trackers and optimizer slots eagerly, on one batch, before ``fit``.

    Keras creates them lazily inside the first traced train step, and a tf.function that
    creates variables is traced twice (once to create them, once more without): building
    them first saves one full trace of the train step, 3-4 s of every training.
    """
    inputs, targets = next(iter(dataset.take(1)))
    model.compute_loss(x=inputs, y=targets, y_pred=model(inputs, training=False))
    if not model.optimizer.built:  # (a resumed run has built and restored it already)
        model.optimizer.build(model.trainable_variables)


@dataclass
class TrainingSetup:
    """What ``model.fit`` needs: the compiled model, its encoder, and the endless stream of
    noisy training batches (``batches`` per epoch) starting at epoch ``first_epoch``."""

    config: Config      # as trained: ``intent`` is False when the data has no intents
    model: keras.Model
    encoder: Encoder
    dataset: tf.data.Dataset
    batches: int
    first_epoch: int
    sentences: int


def prepare_training(config: Config, train_split: Any, *, first_epoch: int = 0) -> TrainingSetup:
    """Build the encoder, the compiled model and the batch stream for ``train_split`` (a
    split with ``tokens``, ``tags`` and ``intent`` columns) exactly as :func:`train` does.

    The benchmarks time epochs through this function, so they measure the real setup.
    """
    # Lists, not the dataset's columns: an item of a column costs a table lookup, and the
    # sentences are read again every epoch.
    labels = list(train_split["intent"])
    # No label files, or one label for every sentence: there is no intent to learn.
    intents = labels if config.intent and all(labels) and len(set(labels)) > 1 else None
    config = config.replace(intent=intents is not None)
    clean = TrainingSentences(list(train_split["tokens"]), list(train_split["tags"]))
    # The vocabulary is built from the sentences with punctuation noise, so that "?" and ","
    # have ids, but before made-up names, which must be unknown words like a user's.
    tokens, tags = add_punctuation(clean.tokens, clean.tags, config.punctuation_noise,
                                   random.Random(config.seed))
    encoder = Encoder.build(tokens, tags, intents,
                            chars=config.chars, max_word_length=config.max_word_length,
                            multi_intent=config.multi_intent, mark_case=config.case_noise > 0)
    if len(encoder.tags) < 2:
        raise TrainingError(f"every tag in the training split is O: there are no slots to learn "
                            f"({len(clean.tokens)} sentences)")
    if encoder.intents is not None and len(encoder.intents) == 0:
        raise TrainingError("no training label names an intent once split at '#' "
                            "(--multi-intent); fix the labels, or train without --multi-intent")
    vectors = None
    if config.embeddings is not None:
        words, vectors, source = vocabulary_with_vectors(encoder.words, config.embeddings,
                                                         config.embeddings_words)
        encoder = replace(encoder, words=words)
        config = config.replace(embeddings_source=source)
        log.info("word vectors %s: %d of %d training words found, %d words added",
                 source["file"], source["training_words_with_vectors"],
                 source["training_words"], source["added_words"])
    names = open_slot_types(tags, tokens)

    def sentences(epoch: int) -> EncodedSplit:
        return EncodedSplit(encoder, *clean.with_noise(config, names, epoch), intents)

    model = build_model(config, encoder, vectors)
    intent_weights = None
    if intents is not None and not encoder.multi_intent and config.intent_balance > 0:
        intent_weights = intent_class_weights([encoder.intents.id(i) for i in intents],
                                              len(encoder.intents), config.intent_balance)
    compile_model(model, config, intent_weights)
    dataset, batches = _dataset(sentences, config, encoder.chars is not None,
                                "intent" in model.output_names, first_epoch)
    return TrainingSetup(config, model, encoder, dataset, batches, first_epoch,
                         len(clean.tokens))


def seed_everything(seed: int) -> None:
    """Same seed -> same weights and scores, on any machine with the same kind of CPU and
    the same versions (one thread per op: :mod:`slotfill.threads`)."""
    if not use_one_thread_per_op():
        log.warning("TensorFlow was started with %s threads per op before training, so this "
                    "seed gives another model than `slotfill train` (one thread per op); "
                    "call slotfill.threads.use_one_thread_per_op() first to match it",
                    tf.config.threading.get_intra_op_parallelism_threads() or "its default")
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class CheckpointWriter(keras.callbacks.Callback):
    """Writes the full training state after every scored epoch (see slotfill.checkpoint)."""

    def __init__(self, folder: Path, config: Config, scorer: ValidationScorer) -> None:
        super().__init__()
        self.folder = folder
        self.config = config
        self.scorer = scorer

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.scorer.diverged:
            return  # the weights are NaN now; the previous checkpoint is the one to keep
        checkpoint.save(self.folder, self.model, self.config, epoch, self.scorer.state(),
                        self.scorer.best_weights)


def train(config: Config, data: Any, out_dir: str | Path | None = None, *,
          resume: bool = False, callbacks: list[keras.callbacks.Callback] | None = None,
          verbose: int | str = "auto") -> TrainResult:
    """Train ``config.arch`` on ``data`` (a DatasetDict) and write the model folder.

    The folder is built under a temporary name and moved to ``out_dir`` (default
    ``models/<arch>``) only when complete; it is then recorded as the latest model.
    With ``resume``, training continues from the checkpoint an interrupted run with
    the same settings left behind.
    """
    config.validate()
    seed_everything(config.seed)  # first: TensorFlow takes its threads from its first op
    started = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else model_dir.default_model_dir(config.arch)
    # Fail before training, not after: where the model, its checkpoint and "latest" go.
    model_dir.check_destination(out)
    model_dir.check_writable(out.parent)
    model_dir.check_writable(model_dir.models_root())
    ckpt_dir = checkpoint.checkpoint_dir(out)
    saved = checkpoint.Checkpoint(ckpt_dir, config) if resume else None
    if saved is None:
        checkpoint.discard(ckpt_dir)

    setup = prepare_training(config, data["train"],
                             first_epoch=saved.next_epoch if saved is not None else 0)
    model, encoder, dataset, batches = setup.model, setup.encoder, setup.dataset, setup.batches
    # The model folder gets the config as trained; the checkpoint keeps the one asked for,
    # which is what --resume compares.
    tagger = Tagger(model, setup.config, encoder)
    scorer = ValidationScorer(tagger, data["valid"], config.patience)
    first_epoch = setup.first_epoch
    if saved is not None:
        scorer.load_state(saved.scorer_state, saved.restore(model))
        log.info("resuming after epoch %d", first_epoch)

    log.info("training %s: %d parameters, %d train sentences", config.arch, model.count_params(),
             setup.sentences)
    if first_epoch < config.epochs and not scorer.stopped_early:
        _build_loss_and_optimizer(model, dataset)
        model.fit(dataset, epochs=config.epochs, initial_epoch=first_epoch,
                  steps_per_epoch=batches, shuffle=False,
                  callbacks=[scorer, CheckpointWriter(ckpt_dir, config, scorer),
                             *(callbacks or [])],
                  verbose=verbose)
    scorer.restore_best()
    if scorer.stopped_early:
        log.warning("stopped after epoch %d: %s; keeping epoch %d", len(scorer.history),
                    scorer.stopped_early, scorer.best_epoch + 1)

    valid_scores = evaluate(tagger, data["valid"])
    test_scores = evaluate(tagger, data["test"]) if "test" in data else None
    seconds = time.perf_counter() - started
    result = TrainResult(out, scorer.best_epoch + 1, len(scorer.history), seconds, valid_scores,
                         test_scores, scorer.history, scorer.stopped_early, scorer.diverged,
                         describe_data(data))
    save(tagger, out, result)
    model_dir.set_latest(out)
    checkpoint.discard(ckpt_dir)
    return result


def describe_data(data: Any) -> dict[str, Any]:
    """Where ``data`` came from (``load_dataset`` attaches it as ``source``) and how many
    sentences each split has."""
    return {**(getattr(data, "source", None) or {}),
            "sentences": {name: len(split) for name, split in data.items()}}


def save(tagger: Tagger, out: Path, result: TrainResult) -> None:
    """Write the complete model folder atomically (see slotfill.model_dir)."""
    with model_dir.staged_dir(out) as tmp:
        tagger.model.save(tmp / model_dir.MODEL_FILE)
        tagger.config.save(tmp / model_dir.CONFIG_FILE)
        tagger.encoder.save(tmp / model_dir.VOCAB_DIR)
        model_dir.write_json(tmp / model_dir.HISTORY_FILE, result.history)
        model_dir.write_json(tmp / model_dir.SCORES_FILE, {
            "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
            "train_seconds": result.seconds, "stopped_early": result.stopped_early,
            "valid": result.valid, "test": result.test,
            "versions": versions(), "data": result.data,
        })
        export_saved_model(tagger, tmp / model_dir.SAVED_MODEL_DIR)
