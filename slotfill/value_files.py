"""The files that tell the normaliser about a dataset: synonyms and value types.

Synonyms (``train --synonyms FILE``) map a canonical value to its variants, as JSON or
YAML::

    {"new york": ["nyc", "new york city"], "los angeles": ["la", "l.a."]}

Value types (``train --value-types FILE``) map a slot name, or the part after its last
dot, to one of :data:`slotfill.normalize.KINDS`::

    {"when": "relative_date", "guests": "number"}

Both are checked when read and stored in the model's ``config.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from slotfill.errors import SlotfillError
from slotfill.normalize import KINDS


class ValueFileError(SlotfillError, ValueError):
    """A synonyms or value-types file that cannot be used; the message names the file."""


def _read_mapping(path: str | os.PathLike, what: str) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueFileError(f"{path}: not valid UTF-8 (byte {err.start})") from None
    except OSError as err:
        raise ValueFileError(f"cannot read the {what} file {path}: {err.strerror}") from None
    if path.suffix.lower() in (".yml", ".yaml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            raise ValueFileError(f"{path}{where}: not valid YAML: "
                                 f"{getattr(err, 'problem', err)}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueFileError(f"{path}:{err.lineno}: not valid JSON: {err.msg}") from None
    if not isinstance(data, dict) or not data:
        raise ValueFileError(f"{path}: the {what} file must hold a non-empty mapping")
    return data


def read_synonyms(path: str | os.PathLike) -> dict[str, list[str]]:
    """Canonical value -> variants, each a non-empty string; a variant may belong to only
    one canonical value."""
    data = _read_mapping(path, "synonyms")
    owners: dict[str, str] = {}
    result: dict[str, list[str]] = {}
    for canonical, variants in data.items():
        if isinstance(variants, str):
            variants = [variants]
        if not isinstance(canonical, str) or not canonical.strip() or not isinstance(
                variants, list) or not all(isinstance(v, str) and v.strip() for v in variants):
            raise ValueFileError(f"{path}: {canonical!r} must map to a list of non-empty "
                                 "strings")
        for variant in [canonical, *variants]:
            key = synonym_key(variant)
            if owners.get(key, canonical) != canonical:
                raise ValueFileError(f"{path}: {variant!r} is a variant of both "
                                     f"{owners[key]!r} and {canonical!r}")
            owners[key] = canonical
        result[canonical] = list(variants)
    return result


def read_value_types(path: str | os.PathLike) -> dict[str, str]:
    """Slot name (or suffix) -> kind, each kind one of :data:`slotfill.normalize.KINDS`."""
    data = _read_mapping(path, "value types")
    for slot, kind in data.items():
        if kind not in KINDS:
            raise ValueFileError(f"{path}: {slot!r} has kind {kind!r}; the kinds are "
                                 f"{', '.join(KINDS)}")
    return dict(data)


def synonym_key(value: str) -> str:
    """How values are compared with synonyms: case, spacing and dots do not matter."""
    return " ".join(value.lower().replace(".", "").split())


def synonym_table(synonyms: dict[str, list[str]] | None) -> dict[str, str]:
    """Every variant's (and canonical value's) key -> its canonical value."""
    table: dict[str, str] = {}
    for canonical, variants in (synonyms or {}).items():
        for variant in [canonical, *variants]:
            table[synonym_key(variant)] = canonical
    return table
