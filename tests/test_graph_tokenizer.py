"""The TensorFlow twin of the tokenizer gives exactly the Python tokens, in every setting."""

from __future__ import annotations

import sys

import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotfill.graph_tokenizer import (
    _plain_text_pattern,
    is_capitalized_graph,
    normalize_graph,
    tokenize_graph,
)
from slotfill.tokenizer import CLOSING, OPENING, WHITESPACE, is_capitalized, normalize, tokenize

HANDPICKED = [
    "",
    " \t\n\u3000 ",
    "Arrive Taipei on November 2nd",
    "Flights from St. Louis to Boston, please.",
    "I'd like a 7 a.m. flight at 3:30 from D/FW o'clock",
    "Boston. Denver Bost. Bos. x",
    "to St.",
    "to St.\nthen",
    "U.S.A. flights a.m.",
    "(Boston). ok (Boston).",
    '"St. "Sta. "Stat. ok',
    "Boston.. ok wait...",
    "... ok ?!.,;: !!! - . (( (\"!",
    "“Quoted” ‘single’ «fr» ¿qué? ¡sí! and…",
    "'90s travelers' York's.",
    "nbsp\u00a0ideo\u3000sep\u2028narrow\u202fend\x1c!\x85x\u1680y",
    "fly 🛫 to 東京から大阪へ 🇹🇼!",
    "zero\u200bwidth nul\x00inside \x07bell \x00",
    "ΟΔΟΣ İstanbul ǅ Ⱟ",
    "$5,000, ok",
    "get me there by 5pm, 5:30PM. or (10:30a.m.) 1030am 12345pm 5:3pm 5pmx 6p.m.",
]


# Traced once for the whole module: a graph call costs milliseconds, an eager one far more.
_tokenize = tf.function(tokenize_graph, input_signature=[tf.TensorSpec([None], tf.string)])
_normalize = tf.function(normalize_graph, input_signature=[tf.TensorSpec([None], tf.string)])


def graph_texts(texts: list[str]) -> list[list[str]]:
    ragged = _tokenize(tf.constant([t.encode("utf-8") for t in texts], dtype=tf.string))
    return [[token.decode("utf-8") for token in row] for row in ragged.to_list()]


def python_texts(texts: list[str]) -> list[list[str]]:
    return [[token.text for token in tokenize(text)] for text in texts]


def test_handpicked_texts_give_the_python_tokens():
    assert graph_texts(HANDPICKED) == python_texts(HANDPICKED)


def test_eager_gives_the_same_tokens_as_graph():
    ragged = tokenize_graph(tf.constant([t.encode("utf-8") for t in HANDPICKED]))
    assert [[t.decode("utf-8") for t in row] for row in ragged.to_list()] == graph_texts(HANDPICKED)


def test_each_text_alone_gives_the_same_tokens_as_in_a_batch():
    # Rows must not leak into each other (e.g. a row's last chunk is decided per row).
    batched = graph_texts(HANDPICKED)
    for text, row in zip(HANDPICKED, batched, strict=True):
        assert graph_texts([text]) == [row]


@pytest.mark.parametrize(("text", "plain"), [
    ("i'd like a 7 am flight  to boston\tnow", True),
    (". ( ok", True),  # one-character chunks are never split
    ("", True),
    ("to st. louis", False),
    ("(boston", False),
    ("boston,", False),
    ("a\x1cb", False),  # whitespace to str.split, not to tf.strings.split
    ("café", False),
    ("nul\x00", False),
])
def test_only_texts_the_rules_leave_whole_take_the_whitespace_split(text, plain):
    # Every text must tokenize right either way (the tests above); this checks that the
    # short path is taken at all, and only where splitting at whitespace is enough.
    pattern = _plain_text_pattern()
    assert bool(tf.strings.regex_full_match(text.encode("utf-8"), pattern)) is plain
    assert graph_texts([text, "a b"]) == python_texts([text, "a b"])


def test_result_is_ragged_strings_with_one_row_per_text():
    result = tokenize_graph(tf.constant(["a b", "", "c"]))
    assert isinstance(result, tf.RaggedTensor)
    assert result.dtype == tf.string
    assert result.row_lengths().numpy().tolist() == [2, 0, 1]
    empty = tokenize_graph(tf.constant([], dtype=tf.string))
    assert empty.nrows().numpy() == 0


def test_every_single_code_point_as_its_own_chunk():
    # Each character is a chunk of one, so the set memberships are all exercised once.
    points = [chr(c) for c in range(0, 0x3100) if not 0xD800 <= c < 0xE000]
    text = " ".join(points + sorted(OPENING | CLOSING))
    assert graph_texts([text]) == python_texts([text])


def test_runs_inside_tf_function_and_a_saved_model(tmp_path):
    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def tokens(self, texts):
            return normalize_graph(tokenize_graph(texts)).to_tensor("")

    module = Module()
    want = [[normalize(t) for t in row] for row in python_texts(HANDPICKED)]
    tf.saved_model.save(module, str(tmp_path / "model"))
    loaded = tf.saved_model.load(str(tmp_path / "model"))
    for fn in (module.tokens, loaded.tokens):
        padded = fn(tf.constant([t.encode("utf-8") for t in HANDPICKED])).numpy().tolist()
        width = max(len(w) for w in want)
        assert [[t.decode() for t in row] for row in padded] == [
            w + [""] * (width - len(w)) for w in want
        ]


def test_invalid_utf8_is_replaced_not_fatal():
    raw = [b"\xff", b"ab\xc3 cd\xe2\x82", b"\xed\xa0\x80x.", b"ok \xf0\x9f\x9b\xab!", b"\xc0\xaf"]
    got = tokenize_graph(tf.constant(raw)).to_list()
    want = python_texts([r.decode("utf-8", errors="replace") for r in raw])
    assert [[t.decode("utf-8") for t in row] for row in got] == want


def test_unknown_rank_is_accepted_when_the_batch_is_1_d():
    fn = tf.function(tokenize_graph, input_signature=[tf.TensorSpec(None, tf.string)])
    assert fn(tf.constant(["a b.", "c"])).to_list() == [[b"a", b"b", b"."], [b"c"]]


def test_rejects_wrong_rank_and_dtype():
    with pytest.raises(ValueError, match="texts must be 1-D"):
        tokenize_graph(tf.constant("a b"))
    with pytest.raises(ValueError, match="texts must be 1-D"):
        tokenize_graph(tf.constant([["a b"]]))
    with pytest.raises(ValueError, match="texts must be a tf.string"):
        tokenize_graph(tf.constant([1, 2]))
    with pytest.raises(ValueError, match="tokens must be a tf.string"):
        normalize_graph(tf.constant([1.0]))


_TRICKY = st.text(
    alphabet=st.sampled_from(
        sorted(OPENING | CLOSING | set(WHITESPACE)
               | {".", "a", "B", "é", "Σ", "\x00", "🛫", "5", "0", ":", "p", "M"})
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(), _TRICKY), min_size=1, max_size=40))
def test_arbitrary_unicode_batches_match_python(texts):
    assert graph_texts(texts) == python_texts(texts)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.binary(max_size=30), min_size=1, max_size=40))
def test_arbitrary_bytes_match_python_after_replacement(raw):
    got = [[t.decode("utf-8") for t in row] for row in _tokenize(tf.constant(raw)).to_list()]
    assert got == python_texts([r.decode("utf-8", errors="replace") for r in raw])


def test_normalize_graph_matches_str_lower_on_every_code_point():
    # ICU's tables in TensorFlow and Python's Unicode database differ in age; every character
    # must still come out as Python has it. Strings of 1,000 code points keep the batch small.
    points = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000]
    words = [" ".join(points[i:i + 1000]) for i in range(0, len(points), 1000)]
    got = _normalize(tf.constant([w.encode("utf-8") for w in words])).numpy()
    mismatches = [  # the first code point of each string that differs
        hex(ord(w[0])) for w, g in zip(words, got, strict=True) if g.decode("utf-8") != normalize(w)
    ]
    assert mismatches == []


@pytest.mark.parametrize(
    "token",
    ["ΟΔΟΣ", "ΣΑ", "ΑΣ.", "ΑΣ\u0301Α", "aΣ\x00", "\x00Σa", "A\x00B\x00", "\x00", "", "İI", "ǅ",
     "2nd", "21ST", "11th", "30th", "0th", "100th", "2nd\x00", "2nd\n", "002nd", "２nd",
     "5:30", "12:05", "123:45", "5:30\n", "A.M.", "p.m", "pm.", "a.m.x", "Ａ.M."],
)
def test_normalize_graph_keeps_context_rules_nul_and_ordinals(token):
    got = normalize_graph(tf.constant([token.encode("utf-8")])).numpy()[0].decode("utf-8")
    assert got == normalize(token)


def test_normalize_graph_keeps_shape_and_raggedness():
    dense = normalize_graph(tf.constant([["A", "Bb"], ["ÇD", ""]]))
    assert dense.numpy().tolist() == [[b"a", b"bb"], ["çd".encode(), b""]]
    ragged = normalize_graph(tf.ragged.constant([["St.", "LOUIS"], []]))
    assert isinstance(ragged, tf.RaggedTensor)
    assert ragged.to_list() == [[b"st.", b"louis"], []]


# Digit ordinals are rare in arbitrary text: draw them (and near misses) on purpose too.
ORDINAL_LIKE = st.from_regex(r"\A0?[0-9]{1,3}(st|nd|rd|th|ST|Nd|s)?\Z")


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.text() | ORDINAL_LIKE, min_size=1, max_size=40))
def test_normalize_graph_matches_python_on_arbitrary_text(texts):
    got = _normalize(tf.constant([t.encode("utf-8") for t in texts])).numpy()
    assert [g.decode("utf-8") for g in got] == [normalize(t) for t in texts]


# All-ASCII batches take normalize_graph's short path (tf.strings.lower alone); a batch with
# one other character, a NUL or an invalid byte takes the full one. Both must match Python.
ASCII_TOKEN = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127), max_size=12)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(ASCII_TOKEN | ORDINAL_LIKE.filter(str.isascii), min_size=1, max_size=40))
def test_normalize_graph_ascii_batches_match_python(tokens):
    got = _normalize(tf.constant([t.encode("ascii") for t in tokens])).numpy()
    assert [g.decode("ascii") for g in got] == [normalize(t) for t in tokens]


@pytest.mark.parametrize("odd_one", ["\x00", "É", "ΑΣ", b"\xff"])
def test_normalize_graph_one_non_ascii_token_takes_the_full_path(odd_one):
    tokens = ["BOSTON", "2ND", odd_one]
    encoded = [t if isinstance(t, bytes) else t.encode("utf-8") for t in tokens]
    got = [g.decode("utf-8") for g in _normalize(tf.constant(encoded)).numpy()]
    expected = [normalize(t if isinstance(t, str) else t.decode("utf-8", errors="replace"))
                for t in tokens]
    assert got == expected


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.text(max_size=8) | st.from_regex(r"\A[A-Z][A-Za-z.\x00]{0,6}\Z")
                | st.binary(max_size=8), min_size=1, max_size=40))
def test_is_capitalized_graph_matches_python(tokens):
    # Bytes stand for what the graph tokenizer may pass on; Python sees them decoded.
    encoded = [t if isinstance(t, bytes) else t.encode("utf-8") for t in tokens]
    got = is_capitalized_graph(tf.constant(encoded)).numpy().tolist()
    assert got == [is_capitalized(t.decode("utf-8", errors="replace")) for t in encoded]
