import pytest

from slotfill import model_dir
from slotfill.model_dir import ModelError


def test_staged_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with model_dir.staged_dir(target) as tmp:
            (tmp / "new.txt").write_text("new")
            raise RuntimeError("killed halfway")
    assert (target / "old.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    with model_dir.staged_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_resolve_names_what_is_missing(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        model_dir.resolve(tmp_path / "nope")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="incomplete: missing model.keras"):
        model_dir.resolve(tmp_path / "m")


def test_latest_pointer(tmp_path, isolated_models):
    with pytest.raises(ModelError, match="no trained model"):
        model_dir.latest_model_dir()
    model_dir.set_latest(tmp_path / "x")
    assert model_dir.latest_model_dir() == (tmp_path / "x").resolve()
