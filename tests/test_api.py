"""Tests for the public API in slotfill/__init__.py: the top-level names, and an import
light enough for the command line's --help."""

from __future__ import annotations

import subprocess
import sys

import pytest

import slotfill


def test_import_slotfill_does_not_import_tensorflow():
    probe = ("import sys, slotfill\n"
             "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_the_public_names_are_the_library_objects():
    from slotfill.config import Config
    from slotfill.data import load_dataset
    from slotfill.tagger import Tagger, TagResult
    from slotfill.training import train

    assert slotfill.Config is Config and slotfill.load_dataset is load_dataset
    assert slotfill.Tagger is Tagger and slotfill.TagResult is TagResult
    assert slotfill.train is train
    assert set(slotfill.__all__) <= set(dir(slotfill))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Tager'"):
        slotfill.Tager  # noqa: B018


def test_train_and_tag_through_the_public_api(tmp_path, isolated_models):
    from conftest import SMALL

    from slotfill import Config, Tagger, load_dataset, train

    result = train(Config(**{**SMALL, "epochs": 1}), load_dataset(), tmp_path / "m", verbose=0)
    (tagged,) = Tagger.load(result.model_dir).tag(["fly from boston to denver"])
    assert tagged.tokens == ["fly", "from", "boston", "to", "denver"]
    assert tagged.format().startswith("fly from boston to denver\n")
