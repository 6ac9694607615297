"""Tests for slotfill.tagger's results: how a TagResult prints itself (the Tagger itself is
exercised by test_cli, test_export and test_robustness on a trained model)."""

from __future__ import annotations

from slotfill.tagger import Slot, TagResult


def test_a_result_formats_tokens_intent_and_slots():
    result = TagResult(
        text="arrive Taipei on November 2nd",
        tokens=["arrive", "Taipei", "on", "November", "2nd"],
        tags=["O", "B-toloc.city_name", "O", "B-arrive_date.month_name",
              "B-arrive_date.day_number"],
        slots=[Slot("toloc.city_name", "Taipei", 7, 13, 0.987),
               Slot("arrive_date.month_name", "November", 17, 25, 0.96),
               Slot("arrive_date.day_number", "2nd", 26, 29, 0.894)],
        intent="flight", intent_confidence=0.871)
    assert result.format() == (
        "arrive Taipei on November 2nd\n"
        "  arrive    O\n"
        "  Taipei    B-toloc.city_name\n"
        "  on        O\n"
        "  November  B-arrive_date.month_name\n"
        "  2nd       B-arrive_date.day_number\n"
        "intent: flight (0.87)\n"
        "slots:\n"
        "  toloc.city_name = 'Taipei'  [7:13] (0.99)\n"
        "  arrive_date.month_name = 'November'  [17:25] (0.96)\n"
        "  arrive_date.day_number = '2nd'  [26:29] (0.89)\n")


def test_a_result_without_intent_or_slots_says_so():
    result = TagResult(text="hello", tokens=["hello"], tags=["O"])
    assert result.format() == "hello\n  hello  O\nslots: none\n"


def test_a_result_with_nothing_to_tag():
    assert TagResult(text="   ", tokens=[], tags=[]).format() == "(nothing to tag in '   ')\n"


def test_a_result_as_json_has_intent_keys_only_from_a_model_with_an_intent_head():
    with_head = TagResult(text="   ", tokens=[], tags=[])
    assert with_head.to_dict() == {"text": "   ", "tokens": [], "tags": [], "slots": [],
                                   "intent": None, "intent_confidence": None}
    without = TagResult(text="hello", tokens=["hello"], tags=["O"], has_intent=False)
    assert without.to_dict() == {"text": "hello", "tokens": ["hello"], "tags": ["O"],
                                 "slots": []}
