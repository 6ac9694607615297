"""Bad input of every kind: odd text, broken datasets, broken model folders, threads.

Whatever a user throws at slotfill, the library must not crash on text, and the CLI must
answer a bad file with one line naming it (and the line, where there is one), exit 1 and
never show a traceback. A test that pins a known, unfixed bug is marked
``xfail(strict=True, raises=...)``, so it turns red (XPASS) once the bug is fixed; none is
open now: every test below once found a bug that has since been fixed.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import zipfile
from pathlib import Path

import pytest
import tensorflow as tf
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.robustness import GOOD, poison_emissions, write_atis  # written once
from slotfill import bio
from slotfill.cli import cli
from slotfill.model_dir import ModelError
from slotfill.tagger import Tagger, TagResult
from slotfill.tokenizer import CLOSING, OPENING, tokenize

_WORDS = "fly from boston to denver on monday morning".split()

TYPED = {
    "empty": "",
    "whitespace_only": " \t\n\r\u3000\u00a0 ",
    "emoji": "fly 🛫 to Denver 😀👍🏽 👨\u200d👩\u200d👧 please!",
    "mixed_scripts": "fly from Boston to 東京 then القاهرة tomorrow",
    "control_characters": "fly\x00 from\x07 bos\x1bton\x7f to \x1f\x08denver\x00",
    "tabs": "\tfly\tfrom\tboston\t\tto\tdenver\t",
    "word_of_500_characters": "fly to " + "x" * 500,
    "only_punctuation": "!?.,;:()[]{}\"'...--«»¿¡…",
    "combining_marks_and_bom": "\ufeffcafe\u0301 to zu\u0308rich \u200b",
}
# A line of exactly 10,000 tokens, made of words the model knows.
LONG_LINE = " ".join(_WORDS[i % len(_WORDS)] for i in range(10_000))


@pytest.fixture(scope="module")
def tagger(trained) -> Tagger:
    return Tagger.load(trained.model_dir)


@pytest.fixture(scope="module")
def serving(trained):
    """The exported signature, loaded with plain TensorFlow."""
    return tf.saved_model.load(str(trained.model_dir / "saved_model")).signatures["serving_default"]


def assert_sound(result: TagResult, text: str, *, has_intent: bool = True) -> None:
    """What every TagResult must satisfy, whatever the text."""
    assert result.text == text
    assert result.tokens == [t.text for t in tokenize(text)]
    assert len(result.tags) == len(result.tokens)
    assert bio.is_well_formed(result.tags), result.tags
    assert len(result.slots) == len(bio.to_spans(result.tags))
    for slot in result.slots:
        assert 0 <= slot.start < slot.end <= len(text)
        assert text[slot.start:slot.end] == slot.value
        assert 0.0 <= slot.confidence <= 1.0
    # With an intent head: an intent exactly when there is something to tag.
    assert (result.intent is not None) == (has_intent and bool(result.tokens))


def serve(serving, texts: list[str]) -> list[dict]:
    """Run the SavedModel, check each row on its own, and cut it at its length."""
    out = {k: v.numpy() for k, v in serving(text=tf.constant(texts, tf.string)).items()}
    rows = []
    for i, (text, n) in enumerate(zip(texts, out["length"])):
        tokens = [t.decode("utf-8") for t in out["tokens"][i][:n]]
        tags = [t.decode("utf-8") for t in out["tags"][i][:n]]
        # The same tokens as the Python tokenizer, one well-formed tag each, "" past the end.
        assert tokens == [t.text for t in tokenize(text)]
        assert len(tags) == len(tokens) and bio.is_well_formed(tags), tags
        assert set(out["tokens"][i][n:]) <= {b""} and set(out["tags"][i][n:]) <= {b""}
        intent = out["intent"][i].decode("utf-8")
        assert bool(intent) == bool(tokens)
        rows.append({"tokens": tokens, "tags": tags, "intent": intent,
                     "intent_confidence": float(out["intent_confidence"][i]),
                     "tag_confidence": [float(c) for c in out["tag_confidence"][i][:n]]})
    return rows


def _split_confidences(result: TagResult) -> tuple[dict, list[float]]:
    data = result.to_dict()
    confidences = [data.pop("intent_confidence") or 0.0]
    confidences += [slot.pop("confidence") for slot in data["slots"]]
    return data, confidences


def assert_same_results(got: list[TagResult], want: list[TagResult]) -> None:
    """Equal results; confidences up to float noise."""
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g_data, g_conf = _split_confidences(g)
        w_data, w_conf = _split_confidences(w)
        assert g_data == w_data
        assert g_conf == pytest.approx(w_conf, abs=1e-5)


# --- text as a person types it ---------------------------------------------------------


@pytest.mark.parametrize("text", TYPED.values(), ids=TYPED.keys())
def test_typed_text_through_the_tagger_and_the_saved_model(tagger, serving, text):
    assert_sound(tagger.tag([text])[0], text)
    serve(serving, [text])


def test_a_batch_of_odd_texts_keeps_each_result_with_its_text(tagger, serving):
    texts = list(TYPED.values())
    for result, text in zip(tagger.tag(texts), texts, strict=True):
        assert_sound(result, text)
    assert len(serve(serving, texts)) == len(texts)


def test_a_line_of_ten_thousand_tokens(tagger, serving):
    result = tagger.tag([LONG_LINE])[0]
    assert len(result.tokens) == 10_000
    assert_sound(result, LONG_LINE)
    assert serve(serving, [LONG_LINE])[0]["tokens"] == result.tokens


# Padding must never change a result. It once did: with chars on, keras's Concatenate ORed
# the word mask with an all-true one, so the BiLSTM, pooling and CRF read padding steps; and
# CharCNN convolved the pad embedding at word ends. The Tagger pads a batch to a multiple of
# 8 steps, the SavedModel to its longest text, so padding shows as a disagreement too.


def test_results_do_not_depend_on_the_rest_of_the_batch(tagger):
    texts = list(TYPED.values())
    alone = [tagger.tag([text])[0] for text in texts]
    # Words of at most 8 characters: only the time axis grows.
    assert_same_results(tagger.tag([*texts, "to " * 30])[:-1], alone)


def test_the_saved_model_decides_as_the_tagger(tagger, serving):
    for text in TYPED.values():
        result, row = tagger.tag([text])[0], serve(serving, [text])[0]
        assert row["tags"] == result.tags and row["intent"] == (result.intent or "")
        assert row["intent_confidence"] == pytest.approx(result.intent_confidence or 0.0,
                                                         abs=1e-5)
        slots = [min(row["tag_confidence"][s.start:s.end]) for s in bio.to_spans(row["tags"])]
        assert slots == pytest.approx([s.confidence for s in result.slots], abs=1e-5)


def test_results_do_not_depend_on_a_longer_word_in_the_batch(tagger):
    text = "show flights on thursday"  # thursday fills the minimum char width (8) exactly
    # One more token: the time axis stays at 8 steps, only the char axis grows.
    assert_same_results(tagger.tag([text, "x" * 30])[:1], tagger.tag([text]))


def test_an_empty_batch_gives_no_results(tagger):
    assert tagger.tag([]) == []


def test_the_saved_model_answers_an_empty_batch(serving):
    # Once failed: CharCNN reshaped [0, 1, 0] chars with (-1, 0) and TF inferred one row.
    out = serving(text=tf.constant([], tf.string))
    assert out["length"].shape == (0,) and out["tags"].shape[0] == 0


def test_non_strings_are_a_value_error(tagger):
    for bad in (None, b"fly to boston", 42):
        with pytest.raises(ValueError, match="must be a str"):
            tagger.tag([bad])


def test_a_bare_string_instead_of_a_list_is_a_value_error(tagger):
    # A str is a Sequence[str]: without a check every character would be tagged as a text.
    with pytest.raises(ValueError, match="texts"):
        tagger.tag("fly to boston")


# Pieces that stress the tokenizer's rules and the lookups: punctuation runs, odd spaces,
# known words, letters whose lower case is longer (İ), combining marks.
_PIECES = sorted(OPENING | CLOSING | set(".-'\x00\t\n \u3000\u200b\ufffd")) + [
    "boston", "St.", "to", "東京", "😀", "e\u0301", "İ", "ß", "x" * 25]
_TRICKY = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.text(max_size=80), _TRICKY), min_size=1, max_size=6))
def test_arbitrary_unicode_never_breaks_the_tagger(tagger, texts):
    results = tagger.tag(texts)
    assert len(results) == len(texts)
    for result, text in zip(results, texts):
        assert_sound(result, text)


def test_one_tagger_shared_by_four_threads_gives_the_serial_results(trained):
    # A fresh tagger, so the threads also trace the graph concurrently for new shapes.
    shared = Tagger.load(trained.model_dir)
    batches = [
        [" ".join(_WORDS[: 2 + (t + i) % 7]) for i in range(1 + 3 * t)] + [TYPED["emoji"]]
        for t in range(4)
    ]
    batches[3].append(" ".join(_WORDS * 5))  # a longer shape in one thread only
    start = threading.Barrier(len(batches))
    parallel: list = [None] * len(batches)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            start.wait(timeout=60)
            parallel[t] = [shared.tag(batches[t]) for _ in range(2)]
        except BaseException as err:  # re-raised in the main thread below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    for t, batch in enumerate(batches):
        serial = shared.tag(batch)
        for run in parallel[t]:
            assert_same_results(run, serial)


# --- datasets through the CLI ----------------------------------------------------------


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result


def assert_one_line_error(result, *must_contain: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert "unexpected" not in lines[0]
    for text in must_contain:
        assert text in lines[0], (text, lines[0])




def _count_mismatch(root: Path) -> tuple[Path, str]:
    write_atis(root, {"train": (GOOD[0], "O O B-toloc.city_name\n", GOOD[2]), "test": GOOD})
    return root, "data/train/seq.out:2:"


def _tag_count_mismatch(root: Path) -> tuple[Path, str]:
    write_atis(root, {"train": GOOD, "test": (GOOD[0], "O O B-toloc.city_name\nO O O\n", None)})
    return root, "data/test/seq.out:2:"


def _illegal_tag(root: Path) -> tuple[Path, str]:
    write_atis(root, {"train": (GOOD[0], "O O X-toloc.city_name\nO O\n", GOOD[2]), "test": GOOD})
    return root, "data/train/seq.out:1:"


def _non_utf8(root: Path) -> tuple[Path, str]:
    write_atis(root, {"train": GOOD, "test": GOOD})
    (root / "test" / "seq.in").write_bytes(b"fly to boston\nshow f\xe4res\n")
    return root, "data/test/seq.in:2:"


def _empty_split(root: Path) -> tuple[Path, str]:
    write_atis(root, {"train": GOOD, "test": ("", "", "")})
    return root, "data/test/seq.in"


def _missing_folder(root: Path) -> tuple[Path, str]:
    return root / "nowhere", "nowhere"


def _missing_test_split(root: Path) -> tuple[Path, str]:
    write_atis(root, {"train": GOOD})
    return root, "data/test:"


def _conll_one_column(root: Path) -> tuple[Path, str]:
    root.mkdir()
    (root / "train.txt").write_text("fly O\nto O\nboston B-toloc.city_name\n\nshow O\nfares O\n")
    (root / "test.txt").write_text("# intent: flight\nfly O\nto\nboston B-toloc.city_name\n")
    return root, "data/test.txt:3:"


def _conll_only_comments(root: Path) -> tuple[Path, str]:
    root.mkdir()
    (root / "train.txt").write_text("fly O\nto O\n\nshow O\nfares O\n")
    (root / "test.txt").write_text("# just a comment\n-DOCSTART- O\n\n")
    return root, "data/test.txt"


BAD_DATASETS = {
    "line_count_mismatch": _count_mismatch,
    "tag_count_mismatch": _tag_count_mismatch,
    "illegal_tag": _illegal_tag,
    "non_utf8_bytes": _non_utf8,
    "empty_split": _empty_split,
    "missing_folder": _missing_folder,
    "missing_test_split": _missing_test_split,
    "conll_one_column": _conll_one_column,
    "conll_no_utterances": _conll_only_comments,
}


@pytest.mark.parametrize("make", BAD_DATASETS.values(), ids=BAD_DATASETS.keys())
def test_bad_dataset_is_one_line_naming_file_and_line(make, tmp_path, isolated_models):
    data, where = make(tmp_path / "data")
    out = tmp_path / "model"
    result = invoke("train", "--data", str(data), "--out", str(out), "--epochs", "1", "--quiet")
    assert_one_line_error(result, where)
    assert not out.exists() and not isolated_models.exists()


# --- model folders on disk -------------------------------------------------------------


def copy_model(trained, destination: Path) -> Path:
    # saved_model/ is not needed to load a Tagger; skipping it keeps the copies cheap.
    shutil.copytree(trained.model_dir, destination, ignore=shutil.ignore_patterns("saved_model"))
    return destination


def _append(path: Path, lines: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + lines, encoding="utf-8")


def _no_folder(folder: Path) -> str:
    shutil.rmtree(folder)
    return "does not exist"


def _no_model_file(folder: Path) -> str:
    (folder / "model.keras").unlink()
    return "model.keras"


def _random_bytes(folder: Path) -> str:
    (folder / "model.keras").write_bytes(os.urandom(4096))
    return "model.keras"


def _zip_without_a_model(folder: Path) -> str:
    with zipfile.ZipFile(folder / "model.keras", "w") as archive:
        archive.writestr("hello.txt", "not a model")
    return "model.keras"


def _words_extra_lines(folder: Path) -> str:
    _append(folder / "vocab" / "words.txt", "zzextra1\nzzextra2\n")
    return "inconsistent"


def _nan_weights(folder: Path) -> str:
    # A structurally valid file whose emissions are NaN used to tag every word O, exit 0.
    poison_emissions(folder / "model.keras")
    return "NaN"


BAD_MODELS = {
    "missing_folder": _no_folder,
    "missing_model_keras": _no_model_file,
    "corrupt_model_keras": _random_bytes,
    "zip_without_a_model": _zip_without_a_model,
    "words_txt_extra_lines": _words_extra_lines,
    "nan_weights": _nan_weights,
}


@pytest.fixture
def tiny_data(tmp_path) -> Path:
    """A three-sentence dataset, so `evaluate` on a model that loads stays fast."""
    return write_atis(tmp_path / "tiny-data", {
        "train": GOOD,
        "valid": GOOD,
        "test": ("fly to boston\n", "O O B-toloc.city_name\n", "flight\n"),
    })


@pytest.mark.parametrize("command", ["tag", "evaluate", "export"])
@pytest.mark.parametrize("spoil", BAD_MODELS.values(), ids=BAD_MODELS.keys())
def test_bad_model_folder_is_one_line_and_exit_1(trained, tmp_path, tiny_data, spoil, command):
    folder = copy_model(trained, tmp_path / "model")
    expected = spoil(folder)
    extra = {"tag": ["fly to boston"], "evaluate": ["--data", str(tiny_data)],
             "export": ["--out", str(tmp_path / "export")]}[command]
    result = invoke(command, "--model", str(folder), *extra)
    assert_one_line_error(result, str(folder), expected)
    assert not (tmp_path / "export").exists()


def test_corrupt_model_file_is_not_reported_as_missing(trained, tmp_path):
    # Keras's own message for random bytes is "File not found: filepath=...".
    folder = copy_model(trained, tmp_path / "model")
    _random_bytes(folder)
    with pytest.raises(ModelError) as caught:
        Tagger.load(folder)
    assert "not found" not in str(caught.value).lower()
    assert "model.keras" in str(caught.value)


# What each did before the load-time checks: a missing chars.txt printed a TensorFlow stack,
# extra chars failed in char_embedding on the new characters, a missing intents.txt gave
# "unexpected TypeError" (and export wrote a broken SavedModel), an extra intent tagged
# silently, fewer intents gave "unexpected IndexError".
VOCAB_CASES = {
    "words_extra": lambda v: _append(v / "words.txt", "zzextra\n"),
    "tags_extra": lambda v: _append(v / "tags.txt", "B-zzextra\n"),
    "chars_missing": lambda v: (v / "chars.txt").unlink(),
    "chars_extra": lambda v: _append(v / "chars.txt", "ü\n€\n"),
    "intents_missing": lambda v: (v / "intents.txt").unlink(),
    "intents_extra": lambda v: _append(v / "intents.txt", "zz_extra\n"),
    "intents_fewer": lambda v: (v / "intents.txt").write_text("flight\n"),
}


@pytest.mark.parametrize("edit", VOCAB_CASES.values(), ids=VOCAB_CASES.keys())
def test_vocab_files_that_do_not_fit_the_model_are_refused_at_load(trained, tmp_path, edit):
    folder = copy_model(trained, tmp_path / "model")
    edit(folder / "vocab")
    with pytest.raises(ModelError) as caught:
        Tagger.load(folder)
    assert str(folder) in str(caught.value) and "\n" not in str(caught.value)
    # And the CLI says so in one line, whatever text it is given.
    assert_one_line_error(invoke("tag", "--model", str(folder), "fly to münchen €"), str(folder))


def _model_without_chars(folder: Path) -> Path:
    """An untrained --no-chars --no-intent model folder: enough to test loading, built in 1 s."""
    from slotfill.config import Config
    from slotfill.models import build_model
    from slotfill.preprocess import Encoder

    config = Config(chars=False, intent=False, hidden=4, embedding_dim=4)
    encoder = Encoder.build([["fly", "to", "boston"]], [["O", "O", "B-city"]], None,
                            chars=False, max_word_length=config.max_word_length)
    folder.mkdir()
    build_model(config, encoder).save(folder / "model.keras")
    config.save(folder / "config.json")
    encoder.save(folder / "vocab")
    return folder


def test_a_hand_built_model_folder_loads_and_tags(tmp_path):
    folder = _model_without_chars(tmp_path / "model")
    result = Tagger.load(folder).tag(["fly to Boston"])[0]
    assert_sound(result, "fly to Boston", has_intent=False)
    assert len(result.tokens) == 3


def test_chars_txt_beside_a_model_without_chars_is_refused(tmp_path):
    # Unchecked, the encoder feeds a "chars" input the model lacks: a TensorFlow stack.
    folder = _model_without_chars(tmp_path / "model")
    (folder / "vocab" / "chars.txt").write_text("<pad>\n<unk>\nf\nl\ny\n", encoding="utf-8")
    with pytest.raises(ModelError):
        Tagger.load(folder)
    assert_one_line_error(invoke("tag", "--model", str(folder), "fly"), str(folder))


def test_export_never_replaces_a_file(trained, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("keep me\n")
    result = invoke("export", "--model", str(trained.model_dir), "--out", str(target))
    assert_one_line_error(result, str(target))
    assert target.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# --- labels the model never saw ------------------------------------------------------------


def test_unseen_tags_and_intents_in_the_test_split_count_as_errors(trained, tmp_path):
    data = write_atis(tmp_path / "data", {
        "train": GOOD,
        "valid": GOOD,
        "test": ("fly to boston\nbook zorblax now\n",
                 "O O B-toloc.city_name\nO B-never_seen_slot O\n",
                 "flight\nnever_seen_intent\n"),
    })
    result = invoke("evaluate", "--model", str(trained.model_dir), "--data", str(data), "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["sentences"] == 2
    unseen = scores["per_slot"]["never_seen_slot"]
    assert unseen["support"] == 1 and unseen["recall"] == 0.0
    assert scores["slot_recall"] < 100.0
    # The second sentence's intent cannot be right, so at most one of two is.
    assert scores["intent_accuracy"] <= 50.0
    assert scores["sentence_accuracy"] <= 50.0
