"""Tests for data/make_flights.py: the committed bundled dataset is exactly what it generates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BUNDLED, REPO

from slotfill import bio

SCRIPT = REPO / "data" / "make_flights.py"
FILES = [f"{split}/{name}" for split in ("train", "valid", "test")
         for name in ("seq.in", "seq.out", "label")]
SIZES = {"train": 600, "valid": 100, "test": 150}


def run_generator(out: Path, hash_seed: str) -> dict[str, bytes]:
    # Different hash seeds would expose any dependence on set or dict-of-str ordering.
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], check=True, env=env,
                   capture_output=True, timeout=60)
    return {name: (out / name).read_bytes() for name in FILES}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, bytes]:
    first = run_generator(tmp_path_factory.mktemp("first"), "1")
    second = run_generator(tmp_path_factory.mktemp("second"), "2")
    assert first == second, "two runs of make_flights.py differ"
    return first


def read_split(files: dict[str, bytes], split: str) -> list[tuple[list[str], list[str], str]]:
    seq_in, seq_out, label = (files[f"{split}/{name}"].decode().split("\n")
                              for name in ("seq.in", "seq.out", "label"))
    # Each file ends with exactly one newline, so the last piece is empty.
    assert seq_in[-1] == seq_out[-1] == label[-1] == ""
    return [(text.split(" "), tags.split(" "), intent)
            for text, tags, intent in zip(seq_in[:-1], seq_out[:-1], label[:-1], strict=True)]


def city_names(examples) -> set[str]:
    cities = set()
    for tokens, tags, _ in examples:
        words: list[str] = []
        for token, tag in [*zip(tokens, tags, strict=True), ("", "O")]:
            if tag.endswith("city_name") and tag.startswith("I-"):
                words.append(token)
                continue
            if words:
                cities.add(" ".join(words))
            words = [token] if tag.endswith("city_name") else []
    return cities


def test_committed_data_is_reproducible(generated):
    for name in FILES:
        assert (BUNDLED / name).read_bytes() == generated[name], f"{name} differs: rerun the script"


def test_sizes_and_shape(generated):
    for split, size in SIZES.items():
        examples = read_split(generated, split)
        assert len(examples) == size
        for tokens, tags, intent in examples:
            assert all(tokens) and len(tokens) == len(tags)
            assert " ".join(tokens) == " ".join(tokens).lower()
            assert intent and " " not in intent


def test_every_tag_is_valid_and_well_formed_bio(generated):
    for split in SIZES:
        for _, tags, _ in read_split(generated, split):
            assert all(bio.is_valid_tag(tag) for tag in tags), tags
            assert bio.repair(tags)[1] == 0, tags


def test_test_split_has_cities_unseen_in_train(generated):
    train_cities = city_names(read_split(generated, "train"))
    test_cities = city_names(read_split(generated, "test"))
    assert "salt lake city" in train_cities  # the span reader sees multi-word names
    assert test_cities - train_cities
    assert city_names(read_split(generated, "valid")) - train_cities


def test_no_utterance_in_two_splits(generated):
    seen: dict[str, str] = {}
    for split in SIZES:
        for tokens, _, _ in read_split(generated, split):
            text = " ".join(tokens)
            assert text not in seen, f"{text!r} in {seen.get(text)} and {split}"
            seen[text] = split


def test_covers_the_advertised_variety(generated):
    examples = [e for split in SIZES for e in read_split(generated, split)]
    intents = {intent for _, _, intent in examples}
    assert {"flight", "airfare", "ground_service", "airline", "flight#airfare"} <= intents
    day_tags = [(token, tag) for tokens, tags, _ in examples
                for token, tag in zip(tokens, tags, strict=True) if "day_number" in tag]
    assert any(token.isalpha() for token, _ in day_tags)  # "second"
    assert any(token[0].isdigit() for token, _ in day_tags)  # "2nd"
    assert any(tag.startswith("I-") for _, tag in day_tags)  # "twenty first"
    texts = [" ".join(tokens) for tokens, _, _ in examples]
    assert any(":30 pm" in text for text in texts)
