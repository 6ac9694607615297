"""The --arch registry: every architecture builds, and every cell family runs the whole pipeline."""

import subprocess
import sys

import keras
import numpy as np
import pytest
from test_export import tag_with_plain_tensorflow_all

from slotfill.config import ARCHS, Config
from slotfill.layers import WordCNN
from slotfill.models import WeightedIntentLoss, build_model, compile_model, intent_class_weights
from slotfill.preprocess import EncodedSplit, Encoder
from slotfill.tagger import Tagger
from slotfill.training import train

TINY = dict(hidden=6, embedding_dim=6, char_dim=4, char_filters=5, intent_hidden=4, epochs=1,
            batch_size=16)


@pytest.fixture(scope="module")
def small_data(bundled):
    from datasets import DatasetDict

    return DatasetDict({"train": bundled["train"].select(range(64)),
                        "valid": bundled["valid"].select(range(16)),
                        "test": bundled["test"].select(range(16))})


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("decoder", ["crf", "softmax"])
def test_every_arch_builds_and_tags_a_batch(arch, decoder, bundled):
    config = Config(arch=arch, decoder=decoder, layers=2, window=1 if arch[:2] != "bi" else 0,
                    **{k: v for k, v in TINY.items() if k not in ("epochs", "batch_size")})
    tokens = bundled["train"]["tokens"][:5]
    encoder = Encoder.build(tokens, bundled["train"]["tags"][:5], bundled["train"]["intent"][:5],
                            chars=True, max_word_length=10)
    model = build_model(config, encoder)
    _, inputs, _ = next(EncodedSplit(encoder, tokens).iter_batches(8))
    out = model(inputs)
    assert out["tags"].shape == (*inputs["words"].shape, len(encoder.tags))
    assert out["intent"].shape == (len(tokens), len(encoder.intents))
    recurrent = [layer for layer in model.layers if config.cell in layer.name]
    assert len(recurrent) == 2  # --layers 2 stacks two


def test_rnn_options_reach_the_layers(bundled):
    config = Config(arch="elman", activation="relu", recurrent_init="identity", **TINY)
    encoder = Encoder.build(bundled["train"]["tokens"][:5], bundled["train"]["tags"][:5], None,
                            chars=False, max_word_length=10)
    model = build_model(config, encoder)
    rnn = model.get_layer("elman_0")
    assert rnn.cell.activation.__name__ == "relu"
    np.testing.assert_allclose(np.asarray(rnn.cell.recurrent_kernel), np.eye(config.hidden))
    assert "intent" not in model.output_names and "chars" not in model.input


@pytest.mark.parametrize(("arch", "dropout_after_encoder"),
                         [("jordan", False), ("bijordan", False), ("bilstm", True)])
def test_no_dropout_on_the_log_probabilities_a_jordan_layer_outputs(arch, dropout_after_encoder,
                                                                    bundled):
    encoder = Encoder.build(bundled["train"]["tokens"][:5], bundled["train"]["tags"][:5], None,
                            chars=False, max_word_length=10)
    model = build_model(Config(arch=arch, layers=2, **TINY), encoder)
    names = [layer.name for layer in model.layers]
    assert ("dropout_1" in names and "dropout_2" in names) == dropout_after_encoder
    assert "dropout_0" in names  # the word features get dropout whatever the arch


LOAD_KERAS = """
import sys
import keras
import slotfill.layers  # registers the custom layers: no custom_objects needed
for path in sys.argv[1:]:
    print(keras.saving.load_model(path, compile=False).count_params())
"""

CELL_FAMILIES = ["bielman", "bijordan", "bilstm", "bipeephole", "bigru"]


@pytest.fixture(scope="module")
def family_models(small_data, tmp_path_factory):
    """One tiny model folder per cell family, trained once for the pipeline tests below."""
    root = tmp_path_factory.mktemp("families")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLOTFILL_MODELS", str(root / "models"))
        yield {arch: train(Config(arch=arch, **TINY), small_data, root / arch, verbose=0).model_dir
               for arch in CELL_FAMILIES}


def test_each_cell_family_tags_alike_through_keras_and_plain_tensorflow(family_models,
                                                                          small_data):
    texts = [" ".join(t) for t in small_data["test"]["tokens"]] + ["Fly to St. Louis, please."]
    served = tag_with_plain_tensorflow_all([family_models[arch] / "saved_model"
                                            for arch in CELL_FAMILIES], texts)
    for arch, got in zip(CELL_FAMILIES, served, strict=True):
        expected = Tagger.load(family_models[arch]).tag(texts)
        assert all(len(r.tokens) == len(r.tags) for r in expected), arch
        assert [g["tags"] for g in got] == [e.tags for e in expected], arch


def test_each_cell_family_loads_in_a_fresh_process_without_custom_objects(family_models):
    done = subprocess.run([sys.executable, "-c", LOAD_KERAS,
                           *(str(family_models[arch] / "model.keras") for arch in CELL_FAMILIES)],
                          capture_output=True, text=True, check=True)
    counts = [int(line) for line in done.stdout.split()[-len(CELL_FAMILIES):]]
    assert counts == [Tagger.load(family_models[arch]).model.count_params()
                      for arch in CELL_FAMILIES]


@pytest.mark.parametrize(("intent_hidden", "arch"), [(4, "bilstm"), (0, "bilstm"), (0, "bijordan")])
@pytest.mark.parametrize("intent_encoder", ["cnn", "bilstm"])
def test_the_intent_reads_its_own_encoder_unless_told_not_to(intent_hidden, arch, intent_encoder,
                                                             bundled):
    config = Config(**{**TINY, "intent_hidden": intent_hidden, "arch": arch,
                       "intent_encoder": intent_encoder})
    encoder = Encoder.build(bundled["train"]["tokens"][:5], bundled["train"]["tags"][:5],
                            bundled["train"]["intent"][:5], chars=True, max_word_length=10)
    model = build_model(config, encoder)
    pooled_from = model.get_layer("pooling")._inbound_nodes[0].input_tensors[0]
    source = pooled_from._keras_history.operation.name
    expected = {(4, "bilstm"): "intent_encoder", (0, "bilstm"): "dropout_1",
                (0, "bijordan"): "dropout_0"}[(intent_hidden, arch)]
    assert source == expected
    assert ("intent_encoder" in [layer.name for layer in model.layers]) == (intent_hidden > 0)
    if intent_hidden > 0:
        layer = model.get_layer("intent_encoder")
        kind = WordCNN if intent_encoder == "cnn" else keras.layers.Bidirectional
        assert isinstance(layer, kind)
        # Either way the pooling gets 2 * intent_hidden values a word.
        assert layer.compute_output_shape((None, 7, 12))[-1] == 2 * intent_hidden


def test_intent_class_weights_follow_the_power_and_keep_the_loss_scale():
    ids = [0] * 8 + [1] * 2   # intent 2 never seen
    weights = intent_class_weights(ids, 3, 0.5)
    assert weights[1] / weights[0] == pytest.approx(2.0)   # (2 / 8) ** -0.5
    assert weights[2] == 0.0
    assert (8 * weights[0] + 2 * weights[1]) / 10 == pytest.approx(1.0)
    assert intent_class_weights(ids, 3, 0.0)[:2] == pytest.approx([1.0, 1.0])


def test_weighted_intent_loss_is_cross_entropy_times_the_gold_weight():
    probs = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]], "float32")
    loss = WeightedIntentLoss([1.0, 3.0, 2.0], reduction=None)(np.array([0, 1, -1]), probs)
    np.testing.assert_allclose(np.asarray(loss), [-np.log(0.5), -3 * np.log(0.8), 0.0],
                               rtol=1e-5)
    restored = WeightedIntentLoss.from_config(WeightedIntentLoss([1.0, 3.0], 0.2).get_config())
    assert restored.class_weights == [1.0, 3.0]
    assert restored.smoothing == 0.2


def test_smoothed_intent_loss_spreads_the_target_over_every_intent():
    probs = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]], "float32")
    loss = WeightedIntentLoss([1.0, 3.0, 2.0], smoothing=0.3, reduction=None)(
        np.array([0, 1]), probs)
    # q = 0.7 * one_hot + 0.1 for three intents.
    expected = [-(0.8 * np.log(0.5) + 0.1 * np.log(0.25) + 0.1 * np.log(0.25)),
                -3 * (0.1 * np.log(0.1) + 0.8 * np.log(0.8) + 0.1 * np.log(0.1))]
    np.testing.assert_allclose(np.asarray(loss), expected, rtol=1e-5)
    # Smoothing makes a certain prediction cost something: it is no longer the optimum.
    certain = WeightedIntentLoss([1.0, 1.0], smoothing=0.2)(np.array([0]), np.array([[1.0, 0.0]]))
    hedged = WeightedIntentLoss([1.0, 1.0], smoothing=0.2)(np.array([0]), np.array([[0.9, 0.1]]))
    assert float(hedged) < float(certain)
    with pytest.raises(ValueError, match="smoothing"):
        WeightedIntentLoss([1.0], smoothing=1.0)


def test_compile_model_uses_the_weighted_loss_when_given_weights_or_smoothing(bundled):
    encoder = Encoder.build(bundled["train"]["tokens"][:5], bundled["train"]["tags"][:5],
                            bundled["train"]["intent"][:5], chars=False, max_word_length=10)
    model = build_model(Config(**TINY, chars=False), encoder)
    compile_model(model, Config(**TINY, intent_smoothing=0.0), [1.0] * len(encoder.intents))
    assert isinstance(model.loss["intent"], WeightedIntentLoss)
    compile_model(model, Config(**TINY, intent_smoothing=0.1))
    assert model.loss["intent"].smoothing == 0.1
    assert model.loss["intent"].class_weights == [1.0] * len(encoder.intents)
    compile_model(model, Config(**TINY, intent_smoothing=0.0))
    assert not isinstance(model.loss["intent"], WeightedIntentLoss)
