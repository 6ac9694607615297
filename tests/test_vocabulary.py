from slotfill.vocabulary import PAD, PAD_ID, UNK, UNK_ID, LabelSet, Vocabulary


def test_build_reserves_pad_and_unknown_and_orders_by_frequency():
    vocab = Vocabulary.build(["b", "a", "b", "c", "b", "a"])
    assert vocab.entries[:2] == [PAD, UNK]
    assert vocab.entries[2:] == ["b", "a", "c"]
    assert vocab.id("b") == 2 and vocab.id("zzz") == UNK_ID
    assert "b" in vocab and PAD not in vocab


def test_build_is_independent_of_input_order():
    assert Vocabulary.build(["x", "y", "z"]).entries == Vocabulary.build(["z", "y", "x"]).entries


def test_min_count_and_special_entries_in_data():
    vocab = Vocabulary.build(["a", "a", "b", PAD, UNK], min_count=2)
    assert vocab.entries == [PAD, UNK, "a"]
    assert vocab.ids(["a", "b", PAD]) == [2, UNK_ID, PAD_ID]


def test_save_and_load_round_trip(tmp_path):
    vocab = Vocabulary.build(["héllo", "o'clock", "st.", "🙂"])
    vocab.save(tmp_path / "words.txt")
    assert Vocabulary.load(tmp_path / "words.txt").entries == vocab.entries
    labels = LabelSet.build(["B-x", "O", "I-x"], first=["O"])
    labels.save(tmp_path / "tags.txt")
    loaded = LabelSet.load(tmp_path / "tags.txt")
    assert loaded.labels == ["O", "B-x", "I-x"]
    assert loaded.id("I-x") == 2 and loaded.id("B-unseen") == -1
