"""One real-data run: a short training on ATIS, then evaluate, tag, export and reload.

Runs when the ATIS benchmark is beside the repository (../shared/datasets/atis, or
$SLOTFILL_ATIS); the bundled-data tests cover the same path everywhere else.
"""

import json

import pytest
from click.testing import CliRunner
from conftest import atis_path
from test_export import tag_with_plain_tensorflow

from slotfill.cli import cli

ATIS = atis_path()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(ATIS is None, reason="ATIS is not beside the repository"),
]


def test_train_evaluate_tag_export_reload_on_atis(tmp_path, isolated_models):
    runner = CliRunner()
    out = tmp_path / "atis"
    trained = runner.invoke(cli, ["train", "--data", str(ATIS), "--out", str(out), "--epochs", "2",
                                  "--hidden", "32", "--embedding-dim", "32", "--batch-size", "64",
                                  "--learning-rate", "0.01", "--quiet"])
    assert trained.exit_code == 0, trained.output

    evaluated = runner.invoke(cli, ["evaluate", "--data", str(ATIS), "--json"])
    scores = json.loads(evaluated.output)
    assert scores["sentences"] == 893
    assert scores["slot_f1"] > 70 and scores["intent_accuracy"] > 70

    tagged = runner.invoke(cli, ["tag", "--json", "--today", "2026-12-08",
                                 "arrive Taipei on November 2nd"])
    result = json.loads(tagged.output)
    assert result["tokens"] == ["arrive", "Taipei", "on", "November", "2nd"]
    assert len(result["tags"]) == 5
    normalized = {s["slot"].rsplit(".", 1)[-1]: s["normalized"] for s in result["slots"]}
    assert normalized.get("month_name") == 11 and normalized.get("day_number") == 2
    assert "2027-11-02" in result["dates"].values()

    exported = runner.invoke(cli, ["export", "--out", str(tmp_path / "sm")])
    assert exported.exit_code == 0
    texts = (ATIS / "test" / "seq.in").read_text(encoding="utf-8").splitlines()
    from slotfill.tagger import Tagger

    expected = Tagger.load(out).tag(texts)
    got = tag_with_plain_tensorflow(tmp_path / "sm", texts)
    assert [g["tags"] for g in got] == [e.tags for e in expected]
    assert [g["intent"] for g in got] == [e.intent for e in expected]
