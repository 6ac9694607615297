"""The SavedModel: plain TensorFlow, raw strings in, the same tags as the Keras model out."""

import json
import subprocess
import sys
import textwrap

from slotfill.tagger import Tagger
from slotfill.tokenizer import tokenize

LOAD_WITH_PLAIN_TF = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    texts = json.loads(sys.stdin.read())
    model = tf.saved_model.load(sys.argv[1])
    out = model.signatures["serving_default"](text=tf.constant(texts, tf.string))
    result = []
    for i, n in enumerate(out["length"].numpy()):
        result.append({
            "tokens": [t.decode() for t in out["tokens"].numpy()[i][:n]],
            "tags": [t.decode() for t in out["tags"].numpy()[i][:n]],
            "intent": out["intent"].numpy()[i].decode(),
        })
    # (TensorFlow itself may import parts of keras; slotfill must not be needed.)
    assert "slotfill" not in sys.modules
    print(json.dumps(result))
""")


def tag_with_plain_tensorflow(saved_model, texts):
    done = subprocess.run([sys.executable, "-c", LOAD_WITH_PLAIN_TF, str(saved_model)],
                          input=json.dumps(texts), capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_saved_model_matches_keras_on_the_whole_test_split(trained, bundled):
    texts = [" ".join(tokens) for tokens in bundled["test"]["tokens"]]
    texts += ["Arrive TAIPEI on November 2nd.", "fly from st. louis, to Boston!", ""]
    exported = tag_with_plain_tensorflow(trained.model_dir / "saved_model", texts)
    expected = Tagger.load(trained.model_dir).tag(texts)
    assert len(exported) == len(expected)
    for got, want in zip(exported, expected):
        assert got["tokens"] == want.tokens == [t.text for t in tokenize(want.text)]
        assert got["tags"] == want.tags
        assert got["intent"] == (want.intent or "")
