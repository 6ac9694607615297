"""Tests for slotfill.versions: what a model folder records, and the warning for a model
written by another major version of slotfill."""

from __future__ import annotations

import json
import logging
import shutil

import keras
import tensorflow as tf

import slotfill
from slotfill.tagger import Tagger
from slotfill.versions import major, mismatch, versions


def test_versions_are_the_running_ones():
    assert versions() == {"slotfill": slotfill.__version__, "tensorflow": tf.__version__,
                          "keras": keras.version()}


def test_major_version():
    assert major("0.2.0") == "0" and major("12.1") == "12" and major("3") == "3"


def test_only_another_major_version_is_a_mismatch():
    ours = slotfill.__version__
    other = f"{int(major(ours)) + 1}.0.0"
    assert mismatch({"slotfill": ours}) is None
    assert mismatch({"slotfill": f"{major(ours)}.999.1"}) is None
    assert mismatch(None) is None and mismatch({}) is None  # models from before the record
    warning = mismatch({"slotfill": other})
    assert warning is not None and other in warning and ours in warning


def test_a_trained_model_records_versions_and_its_data(trained, bundled):
    scores = json.loads((trained.model_dir / "scores.json").read_text())
    assert scores["versions"] == versions()
    data = scores["data"]
    assert data["format"] == "ATIS layout" and data["files"] == 9
    assert len(data["sha256"]) == 64
    assert data["sentences"] == {name: len(bundled[name]) for name in ("train", "valid", "test")}


def test_loading_a_model_of_another_major_version_warns_once(trained, tmp_path, caplog):
    model = tmp_path / "model"
    shutil.copytree(trained.model_dir, model)
    with caplog.at_level(logging.WARNING, logger="slotfill"):
        Tagger.load(model)
    assert caplog.records == []
    scores = json.loads((model / "scores.json").read_text())
    scores["versions"]["slotfill"] = f"{int(major(slotfill.__version__)) + 1}.0.0"
    (model / "scores.json").write_text(json.dumps(scores))
    with caplog.at_level(logging.WARNING, logger="slotfill"):
        tagger = Tagger.load(model)
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "written by slotfill" in caplog.records[0].getMessage()
    assert tagger.tag(["fly to boston"])[0].tokens == ["fly", "to", "boston"]  # still tags
