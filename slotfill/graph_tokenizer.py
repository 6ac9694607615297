"""The tokenizer and normalisation of :mod:`slotfill.tokenizer`, written with TensorFlow ops.

A served model receives raw strings, so the exported graph must cut them into exactly the
tokens the Python tokenizer gives (the rules live in that module's docstring, and the
character sets are imported from it so they are written once). Both functions here run
eagerly, inside ``tf.function`` and in a SavedModel.

How the twin works: rather than rewriting strings in a loop, each text is decoded into code
points and every rule becomes a vectorised question about a character (is it whitespace, the
first of its chunk, inside the chunk's leading run of opening punctuation, in the run of
trailing punctuation that may be split off?). The answers mark where tokens start; the
characters are grouped by token and encoded back to UTF-8. The cost is linear in the input,
whatever the text, so a long run of punctuation cannot stall a server.

In most typed text no chunk of two or more characters starts or ends with a character the
rules act on; such a text is cut at its whitespace by ``tf.strings.split``: the same tokens at
a fraction of the cost (the ATIS test set: ~10 -> ~3 ms).

Invalid UTF-8 bytes are replaced by U+FFFD before tokenizing, like
``bytes.decode("utf-8", errors="replace")``.
"""

from __future__ import annotations

import functools
import sys

import tensorflow as tf

from slotfill.tokenizer import (
    CLOCK_TIME,
    CLOSING,
    DIGIT_ORDINAL,
    DOTTED_SUFFIX,
    MIN_STEM_BEFORE_PERIOD,
    OPENING,
    ORDINAL_WORDS,
    PERIOD,
    TIME_WITH_SUFFIX,
    WHITESPACE,
)

_REPLACEMENT_CHAR = 0xFFFD
_NUL = "\x00"
_ASCII_WITHOUT_NUL = r"[\x01-\x7f]*"  # RE2 reads the escapes
# The whitespace tf.strings.split cuts at (absl::ascii_isspace); str.split knows more.
_SPLIT_WHITESPACE = frozenset(" \t\n\x0b\x0c\r")
assert _SPLIT_WHITESPACE <= WHITESPACE


def tokenize_graph(texts: tf.Tensor) -> tf.RaggedTensor:
    """Tokenize a batch of strings exactly as :func:`slotfill.tokenizer.tokenize` does.

    Args:
        texts: 1-D ``tf.string`` tensor (or anything convertible to one), one text per entry,
            UTF-8 encoded.

    Returns:
        ``tf.RaggedTensor`` of shape ``[N, (tokens)]`` and dtype ``tf.string``: the token
        texts as typed (case kept).

    Raises:
        ValueError: if ``texts`` is not a 1-D string tensor.

    Example:
        >>> tokenize_graph(tf.constant(["Boston, please."])).to_list()
        [[b'Boston', b',', b'please', b'.']]
    """
    texts = tf.convert_to_tensor(texts)
    if texts.dtype != tf.string:
        raise ValueError(f"texts must be a tf.string tensor; got dtype {texts.dtype.name}")
    if texts.shape.rank is not None and texts.shape.rank != 1:
        raise ValueError(f"texts must be 1-D (a batch of strings); got shape {texts.shape}")
    texts = tf.ensure_shape(texts, [None])

    plain = tf.strings.regex_full_match(texts, _plain_text_pattern())
    plain_rows = tf.where(plain)[:, 0]
    other_rows = tf.where(~plain)[:, 0]
    tokens = tf.concat([tf.strings.split(tf.gather(texts, plain_rows)),
                        _tokenize_by_rules(tf.gather(texts, other_rows))], axis=0)
    back = tf.math.invert_permutation(tf.concat([plain_rows, other_rows], 0))
    tokens = tf.gather(tokens, back)
    # Rule 4 needs a digit before an a or p; most batches have none and skip it (~4 ms of
    # ~9 for the ATIS test set).
    maybe_times = tf.reduce_any(tf.strings.regex_full_match(texts, "(?s).*[0-9][aApP].*"))
    return tf.cond(maybe_times, lambda: _split_clock_times(tokens), lambda: tokens)


def _split_clock_times(tokens: tf.RaggedTensor) -> tf.RaggedTensor:
    """Rule 4: every token that is a time joined to its am/pm becomes the two of them."""
    flat = tokens.flat_values
    joined = tf.strings.regex_full_match(flat, TIME_WITH_SUFFIX)
    whole = "^" + TIME_WITH_SUFFIX + "$"
    time = tf.where(joined, tf.strings.regex_replace(flat, whole, r"\1"), flat)
    suffix = tf.strings.regex_replace(flat, whole, r"\2")
    pieces = tf.RaggedTensor.from_tensor(tf.stack([time, suffix], axis=1),
                                         lengths=1 + tf.cast(joined, tf.int64))
    return tokens.with_flat_values(pieces).merge_dims(1, 2)


@functools.cache
def _plain_text_pattern() -> str:
    """RE2 pattern of a text whose tokens are its whitespace-separated chunks.

    ASCII without NUL, whose only whitespace is the kind ``tf.strings.split`` cuts at, and
    where no chunk of two or more characters starts with a character of ``OPENING`` or ends
    with one of ``CLOSING`` or a period: rules 2 and 3 then split nothing off (``i'd`` is
    plain, ``st.`` is not).
    """
    def one_of(chars: frozenset[str]) -> str:
        return "[" + "".join(f"\\x{ord(c):02x}" for c in sorted(chars)) + "]"

    word = frozenset(map(chr, range(1, 128))) - WHITESPACE
    chunk = (f"(?:{one_of(word)}|{one_of(word - OPENING)}{one_of(word)}*"
             f"{one_of(word - CLOSING - {PERIOD})})")
    space = one_of(_SPLIT_WHITESPACE)
    return f"{space}*(?:{chunk}(?:{space}+{chunk})*)?{space}*"


def _tokenize_by_rules(texts: tf.Tensor) -> tf.RaggedTensor:
    """:func:`tokenize_graph` for any 1-D batch of texts, character by character."""
    chars = tf.strings.unicode_decode(
        texts, "UTF-8", errors="replace", replacement_char=_REPLACEMENT_CHAR
    )
    nrows = tf.shape(texts, out_type=tf.int64)[0]
    code = chars.flat_values
    row = chars.value_rowids()
    is_space = _is_in(code, WHITESPACE)
    # Rule 1: a chunk starts at a non-space character that begins its text or follows a space.
    index = tf.range(tf.size(code, out_type=tf.int64))
    begins_row = tf.equal(index, tf.gather(chars.row_splits, row))
    after_space = tf.concat([[True], is_space], axis=0)[:-1]
    starts_chunk = tf.logical_and(~is_space, begins_row | after_space)

    # From here on only non-space characters matter; i indexes them.
    keep = ~is_space
    code = tf.boolean_mask(code, keep)
    row = tf.boolean_mask(row, keep)
    starts_chunk = tf.boolean_mask(starts_chunk, keep)
    i = tf.range(tf.size(code, out_type=tf.int64))
    chunk = tf.cumsum(tf.cast(starts_chunk, tf.int64)) - 1
    chunk_begin = tf.math.segment_min(i, chunk)
    chunk_len = tf.math.segment_sum(tf.ones_like(i), chunk)
    pos = i - tf.gather(chunk_begin, chunk)
    length = tf.gather(chunk_len, chunk)
    last_chunk_of_row = tf.math.unsorted_segment_max(chunk, row, num_segments=nrows)
    in_last_chunk = tf.equal(chunk, tf.gather(last_chunk_of_row, row))

    # Rule 2: the chunk's leading run of opening punctuation, less its last character when the
    # run is the whole chunk, is split off; lead is the position where the rest begins.
    first_not_opening = tf.where(_is_in(code, OPENING), length, pos)
    lead_per_chunk = tf.minimum(tf.math.segment_min(first_not_opening, chunk), chunk_len - 1)
    lead = tf.gather(lead_per_chunk, chunk)

    # Rule 3: whether a character may be split off depends only on the characters before it
    # (from lead on), so the ones that are split off are the maximal suffix of such characters.
    is_period = tf.equal(code, ord(PERIOD))
    periods_before = tf.cumsum(tf.cast(is_period, tf.int64), exclusive=True)
    periods_from_lead = periods_before - tf.gather(
        periods_before, tf.gather(chunk_begin, chunk) + lead
    )
    period_ends_stem = tf.logical_and(
        pos - lead >= MIN_STEM_BEFORE_PERIOD, tf.equal(periods_from_lead, 0)
    )
    may_split = tf.logical_and(
        pos > lead,
        _is_in(code, CLOSING) | (is_period & (in_last_chunk | period_ends_stem)),
    )
    # The last position that must stay; pos == lead always stays, so the maximum exists.
    kept_until = tf.math.segment_max(tf.where(may_split, tf.constant(-1, tf.int64), pos), chunk)
    split_trailing = pos > tf.gather(kept_until, chunk)

    starts_token = (pos <= lead) | split_trailing
    token = tf.cumsum(tf.cast(starts_token, tf.int64)) - 1
    ntokens = tf.reduce_sum(tf.cast(starts_token, tf.int64))
    token_code = tf.RaggedTensor.from_value_rowids(code, token, nrows=ntokens)
    token_text = tf.strings.unicode_encode(token_code, "UTF-8")
    token_row = tf.boolean_mask(row, starts_token)
    return tf.RaggedTensor.from_value_rowids(token_text, token_row, nrows=nrows)


def normalize_graph(tokens: tf.Tensor | tf.RaggedTensor) -> tf.Tensor | tf.RaggedTensor:
    """Normalise every string element-wise exactly as :func:`slotfill.tokenizer.normalize`.

    Lower case, then digit ordinals spelled out and clock times respelled (``5:30``, ``a.m.``).

    ``tf.strings.lower(..., encoding="utf-8")`` alone differs from ``str.lower`` in two ways,
    both corrected here: it stops at the first NUL character, and its ICU tables can be older
    than Python's Unicode database, leaving recently added capitals unchanged.

    Args:
        tokens: ``tf.string`` tensor or ragged tensor of any shape.

    Returns:
        A tensor of the same kind and shape, normalised. Invalid UTF-8 becomes U+FFFD.

    Raises:
        ValueError: if ``tokens`` is not a string tensor.
    """
    if isinstance(tokens, tf.RaggedTensor):
        if tokens.dtype != tf.string:
            raise ValueError(f"tokens must be a tf.string tensor; got dtype {tokens.dtype.name}")
        return tokens.with_flat_values(normalize_graph(tokens.flat_values))
    tokens = tf.convert_to_tensor(tokens)
    if tokens.dtype != tf.string:
        raise ValueError(f"tokens must be a tf.string tensor; got dtype {tokens.dtype.name}")
    shape = tf.shape(tokens)
    flat = tf.reshape(tokens, [-1])
    # Typed text is nearly always ASCII, where ``tf.strings.lower`` already is ``str.lower``
    # and the corrections below change nothing; skipping them took ~5 of ~120 ms off a
    # SavedModel call on the ATIS test set. NUL and invalid UTF-8 take the full path.
    ascii_only = tf.reduce_all(tf.strings.regex_full_match(flat, _ASCII_WITHOUT_NUL))
    lowered = tf.cond(ascii_only, lambda: tf.strings.lower(flat), lambda: _lower_like_python(flat))
    return tf.reshape(_respell_times(_spell_ordinals(lowered)), shape)


def is_capitalized_graph(tokens: tf.Tensor) -> tf.Tensor:
    """:func:`slotfill.tokenizer.is_capitalized` of every element of a string tensor.

    ``tf.strings.lower`` and ``upper`` without an encoding change ASCII bytes alone and
    keep NUL and invalid UTF-8 as they are, which is exactly the ASCII-only rule.
    """
    first = tf.strings.substr(tokens, 0, 1)
    return tf.not_equal(first, tf.strings.lower(first)) & tf.not_equal(
        tokens, tf.strings.upper(tokens))


def _lower_like_python(flat: tf.Tensor) -> tf.Tensor:
    """``str.lower`` of every element of a 1-D string tensor; invalid UTF-8 becomes U+FFFD."""
    # Lower each NUL-free piece, then put the NULs back. The ragged reduce_join's separator is
    # cut at a NUL too, so each piece gets a NUL appended and the final one is removed.
    pieces = tf.strings.split(flat, sep=_NUL)
    pieces = pieces.with_flat_values(
        tf.strings.join([tf.strings.lower(pieces.flat_values, encoding="utf-8"), _NUL])
    )
    joined = tf.strings.reduce_join(pieces, axis=-1)
    end = tf.strings.length(joined) - 1
    lowered = tf.strings.substr(joined, tf.zeros_like(end), end)
    # ICU has already applied the context rules (final sigma) and the one-to-many mappings;
    # mapping every code point through Python's own one-to-one lower-casing afterwards fixes
    # the characters ICU does not know and leaves lower-case ones unchanged.
    keys, values = (tf.constant(column, dtype=tf.int32) for column in _python_lower_table())
    chars = tf.strings.unicode_decode(
        lowered, "UTF-8", errors="replace", replacement_char=_REPLACEMENT_CHAR
    )
    code = chars.flat_values
    index = tf.minimum(tf.searchsorted(keys, code), tf.size(keys) - 1)
    found = tf.equal(tf.gather(keys, index), code)
    code = tf.where(found, tf.gather(values, index), code)
    return tf.strings.unicode_encode(chars.with_flat_values(code), "UTF-8")


def _spell_ordinals(lowered: tf.Tensor) -> tf.Tensor:
    """Replace lower-cased digit ordinals by their word (``ORDINAL_WORDS``)."""
    is_ordinal = tf.strings.regex_full_match(lowered, DIGIT_ORDINAL)
    number = tf.strings.regex_replace(lowered, "^" + DIGIT_ORDINAL + "$", r"\1")
    # to_number fails on anything but digits, so other tokens are parsed as "0".
    number = tf.strings.to_number(tf.where(is_ordinal, number, "0"), out_type=tf.int32)
    return tf.where(is_ordinal, tf.gather(tf.constant(ORDINAL_WORDS), number), lowered)


def _respell_times(lowered: tf.Tensor) -> tf.Tensor:
    """``5:30`` -> ``530`` and ``a.m.`` -> ``am`` (``CLOCK_TIME``, ``DOTTED_SUFFIX``)."""
    def respell():
        # Anchored: RE2's "$" is the end of the text, as Python's fullmatch.
        times = tf.strings.regex_replace(lowered, "^" + CLOCK_TIME + "$", r"\1\2")
        return tf.strings.regex_replace(times, "^" + DOTTED_SUFFIX + "$", r"\1m")

    # One pass to find out whether any token needs it; most batches have none.
    either = f"{CLOCK_TIME}|{DOTTED_SUFFIX}"
    return tf.cond(tf.reduce_any(tf.strings.regex_full_match(lowered, either)), respell,
                   lambda: lowered)


def _is_in(code: tf.Tensor, characters: frozenset[str]) -> tf.Tensor:
    """Element-wise membership of int32 code points in a fixed set of characters."""
    members = tf.constant(sorted(ord(c) for c in characters), dtype=tf.int32)
    index = tf.minimum(tf.searchsorted(members, code), tf.size(members) - 1)
    return tf.equal(tf.gather(members, index), code)


@functools.cache
def _python_lower_table() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Sorted code points whose ``str.lower`` is a different single code point, and those.

    Plain ints, not tensors: a cached tensor would belong to the first graph that built it.
    """
    keys, values = [], []
    for point in range(sys.maxunicode + 1):
        lower = chr(point).lower()
        if len(lower) == 1 and ord(lower) != point:
            keys.append(point)
            values.append(ord(lower))
    return tuple(keys), tuple(values)
