"""Read slot-filling datasets into a :class:`datasets.DatasetDict` and validate them.

Two on-disk formats are accepted; which one a folder holds is detected from its contents.

ATIS layout (also used by SNIPS and many other slot-filling sets)::

    train/seq.in   one utterance per line, tokens separated by spaces
    train/seq.out  one BIO tag per token, same count as the seq.in line
    train/label    optional: the intent of each utterance (kept as written, e.g. ``a#b``)
    valid/...      optional: when missing, a seeded fraction of train is held out
    test/...

CoNLL style: ``train.txt`` and ``test.txt`` (optionally ``valid.txt``; ``.conll`` is
accepted too) with one ``token TAG`` per line (when there are more columns the first is
the token and the last the tag) and blank lines between utterances. A line
``# intent: NAME`` (or ``# intent = NAME``) before an utterance gives its intent; other
lines starting with ``# `` before an utterance's first token are comments, and
``-DOCSTART-`` lines separate documents.

Every split becomes a :class:`datasets.Dataset` with the columns ``tokens`` (list of
str), ``tags`` (list of str) and ``intent`` (str, ``""`` when the data has none). Errors
in the files raise :class:`DataError` naming the file and, where there is one, the line.
Nothing here knows about ATIS: no tag or intent names, no case or length assumptions.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from slotfill import bio
from slotfill.errors import SlotfillError

logger = logging.getLogger(__name__)

DEFAULT_DATA = Path(__file__).resolve().parent / "bundled" / "flights"
"""The small flight-booking dataset bundled with the project (ATIS layout)."""

DATA_ENV = "SLOTFILL_DATA"
SPLITS = ("train", "valid", "test")
COLUMNS = ("tokens", "tags", "intent")
CONLL_SUFFIXES = (".txt", ".conll")

# Only ASCII whitespace separates fields: a no-break or ideographic space may be part of
# a token in some corpora, and str.split() would cut it silently.
_BLANK = " \t\f\v\r"
_FIELD_SEP = re.compile(r"[ \t\f\v\r]+")
_INTENT_LINE = re.compile(r"#[ \t]+intent[ \t]*[:=](.*)")

# Column name -> list of values, one per utterance; the shape Dataset.from_dict takes.
_Columns = dict[str, list]


class DataError(SlotfillError, ValueError):
    """A dataset file is missing or malformed.

    ``str(err)`` reads ``path:line: message`` (without ``line`` when the problem is not
    on one line, and without ``path`` when no file is involved), the form editors and
    terminals turn into links.

    Attributes:
        message: What is wrong, without the location.
        path: The file or folder concerned, or ``None``.
        line: The 1-based line number, or ``None``.
    """

    def __init__(
        self, message: str, path: str | os.PathLike | None = None, line: int | None = None
    ) -> None:
        self.message = message
        self.path = None if path is None else Path(path)
        self.line = line
        location = ""
        if self.path is not None:
            location = f"{self.path}:" if line is None else f"{self.path}:{line}:"
        super().__init__(f"{location} {message}" if location else message)

    def __reduce__(self):
        # The default pickling replays self.args (the formatted text) into __init__,
        # which would lose path and line in multiprocessing workers.
        return type(self), (self.message, self.path, self.line)


def resolve_data_path(path: str | os.PathLike | None) -> Path:
    """Return the dataset folder to read.

    Args:
        path: A dataset folder. When ``None``, ``$SLOTFILL_DATA`` is used if set and
            non-empty, otherwise the bundled :data:`DEFAULT_DATA`.

    Raises:
        DataError: The folder does not exist or is not a folder.
    """
    origin = ""
    if path is None:
        env = os.environ.get(DATA_ENV, "")
        if env:
            path, origin = env, f" (from ${DATA_ENV})"
        else:
            path = DEFAULT_DATA
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise DataError(f"dataset folder does not exist{origin}", resolved)
    if not resolved.is_dir():
        raise DataError(f"expected a dataset folder, got a file{origin}", resolved)
    return resolved


def load_dataset(
    path: str | os.PathLike | None = None, *, valid_fraction: float = 0.1, seed: int = 0
) -> datasets.DatasetDict:
    """Read a dataset folder into splits ``train``, ``valid`` and ``test``.

    Args:
        path: The dataset folder (ATIS layout or CoNLL files); see
            :func:`resolve_data_path` for what ``None`` means.
        valid_fraction: Share of ``train`` held out as ``valid`` when the folder has no
            validation split; strictly between 0 and 1. Default 0.1.
        seed: Seed of the hold-out draw; the same seed gives the same split. Default 0.

    Returns:
        A ``DatasetDict`` whose splits have the columns ``tokens``, ``tags`` and
        ``intent``. ``I-x`` tags that do not continue an ``x`` span are repaired to
        ``B-x`` (one warning per split says how many).

    Raises:
        ValueError: ``valid_fraction`` or ``seed`` is out of range.
        DataError: A file or folder is missing or malformed.
    """
    if isinstance(valid_fraction, bool) or not isinstance(valid_fraction, (int, float)) or not (
        0.0 < valid_fraction < 1.0
    ):
        raise ValueError(
            f"valid_fraction must be a number strictly between 0 and 1, got {valid_fraction!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")

    raw = read_splits(path)
    root, fmt, splits, train_source = raw.root, raw.format, raw.splits, raw.train_source

    if splits["valid"] is None:
        splits["train"], splits["valid"] = _hold_out(
            splits["train"], valid_fraction, seed, train_source
        )
        logger.info(
            "%s has no valid split; held out %d of train (seed %d)",
            root, len(splits["valid"]["tokens"]), seed,
        )

    result = datasets.DatasetDict({name: _to_dataset(splits[name]) for name in SPLITS})
    # Where the data came from, for the model folder (slotfill.training records it).
    result.source = describe_source(root, fmt)
    logger.info(
        "read %s (%s): %s", root, fmt,
        ", ".join(f"{name} {result[name].num_rows}" for name in SPLITS),
    )
    return result


@dataclass
class RawSplits:
    """A dataset folder as read, before any hold-out: ``splits["valid"]`` is None when the
    folder has none; ``repairs`` counts the stray ``I-`` tags repaired in each split."""

    root: Path
    format: str  # "ATIS layout" or "CoNLL"
    splits: dict[str, dict[str, list] | None]
    train_source: Path
    repairs: dict[str, int]


def read_splits(path: str | os.PathLike | None = None) -> RawSplits:
    """Read and check a dataset folder's splits (see :func:`load_dataset`), without
    building datasets; DataError names the file and line of any problem."""
    root = resolve_data_path(path)
    repairs: dict[str, int] = {}
    if (root / "train").is_dir() or (root / "test").is_dir():
        fmt, (splits, train_source) = "ATIS layout", _read_atis(root, repairs)
    elif any(_conll_candidates(root, name) for name in SPLITS):
        fmt, (splits, train_source) = "CoNLL", _read_conll_folder(root, repairs)
    else:
        raise DataError(
            "no dataset found: expected train/ and test/ folders holding seq.in, seq.out "
            "(and optionally label), or CoNLL files train.txt and test.txt",
            root,
        )
    return RawSplits(root, fmt, splits, train_source, repairs)


def source_files(root: Path) -> list[Path]:
    """The files of the dataset folder ``root`` that :func:`load_dataset` reads."""
    if (root / "train").is_dir() or (root / "test").is_dir():
        return [root / split / name for split in SPLITS for name in ("seq.in", "seq.out", "label")
                if (root / split / name).is_file()]
    return [path for split in SPLITS for path in _conll_candidates(root, split)]


def describe_source(root: Path, fmt: str) -> dict[str, Any]:
    """The dataset folder's path, format, file count and one SHA-256 over its files' names
    and contents: enough to tell later whether a model was trained on the same data."""
    digest = hashlib.sha256()
    files = source_files(root)
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return {"path": str(root.resolve()), "format": fmt, "files": len(files),
            "sha256": digest.hexdigest()}


def write_split(folder: str | os.PathLike, examples: Iterable[Mapping]) -> int:
    """Write examples to ``folder`` in the ATIS layout (``seq.in``, ``seq.out``, ``label``).

    Args:
        folder: Destination folder; created if needed, existing files are replaced.
        examples: Mappings with ``tokens`` and ``tags`` (lists of str) and optionally
            ``intent`` (str). ``label`` is written only when the examples have intents.

    Returns:
        The number of examples written.

    Raises:
        ValueError: An example could not be read back (empty, whitespace inside a token,
            token/tag count mismatch, invalid tag, intents on only some examples).
    """
    lines_in: list[str] = []
    lines_out: list[str] = []
    intents: list[str] = []
    for i, example in enumerate(examples):
        tokens, tags = list(example["tokens"]), list(example["tags"])
        intent = example.get("intent") or ""
        where = f"examples[{i}]"
        if not tokens:
            raise ValueError(f"{where}['tokens'] must not be empty")
        if len(tags) != len(tokens):
            raise ValueError(
                f"{where}: expected one tag per token ({len(tokens)}), got {len(tags)} tags"
            )
        for token in tokens:
            if not token or _FIELD_SEP.search(token) or "\n" in token:
                raise ValueError(
                    f"{where}['tokens'] must be non-empty and free of whitespace, got {token!r}"
                )
        for tag in tags:
            if not bio.is_valid_tag(tag):
                raise ValueError(f"{where}['tags'] must be O, B-type or I-type, got {tag!r}")
        if "\n" in intent or intent != intent.strip(_BLANK):
            raise ValueError(
                f"{where}['intent'] must be one line without surrounding spaces, got {intent!r}"
            )
        lines_in.append(" ".join(tokens))
        lines_out.append(" ".join(tags))
        intents.append(intent)
    if any(intents) and not all(intents):
        missing = intents.index("")
        raise ValueError(
            f"examples[{missing}]['intent'] is empty while other examples have intents; "
            "give every example an intent or none"
        )

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    _write_lines(target / "seq.in", lines_in)
    _write_lines(target / "seq.out", lines_out)
    if any(intents):
        _write_lines(target / "label", intents)
    elif (target / "label").exists():
        # A stale label file would be read as these examples' intents.
        (target / "label").unlink()
    return len(lines_in)


# --- reading -----------------------------------------------------------------------------


def _read_atis(root: Path, repairs: dict[str, int]) -> tuple[dict[str, _Columns | None], Path]:
    """The splits of an ATIS-layout folder (valid is None when absent) and train's path."""
    splits: dict[str, _Columns | None] = {}
    for name in SPLITS:
        folder = root / name
        if not folder.is_dir():
            if name == "valid":
                splits[name] = None
                continue
            raise DataError(f"missing required folder {name}/ (ATIS layout)", folder)
        splits[name] = _read_atis_split(folder, name, repairs)
    return splits, root / "train"


def _read_atis_split(folder: Path, name: str, repairs: dict[str, int]) -> _Columns:
    seq_in, seq_out, label = folder / "seq.in", folder / "seq.out", folder / "label"
    lines_in = _read_lines(seq_in)
    lines_out = _read_lines(seq_out)
    _check_line_counts(seq_in, len(lines_in), seq_out, len(lines_out))
    lines_label = None
    if label.exists():
        lines_label = _read_lines(label)
        _check_line_counts(seq_in, len(lines_in), label, len(lines_label))

    columns: _Columns = {column: [] for column in COLUMNS}
    for number, (text, tag_text) in enumerate(zip(lines_in, lines_out, strict=True), start=1):
        tokens = _fields(text)
        if not tokens:
            raise DataError("empty utterance", seq_in, number)
        tags = _fields(tag_text)
        if len(tags) != len(tokens):
            raise DataError(
                f"{len(tags)} tag(s) for the {len(tokens)} token(s) on the same line of seq.in",
                seq_out, number,
            )
        _check_tags(tags, seq_out, number)
        intent = ""
        if lines_label is not None:
            intent = lines_label[number - 1].strip(_BLANK)
            if not intent:
                raise DataError("empty intent label", label, number)
        columns["tokens"].append(tokens)
        columns["tags"].append(tags)
        columns["intent"].append(intent)
    repairs[name] = _repair(columns, name, folder)
    return columns


def _conll_candidates(root: Path, name: str) -> list[Path]:
    return [root / f"{name}{suffix}" for suffix in CONLL_SUFFIXES
            if (root / f"{name}{suffix}").is_file()]


def _read_conll_folder(root: Path, repairs: dict[str, int]
                       ) -> tuple[dict[str, _Columns | None], Path]:
    """The splits of a CoNLL folder (valid is None when absent) and train's path."""
    splits: dict[str, _Columns | None] = {}
    train_source = root / "train.txt"
    for name in SPLITS:
        found = _conll_candidates(root, name)
        if len(found) > 1:
            raise DataError(
                f"both {found[0].name} and {found[1].name} exist; keep one", root
            )
        if not found:
            if name == "valid":
                splits[name] = None
                continue
            raise DataError(
                f"missing required file {name}.txt (or {name}.conll) for the CoNLL format",
                root / f"{name}.txt",
            )
        splits[name] = _read_conll(found[0], name, repairs)
        if name == "train":
            train_source = found[0]
    return splits, train_source


def _read_conll(path: Path, name: str, repairs: dict[str, int]) -> _Columns:
    columns: _Columns = {column: [] for column in COLUMNS}
    tokens: list[str] = []
    tags: list[str] = []
    intent: str | None = None
    intent_line = 0

    def flush() -> None:
        nonlocal tokens, tags, intent
        if tokens:
            columns["tokens"].append(tokens)
            columns["tags"].append(tags)
            columns["intent"].append(intent or "")
            tokens, tags, intent = [], [], None

    for number, line in enumerate(_read_lines(path), start=1):
        text = line.lstrip(_BLANK)
        if not text:
            flush()
            continue
        intent_match = _INTENT_LINE.fullmatch(text)
        if intent_match:
            if tokens:
                raise DataError(
                    "intent line inside an utterance; put it before the first token",
                    path, number,
                )
            if intent is not None:
                raise DataError(
                    f"second intent line for one utterance (the first is line {intent_line})",
                    path, number,
                )
            intent, intent_line = intent_match.group(1).strip(_BLANK), number
            if not intent:
                raise DataError("empty intent name", path, number)
            continue
        # Comments only come before an utterance: inside one, "# O" is the token "#".
        if not tokens and (text == "#" or text.startswith(("# ", "#\t"))):
            continue
        fields = _fields(text)
        if fields[0] == "-DOCSTART-":
            flush()
            continue
        if len(fields) < 2:
            raise DataError(
                f"one column {fields[0]!r}; expected 'token TAG' separated by whitespace",
                path, number,
            )
        _check_tags(fields[-1:], path, number)
        tokens.append(fields[0])
        tags.append(fields[-1])
    flush()
    if intent is not None:
        raise DataError("intent line is not followed by an utterance", path, intent_line)
    if not columns["tokens"]:
        raise DataError(f"no utterances in the {name} split", path)
    repairs[name] = _repair(columns, name, path)
    return columns


def _read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 file, trailing whitespace and trailing blank lines removed."""
    if not path.is_file():
        raise DataError("missing required file", path)
    raw = path.read_bytes()
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    lines = []
    # Splitting the bytes on \n (not str.splitlines) keeps line numbers equal to what an
    # editor shows, and lets an undecodable byte be reported on its own line.
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"not valid UTF-8: byte 0x{chunk[exc.start]:02x} at byte {exc.start + 1} "
                "of the line (re-encode the file as UTF-8)",
                path, number,
            ) from None
        text = text.rstrip(_BLANK)
        if "\r" in text:
            # A file with CR-only line endings reads as one line; taken as one utterance it
            # would be scored as one, with every count still matching.
            raise DataError(
                "carriage return (\\r) inside the line: lines must end with \\n (or \\r\\n); "
                "CR-only line endings or a stray \\r in the text?",
                path, number,
            )
        lines.append(text)
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise DataError("file is empty", path)
    return lines


def _fields(text: str) -> list[str]:
    return [field for field in _FIELD_SEP.split(text) if field]


def _check_line_counts(reference: Path, n_reference: int, other: Path, n_other: int) -> None:
    if n_other != n_reference:
        raise DataError(
            f"{other.name} has {n_other} line(s) but {reference.name} has {n_reference}; "
            "they must match line for line",
            other, min(n_other, n_reference) + 1,
        )


def _check_tags(tags: list[str], path: Path, line: int) -> None:
    for tag in tags:
        if not bio.is_valid_tag(tag):
            raise DataError(f"invalid tag {tag!r}; expected O, B-type or I-type", path, line)


def _repair(columns: _Columns, name: str, source: Path) -> int:
    """Repair stray I- tags in place (with one warning); returns how many."""
    total = 0
    for i, tags in enumerate(columns["tags"]):
        fixed, n_repaired = bio.repair(tags)
        if n_repaired:
            columns["tags"][i] = list(fixed)
            total += n_repaired
    if total:
        logger.warning(
            "%s split (%s): %d I- tag(s) did not continue a span of their type; "
            "repaired to B-, as conlleval reads them",
            name, source, total,
        )
    return total


# --- building ----------------------------------------------------------------------------


def _hold_out(
    train: _Columns, fraction: float, seed: int, source: Path
) -> tuple[_Columns, _Columns]:
    n = len(train["tokens"])
    n_valid = max(1, round(n * fraction))
    if n_valid >= n:
        raise DataError(
            f"train has {n} utterance(s), too few to hold out a validation split; "
            "add a valid split",
            source,
        )
    order = list(range(n))
    random.Random(seed).shuffle(order)
    held = set(order[:n_valid])
    # Both parts keep the file order, so only membership depends on the seed.
    valid = {c: [v for i, v in enumerate(train[c]) if i in held] for c in COLUMNS}
    rest = {c: [v for i, v in enumerate(train[c]) if i not in held] for c in COLUMNS}
    return rest, valid


def _features() -> datasets.Features:
    # datasets >= 4 names the list feature List; older releases call it Sequence.
    list_of = getattr(datasets, "List", None) or datasets.Sequence
    return datasets.Features({
        "tokens": list_of(datasets.Value("string")),
        "tags": list_of(datasets.Value("string")),
        "intent": datasets.Value("string"),
    })


def _to_dataset(columns: _Columns) -> datasets.Dataset:
    return datasets.Dataset.from_dict({c: columns[c] for c in COLUMNS}, features=_features())


def _write_lines(path: Path, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("\n".join(lines) + "\n")
