"""Tests for the linear-chain CRF layer: exact against brute-force enumeration on tiny inputs."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import slotfill
from slotfill import bio
from slotfill.layers.crf import CRF

NUM_TAGS = 3
# A BIO scheme with one slot: 0 = O, 1 = B, 2 = I. I may not follow O nor start a sentence,
# and (arbitrarily, to test end constraints) a sentence may not end in B.
BIO_TRANSITIONS = [[True, True, False], [True, True, True], [True, True, True]]
BIO_START = [True, True, False]
BIO_END = [True, False, True]
# Lengths of the rows of the test batch (time axis padded to 4); 0 is an all-padding row.
LENGTHS = [4, 3, 2, 1, 0]


def make_crf(constrained: bool, seed: int = 0) -> CRF:
    """A built CRF with random (non-trivial) weights so every term of the score matters."""
    kwargs = {}
    if constrained:
        kwargs = {
            "allowed_transitions": BIO_TRANSITIONS,
            "allowed_start": BIO_START,
            "allowed_end": BIO_END,
        }
    crf = CRF(NUM_TAGS, **kwargs)
    crf.build((None, None, NUM_TAGS))
    rng = np.random.default_rng(seed)
    crf.transitions.assign(rng.normal(size=(NUM_TAGS, NUM_TAGS)).astype("float32"))
    crf.start_transitions.assign(rng.normal(size=NUM_TAGS).astype("float32"))
    crf.end_transitions.assign(rng.normal(size=NUM_TAGS).astype("float32"))
    return crf


def make_batch(lengths, max_len=4, seed=1):
    rng = np.random.default_rng(seed)
    emissions = rng.normal(scale=2.0, size=(len(lengths), max_len, NUM_TAGS)).astype("float32")
    mask = np.arange(max_len)[None, :] < np.asarray(lengths)[:, None]
    return emissions, mask


def penalised_potentials(crf: CRF):
    """Numpy transition/start/end scores including the constraint penalty, in float64."""

    def penalty(allowed, shape):
        if allowed is None:
            return np.zeros(shape)
        return np.where(np.asarray(allowed), 0.0, -1e4)

    k = crf.num_tags
    trans = crf.transitions.numpy().astype("float64") + penalty(crf.allowed_transitions, (k, k))
    start = crf.start_transitions.numpy().astype("float64") + penalty(crf.allowed_start, (k,))
    end = crf.end_transitions.numpy().astype("float64") + penalty(crf.allowed_end, (k,))
    return trans, start, end


def brute_force(crf: CRF, emissions: np.ndarray):
    """All paths of one unpadded sentence [n, K] with their scores, by enumeration."""
    trans, start, end = penalised_potentials(crf)
    n = emissions.shape[0]
    paths = list(itertools.product(range(crf.num_tags), repeat=n))
    scores = []
    for path in paths:
        score = start[path[0]] + end[path[-1]]
        score += sum(emissions[t, y] for t, y in enumerate(path))
        score += sum(trans[a, b] for a, b in zip(path[:-1], path[1:], strict=True))
        scores.append(score)
    scores = np.asarray(scores)
    log_z = np.logaddexp.reduce(scores)
    return np.asarray(paths), scores, log_z


@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize("use_mask", [False, True])
def test_log_likelihood_matches_brute_force(constrained, use_mask):
    crf = make_crf(constrained)
    lengths = LENGTHS[:-1] if use_mask else [4, 4, 4]
    emissions, mask = make_batch(lengths)
    rng = np.random.default_rng(2)
    for _ in range(3):
        tags = rng.integers(0, NUM_TAGS, size=mask.shape)
        got = crf.log_likelihood(emissions, tags, mask if use_mask else None).numpy()
        for b, n in enumerate(lengths):
            paths, scores, log_z = brute_force(crf, emissions[b, :n].astype("float64"))
            index = next(i for i, p in enumerate(paths) if tuple(p) == tuple(tags[b, :n]))
            # Disallowed gold paths score about -1e4; a relative tolerance covers float32 there.
            np.testing.assert_allclose(got[b], scores[index] - log_z, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("constrained", [False, True])
def test_log_partition_normalises_over_all_paths(constrained):
    """exp(log_likelihood) summed over every path of each sentence is 1."""
    crf = make_crf(constrained, seed=3)
    for n in (1, 2, 3, 4):
        emissions, mask = make_batch([n], max_len=4, seed=n)
        paths = np.asarray(list(itertools.product(range(NUM_TAGS), repeat=n)))
        tags = np.zeros((len(paths), 4), dtype="int32")
        tags[:, :n] = paths
        batch = np.repeat(emissions, len(paths), axis=0)
        masks = np.repeat(mask, len(paths), axis=0)
        log_p = crf.log_likelihood(batch, tags, masks).numpy().astype("float64")
        np.testing.assert_allclose(np.exp(log_p).sum(), 1.0, rtol=1e-4)


@pytest.mark.parametrize("constrained", [False, True])
def test_decode_and_marginals_match_brute_force(constrained):
    crf = make_crf(constrained, seed=4)
    emissions, mask = make_batch(LENGTHS, seed=5)
    decoded = crf.decode(emissions, mask).numpy()
    posteriors = crf.marginals(emissions, mask).numpy()
    assert decoded.dtype == np.int32 and decoded.shape == mask.shape
    assert posteriors.shape == emissions.shape
    for b, n in enumerate(LENGTHS):
        assert np.all(decoded[b, n:] == 0)
        assert np.all(posteriors[b, n:] == 0.0)
        if n == 0:
            continue
        paths, scores, log_z = brute_force(crf, emissions[b, :n].astype("float64"))
        np.testing.assert_array_equal(decoded[b, :n], paths[np.argmax(scores)])
        probs = np.exp(scores - log_z)
        expected = np.zeros((n, NUM_TAGS))
        for path, p in zip(paths, probs, strict=True):
            expected[np.arange(n), path] += p
        np.testing.assert_allclose(posteriors[b, :n], expected, atol=1e-5)
        np.testing.assert_allclose(posteriors[b, :n].sum(axis=-1), 1.0, atol=1e-5)


def test_padding_does_not_change_results():
    """A padded batch gives the same outputs as each sentence alone."""
    crf = make_crf(constrained=False, seed=6)
    emissions, mask = make_batch([4, 2], max_len=4, seed=7)
    # Garbage in the padding must be ignored.
    emissions[1, 2:] = 100.0
    tags = np.array([[0, 1, 2, 1], [2, 2, -1, -1]])
    batch_loss = crf.loss(tags, emissions).numpy()
    batch_decode = crf.decode(emissions, mask).numpy()
    batch_post = crf.marginals(emissions, mask).numpy()
    alone = emissions[1:, :2]
    np.testing.assert_allclose(batch_loss[1], crf.loss(tags[1:, :2], alone).numpy()[0], rtol=1e-6)
    np.testing.assert_array_equal(batch_decode[1, :2], crf.decode(alone, None).numpy()[0])
    np.testing.assert_allclose(batch_post[1, :2], crf.marginals(alone, None).numpy()[0], atol=1e-6)


def test_constrained_decode_never_uses_disallowed_transitions():
    crf = make_crf(constrained=True, seed=8)
    rng = np.random.default_rng(9)
    lengths = rng.integers(1, 9, size=64)
    emissions, mask = make_batch(lengths, max_len=8, seed=10)
    # Emissions strongly favour I (tag 2) everywhere, which would violate the constraints.
    emissions = emissions * 5.0
    emissions[..., 2] += 20.0
    decoded = crf.decode(emissions, mask).numpy()
    allowed = np.asarray(BIO_TRANSITIONS)
    for path, n in zip(decoded, lengths, strict=True):
        path = path[:n]
        assert BIO_START[path[0]] and BIO_END[path[-1]], path
        assert all(allowed[a, b] for a, b in zip(path[:-1], path[1:], strict=True)), path
    # Constrained paths also get (numerically) zero posterior mass.
    posteriors = crf.marginals(emissions, mask).numpy()
    assert np.all(posteriors[:, 0, 2] < 1e-6)


def test_loss_accepts_float_targets_and_empty_rows_without_nan():
    crf = make_crf(constrained=True, seed=11)
    emissions, _ = make_batch([3, 0])
    y_true = np.array([[0.0, 1.0, 2.0, -1.0], [-1.0, -1.0, -1.0, -1.0]], dtype="float32")
    emissions = tf.constant(emissions)
    with tf.GradientTape() as tape:
        tape.watch(emissions)
        loss = crf.loss(y_true, emissions)
        total = tf.reduce_sum(loss)
    grads = tape.gradient(total, [emissions, *crf.trainable_weights])
    assert loss.shape == (2,)
    assert loss.numpy()[0] > 0.0 and loss.numpy()[1] == 0.0
    int_loss = crf.loss(y_true.astype("int32"), emissions).numpy()
    np.testing.assert_allclose(loss.numpy(), int_loss)
    for grad in grads:
        assert grad is not None and np.all(np.isfinite(grad.numpy()))
    # The empty row contributes no gradient at all.
    assert np.all(grads[0].numpy()[1] == 0.0)


def test_extreme_scores_stay_finite():
    """Confident emissions far apart (and forbidden paths) must not overflow to inf or NaN."""
    crf = make_crf(constrained=True, seed=13)
    emissions, mask = make_batch(LENGTHS, seed=14)
    emissions = tf.constant(emissions * 100.0)
    tags = np.where(mask, 2, -1)  # starts with I: a forbidden gold path
    with tf.GradientTape() as tape:
        tape.watch(emissions)
        loss = crf.loss(tags, emissions)
        total = tf.reduce_sum(loss)
    grads = tape.gradient(total, [emissions, *crf.trainable_weights])
    assert np.all(np.isfinite(loss.numpy()))
    for grad in grads:
        assert np.all(np.isfinite(grad.numpy()))
    posteriors = crf.marginals(emissions, mask).numpy()
    assert np.all(np.isfinite(posteriors))
    np.testing.assert_allclose(posteriors[mask].sum(axis=-1), 1.0, atol=1e-4)


def test_constraints_are_constants_not_weights():
    crf = make_crf(constrained=True)
    assert [w.name for w in crf.trainable_weights] == [
        "transitions",
        "start_transitions",
        "end_transitions",
    ]
    assert crf.non_trainable_weights == []
    assert crf.transitions.shape == (NUM_TAGS, NUM_TAGS)


def test_new_layer_weights_are_small():
    crf = CRF(5)
    crf.build((None, None, 5))
    for weight in crf.trainable_weights:
        assert np.all(np.abs(weight.numpy()) <= 0.1)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"num_tags": 0}, "num_tags"),
        ({"num_tags": 2.5}, "num_tags"),
        ({"num_tags": 3, "allowed_transitions": [[True] * 3] * 2}, "allowed_transitions"),
        ({"num_tags": 3, "allowed_start": [True, True]}, "allowed_start"),
        ({"num_tags": 3, "allowed_end": [False, False, False]}, "allowed_end"),
        ({"num_tags": 2, "allowed_start": ["yes", "no"]}, "allowed_start"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, word):
    with pytest.raises(ValueError, match=word):
        CRF(**kwargs)


def test_wrong_emission_size_raises():
    crf = CRF(3)
    with pytest.raises(ValueError, match="num_tags"):
        crf(keras.Input(shape=(None, 4)))


def test_config_round_trip():
    crf = CRF(
        NUM_TAGS,
        allowed_transitions=BIO_TRANSITIONS,
        allowed_start=BIO_START,
        allowed_end=BIO_END,
        name="tags",
    )
    config = crf.get_config()
    assert type(config["allowed_transitions"]) is list
    assert type(config["allowed_transitions"][0]) is list
    assert type(config["allowed_start"]) is list
    restored = CRF.from_config(json.loads(json.dumps(config)))
    assert restored.get_config() == config
    assert restored.allowed_transitions == BIO_TRANSITIONS
    assert CRF.from_config(CRF(2).get_config()).allowed_end is None


# Toy task: token id -> tag is deterministic (1 -> O, 2 -> B, 3 -> I, 4 -> O), id 0 is padding.
TOKEN_TO_TAG = {1: 0, 2: 1, 3: 2, 4: 0}


def toy_data(seed=0, count=48, max_len=6):
    """Padded token ids (0 = pad) and their tags (-1 = pad), BIO-valid under the constraints."""
    rng = np.random.default_rng(seed)
    tokens = np.zeros((count, max_len), dtype="int32")
    tags = np.full((count, max_len), -1, dtype="int32")
    for i in range(count):
        n = int(rng.integers(1, max_len + 1))
        sentence = []
        while len(sentence) < n:
            if rng.random() < 0.5:
                sentence.append(int(rng.choice([1, 4])))
            else:
                sentence += [2] + [3] * int(rng.integers(1, 3))
        sentence = sentence[:n]
        if sentence[-1] == 2:  # BIO_END forbids ending in B
            sentence[-1] = 1
        tokens[i, :n] = sentence
        tags[i, :n] = [TOKEN_TO_TAG[t] for t in sentence]
    return tokens, tags


def build_toy_model():
    keras.utils.set_random_seed(0)
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(5, 8, mask_zero=True)(tokens)
    emissions = keras.layers.Dense(NUM_TAGS)(x)
    crf = CRF(
        NUM_TAGS,
        allowed_transitions=BIO_TRANSITIONS,
        allowed_start=BIO_START,
        allowed_end=BIO_END,
        name="tags",
    )
    model = keras.Model(tokens, {"tags": crf(emissions)})
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss={"tags": crf.loss})
    return model, crf


@pytest.fixture(scope="module")
def trained_toy_model():
    model, crf = build_toy_model()
    tokens, tags = toy_data()
    history = model.fit(tokens, {"tags": tags}, epochs=15, batch_size=16, verbose=0)
    return model, crf, history


def test_training_lowers_loss_and_learns_toy_tagging(trained_toy_model):
    model, crf, history = trained_toy_model
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.25 * losses[0]
    tokens, tags = toy_data(seed=1, count=16)
    emissions = model.predict(tokens, verbose=0)["tags"]
    decoded = crf.decode(emissions, tokens > 0).numpy()
    mask = tokens > 0
    np.testing.assert_array_equal(decoded[mask], tags[mask])
    assert np.all(decoded[~mask] == 0)
    for weight in crf.trainable_weights:
        assert np.all(np.isfinite(weight.numpy()))


def test_model_output_carries_no_mask(trained_toy_model):
    model, _, _ = trained_toy_model
    out = model(np.array([[1, 2, 0]]))["tags"]
    assert getattr(out, "_keras_mask", None) is None


def test_keras_file_loads_in_fresh_process_without_custom_objects(trained_toy_model, tmp_path):
    model, crf, _ = trained_toy_model
    path = tmp_path / "toy.keras"
    model.save(path)
    tokens, _ = toy_data(seed=2, count=8)
    expected = crf.decode(model.predict(tokens, verbose=0)["tags"], tokens > 0).numpy()
    script = (
        "import json, sys, numpy as np, keras\n"
        "import slotfill.layers\n"
        # compile=False: Keras cannot deserialize a bound method (crf.loss) as a loss.
        "model = keras.models.load_model(sys.argv[1], compile=False)\n"
        "crf = model.get_layer('tags')\n"
        "tokens = np.array(json.loads(sys.argv[2]), dtype='int32')\n"
        "emissions = model.predict(tokens, verbose=0)['tags']\n"
        "print(json.dumps({'decoded': crf.decode(emissions, tokens > 0).numpy().tolist(),\n"
        "                  'config': crf.get_config()}))\n"
    )
    repo_root = Path(slotfill.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(repo_root), KERAS_BACKEND="tensorflow")
    result = subprocess.run(
        [sys.executable, "-c", script, str(path), json.dumps(tokens.tolist())],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = json.loads(result.stdout.strip().splitlines()[-1])
    np.testing.assert_array_equal(np.array(output["decoded"]), expected)
    assert output["config"]["allowed_transitions"] == BIO_TRANSITIONS


class CRFDecoder(tf.Module):
    def __init__(self, crf: CRF):
        super().__init__()
        self.crf = crf

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, NUM_TAGS], tf.float32),
            tf.TensorSpec([None, None], tf.bool),
        ]
    )
    def decode(self, emissions, mask):
        return self.crf.decode(emissions, mask)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, NUM_TAGS], tf.float32),
            tf.TensorSpec([None, None], tf.bool),
        ]
    )
    def marginals(self, emissions, mask):
        return self.crf.marginals(emissions, mask)


def test_tf_function_saved_model_round_trip(tmp_path):
    crf = make_crf(constrained=True, seed=12)
    tf.saved_model.save(CRFDecoder(crf), str(tmp_path / "decoder"))
    loaded = tf.saved_model.load(str(tmp_path / "decoder"))
    # Two different batch and time sizes through the same traced signature.
    for lengths, max_len in (([4, 2, 0], 4), ([1], 1), ([7, 5], 9)):
        emissions, mask = make_batch(lengths, max_len=max_len, seed=max_len)
        np.testing.assert_array_equal(
            loaded.decode(tf.constant(emissions), tf.constant(mask)).numpy(),
            crf.decode(emissions, mask).numpy(),
        )
        np.testing.assert_allclose(
            loaded.marginals(tf.constant(emissions), tf.constant(mask)).numpy(),
            crf.marginals(emissions, mask).numpy(),
            atol=1e-6,
        )


def bio_constraints(slots: int) -> list[list[bool]]:
    """Tags O, B-1, I-1, ..., B-n, I-n: I-x only after B-x or I-x."""
    k = 1 + 2 * slots
    allowed = np.ones((k, k), bool)
    for x in range(slots):
        inside = 2 + 2 * x
        allowed[:, inside] = False
        allowed[inside - 1, inside] = allowed[inside, inside] = True
    return allowed.tolist()


def numpy_viterbi(trans, start, end, emissions):
    """Best path of one unpadded sentence by dynamic programming (float64)."""
    delta = start + emissions[0]
    back = []
    for emit in emissions[1:]:
        scores = delta[:, None] + trans
        back.append(np.argmax(scores, axis=0))
        delta = scores.max(axis=0) + emit
    path = [int(np.argmax(delta + end))]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    return path[::-1]


def bio_labels(slots: int) -> list[str]:
    """The labels ``bio_constraints`` numbers: O, B-1, I-1, ..., B-n, I-n."""
    return ["O"] + [f"{p}-{x}" for x in range(1, slots + 1) for p in "BI"]


@pytest.mark.parametrize(("constrained", "numbering"),
                         [(False, "interleaved"), (True, "interleaved"), (True, "crf_order")])
@pytest.mark.parametrize("scale", [0.5, 30.0])  # flat and peaked scores
def test_decode_with_many_tags_matches_dynamic_programming(constrained, numbering, scale):
    # 41 tags with BIO constraints, an ATIS-like structure at a size brute force cannot check.
    # Numbered O, B-1, I-1, ... the step reorders the tags; numbered as slotfill numbers
    # them (bio.crf_order), it need not.
    slots = 20
    allowed = bio_constraints(slots) if constrained else None
    if numbering == "crf_order":
        labels = bio_labels(slots)
        allowed = bio.allowed_transitions(bio.crf_order(labels))[0]
    crf = CRF(1 + 2 * slots, allowed_transitions=allowed)
    assert crf._max_plus.is_identity == (numbering == "crf_order" or not constrained)
    crf.build((None, None, crf.num_tags))
    rng = np.random.default_rng(12)
    crf.transitions.assign(rng.normal(size=(crf.num_tags,) * 2).astype("float32"))
    lengths = [9, 1, 6, 0, 9, 3] * 7  # enough rows for the pruned Viterbi step
    emissions = (rng.normal(size=(len(lengths), 9, crf.num_tags)) * scale).astype("float32")
    mask = np.arange(9)[None, :] < np.asarray(lengths)[:, None]
    decoded = crf.decode(emissions, mask).numpy()
    trans, start, end = penalised_potentials(crf)
    for b, n in enumerate(lengths):
        assert np.all(decoded[b, n:] == 0)
        if n:
            want = numpy_viterbi(trans, start, end, emissions[b, :n].astype("float64"))
            assert decoded[b, :n].tolist() == want
