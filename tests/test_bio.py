"""BIO rules: tag parsing, repair, spans (as conlleval/seqeval read them), allowed transitions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

from slotfill.bio import (
    SlotSpan,
    allowed_transitions,
    crf_order,
    is_valid_tag,
    is_well_formed,
    parse_tag,
    repair,
    to_spans,
)


@pytest.mark.parametrize(
    ("tag", "parsed"),
    [
        ("O", ("O", None)),
        ("B-x", ("B", "x")),
        ("I-x", ("I", "x")),
        ("B-fromloc.city_name", ("B", "fromloc.city_name")),
        ("I-depart-date", ("I", "depart-date")),
        ("B-B", ("B", "B")),
    ],
)
def test_parse_valid_tags(tag, parsed):
    assert parse_tag(tag) == parsed
    assert is_valid_tag(tag)


@pytest.mark.parametrize(
    "tag", ["", "o", "B", "B-", "I-", "X-y", "b-x", "B_x", "B-x y", "B-\tx", " O", "O-x", "E-x",
            "S-x", None, 3]
)
def test_parse_invalid_tags(tag):
    assert not is_valid_tag(tag)
    with pytest.raises(ValueError, match="tag must be 'O', 'B-<slot>' or 'I-<slot>'"):
        parse_tag(tag)


@pytest.mark.parametrize(
    ("tags", "repaired", "count"),
    [
        ([], [], 0),
        (["O", "B-a", "I-a", "O"], ["O", "B-a", "I-a", "O"], 0),
        (["I-a"], ["B-a"], 1),
        (["O", "I-a", "I-a"], ["O", "B-a", "I-a"], 1),
        (["B-a", "I-b", "I-b", "I-a"], ["B-a", "B-b", "I-b", "B-a"], 2),
        (["I-a", "O", "I-a", "B-a", "I-a"], ["B-a", "O", "B-a", "B-a", "I-a"], 2),
    ],
)
def test_repair(tags, repaired, count):
    assert repair(tags) == (repaired, count)
    assert is_well_formed(tags) == (count == 0)
    assert is_well_formed(repaired)


def test_repair_names_the_bad_tag_and_its_index():
    with pytest.raises(ValueError, match=r"tags\[2\].*'Q'"):
        repair(["O", "B-a", "Q"])


def test_is_well_formed_is_false_for_invalid_tags():
    assert not is_well_formed(["O", "b-a"])


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        ([], []),
        (["O", "O"], []),
        (["B-a"], [SlotSpan("a", 0, 1)]),
        (["B-a", "I-a", "I-a", "O"], [SlotSpan("a", 0, 3)]),
        # B after B of the same type starts a new span.
        (["B-a", "B-a"], [SlotSpan("a", 0, 1), SlotSpan("a", 1, 2)]),
        # conlleval: an I- at the start or after O starts a span.
        (["I-a", "I-a", "O", "I-a"], [SlotSpan("a", 0, 2), SlotSpan("a", 3, 4)]),
        # conlleval: an I- of another type ends the span and starts its own.
        (["B-a", "I-b", "I-a"], [SlotSpan("a", 0, 1), SlotSpan("b", 1, 2), SlotSpan("a", 2, 3)]),
        (["O", "B-a.b", "I-a.b"], [SlotSpan("a.b", 1, 3)]),
    ],
)
def test_to_spans(tags, spans):
    assert to_spans(tags) == spans
    assert to_spans(repair(tags)[0]) == spans


def test_to_spans_rejects_invalid_tags():
    with pytest.raises(ValueError, match=r"tags\[1\]"):
        to_spans(["O", "B-"])


_TAGS = st.lists(st.sampled_from(["O", "B-a", "I-a", "B-b", "I-b", "I-c"]), max_size=20)


@settings(max_examples=300, deadline=None)
@given(_TAGS)
def test_spans_agree_with_seqeval_default_mode(tags):
    want = [SlotSpan(slot, start, end + 1) for slot, start, end in get_entities(list(tags))]
    assert sorted(to_spans(tags), key=lambda s: s.start) == sorted(want, key=lambda s: s.start)


@settings(max_examples=300, deadline=None)
@given(_TAGS)
def test_repair_keeps_spans_and_is_idempotent(tags):
    repaired, count = repair(tags)
    assert to_spans(repaired) == to_spans(tags)
    assert repair(repaired) == (repaired, 0)
    assert count == sum(a != b for a, b in zip(tags, repaired, strict=True))


def test_allowed_transitions():
    tags = ["O", "B-a", "I-a", "B-b", "I-b"]
    allowed, start = allowed_transitions(tags)
    assert start == [True, True, False, True, False]
    assert allowed == [
        # to: O     B-a   I-a    B-b   I-b
        [True, True, False, True, False],  # from O
        [True, True, True, True, False],  # from B-a
        [True, True, True, True, False],  # from I-a
        [True, True, False, True, True],  # from B-b
        [True, True, False, True, True],  # from I-b
    ]


@settings(max_examples=200, deadline=None)
@given(_TAGS)
def test_allowed_transitions_accept_exactly_well_formed_sequences(tags):
    labels = ["O", "B-a", "I-a", "B-b", "I-b", "I-c"]
    allowed, start = allowed_transitions(labels)
    ids = [labels.index(tag) for tag in tags]
    steps = zip(ids, ids[1:], strict=False)
    accepted = (not ids or start[ids[0]]) and all(allowed[i][j] for i, j in steps)
    assert accepted == is_well_formed(tags)


def test_allowed_transitions_of_an_empty_label_list_and_bad_labels():
    assert allowed_transitions([]) == ([], [])
    with pytest.raises(ValueError, match=r"tags\[1\]"):
        allowed_transitions(["O", "<pad>"])


def test_crf_order_puts_each_inside_tag_last_after_its_begin_tag_in_the_same_order():
    tags = ["O", "B-a", "B-b", "B-c", "I-a", "I-c", "I-z"]
    # B-b has no I-b: it stays with O. I-z has no B-z: it still goes last.
    assert crf_order(tags) == ["O", "B-b", "B-a", "B-c", "I-a", "I-c", "I-z"]
    assert crf_order(["O", "B-x"]) == ["O", "B-x"]
    with pytest.raises(ValueError, match=r"tags\[1\]"):
        crf_order(["O", "<pad>"])
