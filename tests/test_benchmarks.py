"""Benchmark scripts: the CRF peer's features, the measuring helpers, and a --quick smoke run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from seqeval.metrics import f1_score

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    # The benchmarks package lives at the repository root, which plain `pytest` does not import.
    sys.path.insert(0, str(REPO))

from benchmarks import common, crf_baseline, speed  # noqa: E402

BUNDLED = REPO / "slotfill" / "bundled" / "flights"


def test_word_shape_collapses_runs_of_one_class():
    assert crf_baseline.word_shape("Nov2nd") == "Xxdx"
    assert crf_baseline.word_shape("10:30") == "d:d"
    assert crf_baseline.word_shape("JFK") == "X"
    assert crf_baseline.word_shape("") == ""


def test_token_features_cover_word_affixes_flags_and_neighbours():
    tokens = ["Flights", "to", "Denver", "at", "10:30"]
    last = crf_baseline.token_features(tokens, 4)
    assert last["w"] == "10:30"
    assert (last["p2"], last["p3"], last["s2"], last["s3"]) == ("10", "10:", "30", ":30")
    assert last["digit"] is True and last["alldigit"] is False
    assert last["shape"] == "d:d"
    assert last["-1:w"] == "at" and last["-2:w"] == "denver" and last["-2:shape"] == "Xx"
    assert last["+1:pad"] is True and last["+2:pad"] is True
    assert "+1:w" not in last

    first = crf_baseline.token_features(tokens, 0)
    assert first["w"] == "flights" and first["title"] is True and first["upper"] is False
    assert first["-1:pad"] is True and first["-2:pad"] is True
    assert first["+1:w"] == "to" and first["+2:w"] == "denver"
    assert first["+2:digit"] is False

    assert len(crf_baseline.sentence_features(tokens)) == len(tokens)
    with pytest.raises(ValueError, match="i must be in"):
        crf_baseline.token_features(tokens, 5)


def test_crf_baseline_learns_the_bundled_data(tmp_path):
    import pickle

    from slotfill.data import load_dataset

    data = load_dataset(BUNDLED)
    saved = tmp_path / "crf.pickle"
    result = crf_baseline.measure(list(data["train"]["tokens"]), list(data["train"]["tags"]),
                                  list(data["test"]["tokens"]), list(data["test"]["tags"]),
                                  max_iterations=20, repeats=2, save_to=saved)
    # The pickled CRF (what the tagging step times beside slotfill) tags like the measured one.
    texts = [" ".join(tokens) for tokens in data["test"]["tokens"]]
    reloaded = crf_baseline.tag_texts(pickle.loads(saved.read_bytes()), texts)
    assert f1_score([list(t) for t in data["test"]["tags"]], reloaded) * 100 == pytest.approx(
        result["slot_f1"])
    assert result["slot_f1"] > 60  # a CRF that learned nothing scores ~0
    assert result["test_utterances"] == data["test"].num_rows
    assert len(result["tag_seconds"]) == 2
    assert result["utterances_per_second"] == pytest.approx(
        result["test_utterances"] / min(result["tag_seconds"]))
    with pytest.raises(ValueError, match="repeats"):
        crf_baseline.measure([["a"]], [["O"]], [["a"]], [["O"]], repeats=0)


def test_run_child_reports_its_own_wall_time_and_peak_memory(tmp_path):
    env = {"PATH": "/usr/bin:/bin"}
    child = "import time; block = bytearray(150 * 2**20); time.sleep(0.3)"
    run = speed.run_child([sys.executable, "-c", child], env, tmp_path / "child.log")
    assert run.peak_rss_mb >= 150
    assert run.seconds >= 0.3
    small = speed.run_child([sys.executable, "-c", "pass"], env, tmp_path / "child.log")
    assert small.peak_rss_mb < 100  # per child, not the maximum over every child so far

    with pytest.raises(speed.BenchmarkError, match="(?s)exited with 3.*went wrong"):
        speed.run_child([sys.executable, "-c", "import sys; print('went wrong'); sys.exit(3)"],
                        env, tmp_path / "child.log")


def _measures(**changes):
    measures = {
        "crf": {"train_seconds": 100.0, "utterances_per_second": 1000.0},
        "full_train": {"wall_seconds": 150.0},
        "epochs": {"bilstm": {"seconds_per_epoch": 10.0},
                   "bipeephole": {"seconds_per_epoch": 12.5},
                   "bijordan": {"seconds_per_epoch": 13.0},
                   "bigru": {"seconds_per_epoch": 9.0}},
        # The target reads the side-by-side figures; the others are reported beside them.
        "tagging": {"utterances_per_second_one_call": 9999.0, "utterances_per_second": 9999.0,
                    "side_by_side": {"slotfill_utterances_per_second": 2999.0,
                                     "crf_utterances_per_second": 1000.0},
                    "latency_ms": {"p50": 4.0}},
        "cold_start": {"median_seconds": {"tag": 6.0, "import_tensorflow": 4.0}},
    }
    measures.update(changes)
    return measures


def test_targets_compare_ratios_from_the_same_run_with_their_bounds():
    rows = {row["name"]: row for row in speed.evaluate_targets(_measures())}
    assert [t.name for t in speed.TARGETS] == list(rows)
    assert rows["train_vs_crf"]["value"] == pytest.approx(1.5)
    assert rows["train_vs_crf"]["passed"] is True            # bound included
    assert rows["throughput_vs_crf"]["passed"] is False      # 2.999 < 3
    assert rows["bipeephole_vs_bilstm"]["passed"] is True    # 1.25
    assert rows["bijordan_vs_bilstm"]["passed"] is False     # 1.3
    assert rows["cold_start_vs_import"]["passed"] is True    # 1.5
    assert rows["latency_p50_ms"]["value"] == 4.0 and rows["latency_p50_ms"]["passed"] is True

    broken = speed.evaluate_targets(_measures(crf={"train_seconds": 0.0,
                                                   "utterances_per_second": 1000.0}))
    assert broken[0]["value"] is None and broken[0]["passed"] is None


def test_epoch_schedule_takes_turns_and_flips_the_order_every_round():
    assert speed.epoch_schedule(["a", "b", "c"], 3) == [
        (0, "a"), (0, "b"), (0, "c"), (1, "c"), (1, "b"), (1, "a"), (2, "a"), (2, "b"), (2, "c")]
    assert speed.epoch_schedule(["a"], 0) == []


def test_epoch_timing_trains_every_arch_in_one_child(monkeypatch, tmp_path):
    calls = []

    def fake_worker(ws, name, spec):
        calls.append((name, spec["archs"], spec["epochs"]))
        return {arch: {"epoch_seconds": [9.0, 3.0], "seconds_per_epoch": 3.0, "parameters": 1}
                for arch in spec["archs"]}, speed.ChildRun(1.0, 512.0)

    monkeypatch.setattr(speed, "run_worker", fake_worker)
    results = speed.measure_epochs(speed.Workspace(tmp_path, tmp_path / "d.json"), speed.FULL)
    assert calls == [("epochs", list(speed.ARCHS), speed.FULL.epochs)]
    assert list(results) == list(speed.ARCHS)
    assert all(r["peak_rss_mb"] == 512.0 for r in results.values())


def test_environment_records_machine_versions_commit_and_command():
    env = common.environment(["benchmarks/speed.py", "--data", "some folder"])
    assert env["machine"]["cores"] >= 1 and env["machine"]["cpu"]
    assert env["versions"]["python"] and env["versions"]["tensorflow"]
    assert env["versions"]["keras"]
    assert env["command"]["command"] == "python benchmarks/speed.py --data 'some folder'"
    commit = env["git"]["commit"]
    assert commit is None or len(commit) == 40
    assert "| commit |" in common.environment_markdown(env)


@pytest.mark.benchmark
def test_quick_run_writes_a_complete_report_outside_the_results_folder(tmp_path):
    results_before = sorted(common.RESULTS.iterdir()) if common.RESULTS.exists() else []
    latest = REPO / "models" / "latest"
    latest_before = latest.read_text() if latest.exists() else None
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "speed.py"), "--quick", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads((out / "speed_flights.json").read_text())
    assert report["quick"] is True
    assert Path(report["data"]) == BUNDLED
    measures = report["measures"]
    assert set(measures["epochs"]) == set(speed.ARCHS)
    for arch in speed.ARCHS:
        epoch = measures["epochs"][arch]
        assert len(epoch["epoch_seconds"]) == speed.QUICK.epochs
        assert epoch["seconds_per_epoch"] > 0 and epoch["parameters"] > 0
    assert measures["full_train"]["wall_seconds"] > 0
    assert measures["full_train"]["peak_rss_mb"] > 100  # TensorFlow alone is far more
    assert measures["crf"]["train_seconds"] > 0 and 0 <= measures["crf"]["slot_f1"] <= 100
    tagging = measures["tagging"]
    assert tagging["utterances"] == 150 and len(tagging["pass_seconds"]) == speed.QUICK.repeats
    assert 0 < tagging["latency_ms"]["p50"] <= tagging["latency_ms"]["p99"]
    # The target's process runs TensorFlow as README advises for serving; the same
    # measures are repeated with TensorFlow's default threads.
    assert tagging["threads"] == speed.SERVING_THREADS
    assert measures["tagging_default_threads"]["threads"] is None
    assert measures["tagging_default_threads"]["utterances"] == 150
    side = tagging["side_by_side"]
    assert len(side["crf_pass_seconds"]) == len(side["slotfill_pass_seconds"]) == 2
    assert side["crf_utterances_per_second"] == pytest.approx(150 / min(side["crf_pass_seconds"]))
    cold = measures["cold_start"]
    assert all(len(v) == speed.QUICK.cold_starts for v in cold["seconds"].values())
    assert {t["name"] for t in report["targets"]} == {t.name for t in speed.TARGETS}
    assert all(isinstance(t["passed"], bool) for t in report["targets"])
    assert report["environment"]["command"]["argv"][-2:] == ["--out", str(out)]

    markdown = (out / "speed_flights.md").read_text()
    assert "Quick smoke run" in markdown and "| bijordan |" in markdown
    assert "import tensorflow" in markdown and "*default threads*" in markdown
    # The recorded results and the repository's latest-model pointer are left alone.
    assert (sorted(common.RESULTS.iterdir()) if common.RESULTS.exists() else []) == results_before
    assert (latest.read_text() if latest.exists() else None) == latest_before


def test_alternate_flips_which_call_goes_first_every_round():
    log = []
    results = speed.alternate({"a": lambda: log.append("a") or len(log),
                               "b": lambda: log.append("b") or len(log)}, 3)
    assert log == ["a", "b", "b", "a", "a", "b"]
    assert results == {"a": [1, 4, 5], "b": [2, 3, 6]}


def test_default_thread_rows_give_the_side_by_side_ratio_measured_with_default_threads():
    default = {"utterances_per_second_one_call": 4000.0, "latency_ms": {"p50": 5.0, "p99": 9.0},
               "peak_rss_mb": 800.0,
               "side_by_side": {"slotfill_utterances_per_second": 5000.0,
                                "crf_utterances_per_second": 2000.0}}
    rows = speed._default_threads_rows(default)
    assert len(rows) == 2 and "5000 / 2000 (ratio 2.50)" in rows[1]
    assert speed._default_threads_rows(None) == []
