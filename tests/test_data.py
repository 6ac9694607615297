"""Tests for slotfill.data: both formats, every validation error, repair, hold-out, paths."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
from conftest import BUNDLED, atis_path

from slotfill.data import (
    DEFAULT_DATA,
    DataError,
    load_dataset,
    resolve_data_path,
    write_split,
)

COLUMNS = ["tokens", "tags", "intent"]


def write_atis_split(root: Path, split: str, seq_in, seq_out, label=None) -> Path:
    """Write one split; each file is given as a list of lines, or as raw bytes."""
    folder = root / split
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (("seq.in", seq_in), ("seq.out", seq_out), ("label", label)):
        if content is None:
            continue
        data = content if isinstance(content, bytes) else ("\n".join(content) + "\n").encode()
        (folder / name).write_bytes(data)
    return folder


def tiny_atis(root: Path, *, valid: bool = True, labels: bool = True) -> Path:
    write_atis_split(
        root, "train",
        ["arrive Taipei on November 2nd", "fly to new york"],
        ["O B-toloc.city_name O B-arrive_date.month_name B-arrive_date.day_number",
         "O O B-toloc.city_name I-toloc.city_name"],
        ["flight", "flight#airfare"] if labels else None,
    )
    if valid:
        write_atis_split(root, "valid", ["hello"], ["O"], ["greet"] if labels else None)
    write_atis_split(root, "test", ["to boston please"], ["O B-city O"],
                     ["flight"] if labels else None)
    return root


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def many_examples(n: int) -> list[dict]:
    return [{"tokens": [f"w{i}", "city"], "tags": ["O", "B-loc"], "intent": f"i{i % 3}"}
            for i in range(n)]


# --- ATIS layout ---------------------------------------------------------------------------


def test_reads_atis_layout(tmp_path):
    data = load_dataset(tiny_atis(tmp_path))
    assert list(data) == ["train", "valid", "test"]
    for split in data.values():
        assert split.column_names == COLUMNS
    assert data["train"][0] == {
        "tokens": ["arrive", "Taipei", "on", "November", "2nd"],  # case is kept
        "tags": ["O", "B-toloc.city_name", "O", "B-arrive_date.month_name",
                 "B-arrive_date.day_number"],
        "intent": "flight",
    }
    assert data["train"][1]["intent"] == "flight#airfare"  # multi-intent kept as written
    assert data["valid"]["intent"] == ["greet"]
    assert data["test"][0]["tags"] == ["O", "B-city", "O"]


def test_missing_label_file_gives_empty_intents(tmp_path):
    data = load_dataset(tiny_atis(tmp_path, labels=False))
    assert set(data["train"]["intent"]) == {""}
    assert data["test"]["intent"] == [""]


def test_crlf_bom_trailing_whitespace_and_long_lines_are_tolerated(tmp_path):
    long_tokens = " ".join(f"t{i}" for i in range(300))
    write_atis_split(tmp_path, "train",
                     b"\xef\xbb\xbfa b  \r\n" + long_tokens.encode() + b"\t\r\n\r\n",
                     b"B-x I-x\r\n" + " ".join(["O"] * 300).encode() + b" \r\n",
                     b"one \r\ntwo\r\n")
    write_atis_split(tmp_path, "valid", b"x\r\n", b"O \r\n")
    write_atis_split(tmp_path, "test", b"caf\xc3\xa9", b"O", b"three")  # no final newline
    data = load_dataset(tmp_path)
    assert data["train"]["tokens"][0] == ["a", "b"]
    assert data["train"]["tags"][0] == ["B-x", "I-x"]
    assert len(data["train"]["tokens"][1]) == 300
    assert list(data["train"]["intent"]) == ["one", "two"]
    assert data["valid"][0] == {"tokens": ["x"], "tags": ["O"], "intent": ""}
    assert data["test"][0] == {"tokens": ["café"], "tags": ["O"], "intent": "three"}


def test_only_ascii_whitespace_separates_tokens(tmp_path):
    write_atis_split(tmp_path, "train", ["a\u00a0b c", "d"], ["O O", "O"])
    write_atis_split(tmp_path, "test", ["e"], ["O"])
    data = load_dataset(tmp_path, valid_fraction=0.5)
    assert ["a\u00a0b", "c"] in list(data["train"]["tokens"]) + list(data["valid"]["tokens"])


# --- CoNLL ---------------------------------------------------------------------------------

CONLL_TRAIN = """\
# a comment before everything
# intent: flight
arrive O
Taipei NNP B-toloc.city_name
on O
november\tB-arrive_date.month_name
2nd B-arrive_date.day_number


# intent = airline
# another comment
which O
# O
airlines O

-DOCSTART- -X- O O

plain O
"""


def test_reads_conll(tmp_path):
    write_text(tmp_path / "train.txt", CONLL_TRAIN)
    write_text(tmp_path / "valid.conll", "x B-a\ny I-a\n")
    write_text(tmp_path / "test.txt", "# intent: flight\r\nto O\r\nboston B-city\r\n")
    data = load_dataset(tmp_path)
    train = data["train"]
    assert train["tokens"] == [["arrive", "Taipei", "on", "november", "2nd"],
                               ["which", "#", "airlines"],  # "# O" inside an utterance is a token
                               ["plain"]]
    assert train["tags"][0] == ["O", "B-toloc.city_name", "O", "B-arrive_date.month_name",
                                "B-arrive_date.day_number"]
    assert train["intent"] == ["flight", "airline", ""]
    assert data["valid"][0] == {"tokens": ["x", "y"], "tags": ["B-a", "I-a"], "intent": ""}
    assert data["test"][0] == {"tokens": ["to", "boston"], "tags": ["O", "B-city"],
                               "intent": "flight"}
    for split in data.values():
        assert split.column_names == COLUMNS


def test_conll_without_valid_holds_out_train(tmp_path):
    write_text(tmp_path / "train.conll", "\n\n".join(f"w{i} O" for i in range(10)) + "\n")
    write_text(tmp_path / "test.conll", "a O\n")
    data = load_dataset(tmp_path, valid_fraction=0.3)
    assert (data["train"].num_rows, data["valid"].num_rows) == (7, 3)


# --- errors naming file and line ------------------------------------------------------------


def _atis_with_train(root: Path, seq_in, seq_out, label=None) -> None:
    write_atis_split(root, "train", seq_in, seq_out, label)
    write_atis_split(root, "test", ["a"], ["O"])


LINE_ERRORS = {
    "count mismatch": (
        lambda r: _atis_with_train(r, ["a b", "c d e"], ["O O", "O O"]),
        "train/seq.out", 2, "2 tag(s) for the 3 token(s)"),
    "invalid tag": (
        lambda r: _atis_with_train(r, ["a", "b c"], ["O", "O X-city"]),
        "train/seq.out", 2, "'X-city'"),
    "undecodable bytes": (
        lambda r: _atis_with_train(r, b"a\nb \xff c\n", b"O\nO O O\n"),
        "train/seq.in", 2, "UTF-8"),
    "empty utterance": (
        lambda r: _atis_with_train(r, ["a", "", "c"], ["O", "", "O"]),
        "train/seq.in", 2, "empty utterance"),
    "seq.out shorter": (
        lambda r: _atis_with_train(r, ["a", "b", "c"], ["O", "O"]),
        "train/seq.out", 3, "2 line(s) but seq.in has 3"),
    "seq.out longer": (
        lambda r: _atis_with_train(r, ["a"], ["O", "O"]),
        "train/seq.out", 2, "2 line(s) but seq.in has 1"),
    "label count": (
        lambda r: _atis_with_train(r, ["a", "b"], ["O", "O"], ["x"]),
        "train/label", 2, "1 line(s) but seq.in has 2"),
    "empty label": (
        lambda r: _atis_with_train(r, ["a", "b", "c"], ["O", "O", "O"], ["x", "", "y"]),
        "train/label", 2, "empty intent"),
    "CR-only line endings": (
        lambda r: _atis_with_train(r, b"a b\nc\rd\re\n", b"O O\nO\rO\rO\n"),
        "train/seq.in", 2, "carriage return"),
    "stray CR in a label": (
        lambda r: _atis_with_train(r, ["a", "b"], ["O", "O"], b"x\ny\rz\r\n"),
        "train/label", 2, "carriage return"),
    "conll one column": (
        lambda r: (write_text(r / "train.txt", "a O\nb O\n\ncity\n"),
                   write_text(r / "test.txt", "a O\n")),
        "train.txt", 4, "one column"),
    "conll invalid tag": (
        lambda r: (write_text(r / "train.txt", "a O\n"),
                   write_text(r / "test.txt", "a O\nb B-\n")),
        "test.txt", 2, "invalid tag"),
    "conll undecodable": (
        lambda r: (write_text(r / "train.txt", "a O\n"),
                   (r / "test.txt").write_bytes(b"a O\n\n\x80 O\n")),
        "test.txt", 3, "UTF-8"),
    "conll intent inside utterance": (
        lambda r: (write_text(r / "train.txt", "a O\n# intent: x\nb O\n"),
                   write_text(r / "test.txt", "a O\n")),
        "train.txt", 2, "intent line inside an utterance"),
}


@pytest.mark.parametrize("case", list(LINE_ERRORS))
def test_errors_name_file_and_line(tmp_path, case):
    build, file_name, line, text = LINE_ERRORS[case]
    build(tmp_path)
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path)
    err = info.value
    assert err.path == tmp_path / file_name
    assert err.line == line
    assert text in err.message
    assert str(err).startswith(f"{tmp_path / file_name}:{line}: ")


FILE_ERRORS = {
    "empty file": (
        lambda r: _atis_with_train(r, b"", b""), "train/seq.in", "empty"),
    "blank-only file": (
        lambda r: _atis_with_train(r, b"\n \n", b"\n"), "train/seq.in", "empty"),
    "empty conll split": (
        lambda r: (write_text(r / "train.txt", "# only a comment\n\n"),
                   write_text(r / "test.txt", "a O\n")),
        "train.txt", "no utterances"),
    "missing test folder": (
        lambda r: write_atis_split(r, "train", ["a"], ["O"]), "test", "missing required folder"),
    "missing train folder": (
        lambda r: write_atis_split(r, "test", ["a"], ["O"]), "train", "missing required folder"),
    "missing seq.out": (
        lambda r: (write_atis_split(r, "train", ["a"], ["O"]),
                   write_atis_split(r, "test", ["a"], None)),
        "test/seq.out", "missing required file"),
    "missing conll test": (
        lambda r: write_text(r / "train.txt", "a O\n"), "test.txt", "missing required file"),
    "no dataset": (
        lambda r: write_text(r / "notes.md", "hi\n"), "", "no dataset found"),
    "too few to hold out": (
        lambda r: _atis_with_train(r, ["a"], ["O"]), "train", "too few"),
}


@pytest.mark.parametrize("case", list(FILE_ERRORS))
def test_errors_name_the_file(tmp_path, case):
    build, file_name, text = FILE_ERRORS[case]
    build(tmp_path)
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path)
    err = info.value
    expected = tmp_path / file_name if file_name else tmp_path
    assert (err.path, err.line) == (expected, None)
    assert text in err.message
    assert str(err) == f"{expected}: {err.message}"


def test_missing_data_path(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path / "nowhere")
    assert info.value.path == tmp_path / "nowhere"
    assert "does not exist" in str(info.value)


def test_data_error_format_and_pickle():
    assert str(DataError("bad", "d/f.txt", 3)) == "d/f.txt:3: bad"
    assert str(DataError("bad", "d/f.txt")) == "d/f.txt: bad"
    assert str(DataError("bad")) == "bad"
    assert isinstance(DataError("bad"), ValueError)
    copy = pickle.loads(pickle.dumps(DataError("bad", "d/f.txt", 3)))
    assert (copy.message, copy.path, copy.line) == ("bad", Path("d/f.txt"), 3)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, "0.1", True])
def test_rejects_bad_valid_fraction(tmp_path, fraction):
    with pytest.raises(ValueError, match="valid_fraction"):
        load_dataset(tiny_atis(tmp_path), valid_fraction=fraction)


# --- repair --------------------------------------------------------------------------------


def test_stray_inside_tags_are_repaired_with_one_warning_per_split(tmp_path, caplog):
    write_atis_split(tmp_path, "train", ["a b c", "d e"], ["I-x I-x O", "B-x I-y"])
    write_atis_split(tmp_path, "valid", ["a"], ["I-z"])
    write_atis_split(tmp_path, "test", ["a b"], ["B-x I-x"])
    with caplog.at_level(logging.WARNING, logger="slotfill.data"):
        data = load_dataset(tmp_path)
    assert data["train"]["tags"] == [["B-x", "I-x", "O"], ["B-x", "B-y"]]
    assert data["valid"]["tags"] == [["B-z"]]
    assert data["test"]["tags"] == [["B-x", "I-x"]]  # well-formed: untouched
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "train" in warnings[0] and " 2 " in warnings[0]
    assert "valid" in warnings[1] and " 1 " in warnings[1]


def test_no_warning_for_well_formed_data(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="slotfill.data"):
        load_dataset(tiny_atis(tmp_path))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- held-out validation split -----------------------------------------------------------


def test_valid_held_out_when_missing_and_deterministic(tmp_path):
    write_split(tmp_path / "train", many_examples(40))
    write_split(tmp_path / "test", many_examples(2))
    first = load_dataset(tmp_path, valid_fraction=0.25, seed=7)
    again = load_dataset(tmp_path, valid_fraction=0.25, seed=7)
    other = load_dataset(tmp_path, valid_fraction=0.25, seed=8)
    assert (first["train"].num_rows, first["valid"].num_rows) == (30, 10)
    assert first["valid"]["tokens"] == again["valid"]["tokens"]
    assert first["valid"]["tokens"] != other["valid"]["tokens"]
    # A partition of train: nothing lost, nothing duplicated, file order kept.
    everything = list(first["train"]["tokens"]) + list(first["valid"]["tokens"])
    assert sorted(map(tuple, everything)) == sorted(tuple(e["tokens"]) for e in many_examples(40))
    ids = [int(tokens[0][1:]) for tokens in first["valid"]["tokens"]]
    assert ids == sorted(ids)


def test_existing_valid_split_is_used_as_is(tmp_path):
    data = load_dataset(tiny_atis(tmp_path), valid_fraction=0.5)
    assert data["train"].num_rows == 2
    assert data["valid"]["tokens"] == [["hello"]]


# --- paths ---------------------------------------------------------------------------------


def test_slotfill_data_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("SLOTFILL_DATA", str(tiny_atis(tmp_path)))
    assert resolve_data_path(None) == tmp_path
    assert load_dataset()["valid"]["tokens"] == [["hello"]]
    monkeypatch.setenv("SLOTFILL_DATA", str(tmp_path / "gone"))
    with pytest.raises(DataError, match="SLOTFILL_DATA"):
        load_dataset()


def test_explicit_path_wins_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SLOTFILL_DATA", str(tmp_path / "gone"))
    assert load_dataset(tiny_atis(tmp_path / "mine"))["test"].num_rows == 1


def test_bundled_dataset_is_the_default(monkeypatch):
    monkeypatch.delenv("SLOTFILL_DATA", raising=False)
    assert resolve_data_path(None) == DEFAULT_DATA == BUNDLED
    data = load_dataset()
    assert {name: split.num_rows for name, split in data.items()} == {
        "train": 600, "valid": 100, "test": 150}
    for split in data.values():
        assert split.column_names == COLUMNS
        assert all(split["intent"])
    assert "fromloc.city_name" in {t[2:] for tags in data["train"]["tags"] for t in tags}


def test_atis_benchmark_sizes():
    path = atis_path()
    if path is None:
        pytest.skip("ATIS not found at $SLOTFILL_ATIS or ../shared/datasets/atis")
    data = load_dataset(path)
    assert [data[name].num_rows for name in ("train", "valid", "test")] == [4478, 500, 893]
    assert "atis_flight#atis_airfare" in set(data["train"]["intent"])


# --- write_split ---------------------------------------------------------------------------


def test_write_split_round_trip(tmp_path):
    examples = [{"tokens": ["fly", "to", "St.", "Louis"],
                 "tags": ["O", "O", "B-city", "I-city"], "intent": "a#b"},
                {"tokens": ["hi"], "tags": ["O"], "intent": "greet"}]
    assert write_split(tmp_path / "train", examples) == 2
    write_split(tmp_path / "test", examples[:1])
    assert (tmp_path / "train" / "seq.in").read_text() == "fly to St. Louis\nhi\n"
    data = load_dataset(tmp_path, valid_fraction=0.5)
    assert data["test"].to_list() == examples[:1]


def test_write_split_without_intents_writes_no_label(tmp_path):
    (tmp_path / "label").write_text("stale\n")
    write_split(tmp_path, [{"tokens": ["a"], "tags": ["O"]}])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq.in", "seq.out"]


@pytest.mark.parametrize("example, text", [
    ({"tokens": ["a b"], "tags": ["O"]}, "whitespace"),
    ({"tokens": [], "tags": []}, "empty"),
    ({"tokens": ["a"], "tags": ["O", "O"]}, "one tag per token"),
    ({"tokens": ["a"], "tags": ["Q"]}, "O, B-type or I-type"),
])
def test_write_split_rejects_unreadable_examples(tmp_path, example, text):
    with pytest.raises(ValueError, match=text):
        write_split(tmp_path, [example])


def test_write_split_rejects_intents_on_only_some_examples(tmp_path):
    with pytest.raises(ValueError, match=r"examples\[1\]\['intent'\]"):
        write_split(tmp_path, [{"tokens": ["a"], "tags": ["O"], "intent": "x"},
                               {"tokens": ["b"], "tags": ["O"], "intent": ""}])


def test_a_loaded_dataset_says_where_it_came_from(tmp_path):
    root = tiny_atis(tmp_path / "atis")
    source = load_dataset(root).source
    assert source["path"] == str(root.resolve()) and source["format"] == "ATIS layout"
    assert source["files"] == 9 and len(source["sha256"]) == 64
    assert load_dataset(root).source == source  # the same files, the same hash
    seq_in = root / "test" / "seq.in"
    seq_in.write_text(seq_in.read_text().replace("boston", "denver"))
    assert load_dataset(root).source["sha256"] != source["sha256"]


def test_the_source_of_conll_data_hashes_its_files(tmp_path):
    (tmp_path / "train.txt").write_text("fly O\nboston B-city\n\n" * 3)
    (tmp_path / "test.txt").write_text("to O\ndenver B-city\n\n")
    source = load_dataset(tmp_path).source
    assert source["format"] == "CoNLL" and source["files"] == 2
    (tmp_path / "notes.md").write_text("not data")  # files the loader does not read
    assert load_dataset(tmp_path).source == source
