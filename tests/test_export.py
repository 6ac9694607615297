"""The SavedModel: plain TensorFlow, raw strings in, the same tags as the Keras model out."""

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from slotfill.tagger import Tagger
from slotfill.tokenizer import tokenize

LOAD_WITH_PLAIN_TF = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    texts = json.loads(sys.stdin.read())
    results = []
    for path in sys.argv[1:]:
        model = tf.saved_model.load(path)
        out = model.signatures["serving_default"](text=tf.constant(texts, tf.string))
        result = []
        for i, n in enumerate(out["length"].numpy()):
            result.append({
                "tokens": [t.decode() for t in out["tokens"].numpy()[i][:n]],
                "tags": [t.decode() for t in out["tags"].numpy()[i][:n]],
                "intent": out["intent"].numpy()[i].decode(),
            })
        results.append(result)
    # (TensorFlow itself may import parts of keras; slotfill must not be needed.)
    assert "slotfill" not in sys.modules
    print(json.dumps(results))
""")


def tag_with_plain_tensorflow(saved_model, texts):
    """What a SavedModel returns for ``texts``, called from a process without slotfill."""
    return tag_with_plain_tensorflow_all([saved_model], texts)[0]


def tag_with_plain_tensorflow_all(saved_models, texts):
    """``tag_with_plain_tensorflow`` for several SavedModels, in one process (one TF import)."""
    done = subprocess.run([sys.executable, "-c", LOAD_WITH_PLAIN_TF, *map(str, saved_models)],
                          input=json.dumps(texts), capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_saved_model_matches_keras_on_the_whole_test_split(trained, bundled):
    texts = [" ".join(tokens) for tokens in bundled["test"]["tokens"]]
    texts += ["Arrive TAIPEI on November 2nd.", "fly from st. louis, to Boston!", "",
              "Flights from McAllen to New York City on Monday",
              "leave Boston by 5pm or 10:30A.M. tomorrow"]
    exported = tag_with_plain_tensorflow(trained.model_dir / "saved_model", texts)
    expected = Tagger.load(trained.model_dir).tag(texts)
    assert len(exported) == len(expected)
    for got, want in zip(exported, expected):
        assert got["tokens"] == want.tokens == [t.text for t in tokenize(want.text)]
        assert got["tags"] == want.tags
        assert got["intent"] == (want.intent or "")


def test_graph_inputs_are_the_encoders_ids_with_and_without_the_case_mark(trained):
    import numpy as np
    import tensorflow as tf

    from slotfill import export
    from slotfill.preprocess import CASE_MARK
    from slotfill.vocabulary import Vocabulary

    texts = ["Arrive TAIPEI on November 2nd.", "I'd like McAllen, St. Louis", "from boston", "",
             "Llanfairpwllgwyngyllgogerychwyrndrobwll 2ND", "A\x00b Zürich Élan İstanbul 21St",
             "\ue000boston Boston"]
    tagger = Tagger.load(trained.model_dir)
    assert tagger.encoder.marks_case  # the default model reads case
    # The same vocabulary without the mark, as in a model trained before it (or with
    # --case-noise 0); only the inputs are compared, so the model's sizes do not matter.
    assert tagger.encoder.chars.entries[-1] == CASE_MARK
    unmarked = dataclasses.replace(tagger.encoder,
                                   chars=Vocabulary(tagger.encoder.chars.entries[:-1]))
    for encoder in (tagger.encoder, unmarked):
        module = export.ServingModule(Tagger(tagger.model, tagger.config, encoder))
        got = module.inputs(tf.ragged.constant([[t.text for t in tokenize(x)] for x in texts]))
        for row, text in enumerate(texts):
            tokens = [t.text for t in tokenize(text)]
            want = encoder.encode_tokens(tokens)
            n, width = want["chars"].shape
            np.testing.assert_array_equal(got["words"].numpy()[row, :n], want["words"])
            np.testing.assert_array_equal(got["chars"].numpy()[row, :n, :width], want["chars"])
            assert not got["chars"].numpy()[row, :n, width:].any()


def test_length_sorted_chunks_give_the_same_outputs_in_the_callers_order(trained, bundled,
                                                                         monkeypatch):
    import numpy as np
    import tensorflow as tf

    from slotfill import export
    from slotfill.graph_tokenizer import tokenize_graph

    texts = [" ".join(tokens) for tokens in bundled["test"]["tokens"]][:40]
    texts += ["", "Boston", "a b c d e f g h i j k l m n o p q r s t u v w x y z"]
    module = export.ServingModule(Tagger.load(trained.model_dir))
    text = tf.constant(texts)
    tokens = tokenize_graph(text)
    # The batch at once, padded to its longest row.
    whole = module._predictor.graph(module.inputs(tokens))
    monkeypatch.setattr(export, "CHUNK_SIZE", 7)  # several chunks, the last one partial
    chunked = module.predict_by_length(tokens)
    assert sorted(chunked) == sorted(whole)
    for key, want in whole.items():
        got = chunked[key].numpy()
        assert got.shape == want.shape, key
        if got.dtype.kind in "OSi":
            np.testing.assert_array_equal(got, want.numpy(), err_msg=key)
        else:
            np.testing.assert_allclose(got, want.numpy(), atol=1e-4, err_msg=key)


def test_served_probabilities_are_distributions_at_tokens_and_zero_at_padding(trained):
    import numpy as np
    import tensorflow as tf

    from slotfill import export

    module = export.ServingModule(Tagger.load(trained.model_dir))
    out = module.serve(tf.constant(["", "Boston", "flights from denver to boston on monday"]))
    probs, length = out["tag_probs"].numpy(), out["length"].numpy()
    assert length.tolist() == [0, 1, 7]
    _assert_distributions_at_tokens_and_zero_at_padding(probs, length)
    # Each chosen tag's confidence is its probability.
    chosen = [[module.tag_names.numpy().tolist().index(tag) for tag in row[:n]]
              for row, n in zip(out["tags"].numpy(), length)]
    for b, ids in enumerate(chosen):
        np.testing.assert_allclose(out["tag_confidence"].numpy()[b, :len(ids)],
                                   probs[b, np.arange(len(ids)), ids], atol=1e-6)


def test_softmax_probabilities_are_zero_at_padding_too(bundled):
    import tensorflow as tf

    from slotfill import export
    from slotfill.config import Config
    from slotfill.models import build_model
    from slotfill.preprocess import Encoder

    # A softmax layer gives a distribution at padded steps too (a CRF's marginals are 0 there);
    # the served tag_probs must be 0 at padding either way. Untrained weights are enough.
    config = Config(decoder="softmax", hidden=8, embedding_dim=8, char_dim=4, char_filters=4,
                    intent_hidden=4)
    train = bundled["train"]
    encoder = Encoder.build(train["tokens"], train["tags"], train["intent"], chars=True,
                            max_word_length=config.max_word_length)
    module = export.ServingModule(Tagger(build_model(config, encoder), config, encoder))
    out = module.serve(tf.constant(["", "Boston", "from denver to boston"]))
    assert out["length"].numpy().tolist() == [0, 1, 4]
    _assert_distributions_at_tokens_and_zero_at_padding(out["tag_probs"].numpy(),
                                                        out["length"].numpy())


def _assert_distributions_at_tokens_and_zero_at_padding(probs, length) -> None:
    import numpy as np

    real = np.arange(probs.shape[1])[None, :] < length[:, None]
    np.testing.assert_allclose(probs.sum(axis=2)[real], 1.0, atol=1e-4)
    assert np.all(probs[~real] == 0)


def test_serving_base_writes_numbered_versions_tf_serving_can_load(trained, tmp_path):
    base = tmp_path / "serving" / "slotfill"
    cli = [sys.executable, "-m", "slotfill", "export", "--model", str(trained.model_dir),
           "--serving-base", str(base)]
    for expected in ("1", "2"):
        done = subprocess.run(cli, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"SavedModel written to {base / expected}"
    # Only the finished versions are there: no staging folder a watching server could load.
    assert sorted(p.name for p in base.iterdir()) == ["1", "2"]
    texts = ["show me flights from boston to denver", "Arrive TAIPEI on November 2nd."]
    want = Tagger.load(trained.model_dir).tag(texts)
    got = tag_with_plain_tensorflow(base / "2", texts)
    assert [g["tags"] for g in got] == [w.tags for w in want]
    # The signature TF Serving's REST API maps {"instances": ["..."]} onto.
    saved_model_cli = Path(sys.executable).parent / "saved_model_cli"
    shown = subprocess.run([str(saved_model_cli), "show", "--dir", str(base / "1"),
                            "--tag_set", "serve", "--signature_def", "serving_default"],
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    inputs, outputs = shown.stdout.split("output(s):")
    assert "['text'] tensor_info:" in inputs and "dtype: DT_STRING" in inputs
    for name in ("tokens", "tags", "tag_confidence", "intent", "intent_confidence", "length"):
        assert f"['{name}'] tensor_info:" in outputs
    assert "Method name is: tensorflow/serving/predict" in outputs


def test_serving_base_refuses_a_file_and_out_together(trained, tmp_path):
    from slotfill.errors import SlotfillError
    from slotfill.export import export_model

    a_file = tmp_path / "file"
    a_file.write_text("x")
    for kwargs, words in (({"serving_base": a_file}, "is a file"),
                          ({"serving_base": tmp_path / "b", "out_dir": tmp_path / "c"},
                           "not both")):
        try:
            export_model(trained.model_dir, **kwargs)
        except SlotfillError as err:
            assert words in str(err)
        else:
            raise AssertionError(f"export_model{kwargs} did not refuse")
