"""The pure-Python tokenizer: rules, offsets, properties over arbitrary text, ATIS compatibility."""

from __future__ import annotations

import sys

import pytest
from conftest import atis_path
from hypothesis import given, settings
from hypothesis import strategies as st

from slotfill.tokenizer import (
    CLOSING,
    OPENING,
    WHITESPACE,
    Token,
    is_capitalized,
    normalize,
    tokenize,
)


def texts(text: str) -> list[str]:
    """Token texts, after checking every token's offsets point at its text."""
    tokens = tokenize(text)
    for token in tokens:
        assert text[token.start:token.end] == token.text, token
    return [token.text for token in tokens]


def test_whitespace_constant_is_exactly_str_isspace():
    computed = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert WHITESPACE == computed


def test_punctuation_sets_hold_no_whitespace_or_period():
    assert not (OPENING | CLOSING) & WHITESPACE
    assert "." not in OPENING | CLOSING


def test_offsets_of_a_typed_sentence():
    text = "Arrive  Taipei on November 2nd"
    assert tokenize(text) == [
        Token("Arrive", 0, 6),
        Token("Taipei", 8, 14),
        Token("on", 15, 17),
        Token("November", 18, 26),
        Token("2nd", 27, 30),
    ]


def test_a_time_joined_to_its_am_pm_is_two_tokens_with_their_offsets():
    assert tokenize("by 5pm") == [Token("by", 0, 2), Token("5", 3, 4), Token("pm", 4, 6)]
    assert texts("at 10:30A.M. or (1030am), 6p.m.") == [
        "at", "10:30", "A.M.", "or", "(", "1030", "am", ")", ",", "6", "p.m", "."]
    # Not a clock time with its suffix: left whole.
    assert texts("12345pm 5:3pm 5pmx pm") == ["12345pm", "5:3pm", "5pmx", "pm"]


def test_times_normalise_to_the_form_transcripts_write():
    assert [normalize(t) for t in ("5:30", "12:05", "A.M.", "p.m", "123:45", "a.m.x")] == [
        "530", "1205", "am", "pm", "123:45", "a.m.x"]


def test_offsets_around_split_punctuation():
    text = '"(St. Louis)," she said.'
    assert tokenize(text) == [
        Token('"', 0, 1),
        Token("(", 1, 2),
        Token("St.", 2, 5),
        Token("Louis", 6, 11),
        Token(")", 11, 12),
        Token(",", 12, 13),
        Token('"', 13, 14),
        Token("she", 15, 18),
        Token("said", 19, 23),
        Token(".", 23, 24),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Flights from St. Louis to Boston, please.",
         ["Flights", "from", "St.", "Louis", "to", "Boston", ",", "please", "."]),
        ("I'd like a 7 a.m. flight at 3:30 from D/FW o'clock",
         ["I'd", "like", "a", "7", "a.m.", "flight", "at", "3:30", "from", "D/FW", "o'clock"]),
        ("Boston. Denver", ["Boston", ".", "Denver"]),
        ("Bost. x", ["Bost", ".", "x"]),
        ("Bos. x", ["Bos.", "x"]),
        ("St.", ["St", "."]),
        ("a.m.", ["a.m", "."]),
        ("U.S.A. flights", ["U.S.A.", "flights"]),
        ("(Boston).", ["(", "Boston", ")", "."]),
        ("(Boston). ok", ["(", "Boston", ")", ".", "ok"]),
        ('"St. ok', ['"', "St.", "ok"]),
        ('"Sta. ok', ['"', "Sta.", "ok"]),
        ("Boston.. ok", ["Boston..", "ok"]),
        ("wait...", ["wait", ".", ".", "."]),
        ("... ok", ["...", "ok"]),
        ("really?!", ["really", "?", "!"]),
        ("!!!", ["!", "!", "!"]),
        ("-", ["-"]),
        (".", ["."]),
        ("((", ["(", "("]),
        ('("!', ["(", '"', "!"]),
        ("$5,000, ok", ["$5,000", ",", "ok"]),
        ("“Quoted” ‘single’ «fr» ¿qué? ¡sí! and…",
         ["“", "Quoted", "”", "‘", "single", "’", "«", "fr", "»", "¿", "qué", "?", "¡", "sí",
          "!", "and", "…"]),
        ("'90s travelers' York's.", ["'", "90s", "travelers", "'", "York's", "."]),
        ("tab\tnew\nline\r\nend", ["tab", "new", "line", "end"]),
        ("nbsp\u00a0ideo\u3000sep\u2028narrow\u202fend\x1c!", ["nbsp", "ideo", "sep", "narrow",
                                                                 "end", "!"]),
        ("fly 🛫 to 東京から大阪へ 🇹🇼!", ["fly", "🛫", "to", "東京から大阪へ", "🇹🇼", "!"]),
        ("zero\u200bwidth", ["zero\u200bwidth"]),
        ("nul\x00inside \x07bell", ["nul\x00inside", "\x07bell"]),
        ("?!.,;:", ["?", "!", ".", ",", ";", ":"]),
        ("", []),
        (" \t\n\u3000 ", []),
    ],
)
def test_rules(text, expected):
    assert texts(text) == expected


def test_a_period_is_split_from_the_last_chunk_only_when_it_ends_the_text():
    assert texts("to St.") == ["to", "St", "."]
    assert texts("to St. ") == ["to", "St", "."]
    assert texts("to St.\nthen") == ["to", "St.", "then"]


def test_long_line_is_fast_and_exact():
    words = ["Boston,", "St.", "(a)", "x"] * 2500
    tokens = texts(" ".join(words))
    assert len(tokens) == 2500 * 7


def test_rejects_non_strings():
    with pytest.raises(ValueError, match="text must be a str"):
        tokenize(b"bytes")  # type: ignore[arg-type]


def test_normalize_is_lower_case():
    assert normalize("St. LOUIS") == "st. louis"
    assert normalize("İ") == "İ".lower()


@pytest.mark.parametrize(("token", "word"), [
    ("1st", "first"), ("2ND", "second"), ("3rd", "third"), ("4th", "fourth"), ("11th", "eleventh"),
    ("12th", "twelfth"), ("20th", "twentieth"), ("21st", "first"), ("22nd", "second"),
    ("30th", "thirtieth"), ("99th", "ninth"), ("02nd", "second"), ("22th", "second"),
])
def test_normalize_spells_out_digit_ordinals(token, word):
    assert normalize(token) == word


@pytest.mark.parametrize("token",
                         ["0th", "100th", "2n", "2nds", "nd", "2 nd", "x2nd", "²nd", "３rd"])
def test_normalize_leaves_other_tokens_lower_cased(token):
    assert normalize(token) == token.lower()


@pytest.mark.parametrize(("token", "capitalized"), [
    ("Taipei", True), ("McAllen", True), ("St.", True), ("I'd", True), ("Ab", True),
    ("A\x00b", True), ("Zürich", True),
    ("BOSTON", False), ("I", False), ("LGA", False), ("boston", False), ("2nd", False),
    ("", False), ("A.M.", False), ("Élan", False), ("ÉLAN", False), ("aB", False),
])
def test_is_capitalized_means_an_ascii_capital_then_an_ascii_lower_case_letter(token,
                                                                             capitalized):
    assert is_capitalized(token) is capitalized


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_tokens_cover_exactly_the_non_whitespace(text):
    tokens = tokenize(text)
    end = 0
    for token in tokens:
        assert token.text == text[token.start:token.end]
        assert token.text
        assert not WHITESPACE & set(token.text)
        assert token.start >= end
        end = token.end
    assert "".join(t.text for t in tokens) == "".join(c for c in text if not c.isspace())


_PUNCTUATED = st.text(
    alphabet=st.sampled_from(sorted(OPENING | CLOSING | {".", " ", "a", "b", "\n"})), max_size=40
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), _PUNCTUATED))
def test_tokenizing_tokens_again_changes_nothing(text):
    tokens = [t.text for t in tokenize(text)]
    assert [t.text for t in tokenize(" ".join(tokens))] == tokens


def test_atis_lines_pass_through_unchanged():
    root = atis_path()
    if root is None:
        pytest.skip("ATIS not found ($SLOTFILL_ATIS or ../shared/datasets/atis)")
    lines = (root / "test" / "seq.in").read_text(encoding="utf-8").splitlines()
    assert len(lines) > 100
    for line in lines:
        assert texts(line) == line.split(" "), line
