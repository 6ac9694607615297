import pytest

from slotfill.evaluate import format_scores, score
from slotfill.tagger import Prediction

GOLD = [["B-from", "O", "B-to", "I-to"], ["O", "B-date"]]


def prediction(tags, intent=None):
    return Prediction(tags=tags, confidences=[1.0] * len(tags), intent=intent)


def test_perfect_predictions():
    scores = score(GOLD, [prediction(t, "flight") for t in GOLD], ["flight", "flight"])
    assert scores["slot_f1"] == pytest.approx(100)
    assert scores["intent_accuracy"] == pytest.approx(100)
    assert scores["sentence_accuracy"] == pytest.approx(100)


def test_entity_level_scoring_and_sentence_accuracy():
    # The second entity is cut short: a wrong entity, not three-quarters right.
    preds = [prediction(["B-from", "O", "B-to", "O"], "flight"),
             prediction(["O", "B-date"], "fare")]
    scores = score(GOLD, preds, ["flight", "flight"])
    assert scores["slot_precision"] == pytest.approx(100 * 2 / 3)
    assert scores["slot_recall"] == pytest.approx(100 * 2 / 3)
    assert scores["intent_accuracy"] == pytest.approx(50)
    assert scores["sentence_accuracy"] == pytest.approx(0)
    assert scores["per_slot"]["to"]["f1"] == pytest.approx(0)
    assert scores["per_slot"]["date"]["support"] == 1


def test_multi_intent_must_name_the_same_intents_in_any_order():
    gold = ["flight#airfare"] * 4
    predicted = ["flight", "airfare#flight", "flight#airfare#airline", "flight#airfare"]
    scores = score([["O"]] * 4, [prediction(["O"], p) for p in predicted], gold)
    assert scores["intent_accuracy"] == pytest.approx(50)


def test_without_intents_sentence_accuracy_is_tags_only():
    scores = score(GOLD, [prediction(t) for t in GOLD])
    assert scores["intent_accuracy"] is None
    assert scores["sentence_accuracy"] == pytest.approx(100)
    assert "intent" not in format_scores(scores)


def test_format_lists_every_slot():
    text = format_scores(score(GOLD, [prediction(t) for t in GOLD]))
    for name in ("from", "to", "date"):
        assert any(line.startswith(name) for line in text.splitlines())
