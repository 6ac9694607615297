"""Typed-text benchmark: a trained model on test utterances rewritten the way people type.

    python benchmarks/typed.py --model models/bilstm --data ../shared/datasets/atis
        -> benchmarks/results/typed_<data>.{json,md}

Benchmark test sets are clean transcripts. Each test utterance is rewritten, with a
fixed seed, in four ways, and the model tags the raw text (tokenizer included):

- ``unseen cities``: every ``*city_name`` slot value becomes a city the training data
  never names (Taipei, Reykjavik, Kuala Lumpur, ...);
- ``capitals``: sentence case, slot values in Title Case, one utterance in five in upper case;
- ``punctuation``: a ``?`` or ``.`` at the end, and a comma before a word outside a slot;
- ``digit ordinals``: ``day_number`` values in words become digits (``twenty first`` -> ``21st``);
- ``joined times``: a number and its ``am`` / ``pm`` are typed as one word (``5 pm`` -> ``5pm``;
  the tokenizer splits it again, so the gold tokens are unchanged);

and ``all`` applies them all together. Gold tags follow every rewrite (punctuation is
``O``; a rewritten value keeps its slot). Scores are seqeval slot F1 and intent accuracy.

A second table scores ``TERSE`` queries: short ones as typed into a search box ("arrive
Taipei on November 2nd", "Boston to Lagos friday morning"), often without "flight" or a
preposition, each with every unseen city. Their gold labels are ATIS's, so the table is
made only for a model that knows every one of those labels.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, environment, environment_markdown, write_atomic, write_json  # noqa: E402

UNSEEN_CITIES = (
    "taipei", "reykjavik", "nairobi", "lagos", "osaka", "kaohsiung", "lisbon", "prague",
    "helsinki", "edinburgh", "manila", "jakarta", "hanoi", "lima", "bogota", "kuala lumpur",
    "cape town", "rio de janeiro", "sao paulo", "tel aviv", "hong kong", "abu dhabi",
    "ulaanbaatar", "casablanca", "auckland", "krakow", "porto", "seville", "marrakech", "cusco",
)
_UNITS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]
ORDINAL_WORDS: dict[str, int] = {
    **{w: i + 1 for i, w in enumerate(_UNITS)},
    "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
    "twentieth": 20, "thirtieth": 30,
    **{f"twenty {w}": 21 + i for i, w in enumerate(_UNITS)},
    "thirty first": 31,
}

# (query, the tag of each word, intent); "{city}" is one slot value, filled by each unseen
# city in turn. Written to catch short queries without "flight" ("arrive Taipei on November
# 2nd") being given a rare intent; used to choose the intent encoder, not to tune anything else.
TERSE: tuple[tuple[str, str, str], ...] = (
    ("arrive {city} on november 2nd",
     "O B-toloc.city_name O B-arrive_date.month_name B-arrive_date.day_number", "atis_flight"),
    ("leave {city} on november 2nd",
     "O B-fromloc.city_name O B-depart_date.month_name B-depart_date.day_number", "atis_flight"),
    ("arrive in {city} on november 2nd",
     "O O B-toloc.city_name O B-arrive_date.month_name B-arrive_date.day_number", "atis_flight"),
    ("depart {city} tomorrow", "O B-fromloc.city_name B-depart_date.today_relative",
     "atis_flight"),
    ("{city} to boston monday",
     "B-fromloc.city_name O B-toloc.city_name B-depart_date.day_name", "atis_flight"),
    ("boston to {city} friday morning", "B-fromloc.city_name O B-toloc.city_name "
     "B-depart_date.day_name B-depart_time.period_of_day", "atis_flight"),
    ("to {city} on may 3rd",
     "O B-toloc.city_name O B-depart_date.month_name B-depart_date.day_number", "atis_flight"),
    ("from {city} to denver", "O B-fromloc.city_name O B-toloc.city_name", "atis_flight"),
    ("going to {city} on the 21st", "O O B-toloc.city_name O O B-depart_date.day_number",
     "atis_flight"),
    ("i want to go to {city}", "O O O O O B-toloc.city_name", "atis_flight"),
    ("get me to {city} by 5 +pm",  # typed "5pm"; "+" joins a word to the one before it
     "O O O B-toloc.city_name B-arrive_time.time_relative B-arrive_time.time "
     "I-arrive_time.time", "atis_flight"),
    ("how much is a ticket to {city}", "O O O O O O B-toloc.city_name", "atis_airfare"),
    ("fare from boston to {city}", "O O B-fromloc.city_name O B-toloc.city_name",
     "atis_airfare"),
    ("cheapest fare to {city}", "B-cost_relative O O B-toloc.city_name", "atis_airfare"),
    ("ground transportation in {city}", "O O O B-city_name", "atis_ground_service"),
    ("which airlines fly to {city}", "O O O O B-toloc.city_name", "atis_airline"),
)

Example = tuple[list[str], list[str]]          # tokens, tags
Rewrite = Callable[[list[str], list[str], random.Random, list[str]], Example]


class Joined(str):
    """A token typed with no space before it (``pm`` in ``5pm``); equal to the plain word."""


def _spans(tags: list[str]) -> list[tuple[int, int, str]]:
    from slotfill.bio import to_spans

    return [(s.start, s.end, s.slot) for s in to_spans(tags)]


def _replace_spans(tokens: list[str], tags: list[str],
                   new_value: Callable[[str, list[str]], list[str] | None]) -> Example:
    """Rebuild the sentence with some slot values replaced (by tokens) and tags to match."""
    out_tokens, out_tags, at = [], [], 0
    for start, end, slot in _spans(tags):
        out_tokens += tokens[at:start]
        out_tags += tags[at:start]
        value = new_value(slot, tokens[start:end])
        value = tokens[start:end] if value is None else value
        out_tokens += value
        out_tags += [f"B-{slot}"] + [f"I-{slot}"] * (len(value) - 1)
        at = end
    return out_tokens + tokens[at:], out_tags + tags[at:]


def unseen_cities(tokens, tags, rng, cities) -> Example:
    return _replace_spans(tokens, tags, lambda slot, value: (
        rng.choice(cities).split() if slot.endswith("city_name") else None))


def capitals(tokens, tags, rng, cities) -> Example:
    if rng.random() < 0.2:
        return [t.upper() for t in tokens], tags
    tokens, tags = _replace_spans(tokens, tags, lambda slot, value: [v.title() for v in value])
    return [tokens[0][:1].upper() + tokens[0][1:]] + tokens[1:], tags


def punctuation(tokens, tags, rng, cities) -> Example:
    tokens, tags = list(tokens), list(tags)
    gaps = [i for i in range(1, len(tokens)) if tags[i] == "O"]
    if gaps and rng.random() < 0.5:
        # Written "boston, please": the comma sticks to the previous word and is split off.
        at = rng.choice(gaps)
        tokens.insert(at, ",")
        tags.insert(at, "O")
    return tokens + [rng.choice("?.")], tags + ["O"]


def digit_ordinals(tokens, tags, rng, cities) -> Example:
    def digits(slot: str, value: list[str]) -> list[str] | None:
        number = ORDINAL_WORDS.get(" ".join(value).lower()) if slot.endswith("day_number") else None
        if number is None:
            return None
        suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(
            number % 10, "th")
        return [f"{number}{suffix}"]

    return _replace_spans(tokens, tags, digits)


def joined_times(tokens, tags, rng, cities) -> Example:
    return [Joined(t) if i and t.lower() in ("am", "pm") and tokens[i - 1].isdigit() else t
            for i, t in enumerate(tokens)], tags


REWRITES: dict[str, list[Rewrite]] = {
    "clean": [],
    "unseen cities": [unseen_cities],
    "capitals": [capitals],
    "punctuation": [punctuation],
    "digit ordinals": [digit_ordinals],
    "joined times": [joined_times],
    "all": [unseen_cities, digit_ordinals, capitals, joined_times, punctuation],
}


def to_text(tokens: list[str]) -> str:
    """Join tokens as typed: punctuation and ``Joined`` words stick to the word before it."""
    text = ""
    for token in tokens:
        sticks = isinstance(token, Joined) or token in {",", "?", ".", "!"}
        text += token if sticks and text else (" " if text else "") + token
    return text


def rewrite_split(tokens: list[list[str]], tags: list[list[str]], rewrites: list[Rewrite],
                  cities: list[str], seed: int) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for sentence, labels in zip(tokens, tags, strict=True):
        sentence, labels = list(sentence), list(labels)
        for rewrite in rewrites:
            sentence, labels = rewrite(sentence, labels, rng, cities)
        out.append((sentence, labels))
    return out


def as_typed(query: str) -> str:
    """A ``TERSE`` query as a person types it: ``+`` words joined to the word before."""
    return query.replace(" +", "")


def terse_examples(cities: list[str]) -> list[tuple[list[str], list[str], str]]:
    """Every ``TERSE`` query with every city (every other one in Title Case): tokens, tags,
    intent."""
    out = []
    for query, tags, intent in TERSE:
        for i, city in enumerate(cities):
            value = city.split() if i % 2 == 0 else [w.title() for w in city.split()]
            tokens, gold = [], []
            for word, tag in zip(query.split(), tags.split(), strict=True):
                if word.startswith("+"):
                    tokens.append(Joined(word[1:]))
                    gold.append(tag)
                elif word == "{city}":
                    tokens += value
                    gold += [tag] + ["I-" + tag[2:]] * (len(value) - 1)
                else:
                    tokens.append(word)
                    gold.append(tag)
            out.append((tokens, gold, intent))
    return out


def knows_terse_labels(tagger: Any) -> bool:
    """Whether the model's tag and intent sets hold every label ``TERSE`` uses."""
    # A two-word city brings the I- tags a city value can need.
    examples = terse_examples(["new city"])
    tags = {tag for _, gold, _ in examples for tag in gold}
    intents = {intent for _, _, intent in examples}
    encoder = tagger.encoder
    return (tags <= set(encoder.tags.labels) and encoder.intents is not None
            and intents <= set(encoder.intents.labels))


def score_terse(tagger: Any, cities: list[str]) -> dict[str, Any]:
    """Slot F1, intent and sentence accuracy over all ``TERSE`` queries, and for each query
    the share of cities with the intent right and with every tag right."""
    examples = terse_examples(cities)
    scores, results = tag_and_score(tagger, [(tokens, tags) for tokens, tags, _ in examples],
                                    [intent for _, _, intent in examples])
    intent_right, tags_right = {}, {}
    for i, (query, _, intent) in enumerate(TERSE):
        rows = range(i * len(cities), (i + 1) * len(cities))
        shown = as_typed(query)
        intent_right[shown] = 100.0 * sum(results[j].intent == intent for j in rows) / len(cities)
        tags_right[shown] = 100.0 * sum(results[j].tags == examples[j][1]
                                        for j in rows) / len(cities)
    return {**scores, "intent_accuracy_by_query": intent_right,
            "tags_right_by_query": tags_right}


def tag_and_score(tagger: Any, examples: list[Example],
                  intents: list[str] | None) -> tuple[dict[str, Any], list[Any]]:
    """Tag the raw texts; tokens must come back as written (they do by construction).
    Returns the scores and the tagger's results."""
    from slotfill.evaluate import score
    from slotfill.tagger import Prediction

    results = tagger.tag([to_text(tokens) for tokens, _ in examples])
    mismatched = sum(r.tokens != tokens for r, (tokens, _) in zip(results, examples))
    if mismatched:
        raise RuntimeError(f"{mismatched} rewritten utterances tokenized differently")
    predictions = [Prediction(r.tags, [], r.intent, r.intent_confidence) for r in results]
    scores = score([tags for _, tags in examples], predictions, intents)
    return ({k: None if scores[k] is None else float(scores[k])
             for k in ("slot_f1", "intent_accuracy", "sentence_accuracy")}, results)


def score_typed(tagger: Any, examples: list[Example], intents: list[str] | None) -> dict[str, Any]:
    """Slot F1, intent and sentence accuracy of the tagger on the raw texts of ``examples``."""
    return tag_and_score(tagger, examples, intents)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="trained model folder")
    parser.add_argument("--data", required=True, help="dataset folder (its test split is used)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default=None, help="result file stem (default from data)")
    args = parser.parse_args()

    from slotfill.data import load_dataset
    from slotfill.tagger import Tagger

    env = environment()
    data = load_dataset(args.data)
    tagger = Tagger.load(args.model)
    train = data["train"]
    known = {" ".join(t[s:e]).lower() for t, g in zip(train["tokens"], train["tags"])
             for s, e, slot in _spans(list(g)) if slot.endswith("city_name")}
    cities = [c for c in UNSEEN_CITIES if c not in known]
    test = data["test"]
    intents = list(test["intent"]) if any(test["intent"]) else None
    rows = []
    for name, rewrites in REWRITES.items():
        examples = rewrite_split(list(test["tokens"]), list(test["tags"]), rewrites, cities,
                                 args.seed)
        rows.append({"rewrite": name, **score_typed(tagger, examples, intents)})
        print(rows[-1], flush=True)

    terse = score_terse(tagger, cities) if knows_terse_labels(tagger) else None
    if terse is not None:
        print({"terse": terse}, flush=True)

    dataset = Path(args.data).name
    stem = args.name or f"typed_{dataset}"
    write_json(args.out / f"{stem}.json", {"model": args.model, "rows": rows, "terse": terse,
                                           "cities": cities, **env})
    lines = [f"# Typed text on {dataset}", "",
             f"Model `{args.model}`; the test split rewritten (see `benchmarks/typed.py`).", "",
             "| rewrite | slot F1 | intent acc | sentence acc |", "|---|---:|---:|---:|"]
    for r in rows:
        intent = "n/a" if r["intent_accuracy"] is None else f"{r['intent_accuracy']:.2f}"
        lines.append(f"| {r['rewrite']} | {r['slot_f1']:.2f} | {intent} | "
                     f"{r['sentence_accuracy']:.2f} |")
    if terse is not None:
        lines += ["", f"Terse queries (`TERSE`, {len(TERSE)} queries x {len(cities)} unseen "
                  f"cities): slot F1 {terse['slot_f1']:.2f}, intent accuracy "
                  f"{terse['intent_accuracy']:.2f}, sentence accuracy "
                  f"{terse['sentence_accuracy']:.2f}.", "",
                  "Per query, the share of cities with the intent right and with every "
                  "tag right:", "",
                  "| query | intent | intent right | tags right |", "|---|---|---:|---:|"]
        for query, _, intent in TERSE:
            shown = as_typed(query)
            lines.append(f"| {shown} | {intent} | {terse['intent_accuracy_by_query'][shown]:.0f}"
                         f" | {terse['tags_right_by_query'][shown]:.0f} |")
    write_atomic(args.out / f"{stem}.md", "\n".join(lines) + "\n\n" + environment_markdown(env))


if __name__ == "__main__":
    main()
