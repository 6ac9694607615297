"""Raw text to tokens with character offsets, and the one normalisation used everywhere.

The tokenizer turns text as a person types it (``Flights from St. Louis to Boston, please!``)
into tokens that look like slot-filling training data such as ATIS (``st.``, ``i'd``,
``o'clock``, ``a.m.`` stay whole), and remembers where each token came from so that predicted
slots can be mapped back onto the original string.

The rules are a contract: :mod:`slotfill.graph_tokenizer` reproduces them with TensorFlow ops
and must give exactly the same tokens, so both import the character sets defined here.

1. **Chunks.** Whitespace is exactly the characters in :data:`WHITESPACE` (every character for
   which ``str.isspace()`` is true). The text is split into chunks: maximal runs of
   non-whitespace characters. A token never spans two chunks and never contains whitespace.
2. **Leading punctuation.** While the chunk's remaining part is longer than one character and
   starts with a character of :data:`OPENING`, that character is split off as its own token.
   (``"(boston"`` -> ``(`` ``boston``; ``((`` -> ``(`` ``(``.)
3. **Trailing punctuation.** Then, while the remaining part is longer than one character, its
   last character is split off as its own token when it is

   * in :data:`CLOSING` (``!!!`` -> ``!`` ``!`` ``!``), or
   * a period ``.`` and either the chunk is the last chunk of the text, or the remaining part
     *before* that period is longer than three characters and contains no ``.``.

   "Remaining part" means what is left after rule 2 and after the trailing characters already
   split off, so the two kinds of trailing punctuation may alternate: ``(Boston).`` at the end of
   the text gives ``(`` ``Boston`` ``)`` ``.``. ``Boston.`` -> ``Boston`` ``.`` anywhere, while
   ``St. Louis`` keeps ``St.`` (``St`` is too short) and ``a.m. flights`` keeps ``a.m.`` (``a.m``
   contains a period). Lengths count code points. Note that a chunk's last character is never
   split off, so a lone ``-`` or ``.`` is one token.
4. **Clock times.** A token left by rules 2 and 3 that is a clock time joined to its am/pm
   (:data:`TIME_WITH_SUFFIX`: ``5pm``, ``1030AM``, ``5:30p.m.``) is split into the time and the
   suffix (``5`` ``pm``): people type ``5pm``, transcripts such as ATIS write ``5 pm``.
5. Everything else stays inside the token: ``i'd``, ``d/fw``, ``3:30``, ``a.m.``, ``2nd``.

A token's text is exactly ``text[start:end]`` (case kept); :func:`normalize` is applied later,
at lookup time. :func:`tokenize` never raises on a ``str``.

Normalisation (:func:`normalize`) lower-cases, spells out digit ordinals up to 99
(``2nd`` -> ``second``; see :data:`ORDINAL_WORDS`): slot-filling data such as ATIS writes
dates as words, and a tagger trained on ``november second`` should read ``November 2nd``;
and drops the colon of a clock time (``5:30`` -> ``530``) and the periods of ``a.m.`` and
``p.m.``, the forms ATIS writes times in.

Normalisation loses case, so :func:`is_capitalized` keeps the one bit of it a tagger can use:
a word written like a name (``Taipei``, ``McAllen``), as opposed to ``BOSTON``, ``I`` or
``boston``.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

# Written out rather than computed so the graph twin embeds the same set; a test checks it
# equals {c for c in every code point if c.isspace()}.
WHITESPACE: frozenset[str] = frozenset(
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
"""Characters that separate chunks: exactly those for which ``str.isspace()`` is true."""

OPENING: frozenset[str] = frozenset("\"'([{\u00ab\u201c\u2018\u00bf\u00a1")
"""Punctuation split off the start of a chunk: ``"'([{«“‘¿¡``."""

CLOSING: frozenset[str] = frozenset(",;:!?\"')]}\u00bb\u201d\u2019\u2026")
"""Punctuation split off the end of a chunk: ``,;:!?"')]}»”’…`` (the period has its own rule)."""

PERIOD = "."
"""Split off the end of a chunk only under rule 3."""

MIN_STEM_BEFORE_PERIOD = 4
"""A period ends a non-final chunk's token only if at least this many characters precede it."""

_UNITS = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
_TEENS = ("tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
          "seventeenth", "eighteenth", "nineteenth")
_DECADES = ("", "", "twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth",
            "eightieth", "ninetieth")

ORDINAL_WORDS: tuple[str, ...] = tuple(
    _UNITS[n] if n < 10 else _TEENS[n - 10] if n < 20 else _DECADES[n // 10] if n % 10 == 0
    else _UNITS[n % 10]
    for n in range(100)
)
"""The word a digit ordinal ``n`` (1..99, index n) normalises to. Above twenty only the last
word is kept (``21st`` -> ``first``): one token stays one token, and in ``twenty first`` the
last word is the one that reads as a day, a rank or a position. Index 0 is unused."""

DIGIT_ORDINAL = "0*([1-9][0-9]?)(st|nd|rd|th)"
"""A lower-cased token that is a digit ordinal; group 1 is the number. Any of the four suffixes
is accepted (``22th`` is still 22nd). RE2 and Python ``re`` read this pattern alike."""

_DIGIT_ORDINAL = re.compile(DIGIT_ORDINAL)

TIME_WITH_SUFFIX = "([0-9]{1,4}|[0-9]{1,2}:[0-9][0-9])([aApP][.]?[mM][.]?)"
"""A token that is a clock time and its am/pm written together (rule 4); group 1 is the time,
group 2 the suffix. RE2 and Python ``re`` read this pattern alike."""

_TIME_WITH_SUFFIX = re.compile(TIME_WITH_SUFFIX)

CLOCK_TIME = "([0-9]{1,2}):([0-9][0-9])"
"""A lower-cased token that is an ``h:mm`` time; normalised to ``hmm`` (groups 1 and 2)."""

_CLOCK_TIME = re.compile(CLOCK_TIME)

DOTTED_SUFFIX = "([ap])[.]m[.]?"
"""A lower-cased ``a.m.`` or ``p.m.`` (final period optional); normalised to ``am`` / ``pm``."""

_DOTTED_SUFFIX = re.compile(DOTTED_SUFFIX)

_ASCII_UPPER = frozenset(string.ascii_uppercase)
_ASCII_LOWER = frozenset(string.ascii_lowercase)
_CHUNK = re.compile("[^" + "".join(sorted(WHITESPACE)) + "]+")


@dataclass(frozen=True)
class Token:
    """One token: its text exactly as typed and its ``[start, end)`` character offsets."""

    text: str
    start: int
    end: int


def normalize(token: str) -> str:
    """Return the form used to look a token up in a vocabulary.

    Lower case, with digit ordinals spelled out (:data:`ORDINAL_WORDS`), the colon of an
    ``h:mm`` time dropped and the periods of ``a.m.`` / ``p.m.`` too.

    Example:
        >>> [normalize(t) for t in ("Boston", "2ND", "21st", "100th", "5:30", "P.M.")]
        ['boston', 'second', 'first', '100th', '530', 'pm']
    """
    lower = token.lower()
    if ordinal := _DIGIT_ORDINAL.fullmatch(lower):
        return ORDINAL_WORDS[int(ordinal.group(1))]
    if clock := _CLOCK_TIME.fullmatch(lower):
        return clock.group(1) + clock.group(2)
    if suffix := _DOTTED_SUFFIX.fullmatch(lower):
        return suffix.group(1) + "m"
    return lower


def is_capitalized(token: str) -> bool:
    """Whether ``token`` is written like a name: an ASCII capital first and an ASCII
    lower-case letter somewhere after it.

    Only ASCII letters count so that the graph twin
    (:func:`slotfill.graph_tokenizer.is_capitalized_graph`) can decide byte by byte, with the
    same answer for invalid UTF-8 and NUL; an all-capitals word says nothing about names.

    Example:
        >>> [is_capitalized(t) for t in ("Taipei", "McAllen", "St.", "BOSTON", "I", "boston")]
        [True, True, True, False, False, False]
    """
    return token[:1] in _ASCII_UPPER and any(c in _ASCII_LOWER for c in token)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens following the module's rules; offsets index ``text``.

    Args:
        text: any string, as typed.

    Returns:
        The tokens in order; ``[]`` for empty or whitespace-only text.

    Raises:
        ValueError: if ``text`` is not a ``str``.

    Example:
        >>> [t.text for t in tokenize("I'd like St. Louis (MO).")]
        ["I'd", 'like', 'St.', 'Louis', '(', 'MO', ')', '.']
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str; got {type(text).__name__}")
    chunks = [(m.start(), m.end()) for m in _CHUNK.finditer(text)]
    tokens: list[Token] = []
    for i, (start, end) in enumerate(chunks):
        tokens.extend(_split_chunk(text, start, end, is_last=i == len(chunks) - 1))
    return tokens


def _split_chunk(text: str, start: int, end: int, is_last: bool) -> list[Token]:
    """Apply rules 2 and 3 to ``text[start:end]``, a non-empty run of non-whitespace."""
    leading: list[Token] = []
    while end - start > 1 and text[start] in OPENING:
        leading.append(Token(text[start], start, start + 1))
        start += 1
    trailing: list[Token] = []
    while end - start > 1 and _peels_last(text, start, end, is_last):
        trailing.append(Token(text[end - 1], end - 1, end))
        end -= 1
    middle = [Token(text[start:end], start, end)]
    time = _TIME_WITH_SUFFIX.fullmatch(text, start, end)
    if time:  # rule 4
        middle = [Token(time.group(1), start, time.end(1)),
                  Token(time.group(2), time.end(1), end)]
    return [*leading, *middle, *reversed(trailing)]


def _peels_last(text: str, start: int, end: int, is_last: bool) -> bool:
    """Whether the last character of ``text[start:end]`` becomes its own token (rule 3)."""
    last = text[end - 1]
    if last in CLOSING:
        return True
    if last != PERIOD:
        return False
    if is_last:
        return True
    stem = text[start:end - 1]
    return len(stem) >= MIN_STEM_BEFORE_PERIOD and PERIOD not in stem
