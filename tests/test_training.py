"""train(): the model folder it writes, early stopping, resuming, reproducibility."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import BUNDLED, REPO, SMALL
from datasets import DatasetDict

from slotfill import model_dir
from slotfill.config import Config
from slotfill.tagger import Tagger
from slotfill.training import TrainingError, train


def test_model_folder_is_complete_and_self_describing(trained):
    folder = trained.model_dir
    for name in ("model.keras", "config.json", "vocab/words.txt", "vocab/chars.txt",
                 "vocab/tags.txt", "vocab/intents.txt", "history.json", "scores.json",
                 "saved_model/saved_model.pb"):
        assert (folder / name).is_file(), name
    assert Config.load(folder / "config.json") == Config(**SMALL)
    history = json.loads((folder / "history.json").read_text())
    assert len(history) == trained.epochs_run
    assert {"loss", "val_slot_f1", "val_intent_accuracy"} <= set(history[0])
    scores = json.loads((folder / "scores.json").read_text())
    assert scores["best_epoch"] == trained.best_epoch
    assert set(scores["test"]) >= {"slot_f1", "intent_accuracy", "sentence_accuracy", "per_slot"}
    # No staging folders are left beside it.
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


def test_kept_epoch_is_the_best_validation_epoch(trained):
    # Trained with weight averaging (the default): what was scored is what was kept.
    assert Config(**SMALL).ema > 0
    f1 = [h["val_slot_f1"] for h in trained.history]
    assert trained.best_epoch == int(np.argmax(f1)) + 1
    assert trained.valid["slot_f1"] == pytest.approx(max(f1))


def test_learns_the_bundled_data(trained):
    assert trained.test["slot_f1"] > 60
    assert trained.test["intent_accuracy"] > 60


def test_records_the_latest_model(trained):
    assert model_dir.latest_model_dir() == trained.model_dir.resolve()


class _InterruptAfter(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise KeyboardInterrupt


def test_interrupted_run_keeps_the_previous_model_and_resumes_to_the_same_model(
        tmp_path, isolated_models, bundled):
    config = Config(**{**SMALL, "epochs": 3, "patience": 3, "hidden": 8, "embedding_dim": 8})
    out = tmp_path / "model"
    out.mkdir()
    (out / "config.json").write_text("the previous model")
    with pytest.raises(KeyboardInterrupt):
        train(config, bundled, out, callbacks=[_InterruptAfter(2)], verbose=0)
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]
    assert (out / "config.json").read_text() == "the previous model"
    with pytest.raises(model_dir.ModelError, match="different settings"):
        train(config.replace(hidden=9), bundled, out, resume=True, verbose=0)
    resumed = train(config, bundled, out, resume=True, verbose=0)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    # The same seed gives the same model and scores, whether the run was cut in two or not
    # (the interrupted run and this one also trained their first epochs independently).
    straight = train(config, bundled, tmp_path / "straight", verbose=0)
    assert resumed.test == straight.test
    assert resumed.history == straight.history
    weights = [keras.saving.load_model(r.model_dir / "model.keras", compile=False).get_weights()
               for r in (resumed, straight)]
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "models", "straight"]


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, isolated_models, bundled):
    with pytest.raises(model_dir.ModelError, match="nothing to resume"):
        train(Config(**SMALL), bundled, tmp_path / "m", resume=True, verbose=0)


@pytest.mark.parametrize("where", ["out", "models root"])
def test_an_unwritable_destination_fails_before_training(where, tmp_path, monkeypatch, bundled):
    # /proc takes no new folders, even for root (who may write in a read-only-mode folder).
    out = tmp_path / "m"
    if where == "out":
        out = "/proc/slotfill-test/m"
    else:
        monkeypatch.setenv("SLOTFILL_MODELS", "/proc/slotfill-test")
    started = []
    monkeypatch.setattr("slotfill.training.build_model", lambda *a: started.append(1))
    with pytest.raises(model_dir.ModelError, match="cannot write in /proc/slotfill-test"):
        train(Config(**SMALL), bundled, out, verbose=0)
    assert not started and not (tmp_path / "m").exists()


def test_training_into_the_current_folder_is_refused_before_it_starts(tmp_path, isolated_models,
                                                                      monkeypatch, bundled):
    # Replacing it would leave the user's shell in a deleted folder.
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    with pytest.raises(model_dir.ModelError, match="current folder"):
        train(Config(**SMALL), bundled, ".", verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]
    assert not list((tmp_path / "here").iterdir())


def test_a_training_split_with_no_slots_is_refused_in_words(tmp_path, isolated_models, bundled):
    all_outside = bundled["train"].map(lambda row: {"tags": ["O"] * len(row["tags"])})
    data = DatasetDict({**bundled, "train": all_outside})
    with pytest.raises(TrainingError, match="every tag in the training split is O"):
        train(Config(**SMALL), data, tmp_path / "m", verbose=0)


def test_multi_intent_labels_that_name_no_intent_are_refused(tmp_path, isolated_models, bundled):
    # Two distinct labels, so the data has intents, but neither names one.
    hashes_only = bundled["train"].map(lambda row, i: {"intent": "#" * (1 + i % 2)},
                                       with_indices=True)
    data = DatasetDict({**bundled, "train": hashes_only})
    with pytest.raises(TrainingError, match="no training label names an intent"):
        train(Config(**SMALL, multi_intent=True), data, tmp_path / "m", verbose=0)
    assert not (tmp_path / "m").exists()


def test_nan_loss_stops_and_keeps_the_best_epoch(tmp_path, isolated_models, bundled):
    class PoisonAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                for w in self.model.trainable_weights:
                    w.assign(w * float("nan"))

    config = Config(**{**SMALL, "epochs": 3, "hidden": 8, "embedding_dim": 8})
    result = train(config, bundled, tmp_path / "m", callbacks=[PoisonAfterFirstEpoch()], verbose=0)
    assert result.diverged and "nan" in result.stopped_early
    assert result.best_epoch == 1 and result.epochs_run == 1
    assert np.isfinite(result.test["slot_f1"])


def test_multi_intent_model_predicts_sets_through_tagger_and_saved_model(
        tmp_path, isolated_models, bundled):
    import tensorflow as tf

    config = Config(**{**SMALL, "epochs": 1}, multi_intent=True)
    result = train(config, bundled, tmp_path / "multi", verbose=0)
    tagger = Tagger.load(result.model_dir)
    assert tagger.encoder.multi_intent and "flight#airfare" not in tagger.encoder.intents.labels
    assert {"flight", "airfare"} <= set(tagger.encoder.intents.labels)
    texts = ["show me flights and fares from boston to denver", "what is the fare to dallas"]
    got = tagger.tag(texts)
    served = tf.saved_model.load(str(result.model_dir / "saved_model"))
    out = served.signatures["serving_default"](text=tf.constant(texts))
    for i, r in enumerate(got):
        assert r.intent and set(r.intent.split("#")) <= set(tagger.encoder.intents.labels)
        assert out["intent"].numpy()[i].decode() == r.intent
        assert float(out["intent_confidence"][i]) == pytest.approx(r.intent_confidence, abs=1e-5)


def _encoded(split, max_word_length: int = 20):
    """A split's sentences encoded as training reads them (no noise)."""
    from slotfill.preprocess import EncodedSplit, Encoder

    encoder = Encoder.build(split["tokens"], split["tags"], split["intent"], chars=True,
                            max_word_length=max_word_length)
    return EncodedSplit(encoder, split["tokens"], split["tags"], split["intent"])


def test_batch_stream_reshuffles_each_epoch_and_resumes_at_any_epoch(bundled):
    from slotfill.training import _dataset

    encoded = _encoded(bundled["train"])
    config = Config(batch_size=16, seed=3)

    def epochs(first_epoch: int, count: int) -> list[list[bytes]]:
        stream, per_epoch = _dataset(lambda epoch: encoded, config, True, True, first_epoch)
        assert per_epoch == -(-len(encoded) // 16)
        batches = [inputs["words"].numpy().tobytes()
                   for inputs, _ in stream.take(per_epoch * count)]
        return [batches[i * per_epoch:(i + 1) * per_epoch] for i in range(count)]

    first, second, third = epochs(0, 3)
    assert first != second and second != third  # a new order every epoch
    # A run resumed after epoch 2 sees exactly the batches the uninterrupted run saw next.
    assert epochs(2, 1) == [third]


def test_each_epoch_trains_on_its_own_draw_of_the_sentences(bundled):
    from slotfill.training import _dataset

    encoded = _encoded(bundled["train"])
    asked = []

    def sentences(epoch):
        asked.append(epoch)
        return encoded

    stream, per_epoch = _dataset(sentences, Config(batch_size=16), True, True, first_epoch=2)
    list(stream.take(per_epoch * 3))
    assert asked[:3] == [2, 3, 4]


def test_noise_is_drawn_afresh_every_epoch_and_reproducibly(bundled):
    from slotfill.augment import open_slot_types
    from slotfill.training import TrainingSentences

    split = bundled["train"]
    clean = TrainingSentences(split["tokens"], split["tags"])
    names = open_slot_types(clean.tags, clean.tokens)
    assert names  # the bundled data has name-like slots (cities)
    config = Config(seed=5)
    draws = [clean.with_noise(config, names, epoch) for epoch in range(4)]
    assert draws[1] == clean.with_noise(config, names, 1)
    assert draws[1] != draws[2]
    assert all(len(tokens) == len(clean.tokens) for tokens, _ in draws)
    # Over a few epochs most sentences are also seen exactly as written.
    as_written = {i for tokens, tags in draws for i, (t, g) in enumerate(zip(tokens, tags))
                  if t == clean.tokens[i] and g == clean.tags[i]}
    assert len(as_written) > 0.8 * len(clean.tokens)
    quiet = Config(seed=5, punctuation_noise=0, name_noise=0, case_noise=0, prefix_noise=0)
    assert clean.with_noise(quiet, names, 3) == (clean.tokens, clean.tags)
    # --prefix-noise 1: every sentence with a slot opens with it.
    _, terse = clean.with_noise(quiet.replace(prefix_noise=1.0), names, 3)
    assert all(tags[0] != "O" for tags in terse if set(tags) != {"O"})
    assert terse != clean.tags


def test_the_train_step_is_traced_once(bundled):
    # Keras creates its loss trackers inside the first traced step unless they exist, and a
    # step that creates variables is traced a second time: seconds of every training.
    from slotfill.models import build_model, compile_model
    from slotfill.training import _build_loss_and_optimizer, _dataset

    config = Config(hidden=4, embedding_dim=4, char_dim=4, char_filters=4, intent_hidden=4,
                    epochs=1, batch_size=16)
    encoded = _encoded(bundled["train"].select(range(32)), max_word_length=10)
    model = build_model(config, encoded.encoder)
    compile_model(model, config)
    dataset, batches = _dataset(lambda epoch: encoded, config, True, True)
    traces = []
    step = model.train_step

    def counted_step(data):
        traces.append(data)
        return step(data)

    model.train_step = counted_step
    _build_loss_and_optimizer(model, dataset)
    model.fit(dataset, epochs=1, steps_per_epoch=batches, shuffle=False, verbose=0)
    assert len(traces) == 1


TRAIN_AND_HASH = """
import hashlib, sys
import keras, numpy as np
from conftest import SMALL
from slotfill.config import Config
from slotfill.data import load_dataset
from slotfill.training import train
result = train(Config(**{**SMALL, "epochs": 1}), load_dataset(sys.argv[1], seed=1), sys.argv[2],
               verbose=0)
model = keras.saving.load_model(result.model_dir / "model.keras", compile=False)
print(hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest())
"""


def test_a_seed_trains_the_same_weights_whatever_threads_tensorflow_is_told_to_use(tmp_path):
    # With two threads an op sums in another order than with one, and before train() pinned
    # one thread per op these two runs ended with different weights.
    # Both at once: each trains on one thread per op, and the suite waits half as long.
    runs = []
    for threads in ("1", "2"):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_NUM_INTRAOP_THREADS": threads,
               "SLOTFILL_MODELS": str(tmp_path / f"models{threads}"),
               "PYTHONPATH": str(REPO / "tests")}
        # Output to files: a pipe read only after the other run ends could fill and stall.
        with (open(tmp_path / f"out{threads}", "w") as out,
              open(tmp_path / f"err{threads}", "w") as err):
            runs.append(subprocess.Popen([sys.executable, "-c", TRAIN_AND_HASH, str(BUNDLED),
                                          str(tmp_path / threads)], stdout=out, stderr=err,
                                         cwd=REPO, env=env))
    hashes = []
    for threads, run in zip(("1", "2"), runs, strict=True):
        assert run.wait() == 0, (tmp_path / f"err{threads}").read_text()[-2000:]
        hashes.append((tmp_path / f"out{threads}").read_text().split()[-1])
    assert hashes[0] == hashes[1]


def test_training_after_tensorflow_started_otherwise_says_the_model_will_differ():
    probe = ("import tensorflow as tf; tf.constant(1.0) + 1.0\n"
             "from slotfill.training import seed_everything; seed_everything(1)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "started with its default threads per op before training" in done.stderr


def _write_without_intents(root, bundled, labels: str) -> None:
    """The bundled splits with no label files, one label for all, or as CoNLL without
    intent lines."""
    from slotfill.data import write_split

    for name, split in bundled.items():
        rows = [{"tokens": r["tokens"], "tags": r["tags"],
                 "intent": "query" if labels == "one value" else ""} for r in split]
        if labels == "conll":
            (root / f"{name}.txt").write_text("".join(
                "".join(f"{t} {g}\n" for t, g in zip(r["tokens"], r["tags"])) + "\n"
                for r in rows))
        else:
            write_split(root / name, rows)


@pytest.mark.parametrize("labels", ["missing", "one value", "conll"])
def test_data_without_intents_trains_no_intent_head(labels, tmp_path, isolated_models, bundled):
    import warnings

    import tensorflow as tf

    from slotfill.data import load_dataset

    root = tmp_path / "data"
    root.mkdir()
    _write_without_intents(root, bundled, labels)
    data = load_dataset(root)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(Config(**{**SMALL, "epochs": 2}), data, tmp_path / "m", verbose=0)
    # Keras warns of a one-class softmax ("will always return the value 1"): none is built.
    assert not [w for w in caught if "softmax" in str(w.message) or "intent" in str(w.message)]
    assert Config.load(result.model_dir / "config.json").intent is False
    tagger = Tagger.load(result.model_dir)
    assert "intent" not in tagger.model.output_names
    assert result.test["intent_accuracy"] is None and result.valid["intent_accuracy"] is None
    # Sentence accuracy: every tag right.
    predicted = tagger.predict_tokens(data["test"]["tokens"], confidence=False)
    right = [p.tags == gold for p, gold in zip(predicted, data["test"]["tags"])]
    assert result.test["sentence_accuracy"] == pytest.approx(100 * sum(right) / len(right))
    assert "val_intent_accuracy" not in result.history[0]

    (tagged,) = tagger.tag(["fly from boston to denver"])
    assert set(tagged.to_dict()) == {"text", "tokens", "tags", "slots", "dates", "times"}
    serving = tf.saved_model.load(str(result.model_dir / "saved_model"))
    out = serving.signatures["serving_default"](text=tf.constant(["fly from boston to denver"]))
    assert "intent" not in out and "intent_confidence" not in out
    assert [t.decode() for t in out["tokens"].numpy()[0]] == tagged.tokens


def _vector_file(path, words, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    rows = {word: rng.normal(size=dim).round(4) for word in words}
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in rows.items()))
    return rows


def test_pretrained_vectors_cover_training_words_and_the_files_own_words(
        tmp_path, isolated_models, bundled):
    import hashlib

    import tensorflow as tf

    from slotfill.tokenizer import normalize

    training_words = sorted({normalize(t) for s in bundled["train"]["tokens"] for t in s})
    # "zanzibar" is no training word: the file's vector makes it a known word all the same.
    rows = _vector_file(tmp_path / "glove.txt", ["zanzibar", *training_words[::2]])
    config = Config(**{**SMALL, "epochs": 1, "embeddings": str(tmp_path / "glove.txt")})
    result = train(config, bundled, tmp_path / "m", verbose=0)

    saved = Config.load(result.model_dir / "config.json")
    source = saved.embeddings_source
    assert source["file"] == "glove.txt" and source["dim"] == 8
    assert source["bytes"] == (tmp_path / "glove.txt").stat().st_size
    assert source["sha256"] == hashlib.sha256((tmp_path / "glove.txt").read_bytes()).hexdigest()
    assert source["added_words"] == 1
    assert source["training_words_with_vectors"] == len(training_words[::2])

    tagger = Tagger.load(result.model_dir)
    words = tagger.encoder.words
    assert words.id("zanzibar") == len(words) - 1
    table = tagger.model.get_layer("word_vectors").get_weights()[0]
    np.testing.assert_allclose(table[words.id("zanzibar")], rows["zanzibar"], atol=1e-6)
    np.testing.assert_allclose(table[words.id(training_words[0])], rows[training_words[0]],
                               atol=1e-6)
    assert tagger.model.get_layer("word_embedding").input_dim == source["training_words"] + 2

    # The vector changes what the model computes for the word, against an unknown word.
    encoded = tagger.encoder.encode_tokens(["fly", "to", "zanzibar"])
    inputs = {name: array[None] for name, array in encoded.items()}
    got = tagger.model(inputs)["tags"].numpy()
    inputs["words"] = inputs["words"].copy()
    inputs["words"][0, 2] = 1  # <unk>
    assert not np.allclose(got, tagger.model(inputs)["tags"].numpy())

    # The SavedModel looks the word up in the same vocabulary: same tags as the tagger.
    text = "fly from boston to zanzibar"
    (tagged,) = tagger.tag([text])
    serving = tf.saved_model.load(str(result.model_dir / "saved_model"))
    out = serving.signatures["serving_default"](text=tf.constant([text]))
    assert [t.decode() for t in out["tags"].numpy()[0]][:len(tagged.tags)] == tagged.tags
