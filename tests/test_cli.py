"""Every CLI command through click's runner: exit codes and output."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from slotfill.cli import cli
from slotfill.tagger import Tagger


@pytest.fixture
def run():
    def invoke(*args, input=None):
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=True)
        # A user must never see a traceback, whatever happened.
        assert "Traceback" not in result.output
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result
    return invoke


def test_train_help_lists_every_option(run):
    result = run("train", "--help")
    assert result.exit_code == 0
    for flag in ("--arch", "--data", "--out", "--epochs", "--batch-size", "--seed", "--layers",
                 "--hidden", "--embedding-dim", "--dropout", "--clipnorm", "--recurrent-init",
                 "--activation", "--window", "--decoder", "--no-intent", "--no-chars",
                 "--char-filters", "--prefix-noise", "--embeddings", "--embeddings-words"):
        assert flag in result.output


def test_unknown_arch_lists_the_valid_ones(run):
    result = run("train", "--arch", "transformer")
    assert result.exit_code == 2
    assert "bilstm" in result.output and "bijordan" in result.output


def test_train_on_missing_data_is_a_clear_error(run, tmp_path, isolated_models):
    result = run("train", "--data", str(tmp_path / "nowhere"), "--epochs", "1")
    assert result.exit_code == 1
    assert result.output.startswith("error:") and "nowhere" in result.output


def test_train_with_a_ragged_vector_file_names_file_and_line_and_writes_nothing(
        run, tmp_path, isolated_models):
    vectors = tmp_path / "vectors.vec"
    vectors.write_text("2 3\nboston 1 2 3\ndenver 1 2\n")
    result = run("train", "--out", str(tmp_path / "m"), "--epochs", "1",
                 "--embeddings", str(vectors), "--quiet")
    assert result.exit_code == 1
    assert result.output.startswith("error:")
    assert f"{vectors}:3: 'denver' has 2 numbers, expected 3" in result.output
    assert not (tmp_path / "m").exists()


def test_train_stores_synonyms_and_value_types_and_refuses_bad_files(
        run, tmp_path, isolated_models):
    synonyms = tmp_path / "synonyms.yaml"
    synonyms.write_text("new york:\n  - nyc\n  - new york city\n")
    types = tmp_path / "types.json"
    types.write_text('{"city_name": "number"}')
    out = tmp_path / "m"
    result = run("train", "--out", str(out), "--epochs", "1", "--hidden", "8",
                 "--embedding-dim", "8", "--char-filters", "4", "--synonyms", str(synonyms),
                 "--value-types", str(types), "--quiet")
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["synonyms"] == {"new york": ["nyc", "new york city"]}
    assert saved["value_types"] == {"city_name": "number"}
    for name, text, words in (
            ("bad.json", '{"a": [1]}', "list of non-empty strings"),
            ("bad.yaml", "a: [b\n", "bad.yaml:2: not valid YAML"),
            ("twice.json", '{"a": ["x"], "b": ["X"]}', "variant of both"),
            ("types.json", '{"x": "colour"}', "kind 'colour'")):
        bad = tmp_path / name
        bad.write_text(text)
        option = "--value-types" if name == "types.json" else "--synonyms"
        result = run("train", "--out", str(tmp_path / "never"), "--epochs", "1", option,
                     str(bad), "--quiet")
        assert result.exit_code == 1 and result.output.startswith("error:"), result.output
        assert words in result.output
        assert not (tmp_path / "never").exists()


def test_tag_json_normalizes_values_from_the_given_date(run, trained):
    result = run("tag", "--model", str(trained.model_dir), "--json", "--today", "2026-12-08",
                 "arrive Taipei on November 2nd")
    assert result.exit_code == 0, result.output
    tagged = json.loads(result.output)
    assert [s["normalized"] for s in tagged["slots"]] == [None, 11, 2]
    assert list(tagged["dates"].values()) == ["2027-11-02"] and tagged["times"] == {}


def test_train_writes_a_model_and_prints_scores(run, tmp_path, isolated_models):
    out = tmp_path / "m"
    result = run("train", "--out", str(out), "--epochs", "1", "--hidden", "8",
                 "--embedding-dim", "8", "--char-filters", "4", "--intent-smoothing", "0.2",
                 "--case-noise", "0.5", "--quiet")
    assert result.exit_code == 0, result.output
    assert f"model written to {out}" in result.output
    saved = json.loads((out / "config.json").read_text())
    assert (saved["char_filters"], saved["intent_smoothing"], saved["case_noise"]) == (4, 0.2, 0.5)
    assert Tagger.load(out).encoder.marks_case
    assert "test   slot_f1" in result.output
    assert (out / "model.keras").is_file() and (out / "saved_model" / "saved_model.pb").is_file()


def test_evaluate_text_and_json(run, trained):
    text = run("evaluate", "--model", str(trained.model_dir))
    assert text.exit_code == 0
    assert "slot       precision" in text.output and "intent     accuracy" in text.output
    as_json = run("evaluate", "--model", str(trained.model_dir), "--split", "valid", "--json")
    scores = json.loads(as_json.output)
    assert scores["slot_f1"] == pytest.approx(trained.valid["slot_f1"])
    assert {"slot_f1", "intent_accuracy", "sentence_accuracy", "per_slot"} <= set(scores)


def test_evaluate_uses_the_latest_model(run, trained, monkeypatch):
    monkeypatch.setenv("SLOTFILL_MODELS", str(trained.model_dir.parent))
    assert run("evaluate", "--json").exit_code == 0


def test_tag_prints_tokens_tags_and_slots(run, trained):
    result = run("tag", "--model", str(trained.model_dir), "fly from Boston to Denver")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "fly from Boston to Denver"
    assert lines[1].split()[0] == "fly" and lines[3].split()[0] == "Boston"
    assert "slots:" in result.output and "intent:" in result.output


def test_tag_json_one_object_per_line_with_valid_spans(run, trained):
    texts = ["fly from Boston to Denver", "cheapest fare to St. Louis, please!"]
    result = run("tag", "--model", str(trained.model_dir), "--json", *texts)
    objects = [json.loads(line) for line in result.output.splitlines()]
    assert [o["text"] for o in objects] == texts
    for o in objects:
        assert len(o["tokens"]) == len(o["tags"])
        for slot in o["slots"]:
            assert o["text"][slot["start"]:slot["end"]] == slot["value"]
            assert set(slot) == {"slot", "value", "start", "end", "confidence", "normalized"}
            assert 0 <= slot["confidence"] <= 1


def test_tag_reads_a_file_and_stdin(run, trained, tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("fly to denver\nshow fares from boston\n", encoding="utf-8")
    from_file = run("tag", "--model", str(trained.model_dir), "--json", "--file", str(f))
    assert len(from_file.output.splitlines()) == 2
    from_stdin = run("tag", "--model", str(trained.model_dir), "--json", "--file", "-",
                     input="fly to denver\n")
    assert json.loads(from_stdin.output)["tokens"] == ["fly", "to", "denver"]


def test_tag_non_utf8_file_names_the_line(run, trained, tmp_path):
    f = tmp_path / "bad.txt"
    f.write_bytes(b"fly to denver\nfly to m\xfcnchen\n")
    result = run("tag", "--model", str(trained.model_dir), "--file", str(f))
    assert result.exit_code == 1
    assert "bad.txt:2" in result.output


def test_tag_empty_text_is_a_clear_message(run, trained):
    result = run("tag", "--model", str(trained.model_dir), "   ")
    assert result.exit_code == 1
    assert "nothing to tag" in result.output


def test_tag_without_text_or_model(run, tmp_path, isolated_models):
    assert run("tag").exit_code == 1
    result = run("tag", "--model", str(tmp_path / "missing"), "hello")
    assert result.exit_code == 1 and "does not exist" in result.output


def test_export_writes_a_saved_model(run, trained, tmp_path):
    out = tmp_path / "export"
    result = run("export", "--model", str(trained.model_dir), "--out", str(out))
    assert result.exit_code == 0
    assert (out / "saved_model.pb").is_file()


def test_export_to_a_folder_name_that_is_not_utf8_on_a_strict_utf8_stdout(trained, tmp_path):
    # TensorFlow cannot write below such a path, and a strict UTF-8 stdout cannot print it.
    cli_py = Path(__file__).resolve().parent.parent / "cli.py"
    out = tmp_path / os.fsdecode(b"export-\xff")
    done = subprocess.run([sys.executable, str(cli_py), "export", "--model",
                           str(trained.model_dir), "--out", str(out)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    assert (out / "saved_model.pb").is_file()
    assert done.stdout.strip().endswith("export-\N{REPLACEMENT CHARACTER}")


def test_export_and_train_refuse_to_replace_a_folder_they_did_not_write(run, trained, tmp_path,
                                                                        isolated_models):
    model = tmp_path / "model"
    shutil.copytree(trained.model_dir, model)
    before = sorted(p.name for p in model.iterdir())
    result = run("export", "--model", str(model), "--out", str(model))  # the model itself
    assert result.exit_code == 1 and "saved_model.pb" in result.output
    assert sorted(p.name for p in model.iterdir()) == before
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    for command in (("export", "--model", str(model)), ("train", "--epochs", "1")):
        result = run(*command, "--out", str(notes))
        assert result.exit_code == 1 and "would delete what it holds" in result.output
        assert [p.name for p in notes.iterdir()] == ["todo.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "notes"]


@pytest.mark.parametrize(("closed", "message"), [
    ("stdin", "determine binary stream for sys.stdin"),   # while click opens `--file -`
    ("stdout", "standard output is closed"),
])
def test_a_closed_standard_stream_is_an_error_not_a_traceback_or_silence(closed, message):
    cli_py = Path(__file__).resolve().parent.parent / "cli.py"
    fd = 0 if closed == "stdin" else 1
    done = subprocess.run([sys.executable, str(cli_py), "tag", "--file", "-"],
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: os.close(fd))
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert "Traceback" not in done.stderr


# A line of TensorFlow's own C++ log (absl's format), and absl's note that precedes it.
TF_NATIVE_LOG = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\] |"
                           r"WARNING: All log messages before absl::InitializeLog\(\)")


def test_a_reader_that_goes_away_ends_the_command_quietly(trained):
    # `tag --file big | head -2`: once head has what it wants, no "Broken pipe" error.
    cli_py = Path(__file__).resolve().parent.parent / "cli.py"
    proc = subprocess.Popen([sys.executable, str(cli_py), "tag", "--model",
                             str(trained.model_dir), "flights to boston"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 1
    # Nothing of ours; TensorFlow's native start-up log is out of our hands: on CPUs where
    # oneDNN is on it prints "I0000 ... oneDNN custom operations are on" before its log
    # level applies (absl, before InitializeLog).
    assert [line for line in stderr.splitlines() if not TF_NATIVE_LOG.match(line)] == []


def test_help_does_not_import_tensorflow():
    # The docstring of cli.py promises it: parsing comes before every heavy import.
    cli_py = Path(__file__).resolve().parent.parent / "cli.py"
    probe = ("import runpy, sys\n"
             f"sys.argv = [{str(cli_py)!r}, 'train', '--help']\n"
             "try:\n"
             f"    runpy.run_path({str(cli_py)!r}, run_name='__main__')\n"
             "except SystemExit:\n"
             "    pass\n"
             "import os\n"
             "print('LOADED', 'tensorflow' in sys.modules, 'keras' in sys.modules,\n"
             "      'SLOTFILL_DEFER_LAYERS' in os.environ)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True)
    assert "--arch" in done.stdout
    assert "LOADED False False False" in done.stdout


def test_python_dash_m_slotfill_is_the_same_command_line():
    done = subprocess.run([sys.executable, "-m", "slotfill", "--help"], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: slotfill ")
    assert all(command in done.stdout for command in ("train", "evaluate", "tag", "export"))
