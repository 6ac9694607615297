"""Training data from other tools turned into slotfill's layouts (``slotfill convert``).

Reads Rasa NLU data (YAML with ``[value](entity)`` or ``[value]{"entity": ...}``
annotations, or the JSON ``rasa_nlu_data`` format with character spans), snips-nlu JSON
(``intents`` → ``utterances`` → ``data`` chunks with ``slot_name``), CoNLL and the ATIS
layout; writes the ATIS layout or CoNLL. Texts are split with slotfill's own tokenizer and
each entity's character span becomes BIO tags; a span that does not start and end on token
boundaries is an error naming the file and the example, never dropped.

Rasa and snips files have no splits: ``test_fraction`` of the examples (seeded) becomes the
test split, the rest train (``slotfill train`` holds out its validation split itself).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slotfill.data import DataError, read_splits, write_split
from slotfill.tokenizer import tokenize

SOURCES = ("rasa", "snips", "conll", "atis")
TARGETS = ("atis", "conll")


@dataclass
class Example:
    """One utterance with its entities as character spans, or already tokenized."""

    text: str = ""
    spans: list[tuple[int, int, str]] = field(default_factory=list)  # start, end, slot
    intent: str = ""
    where: str = ""  # file and example, for messages
    tokens: list[str] | None = None
    tags: list[str] | None = None


class ConvertError(DataError):
    """Source data that cannot be converted faithfully."""


def to_bio(example: Example) -> tuple[list[str], list[str]]:
    """The example's tokens and BIO tags; ConvertError if a span is not on token bounds."""
    if example.tokens is not None and example.tags is not None:
        return example.tokens, example.tags
    tokens = tokenize(example.text)
    if not tokens:
        raise ConvertError(f"{example.where}: empty utterance")
    tags = ["O"] * len(tokens)
    for start, end, slot in sorted(example.spans):
        inside = [i for i, t in enumerate(tokens) if t.start < end and t.end > start]
        value = example.text[start:end]
        if not inside or tokens[inside[0]].start != start or tokens[inside[-1]].end != end:
            raise ConvertError(
                f"{example.where}: the {slot!r} span {value!r} ({start}:{end}) does not "
                "start and end on token boundaries (tokens: "
                f"{' | '.join(t.text for t in tokens)})")
        if any(tags[i] != "O" for i in inside):
            raise ConvertError(f"{example.where}: the {slot!r} span {value!r} overlaps "
                               "another entity")
        if re.search(r"\s", slot) or not slot:
            raise ConvertError(f"{example.where}: entity name {slot!r} is empty or has spaces")
        tags[inside[0]] = f"B-{slot}"
        for i in inside[1:]:
            tags[i] = f"I-{slot}"
    return [t.text for t in tokens], tags


# --- Rasa --------------------------------------------------------------------------------

_ANNOTATION = re.compile(r"\[(?P<value>[^\[\]]+)\](?:\((?P<paren>[^)]*)\)|(?P<brace>\{[^}]*\}))")


def _rasa_markup(line: str, where: str) -> Example:
    """``book [Boston](city) [today]{"entity": "date"}`` -> text and spans."""
    text, spans, at = [], [], 0
    length = 0
    for match in _ANNOTATION.finditer(line):
        text.append(line[at:match.start()])
        length += match.start() - at
        value = match.group("value")
        if match.group("paren") is not None:
            entity = match.group("paren").split(":", 1)[0].strip()
        else:
            try:
                entity = json.loads(match.group("brace")).get("entity", "")
            except (json.JSONDecodeError, AttributeError):
                raise ConvertError(f"{where}: unreadable entity annotation "
                                   f"{match.group(0)!r}") from None
        spans.append((length, length + len(value), str(entity).strip()))
        text.append(value)
        length += len(value)
        at = match.end()
    text.append(line[at:])
    return Example("".join(text), spans, where=where)


def read_rasa(path: Path) -> list[Example]:
    """Rasa NLU training data: one file, or every .yml/.yaml/.json file under a folder."""
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".yml", ".yaml", ".json")
                   ) if path.is_dir() else [path]
    examples: list[Example] = []
    for file in files:
        text = _read_text(file)
        if file.suffix.lower() == ".json":
            examples += _rasa_json(file, _parse_json(file, text))
        else:
            examples += _rasa_yaml(file, text)
    if not examples:
        raise ConvertError(f"{path}: no Rasa NLU examples found (an nlu: section with "
                           "intents and examples, or rasa_nlu_data.common_examples)")
    return examples


def _rasa_yaml(file: Path, text: str) -> list[Example]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ConvertError(f"not valid YAML: {getattr(err, 'problem', err)}", file,
                           mark.line + 1 if mark is not None else None) from None
    examples = []
    for block in (data or {}).get("nlu") or []:
        if not isinstance(block, dict) or "intent" not in block:
            continue  # synonyms, regexes and lookup tables carry no training examples
        raw = block.get("examples") or ""
        lines = raw.splitlines() if isinstance(raw, str) else [
            e.get("text", "") if isinstance(e, dict) else str(e) for e in raw]
        for number, line in enumerate(lines, start=1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("- "):
                line = line[2:].strip()
            example = _rasa_markup(line, f"{file}: intent {block['intent']!r}, example "
                                         f"{number} ({line!r})")
            example.intent = str(block["intent"])
            examples.append(example)
    return examples


def _rasa_json(file: Path, data: Any) -> list[Example]:
    common = ((data or {}).get("rasa_nlu_data") or {}).get("common_examples") or []
    examples = []
    for number, item in enumerate(common, start=1):
        where = f"{file}: common_examples[{number - 1}] ({item.get('text', '')!r})"
        try:
            spans = [(int(e["start"]), int(e["end"]), str(e["entity"]))
                     for e in item.get("entities") or []]
            examples.append(Example(str(item["text"]), spans, str(item.get("intent") or ""),
                                    where))
        except (KeyError, TypeError, ValueError) as err:
            raise ConvertError(f"{where}: missing or bad field {err}") from None
    return examples


# --- snips -------------------------------------------------------------------------------

def read_snips(path: Path) -> list[Example]:
    """A snips-nlu dataset JSON: each utterance's chunks joined, the slotted ones as spans."""
    data = _parse_json(path, _read_text(path))
    intents = data.get("intents") if isinstance(data, dict) else None
    if not isinstance(intents, dict):
        raise ConvertError(f"{path}: not a snips-nlu dataset (no \"intents\" object)")
    examples = []
    for intent, body in intents.items():
        for number, utterance in enumerate((body or {}).get("utterances") or []):
            where = f"{path}: intent {intent!r}, utterance {number}"
            text, spans = "", []
            for chunk in utterance.get("data") or []:
                piece = str(chunk.get("text", ""))
                if chunk.get("slot_name"):
                    spans.append((len(text), len(text) + len(piece), str(chunk["slot_name"])))
                text += piece
            # Slot chunks often carry their own spaces: trim each span to its words.
            trimmed = []
            for start, end, slot in spans:
                value = text[start:end]
                start += len(value) - len(value.lstrip())
                end -= len(value) - len(value.rstrip())
                trimmed.append((start, end, slot))
            examples.append(Example(text, trimmed, intent, f"{where} ({text.strip()!r})"))
    if not examples:
        raise ConvertError(f"{path}: the snips dataset has no utterances")
    return examples


# --- the rest ----------------------------------------------------------------------------

def read_slotfill(path: Path) -> dict[str, list[Example]]:
    """A CoNLL or ATIS-layout folder, split by split (valid only if it has one)."""
    raw = read_splits(path)
    result = {}
    for name, columns in raw.splits.items():
        if columns is None:
            continue
        result[name] = [Example(tokens=tokens, tags=tags, intent=intent)
                        for tokens, tags, intent in zip(columns["tokens"], columns["tags"],
                                                        columns["intent"])]
    return result


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConvertError(f"not valid UTF-8 (byte {err.start})", path) from None
    except OSError as err:
        raise ConvertError(f"cannot read: {err.strerror}", path) from None


def _parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConvertError(f"not valid JSON: {err.msg}", path, err.lineno) from None


def _split(examples: list[Example], test_fraction: float, seed: int,
           source: Path) -> dict[str, list[Example]]:
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_test = max(1, round(len(examples) * test_fraction))
    if n_test < 1 or n_test >= len(examples):
        raise ConvertError(f"{len(examples)} example(s) with --test-fraction {test_fraction}: "
                           "train and test would not both have examples", source)
    test = set(order[:n_test])
    return {"train": [e for i, e in enumerate(examples) if i not in test],
            "test": [e for i, e in enumerate(examples) if i in test]}


def convert(source_format: str, target_format: str, source: str | os.PathLike,
            destination: str | os.PathLike, test_fraction: float = 0.1,
            seed: int = 0) -> dict[str, int]:
    """Convert ``source`` into a new folder ``destination``; returns examples per split.

    The destination must not exist (or be an empty folder); it appears only once complete.
    """
    if source_format not in SOURCES:
        raise ValueError(f"unknown source format {source_format!r}; choose from {SOURCES}")
    if target_format not in TARGETS:
        raise ValueError(f"unknown target format {target_format!r}; choose from {TARGETS}")
    src, dest = Path(source), Path(destination)
    if not src.exists():
        raise ConvertError("does not exist", src)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConvertError("already exists and is not an empty folder; choose a new one", dest)
    if source_format in ("conll", "atis"):
        splits = read_slotfill(src)
    else:
        examples = read_rasa(src) if source_format == "rasa" else read_snips(src)
        for example in examples:  # every span checked before anything else is decided
            example.tokens, example.tags = to_bio(example)
        splits = _split(examples, test_fraction, seed, src)
    tagged = {name: [dict(zip(("tokens", "tags"), to_bio(e)), intent=e.intent) for e in split]
              for name, split in splits.items()}
    intents = [e["intent"] for split in tagged.values() for e in split]
    if any(intents) and not all(intents):
        for e in (e for split in splits.values() for e in split):
            if not e.intent:
                raise ConvertError(f"{e.where or 'an example'}: no intent while others have one")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.tmp-"))
    try:
        for name, examples in tagged.items():
            if target_format == "atis":
                write_split(staging / name, examples)
            else:
                _write_conll(staging / f"{name}.txt", examples)
        if dest.exists():
            dest.rmdir()
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {name: len(examples) for name, examples in tagged.items()}


def _write_conll(path: Path, examples: Iterable[dict]) -> None:
    blocks = []
    for example in examples:
        lines = [f"# intent: {example['intent']}"] if example["intent"] else []
        lines += [f"{token} {tag}" for token, tag in zip(example["tokens"], example["tags"])]
        blocks.append("\n".join(lines))
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
