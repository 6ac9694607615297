"""benchmarks/typed.py: the rewrites keep gold tags aligned with what the tokenizer sees."""

import random

from benchmarks import typed
from slotfill.bio import to_spans
from slotfill.tokenizer import tokenize

TOKENS = ["flights", "from", "new", "york", "to", "boston", "on", "april", "twenty", "first",
          "at", "5", "pm"]
TAGS = ["O", "O", "B-fromloc.city_name", "I-fromloc.city_name", "O", "B-toloc.city_name", "O",
        "B-depart_date.month_name", "B-depart_date.day_number", "I-depart_date.day_number", "O",
        "B-depart_time.time", "I-depart_time.time"]


def slots(tokens, tags):
    return [(s.slot, " ".join(tokens[s.start:s.end])) for s in to_spans(tags)]


def test_unseen_cities_replace_only_city_values():
    tokens, tags = typed.unseen_cities(TOKENS, TAGS, random.Random(0), ["kuala lumpur"])
    assert slots(tokens, tags) == [("fromloc.city_name", "kuala lumpur"),
                                   ("toloc.city_name", "kuala lumpur"),
                                   ("depart_date.month_name", "april"),
                                   ("depart_date.day_number", "twenty first"),
                                   ("depart_time.time", "5 pm")]


def test_digit_ordinals():
    tokens, tags = typed.digit_ordinals(TOKENS, TAGS, random.Random(0), [])
    assert slots(tokens, tags)[-2] == ("depart_date.day_number", "21st")
    for words, digits in (("second", "2nd"), ("eleventh", "11th"), ("twenty third", "23rd")):
        out, _ = typed.digit_ordinals(words.split(), ["B-day_number"] + ["I-day_number"] * (
            len(words.split()) - 1), random.Random(0), [])
        assert out == [digits]


def test_joined_times_are_typed_as_one_word_and_tokenized_as_two():
    tokens = ["flights", "at", "5", "pm", "or", "1030", "am", "pm"]
    tags = ["O", "O", "B-time", "I-time", "O", "B-time", "I-time", "O"]
    joined, same_tags = typed.joined_times(tokens, tags, random.Random(0), [])
    assert typed.to_text(joined) == "flights at 5pm or 1030am pm"
    assert joined == tokens and same_tags == tags
    assert [t.text for t in tokenize(typed.to_text(joined))] == tokens


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


def test_terse_queries_have_one_tag_per_word_and_tokenize_as_written():
    examples = typed.terse_examples(["kuala lumpur", "taipei"])
    assert len(examples) == 2 * len(typed.TERSE)
    for tokens, tags, intent in examples:
        assert len(tokens) == len(tags) and intent.startswith("atis_")
        assert [t.text for t in tokenize(typed.to_text(tokens))] == tokens
        # Each city is one whole span, whatever its number of words.
        city = ["kuala", "lumpur"] if "kuala" in tokens else ["Taipei"]
        assert city in [tokens[s.start:s.end] for s in to_spans(tags)], tokens


class FakeTagger:
    """Says flight for every query; tags every word O, or as ``gold`` (text -> tags) says."""

    def __init__(self, encoder, gold=None):
        self.encoder = encoder
        self.gold = gold or {}

    def tag(self, texts):
        from slotfill.tagger import TagResult
        out = []
        for text in texts:
            tokens = [t.text for t in tokenize(text)]
            tags = self.gold.get(text, ["O"] * len(tokens))
            out.append(TagResult(text, tokens, tags, intent="atis_flight"))
        return out


def test_score_terse_counts_intents_per_query():
    from types import SimpleNamespace

    tags = sorted({t for _, line, _ in typed.TERSE for t in line.split()})
    # Only city values may span several words; ATIS has no I-cost_relative, for one.
    tags += ["I-" + t[2:] for t in tags if t.endswith("city_name")]
    labels = SimpleNamespace(labels=tags)
    intents = SimpleNamespace(labels=sorted({i for _, _, i in typed.TERSE}))
    tagger = FakeTagger(SimpleNamespace(tags=labels, intents=intents))
    assert typed.knows_terse_labels(tagger)
    result = typed.score_terse(tagger, ["taipei", "lagos"])
    by_query = result["intent_accuracy_by_query"]
    flight = [typed.as_typed(q) for q, _, i in typed.TERSE if i == "atis_flight"]
    assert all(by_query[q] == 100.0 for q in flight)
    assert all(v == 0.0 for q, v in by_query.items() if q not in flight)
    assert result["intent_accuracy"] == 100.0 * len(flight) / len(typed.TERSE)
    assert result["slot_f1"] == 0.0
    assert set(result["tags_right_by_query"].values()) == {0.0}  # every query has a city
    # With the gold tags of one query for one of the two cities, that query is half right.
    tokens, gold, _ = typed.terse_examples(["taipei", "lagos"])[0]
    tagger.gold = {typed.to_text(tokens): gold}
    tags_right = typed.score_terse(tagger, ["taipei", "lagos"])["tags_right_by_query"]
    assert tags_right[typed.TERSE[0][0]] == 50.0
    assert sum(tags_right.values()) == 50.0
    tagger.encoder.tags = SimpleNamespace(labels=[t for t in tags if t != "I-toloc.city_name"])
    assert not typed.knows_terse_labels(tagger)
    tagger.encoder.tags = labels
    tagger.encoder.intents = SimpleNamespace(labels=["atis_flight"])
    assert not typed.knows_terse_labels(tagger)
