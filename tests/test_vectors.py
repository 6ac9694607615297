"""slotfill.vectors: reading GloVe / word2vec / fastText text files, and the vocabulary rule."""

import hashlib

import numpy as np
import pytest

from slotfill.vectors import VectorsError, read_vectors, vocabulary_with_vectors
from slotfill.vocabulary import Vocabulary

GLOVE = "the 0.1 0.2 0.3\nBoston 1 2 3\nto -1 -2 -3.5e-1\ndenver 4 5 6\n"


def _write(tmp_path, text, name="vectors.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_reads_glove_lines_with_normalised_words_and_records_the_file(tmp_path):
    path = _write(tmp_path, GLOVE)
    vectors = read_vectors(path)
    assert vectors.words == ["the", "boston", "to", "denver"]
    assert vectors.dim == 3
    np.testing.assert_allclose(vectors.matrix[2], [-1, -2, -0.35])
    assert vectors.source == {"file": "vectors.txt", "bytes": len(GLOVE),
                              "sha256": hashlib.sha256(GLOVE.encode()).hexdigest(),
                              "dim": 3, "vectors": 4}


def test_reads_a_word2vec_or_fasttext_header_and_keeps_the_first_of_two_spellings(tmp_path):
    path = _write(tmp_path, "3 2\nParis 1 1\nparis 2 2 \nlyon 3 3\n\n", "wiki.vec")
    vectors = read_vectors(path)
    assert vectors.words == ["paris", "lyon"]
    np.testing.assert_allclose(vectors.matrix, [[1, 1], [3, 3]])
    assert vectors.source["vectors"] == 3


@pytest.mark.parametrize(("text", "message"), [
    ("", r"vectors\.txt holds no vectors"),
    ("2 3\n", "holds no vectors"),
    ("a 1 2 3\nb 1 2\n", r"vectors\.txt:2: 'b' has 2 numbers, expected 3"),
    ("2 3\na 1 2 3\nb 1 2 3 4\n", r"vectors\.txt:3: 'b' has 4 numbers"),
    ("a 1 2\nb 1 x\n", r"vectors\.txt:2: 'x' is not a number"),
    ("a 1 2\nb 1 nan\n", r"vectors\.txt:2: 'b' has a NaN"),
    ("a\n", r"vectors\.txt:1: 'a' has no numbers"),
    ("5 2\na 1 2\n", "declares 5 vectors, the file has 1"),
    (b"a 1 2\n\xff\xfe 1 2\n", r"vectors\.txt:2: not valid UTF-8"),
])
def test_bad_files_are_refused_naming_file_and_line(tmp_path, text, message):
    with pytest.raises(VectorsError, match=message):
        read_vectors(_write(tmp_path, text))


def test_a_missing_file_is_refused_in_words(tmp_path):
    with pytest.raises(VectorsError, match="cannot read the vector file .*missing.txt"):
        read_vectors(tmp_path / "missing.txt")


def test_vocabulary_keeps_training_ids_and_adds_the_files_top_words(tmp_path):
    # Training words: "to" (in the file's top lines), "denver" (only further down), "xyz"
    # (not in the file). With extra_words=3 the file's first three lines may add words.
    path = _write(tmp_path, GLOVE + "miami 7 8 9\n")
    training = Vocabulary.build(["to", "denver", "xyz", "to"])
    vocab, matrix, record = vocabulary_with_vectors(training, path, extra_words=3)
    assert vocab.entries[:len(training)] == training.entries
    assert vocab.entries[len(training):] == ["the", "boston"]   # "miami" is line 5
    assert matrix.shape == (len(vocab), 3)
    np.testing.assert_allclose(matrix[vocab.id("denver")], [4, 5, 6])
    np.testing.assert_allclose(matrix[vocab.id("boston")], [1, 2, 3])
    assert not matrix[vocab.id("xyz")].any() and not matrix[:2].any()
    assert record["training_words"] == 3
    assert record["training_words_with_vectors"] == 2
    assert record["added_words"] == 2
    assert record["file"] == "vectors.txt"
