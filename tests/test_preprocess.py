import random

import numpy as np

from slotfill.preprocess import (
    CASE_MARK,
    LENGTH_QUANTUM,
    EncodedSplit,
    Encoder,
    length_batches,
    pad_batch,
    same_intent,
)

TOKENS = [["fly", "to", "Boston"], ["from", "new", "york", "to", "denver", "tomorrow"]]
TAGS = [["O", "O", "B-to"], ["O", "B-from", "I-from", "O", "B-to", "B-date"]]
INTENTS = ["flight", "flight#fare"]


def make_encoder(chars=True):
    return Encoder.build(TOKENS, TAGS, INTENTS, chars=chars, max_word_length=4)


def test_encoder_normalizes_and_truncates_words():
    encoder = make_encoder()
    assert encoder.tags.labels[0] == "O"
    out = encoder.encode_tokens(["BOSTON", "zanzibar"])
    assert out["words"][0] == encoder.words.id("boston")
    assert out["words"][1] == 1  # unknown
    assert out["chars"].shape == (2, 4)  # capped at max_word_length
    assert list(out["chars"][0]) == encoder.chars.ids("bost")


def test_an_encoder_that_marks_case_puts_the_mark_before_capitalised_words_only():
    encoder = Encoder.build(TOKENS, TAGS, INTENTS, chars=True, max_word_length=4,
                            mark_case=True)
    assert encoder.marks_case and encoder.chars.entries[-1] == CASE_MARK
    out = encoder.encode_tokens(["Boston", "BOSTON", "boston"])
    mark = encoder.chars.id(CASE_MARK)
    assert list(out["chars"][0]) == [mark, *encoder.chars.ids("bos")]  # the mark counts
    assert list(out["chars"][1]) == list(out["chars"][2]) == encoder.chars.ids("bost")
    assert list(out["words"]) == [encoder.words.id("boston")] * 3
    # Without the mark in its vocabulary (older models, --case-noise 0) case is ignored.
    plain = make_encoder()
    assert not plain.marks_case
    assert list(plain.encode_tokens(["Boston"])["chars"][0]) == plain.chars.ids("bost")


def test_tags_are_numbered_so_that_the_crf_decodes_without_reordering_them():
    from slotfill import bio
    from slotfill.layers.crf import CRF

    labels = make_encoder().tags.labels
    assert labels == ["O", "B-date", "B-to", "B-from", "I-from"]
    allowed, start = bio.allowed_transitions(labels)
    assert CRF(len(labels), allowed_transitions=allowed, allowed_start=start)._max_plus.is_identity


def test_unseen_labels_become_minus_one():
    encoder = Encoder.build(TOKENS, TAGS, ["flight", "fare"], chars=False, max_word_length=4)
    assert not encoder.multi_intent
    targets = encoder.encode_targets(["O", "B-never"], "unseen_intent")
    assert list(targets["tags"]) == [0, -1]
    assert targets["intent"] == -1


def test_multi_intent_labels_become_sets_of_single_intents():
    encoder = Encoder.build(TOKENS, TAGS, INTENTS, chars=False, max_word_length=4,
                            multi_intent=True)
    assert encoder.multi_intent and encoder.intents.labels == ["fare", "flight"]
    assert list(encoder.encode_targets(["O"], "flight#fare")["intent"]) == [1.0, 1.0]
    # An unseen part is left out; the seen one is still a target.
    assert list(encoder.encode_targets(["O"], "flight#never")["intent"]) == [0.0, 1.0]
    # The default: each label is one class.
    assert make_encoder().intents.labels == ["flight", "flight#fare"]


def test_same_intent_ignores_order_only():
    assert same_intent("a#b", "b#a") and same_intent("a", "a")
    assert not same_intent("a#b", "a") and not same_intent("a", None)


def test_pad_batch_rounds_lengths_and_pads_tags_with_minus_one():
    encoder = make_encoder()
    items = [{**encoder.encode_tokens(t), **encoder.encode_targets(g, i)}
             for t, g, i in zip(TOKENS, TAGS, INTENTS)]
    batch = pad_batch(items)
    assert batch["words"].shape == (2, LENGTH_QUANTUM)
    assert batch["chars"].shape == (2, LENGTH_QUANTUM, LENGTH_QUANTUM)
    assert list(batch["tags"][0, 3:]) == [-1] * (LENGTH_QUANTUM - 3)
    assert list(batch["words"][0, 3:]) == [0] * (LENGTH_QUANTUM - 3)
    assert batch["intent"].shape == (2,)


def test_length_batches_cover_every_index_once_and_are_reproducible():
    lengths = [random.Random(0).randint(1, 40) for _ in range(103)]
    a = length_batches(lengths, 8, shuffle=True, rng=random.Random(5))
    b = length_batches(lengths, 8, shuffle=True, rng=random.Random(5))
    assert a == b
    assert sorted(i for batch in a for i in batch) == list(range(103))
    # Within a pool batches hold similar lengths: far less spread than random batches.
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in a])
    assert spread < 10


def test_encoded_split_batches_in_any_order_map_back():
    split = EncodedSplit(make_encoder(chars=False), TOKENS, TAGS, INTENTS)
    seen = {}
    for indices, inputs, _ in split.iter_batches(1):
        assert "chars" not in inputs
        seen[indices[0]] = int((inputs["words"][0] > 0).sum())
    assert seen == {0: 3, 1: 6}


def test_encoder_save_load(tmp_path):
    encoder = make_encoder()
    encoder.save(tmp_path)
    loaded = Encoder.load(tmp_path, max_word_length=4)
    assert not loaded.marks_case
    assert loaded.words.entries == encoder.words.entries
    assert loaded.chars.entries == encoder.chars.entries
    assert loaded.intents.labels == encoder.intents.labels


def test_the_mark_in_the_training_data_does_not_make_an_encoder_mark_case():
    tokens = [*TOKENS, [CASE_MARK + "x"]]
    encoder = Encoder.build(tokens, [*TAGS, ["O"]], [*INTENTS, "flight"], chars=True,
                            max_word_length=4)
    assert not encoder.marks_case
    assert encoder.encode_tokens(["Boston"])["chars"].shape == (1, 4)


def test_the_case_mark_survives_save_and_load(tmp_path):
    Encoder.build(TOKENS, TAGS, INTENTS, chars=True, max_word_length=4,
                  mark_case=True).save(tmp_path)
    assert Encoder.load(tmp_path, max_word_length=4).marks_case
