"""slotfill validate: train's checks and the warnings that matter, without TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner
from conftest import BUNDLED

from slotfill.cli import cli
from slotfill.validate import validate


def write_split(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seq.in").write_text("".join(r[0] + "\n" for r in rows))
    (folder / "seq.out").write_text("".join(r[1] + "\n" for r in rows))
    (folder / "label").write_text("".join(r[2] + "\n" for r in rows))


def test_the_bundled_data_is_usable_with_counts():
    report = validate(BUNDLED)
    assert report.usable and report.errors == []
    assert report.sentences == {"train": 600, "valid": 100, "test": 150}
    assert report.intent_head
    assert report.slots["train"]["toloc.city_name"] > 100
    assert sum(report.intents["train"].values()) == 600


def test_warnings_for_unseen_labels_repeats_and_repairs(tmp_path):
    write_split(tmp_path / "train", [("fly to boston", "O O B-city", "flight"),
                                     ("fly to denver", "O O I-city", "flight"),
                                     ("hello", "O", "greet")])
    write_split(tmp_path / "test", [("fly to boston", "O O B-city", "flight"),
                                    ("a cheap fare", "O B-cost O", "fare")])
    report = validate(tmp_path)
    assert report.usable
    assert report.repairs == {"train": 1}
    text = "\n".join(report.warnings)
    assert "train: 1 I- tag(s) do not continue a span" in text
    assert "test: tag(s) never seen in train (the model cannot predict them): B-cost" in text
    assert "test: intent(s) never seen in train: fare" in text
    assert "test: 1 utterance(s) also in an earlier split" in text
    assert "no valid split" in text


def test_broken_data_is_not_usable_and_names_file_and_line(tmp_path):
    write_split(tmp_path / "train", [("fly to boston", "O O B-city", "flight"),
                                     ("fly to denver", "O O", "flight")])
    write_split(tmp_path / "test", [("hi", "O", "greet")])
    result = CliRunner().invoke(cli, ["validate", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'train' / 'seq.out'}:2: 2 tag(s) for the 3 token(s)" in result.output
    assert "NOT usable" in result.output


def test_the_cli_prints_json_and_exits_0_for_usable_data():
    result = CliRunner().invoke(cli, ["validate", "--data", str(BUNDLED), "--json"])
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["usable"] is True and report["format"] == "ATIS layout"


def test_validate_does_not_import_tensorflow():
    probe = ("import sys; from slotfill.validate import validate; "
             f"assert validate({str(BUNDLED)!r}).usable; "
             "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
