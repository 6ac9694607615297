"""Training-time noise that prepares a tagger for text as people type it.

Benchmarks such as ATIS are lower-case transcripts without punctuation, but users type
``Flights from Taipei to Boston?``. The tokenizer splits the ``?`` off as its own token;
a model that never saw one tags it at random (``? -> B-depart_date.year``). Adding end
marks and commas, tagged ``O``, to some training sentences teaches it that punctuation
is outside every slot and does not change the slots around it. (Case is handled by
normalisation, unseen words by the character CNN and word dropout.)
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
