"""slotfill convert: Rasa, snips, CoNLL and ATIS data into folders train reads."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from slotfill.cli import cli
from slotfill.convert import ConvertError, convert
from slotfill.data import load_dataset

RASA_YAML = """\
version: "3.1"
nlu:
- intent: book_flight
  examples: |
    - fly from [Boston](fromloc) to [New York](toloc) tomorrow
    - i need a flight to [Denver]{"entity": "toloc"} on [monday](day)
    - book [Boston](fromloc:BOS) to [Dallas](toloc)
    - flights to [Atlanta](toloc), please
- intent: greet
  examples: |
    - hello there
    - hi
- synonym: BOS
  examples: |
    - boston
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def read_split(folder):
    lines = {name: (folder / name).read_text().splitlines()
             for name in ("seq.in", "seq.out", "label") if (folder / name).exists()}
    return list(zip(*lines.values()))


def test_rasa_yaml_becomes_bio_tags_on_slotfill_tokens(tmp_path):
    src = write(tmp_path / "nlu.yml", RASA_YAML)
    counts = convert("rasa", "atis", src, tmp_path / "out", test_fraction=0.5, seed=1)
    assert counts == {"train": 3, "test": 3}
    rows = read_split(tmp_path / "out" / "train") + read_split(tmp_path / "out" / "test")
    by_text = {text: (tags, label) for text, tags, label in rows}
    assert by_text["fly from Boston to New York tomorrow"] == (
        "O O B-fromloc O B-toloc I-toloc O", "book_flight")
    assert by_text["i need a flight to Denver on monday"] == (
        "O O O O O B-toloc O B-day", "book_flight")
    assert by_text["flights to Atlanta , please"] == ("O O B-toloc O O", "book_flight")
    assert by_text["hello there"] == ("O O", "greet")
    assert len(rows) == 6  # the synonym block is not an example


def test_a_converted_rasa_file_trains(tmp_path, isolated_models):
    src = write(tmp_path / "nlu.yml", RASA_YAML)
    runner = CliRunner()
    done = runner.invoke(cli, ["convert", "--from", "rasa", "--test-fraction", "0.34",
                               str(src), str(tmp_path / "data")])
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"wrote {tmp_path / 'data'}: train 4, test 2")
    trained = runner.invoke(cli, ["train", "--data", str(tmp_path / "data"), "--out",
                                  str(tmp_path / "m"), "--epochs", "1", "--hidden", "8",
                                  "--embedding-dim", "8", "--char-filters", "4", "--quiet"])
    assert trained.exit_code == 0, trained.output
    assert (tmp_path / "m" / "model.keras").is_file()


def test_rasa_json_with_character_spans(tmp_path):
    data = {"rasa_nlu_data": {"common_examples": [
        {"text": "show flights to Boston", "intent": "flight",
         "entities": [{"start": 16, "end": 22, "value": "Boston", "entity": "city"}]},
        {"text": "hello", "intent": "greet", "entities": []},
        {"text": "cheap fares please", "intent": "fare", "entities": []}]}}
    src = write(tmp_path / "nlu.json", json.dumps(data))
    convert("rasa", "conll", src, tmp_path / "out", test_fraction=0.34, seed=0)
    everything = (tmp_path / "out" / "train.txt").read_text() + (
        tmp_path / "out" / "test.txt").read_text()
    assert "# intent: flight\nshow O\nflights O\nto O\nBoston B-city" in everything
    splits = load_dataset(tmp_path / "out")
    assert splits["train"].num_rows + splits["valid"].num_rows + splits["test"].num_rows == 3


def test_snips_json_chunks_become_spans(tmp_path):
    data = {"language": "en", "entities": {}, "intents": {
        "PlayMusic": {"utterances": [
            {"data": [{"text": "play "}, {"text": "yesterday ", "slot_name": "track",
                                          "entity": "track"},
                      {"text": "by "}, {"text": "the beatles", "slot_name": "artist",
                                        "entity": "artist"}]},
            {"data": [{"text": "play some jazz"}]}]},
        "GetWeather": {"utterances": [
            {"data": [{"text": "weather in "}, {"text": "Paris", "slot_name": "city",
                                                "entity": "snips/city"}]}]}}}
    src = write(tmp_path / "dataset.json", json.dumps(data))
    convert("snips", "atis", src, tmp_path / "out", test_fraction=0.34, seed=3)
    rows = read_split(tmp_path / "out" / "train") + read_split(tmp_path / "out" / "test")
    assert ("play yesterday by the beatles", "O B-track O B-artist I-artist",
            "PlayMusic") in rows
    assert ("weather in Paris", "O O B-city", "GetWeather") in rows
    assert load_dataset(tmp_path / "out")["test"].num_rows == 1


def test_conll_to_atis_keeps_the_splits(tmp_path):
    write(tmp_path / "src" / "train.txt", "# intent: a\nfly O\nboston B-city\n\n"
                                          "# intent: b\nhi O\n")
    write(tmp_path / "src" / "test.txt", "# intent: a\nto O\ndenver B-city\n")
    assert convert("conll", "atis", tmp_path / "src", tmp_path / "out") == {"train": 2,
                                                                           "test": 1}
    assert read_split(tmp_path / "out" / "test") == [("to denver", "O B-city", "a")]
    assert convert("atis", "conll", tmp_path / "out", tmp_path / "back") == {"train": 2,
                                                                            "test": 1}
    assert (tmp_path / "back" / "test.txt").read_text() == "# intent: a\nto O\ndenver B-city\n"


@pytest.mark.parametrize("line, words", [
    ("- fly to [Bos](city)ton", "'Bos' (7:10) does not start and end on token boundaries"),
    ("- fly to [Boston]{not json}", "unreadable entity annotation"),
])
def test_spans_off_token_boundaries_name_the_file_and_example(tmp_path, line, words):
    src = write(tmp_path / "nlu.yml", f"nlu:\n- intent: x\n  examples: |\n    {line}\n"
                                      "    - hello\n    - hi there\n")
    with pytest.raises(ConvertError) as caught:
        convert("rasa", "atis", src, tmp_path / "out")
    assert words in str(caught.value) and str(src) in str(caught.value)
    assert "example 1" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_the_cli_refuses_bad_sources_and_existing_destinations(tmp_path):
    runner = CliRunner()
    src = write(tmp_path / "nlu.yml", RASA_YAML)
    write(tmp_path / "taken" / "file", "mine")
    bad_json = write(tmp_path / "bad.json", "{")
    for args, words in ((["--from", "rasa", str(src), str(tmp_path / "taken")],
                         "already exists"),
                        (["--from", "snips", str(bad_json), str(tmp_path / "o")],
                         "bad.json:1: not valid JSON"),
                        (["--from", "rasa", str(tmp_path / "none.yml"), str(tmp_path / "o")],
                         "does not exist")):
        done = runner.invoke(cli, ["convert", *args])
        assert done.exit_code == 1 and done.output.startswith("error:"), done.output
        assert words in done.output
    assert (tmp_path / "taken" / "file").read_text() == "mine"
