import random

import pytest

from slotfill.augment import (
    COMMA,
    END_MARKS,
    add_punctuation,
    capitalize_names,
    drop_lead_in,
    open_slot_types,
    replace_slot_values,
)
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


def test_open_slot_types_are_the_name_like_ones():
    cities = [(["to", f"{c}ville"], ["O", "B-city"]) for c in "abcdefghijklmnopqrstuvwxy"]
    numbers = [(["flight", str(100 + i)], ["O", "B-number"]) for i in range(30)]
    units = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
             "ninth", "tenth", "eleventh"]
    dates = [(["on", tens, unit], ["O", "B-date", "I-date"])
             for tens in ("twenty", "thirty") for unit in units]
    days = [(["on", "monday"], ["O", "B-day"])] * 30
    examples = cities + numbers + dates + days
    # 25 one-word cities: open. Flight numbers have digits; the 22 dates are composed from
    # 13 words; "monday" is one value.
    assert open_slot_types([t for _, t in examples], [w for w, _ in examples]) == {"city"}


def test_made_up_names_replace_whole_open_values_only():
    tokens = [["from", "new", "york", "on", "monday"]] * 50
    tags = [["O", "B-city", "I-city", "O", "B-day"]] * 50
    out_tokens, out_tags = replace_slot_values(tokens, tags, 0.5, random.Random(0), {"city"})
    replaced = [t for t in out_tokens if t[1:3] != ["new", "york"]]
    assert 10 < len(replaced) < 40
    for sentence, labels in zip(out_tokens, out_tags):
        assert sentence[0] == "from" and sentence[-2:] == ["on", "monday"]
        assert labels[-2:] == ["O", "B-day"]
        city = [t for t, g in zip(sentence, labels) if g.endswith("city")]
        assert labels[1] == "B-city" and all(g == "I-city" for g in labels[2:len(city) + 1])
        assert all(word.isalpha() and word.islower() for word in city)
    assert tokens[0] == ["from", "new", "york", "on", "monday"]  # inputs untouched


def test_capitalize_names_capitalises_the_first_word_and_name_values_only():
    tokens = capitalize_names(TOKENS, TAGS, 1.0, random.Random(0), {"from"})
    assert tokens == [["Flights", "from", "New", "York", "to", "los", "angeles"], ["Hello"], []]
    assert TOKENS[0][0] == "flights"  # the inputs are not modified


def test_capitalize_names_rate_is_roughly_kept_and_seeded():
    many, labels = [["to", "boston"]] * 2000, [["O", "B-city"]] * 2000
    first = capitalize_names(many, labels, 0.3, random.Random(3), {"city"})
    assert first == capitalize_names(many, labels, 0.3, random.Random(3), {"city"})
    assert 500 < sum(t == ["To", "Boston"] for t in first) < 700
    assert all(t in (["To", "Boston"], ["to", "boston"]) for t in first)
    with pytest.raises(ValueError, match="rate"):
        capitalize_names(many, labels, -0.1, random.Random(0), {"city"})


def test_drop_lead_in_keeps_sentences_from_their_first_slot():
    tokens = TOKENS + [["boston", "to", "denver"]]
    tags = TAGS + [["B-from", "O", "B-to"]]
    out_tokens, out_tags = drop_lead_in(tokens, tags, 1.0, random.Random(0))
    assert out_tokens[0] == ["new", "york", "to", "los", "angeles"]
    assert out_tags[0] == ["B-from", "I-from", "O", "B-to", "I-to"]
    # No slot, no words, or a slot first: nothing to drop.
    assert out_tokens[1:] == tokens[1:] and out_tags[1:] == tags[1:]


def test_drop_lead_in_at_rate_zero_draws_nothing():
    # A model trained with --prefix-noise 0 is exactly what the defaults made before it.
    rng = random.Random(3)
    assert drop_lead_in(TOKENS, TAGS, 0.0, rng) == (TOKENS, TAGS)
    assert rng.random() == random.Random(3).random()
    with pytest.raises(ValueError, match="rate"):
        drop_lead_in(TOKENS, TAGS, 1.5, rng)


def test_drop_lead_in_rate_is_roughly_kept():
    tokens, tags = [["show", "me", "boston"]] * 1000, [["O", "O", "B-to"]] * 1000
    out, _ = drop_lead_in(tokens, tags, 0.1, random.Random(7))
    assert 60 < sum(sentence == ["boston"] for sentence in out) < 140
