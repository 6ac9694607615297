"""benchmarks/accuracy.py: the summary and table it records (training itself is the benchmark)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.accuracy import markdown, summarize  # noqa: E402
from benchmarks.common import environment  # noqa: E402

RUNS = [{"arch": "bilstm", "seed": s, "params": 1000, "best_epoch": e, "epochs_run": e + 5,
         "seconds": 10.0 * (e + 5), "slot_f1": f1, "intent_accuracy": 95.0 + s,
         "sentence_accuracy": 85.0} for s, e, f1 in ((1, 10, 95.0), (2, 12, 96.0), (3, 8, 97.0))]


def test_summary_has_the_fields_the_issue_names():
    row = summarize("bilstm", RUNS)
    assert {"arch", "params", "f1_mean", "f1_std", "seeds", "best_epochs",
            "sec_per_epoch"} <= set(row)
    assert row["f1_mean"] == pytest.approx(96.0)
    assert row["f1_std"] == pytest.approx(1.0)
    assert row["seeds"] == [95.0, 96.0, 97.0] and row["best_epochs"] == [10, 12, 8]
    assert row["intent_accuracy_mean"] == pytest.approx(97.0)
    assert row["sec_per_epoch"] == pytest.approx(10.0)


def test_markdown_table_lists_each_arch_and_the_environment():
    text = markdown("Architectures on atis", [summarize("bilstm", RUNS)], environment())
    assert "| bilstm | 1,000 | 96.00 ± 1.00 | 95.00, 96.00, 97.00 |" in text
    assert "| command |" in text


def test_update_keeps_rows_of_archs_not_measured_again(tmp_path):
    import json

    from benchmarks.accuracy import previous_rows

    path = tmp_path / "archs.json"
    assert previous_rows(path, ["elman"]) == []
    rows = [{**summarize(arch, RUNS), "arch": arch} for arch in ("elman", "jordan", "bilstm")]
    path.write_text(json.dumps(rows))
    assert [r["arch"] for r in previous_rows(path, ["jordan"])] == ["elman", "bilstm"]
