import random

import pytest

from slotfill.augment import COMMA, END_MARKS, add_punctuation
from slotfill.bio import to_spans

TOKENS = [["flights", "from", "new", "york", "to", "los", "angeles"], ["hello"], []]
TAGS = [["O", "O", "B-from", "I-from", "O", "B-to", "I-to"], ["O"], []]


def test_rate_one_punctuates_every_sentence_without_touching_slots():
    tokens, tags = add_punctuation(TOKENS, TAGS, 1.0, random.Random(0))
    for before, gold_tags, after, labels in zip(TOKENS, TAGS, tokens, tags):
        if not before:
            assert after == []
            continue
        assert after[-1] in END_MARKS and labels[-1] == "O"
        added = [i for i, t in enumerate(after) if t in END_MARKS + (COMMA,)]
        assert all(labels[i] == "O" for i in added)
        # Removing the punctuation gives back the sentence; the slots keep their words.
        assert [t for i, t in enumerate(after) if i not in added] == before
        spans = {(s.slot, " ".join(after[s.start:s.end])) for s in to_spans(labels)}
        gold = {(s.slot, " ".join(before[s.start:s.end])) for s in to_spans(gold_tags)}
        assert spans == gold


def test_rate_zero_changes_nothing_and_inputs_are_not_modified():
    tokens, tags = add_punctuation(TOKENS, TAGS, 0.0, random.Random(0))
    assert tokens == TOKENS and tags == TAGS
    add_punctuation(TOKENS, TAGS, 1.0, random.Random(0))
    assert TOKENS[1] == ["hello"]


def test_same_seed_same_noise_and_rate_is_roughly_kept():
    many = [["a", "b", "c"]] * 2000
    labels = [["O", "B-x", "I-x"]] * 2000
    first = add_punctuation(many, labels, 0.2, random.Random(7))
    assert first == add_punctuation(many, labels, 0.2, random.Random(7))
    changed = sum(len(t) > 3 for t in first[0])
    assert 300 < changed < 500
    # A comma never splits the slot "b c".
    assert all(t[2] != COMMA for t in first[0])


def test_bad_rate_is_rejected():
    with pytest.raises(ValueError, match="rate"):
        add_punctuation(TOKENS, TAGS, 1.5, random.Random(0))
