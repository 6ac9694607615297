"""Pretrained word vectors from a text file (``train --embeddings PATH``).

Reads the plain-text format GloVe, word2vec (text mode) and fastText ``.vec`` files share:
one word per line followed by its numbers, separated by spaces, with an optional first
line ``<count> <dimension>`` (word2vec and fastText write one, GloVe does not). Words are
looked up by :func:`slotfill.tokenizer.normalize`, as the tagger looks up tokens; where two
lines normalise to the same word (``Paris`` and ``paris``), the first one is kept.

Which words a model gets (:func:`vocabulary_with_vectors`): every word of the training
split, and the vector file's words among its first ``extra_words`` lines that the training
split lacks. Vector files list words most frequent first, so this adds the common words a
user may type that the training data happens not to have; rarer words stay unknown (the
character encoder still reads them).

Pure numpy: reading and checking a file needs no TensorFlow.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from slotfill.errors import SlotfillError
from slotfill.tokenizer import normalize
from slotfill.vocabulary import PAD, UNK, Vocabulary

# Lines read from the top of a vector file for words the training split lacks.
DEFAULT_EXTRA_WORDS = 20_000


class VectorsError(SlotfillError, ValueError):
    """A vector file that cannot be read; the message names the file and line."""


@dataclass
class WordVectors:
    """The vectors of one file: ``words[i]`` (normalised) has ``matrix[i]``, in file order."""

    words: list[str]
    matrix: np.ndarray        # (len(words), dim) float32
    ranks: list[int]          # each word's position among the file's vectors, from 1
    source: dict[str, Any]    # file name, size, sha256, dimension, vectors

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])


def read_vectors(path: str | Path, keep: set[str] | None = None,
                 keep_first: int | None = None) -> WordVectors:
    """Read and check a vector file.

    Every line is checked (UTF-8, a word and ``dimension`` numbers); only the vectors of
    words in ``keep`` or among the first ``keep_first`` lines are kept in memory (all of
    them when both are None). Raises :class:`VectorsError` naming the file and line.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError as err:
        raise VectorsError(f"cannot read the vector file {path}: {err.strerror}") from None
    digest = hashlib.sha256()
    words: list[str] = []
    rows: list[np.ndarray] = []
    ranks: list[int] = []
    seen: set[str] = set()
    dim = declared = None
    vectors = 0
    with handle:
        for number, raw in enumerate(handle, start=1):
            digest.update(raw)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise VectorsError(f"{path}:{number}: not valid UTF-8 ({err.reason} at byte "
                                   f"{err.start}); vector files must be UTF-8 text") from None
            fields = line.rstrip("\r\n").rstrip(" ").split(" ")
            if fields == [""]:
                continue  # (a blank line, such as one at the end, holds no vector)
            if number == 1 and len(fields) == 2 and all(f.isdigit() for f in fields):
                declared = int(fields[0])
                dim = int(fields[1])
                if dim < 1:
                    raise VectorsError(f"{path}:1: the header declares dimension {dim}")
                continue
            word, numbers = fields[0], fields[1:]
            if dim is None:
                dim = len(numbers)
                if dim < 1:
                    raise VectorsError(f"{path}:{number}: {word!r} has no numbers after it")
            if len(numbers) != dim:
                raise VectorsError(f"{path}:{number}: {word!r} has {len(numbers)} numbers, "
                                   f"expected {dim} like the lines before (ragged dimensions)")
            try:
                vector = np.array(numbers, dtype=np.float32)
            except ValueError:
                bad = next(f for f in numbers if not _is_number(f))
                raise VectorsError(f"{path}:{number}: {bad!r} is not a number") from None
            if not np.all(np.isfinite(vector)):
                raise VectorsError(f"{path}:{number}: {word!r} has a NaN or infinite value")
            vectors += 1
            key = normalize(word)
            if key in seen or key in (PAD, UNK):
                continue
            if (keep is None and keep_first is None) or (keep is not None and key in keep) \
                    or (keep_first is not None and vectors <= keep_first):
                seen.add(key)
                words.append(key)
                rows.append(vector)
                ranks.append(vectors)
    if vectors == 0:
        raise VectorsError(f"{path} holds no vectors: expected lines of a word and its numbers")
    if declared is not None and declared != vectors:
        raise VectorsError(f"{path}: the header declares {declared} vectors, the file has "
                           f"{vectors}; the file may be truncated")
    matrix = np.stack(rows) if rows else np.zeros((0, dim), np.float32)
    source = {"file": path.name, "bytes": size, "sha256": digest.hexdigest(), "dim": dim,
              "vectors": vectors}
    return WordVectors(words, matrix, ranks, source)


def vocabulary_with_vectors(words: Vocabulary, vectors_path: str | Path,
                            extra_words: int = DEFAULT_EXTRA_WORDS
                            ) -> tuple[Vocabulary, np.ndarray, dict[str, Any]]:
    """Extend the training vocabulary ``words`` with the vector file's frequent words.

    Returns the extended vocabulary (the training words first, with their ids unchanged,
    then the added words in file order), its matrix of vectors (zero rows for ``<pad>``,
    ``<unk>`` and words the file lacks), and what to record: the file's name, size, hash,
    dimension, and how many words were found and added.
    """
    training = set(words.entries[2:])
    vectors = read_vectors(vectors_path, keep=training, keep_first=extra_words)
    found = {word: i for i, word in enumerate(vectors.words)}
    added = [word for word, rank in zip(vectors.words, vectors.ranks)
             if word not in training and rank <= extra_words]
    vocab = Vocabulary([*words.entries, *added])
    matrix = np.zeros((len(vocab), vectors.dim), np.float32)
    for i, word in enumerate(vocab.entries):
        if word in found:
            matrix[i] = vectors.matrix[found[word]]
    record = {**vectors.source,
              "training_words": len(training),
              "training_words_with_vectors": len(training & found.keys()),
              "added_words": len(added)}
    return vocab, matrix, record


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
