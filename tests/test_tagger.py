"""Tests for slotfill.tagger's results: how a TagResult prints itself, and the values it
normalizes (the Tagger is also exercised by test_cli, test_export and test_robustness)."""

from __future__ import annotations

import datetime

from slotfill.tagger import Slot, Tagger, TagResult

TODAY = datetime.date(2026, 12, 8)


def test_a_result_formats_tokens_intent_and_slots():
    result = TagResult(
        text="arrive Taipei on November 2nd",
        tokens=["arrive", "Taipei", "on", "November", "2nd"],
        tags=["O", "B-toloc.city_name", "O", "B-arrive_date.month_name",
              "B-arrive_date.day_number"],
        slots=[Slot("toloc.city_name", "Taipei", 7, 13, 0.987),
               Slot("arrive_date.month_name", "November", 17, 25, 0.96, 11),
               Slot("arrive_date.day_number", "2nd", 26, 29, 0.894, 2)],
        intent="flight", intent_confidence=0.871, dates={"arrive": "2027-11-02"})
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
        "  arrive_date.month_name = 'November'  [17:25] (0.96) -> 11\n"
        "  arrive_date.day_number = '2nd'  [26:29] (0.89) -> 2\n"
        "arrive date: 2027-11-02\n")


def test_a_result_without_intent_or_slots_says_so():
    result = TagResult(text="hello", tokens=["hello"], tags=["O"])
    assert result.format() == "hello\n  hello  O\nslots: none\n"


def test_a_result_with_nothing_to_tag():
    assert TagResult(text="   ", tokens=[], tags=[]).format() == "(nothing to tag in '   ')\n"


def test_a_result_as_json_has_intent_keys_only_from_a_model_with_an_intent_head():
    with_head = TagResult(text="   ", tokens=[], tags=[])
    assert with_head.to_dict() == {"text": "   ", "tokens": [], "tags": [], "slots": [],
                                   "intent": None, "intent_confidence": None, "dates": {},
                                   "times": {}}
    without = TagResult(text="hello", tokens=["hello"], tags=["O"], has_intent=False)
    assert without.to_dict() == {"text": "hello", "tokens": ["hello"], "tags": ["O"],
                                 "slots": [], "dates": {}, "times": {}}


def test_the_taipei_sentence_gets_its_month_day_and_date(trained):
    tagger = Tagger.load(trained.model_dir)
    [result] = tagger.tag(["arrive Taipei on November 2nd"], today=TODAY)
    # The small model may read the date as the departure's: the role follows its tags.
    by_kind = {slot.slot.rsplit(".", 1)[-1]: slot.normalized for slot in result.slots}
    assert by_kind == {"city_name": None, "month_name": 11, "day_number": 2}
    role = next(s.slot for s in result.slots if s.slot.endswith("month_name")).split("_")[0]
    assert result.dates == {role: "2027-11-02"}
    # The next November 2nd: this year's when it is still to come.
    [earlier] = tagger.tag(["arrive Taipei on November 2nd"], today=datetime.date(2027, 1, 5))
    assert earlier.dates == {role: "2027-11-02"}


def test_synonyms_give_the_canonical_value_and_value_types_a_kind(trained):
    tagger = Tagger.load(trained.model_dir)
    config = tagger.config.replace(synonyms={"Boston, MA": ["boston", "bos"]},
                                   value_types={"city_name": "number"})
    changed = Tagger(tagger.model, config, tagger.encoder)
    [result] = changed.tag(["show me flights from Boston to denver"], today=TODAY)
    normalized = {slot.value: slot.normalized for slot in result.slots}
    assert normalized["Boston"] == "Boston, MA"  # case and spacing do not matter
    assert normalized["denver"] is None  # a city read as a number: none

