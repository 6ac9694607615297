"""benchmarks/typed.py: the rewrites keep gold tags aligned with what the tokenizer sees."""

import random

from benchmarks import typed
from slotfill.bio import to_spans
from slotfill.tokenizer import tokenize

TOKENS = ["flights", "from", "new", "york", "to", "boston", "on", "april", "twenty", "first"]
TAGS = ["O", "O", "B-fromloc.city_name", "I-fromloc.city_name", "O", "B-toloc.city_name", "O",
        "B-depart_date.month_name", "B-depart_date.day_number", "I-depart_date.day_number"]


def slots(tokens, tags):
    return [(s.slot, " ".join(tokens[s.start:s.end])) for s in to_spans(tags)]


def test_unseen_cities_replace_only_city_values():
    tokens, tags = typed.unseen_cities(TOKENS, TAGS, random.Random(0), ["kuala lumpur"])
    assert slots(tokens, tags) == [("fromloc.city_name", "kuala lumpur"),
                                   ("toloc.city_name", "kuala lumpur"),
                                   ("depart_date.month_name", "april"),
                                   ("depart_date.day_number", "twenty first")]


def test_digit_ordinals():
    tokens, tags = typed.digit_ordinals(TOKENS, TAGS, random.Random(0), [])
    assert slots(tokens, tags)[-1] == ("depart_date.day_number", "21st")
    for words, digits in (("second", "2nd"), ("eleventh", "11th"), ("twenty third", "23rd")):
        out, _ = typed.digit_ordinals(words.split(), ["B-day_number"] + ["I-day_number"] * (
            len(words.split()) - 1), random.Random(0), [])
        assert out == [digits]


def test_every_rewrite_tokenizes_back_to_its_gold_tokens():
    for name, rewrites in typed.REWRITES.items():
        for seed in range(20):
            [(tokens, tags)] = typed.rewrite_split([TOKENS], [TAGS], rewrites, ["taipei"], seed)
            assert len(tokens) == len(tags), name
            assert [t.text for t in tokenize(typed.to_text(tokens))] == tokens, name


def test_punctuation_is_outside_every_slot():
    tokens, tags = typed.punctuation(TOKENS, TAGS, random.Random(3), [])
    assert tokens[-1] in "?." and tags[-1] == "O"
    assert slots(tokens, tags) == slots(TOKENS, TAGS)
