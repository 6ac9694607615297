"""BIO tagging rules: validate and repair tag sequences, and turn them into slot spans.

A tag is ``O`` (outside any slot), ``B-<slot>`` (first token of a slot) or ``I-<slot>``
(a later token of the same slot). A slot name is any non-empty text without whitespace
(``fromloc.city_name``, ``depart-date``...), so nothing here assumes a particular dataset.

An ``I-x`` that does not continue an ``x`` span (at the start, after ``O`` or after another
slot) is ill-formed. Like conlleval (and seqeval's default mode), this module reads it as the
start of a new ``x`` span: :func:`repair` rewrites it to ``B-x`` and :func:`to_spans` counts it
as a span start, so both give the same slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

OUTSIDE = "O"
BEGIN = "B"
INSIDE = "I"


@dataclass(frozen=True)
class SlotSpan:
    """A slot filled by tokens ``start`` (inclusive) to ``end`` (exclusive)."""

    slot: str
    start: int
    end: int


def parse_tag(tag: str) -> tuple[str, str | None]:
    """Split a tag into prefix and slot: ``"B-x"`` -> ``("B", "x")``, ``"O"`` -> ``("O", None)``.

    Raises:
        ValueError: if ``tag`` is not ``O``, ``B-<slot>`` or ``I-<slot>`` with a non-empty slot
            name free of whitespace.
    """
    if isinstance(tag, str):
        if tag == OUTSIDE:
            return OUTSIDE, None
        prefix, dash, slot = tag.partition("-")
        if prefix in (BEGIN, INSIDE) and dash and slot and not any(c.isspace() for c in slot):
            return prefix, slot
    raise ValueError(f"tag must be 'O', 'B-<slot>' or 'I-<slot>'; got {tag!r}")


def is_valid_tag(tag: str) -> bool:
    """Whether :func:`parse_tag` accepts ``tag``."""
    try:
        parse_tag(tag)
    except ValueError:
        return False
    return True


def repair(tags: Sequence[str]) -> tuple[list[str], int]:
    """Rewrite every ``I-x`` that does not continue an ``x`` span as ``B-x``.

    Args:
        tags: one tag per token.

    Returns:
        The repaired tags and how many were rewritten.

    Raises:
        ValueError: if a tag is invalid (the message gives its index).
    """
    repaired: list[str] = []
    changed = 0
    previous_slot: str | None = None
    for i, tag in enumerate(tags):
        prefix, slot = _parse_at(tag, i)
        if prefix == INSIDE and slot != previous_slot:
            tag = f"{BEGIN}-{slot}"
            changed += 1
        repaired.append(tag)
        previous_slot = slot
    return repaired, changed


def is_well_formed(tags: Sequence[str]) -> bool:
    """Whether every tag is valid and every ``I-x`` continues an ``x`` span."""
    if not all(is_valid_tag(tag) for tag in tags):
        return False
    return repair(tags)[1] == 0


def to_spans(tags: Sequence[str]) -> list[SlotSpan]:
    """The slot spans of a tag sequence, read as conlleval does.

    A span starts at ``B-x``, or at ``I-x`` not following ``B-x``/``I-x``; it continues over
    the ``I-x`` tags that follow and ends before anything else.

    Raises:
        ValueError: if a tag is invalid (the message gives its index).

    Example:
        >>> to_spans(["B-city", "I-city", "O", "I-date"])
        [SlotSpan(slot='city', start=0, end=2), SlotSpan(slot='date', start=3, end=4)]
    """
    spans: list[SlotSpan] = []
    open_slot: str | None = None
    open_start = 0
    for i, tag in enumerate(tags):
        prefix, slot = _parse_at(tag, i)
        if prefix == INSIDE and slot == open_slot:
            continue
        if open_slot is not None:
            spans.append(SlotSpan(open_slot, open_start, i))
        open_slot, open_start = slot, i
    if open_slot is not None:
        spans.append(SlotSpan(open_slot, open_start, len(tags)))
    return spans


def allowed_transitions(tags: Sequence[str]) -> tuple[list[list[bool]], list[bool]]:
    """Which tag may follow which, for constrained decoding over a label list.

    ``I-x`` may only follow ``B-x`` or ``I-x`` and cannot start a sentence; every other
    transition is allowed.

    Args:
        tags: the label list, in id order.

    Returns:
        ``(allowed, start)``: ``allowed[i][j]`` says whether ``tags[j]`` may follow
        ``tags[i]``, ``start[j]`` whether ``tags[j]`` may be the first tag.

    Raises:
        ValueError: if a tag is invalid (the message gives its index).
    """
    parsed = [_parse_at(tag, i) for i, tag in enumerate(tags)]
    allowed = [
        [to_prefix != INSIDE or to_slot == from_slot for to_prefix, to_slot in parsed]
        for _, from_slot in parsed
    ]
    start = [prefix != INSIDE for prefix, _ in parsed]
    return allowed, start


def crf_order(tags: Sequence[str]) -> list[str]:
    """The tags renumbered for the CRF's Viterbi step: every ``I-x`` last, just after
    the ``B-x`` tags in the same slot order, and the rest (``O`` among them) first, in
    their given order.

    With this numbering the only predecessors of the ``I-x`` (``B-x`` and ``I-x``) are
    two runs of consecutive ids, which Viterbi reads as slices, and the CRF never has to
    reorder its emissions (see ``slotfill.layers.viterbi.MaxPlusPlan``).

    Example:
        >>> crf_order(["O", "B-a", "B-b", "I-a", "B-c", "I-b"])
        ['O', 'B-c', 'B-a', 'B-b', 'I-a', 'I-b']
    """
    parsed = [_parse_at(tag, i) for i, tag in enumerate(tags)]
    present = set(tags)
    inside = [tag for tag, (prefix, _) in zip(tags, parsed) if prefix == INSIDE]
    begins = [f"{BEGIN}-{slot}" for prefix, slot in parsed
              if prefix == INSIDE and f"{BEGIN}-{slot}" in present]
    tail = set(inside + begins)
    return [tag for tag in tags if tag not in tail] + begins + inside


def _parse_at(tag: str, index: int) -> tuple[str, str | None]:
    """:func:`parse_tag`, with the tag's position in the error message."""
    try:
        return parse_tag(tag)
    except ValueError as error:
        raise ValueError(f"tags[{index}]: {error}") from None
