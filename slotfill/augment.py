"""Training-time noise that prepares a tagger for text as people type it.

Benchmarks such as ATIS are lower-case transcripts without punctuation, but users type
``Flights from Taipei to Boston?``. The tokenizer splits the ``?`` off as its own token;
a model that never saw one tags it at random (``? -> B-depart_date.year``). Adding end
marks and commas, tagged ``O``, to some training sentences teaches it that punctuation
is outside every slot and does not change the slots around it. Likewise users name
cities the data never mentions; replacing some name-like slot values by made-up names
(unknown words, new spellings) teaches the model to tag a name from its context and form.
People also type terse queries (``boston to denver monday``), which transcripts seldom are;
dropping the words before the first slot of some sentences shows the model that form.
And users capitalise names (``arrive Taipei``): words are looked up in lower case, but a
model whose encoder marks case (``Encoder.marks_case``) learns from sentences written that
way that a capitalised unknown word is likely a name.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

END_MARKS = ("?", ".", "!")
COMMA = ","


def add_punctuation(tokens: Sequence[Sequence[str]], tags: Sequence[Sequence[str]],
                    rate: float, rng: random.Random) -> tuple[list[list[str]], list[list[str]]]:
    """Copies of the sentences where a ``rate`` fraction gained punctuation tagged ``O``.

    A chosen sentence ends with one of :data:`END_MARKS`, and half of them also get a
    comma between two tokens, never inside a slot (before an ``I-`` tag). The others are
    returned unchanged; the inputs are not modified.

    Example:
        >>> add_punctuation([["to", "boston"]], [["O", "B-city"]], 1.0, random.Random(1))
        ([['to', 'boston', '?']], [['O', 'B-city', 'O']])
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate!r}")
    out_tokens, out_tags = [], []
    for sentence, labels in zip(tokens, tags, strict=True):
        sentence, labels = list(sentence), list(labels)
        if sentence and rng.random() < rate:
            if len(sentence) > 1 and rng.random() < 0.5:
                gaps = [i for i in range(1, len(sentence)) if not labels[i].startswith("I-")]
                if gaps:
                    at = rng.choice(gaps)
                    sentence.insert(at, COMMA)
                    labels.insert(at, "O")
            sentence.append(rng.choice(END_MARKS))
            labels.append("O")
        out_tokens.append(sentence)
        out_tags.append(labels)
    return out_tokens, out_tags


def drop_lead_in(tokens: Sequence[Sequence[str]], tags: Sequence[Sequence[str]],
                 rate: float, rng: random.Random) -> tuple[list[list[str]], list[list[str]]]:
    """Copies where a ``rate`` fraction of the sentences lose the words before their first
    slot value, as in a query typed into a search box (``show me flights from boston to
    denver`` -> ``boston to denver``).

    Sentences that open with a slot value, or have none, are left as they are (and draw
    nothing from ``rng``, so ``rate`` 0 changes nothing downstream); the tags follow.

    Example:
        >>> drop_lead_in([["flights", "to", "boston"]], [["O", "O", "B-city"]], 1.0,
        ...              random.Random(0))
        ([['boston']], [['B-city']])
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate!r}")
    out_tokens, out_tags = [], []
    for sentence, labels in zip(tokens, tags, strict=True):
        first = next((i for i, tag in enumerate(labels) if tag != "O"), 0)
        if rate > 0 and first > 0 and rng.random() < rate:
            sentence, labels = sentence[first:], labels[first:]
        out_tokens.append(list(sentence))
        out_tags.append(list(labels))
    return out_tokens, out_tags


# A slot type is "open" (names: cities, airlines, artists) when training gives it at least
# this many distinct values, few of them with digits, and about a word of its own per value.
# Closed or composed types (months, "twenty first", "5 pm", flight numbers) are left alone:
# a made-up month would only teach the model to call any unknown word after "on" a month.
OPEN_SLOT_MIN_VALUES = 20
_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"


def open_slot_types(tags: Sequence[Sequence[str]], tokens: Sequence[Sequence[str]],
                    min_values: int = OPEN_SLOT_MIN_VALUES) -> set[str]:
    """Slot types whose values are names: at least ``min_values`` distinct values, at most
    a fifth of them with a digit, and at least as many distinct words as values (numbers
    and times are composed from a few words: "twenty first", "twenty second")."""
    from slotfill.bio import to_spans

    values: dict[str, set[str]] = {}
    for sentence, labels in zip(tokens, tags, strict=True):
        for span in to_spans(labels):
            values.setdefault(span.slot, set()).add(" ".join(sentence[span.start:span.end]))
    return {slot for slot, seen in values.items()
            if len(seen) >= min_values
            and sum(any(c.isdigit() for c in v) for v in seen) <= len(seen) / 5
            and len({w for v in seen for w in v.split()}) >= len(seen)}


def made_up_name(rng: random.Random) -> list[str]:
    """One to three pronounceable made-up words, e.g. ``['kavoru']`` or ``['tes', 'mirano']``."""
    words = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        syllables = rng.randint(1, 3)
        words.append("".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS)
                             for _ in range(syllables)) + rng.choice(("", "", "n", "r", "s")))
    return words


def replace_slot_values(tokens: Sequence[Sequence[str]], tags: Sequence[Sequence[str]],
                        rate: float, rng: random.Random,
                        slot_types: set[str]) -> tuple[list[list[str]], list[list[str]]]:
    """Copies where each value of an open slot type is, with probability ``rate``, a made-up name.

    Names a user types are often absent from the training data ("arrive Taipei"); a
    made-up name in a known context teaches the model to tag a value from its context and
    form rather than from having seen it. The replacement keeps the slot type.

    Example:
        >>> replace_slot_values([["to", "boston"]], [["O", "B-city"]], 1.0, random.Random(0),
        ...                     {"city"})
        ([['to', 'lur', 'mopu', 'gigalus']], [['O', 'B-city', 'I-city', 'I-city']])
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate!r}")
    from slotfill.bio import to_spans

    out_tokens, out_tags = [], []
    for sentence, labels in zip(tokens, tags, strict=True):
        new_tokens: list[str] = []
        new_tags: list[str] = []
        at = 0
        for span in to_spans(labels):
            if span.slot not in slot_types or rng.random() >= rate:
                continue
            name = made_up_name(rng)
            new_tokens += sentence[at:span.start] + name
            new_tags += list(labels[at:span.start]) + [f"B-{span.slot}"] + [
                f"I-{span.slot}"] * (len(name) - 1)
            at = span.end
        out_tokens.append(new_tokens + list(sentence[at:]))
        out_tags.append(new_tags + list(labels[at:]))
    return out_tokens, out_tags


def capitalize_names(tokens: Sequence[Sequence[str]], tags: Sequence[Sequence[str]],
                     rate: float, rng: random.Random,
                     slot_types: set[str]) -> list[list[str]]:
    """Copies where a ``rate`` fraction of the sentences is written as a person might: the
    first word and every word of a value of ``slot_types`` (names) start with a capital.

    The tags are unchanged. Other words stay in lower case, so a capital says "a name or the
    start of the sentence", as in typed text.

    Example:
        >>> capitalize_names([["to", "new", "york"]], [["O", "B-city", "I-city"]], 1.0,
        ...                  random.Random(0), {"city"})
        [['To', 'New', 'York']]
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate!r}")
    from slotfill.bio import to_spans

    out = []
    for sentence, labels in zip(tokens, tags, strict=True):
        sentence = list(sentence)
        if sentence and rng.random() < rate:
            names = {i for span in to_spans(labels) if span.slot in slot_types
                     for i in range(span.start, span.end)}
            sentence = [word[:1].upper() + word[1:] if i == 0 or i in names else word
                        for i, word in enumerate(sentence)]
        out.append(sentence)
    return out
