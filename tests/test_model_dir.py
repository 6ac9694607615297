import os
import stat

import pytest

from slotfill import model_dir
from slotfill.model_dir import ModelError


def test_staged_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "config.json").write_text("old")
    with pytest.raises(RuntimeError):
        with model_dir.staged_dir(target) as tmp:
            (tmp / "model.keras").write_text("new")
            raise RuntimeError("killed halfway")
    assert (target / "config.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    with model_dir.staged_dir(target) as tmp:
        (tmp / "model.keras").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["model.keras"]
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


def test_a_folder_slotfill_did_not_write_is_refused_and_kept(tmp_path):
    users = tmp_path / "notes"
    users.mkdir()
    (users / "todo.txt").write_text("mine")
    with pytest.raises(ModelError, match="would delete what it holds"):
        with model_dir.staged_dir(users) as tmp:
            (tmp / "config.json").write_text("{}")
    assert [p.name for p in users.iterdir()] == ["todo.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]
    # A SavedModel destination wants a SavedModel: a model folder is not one.
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="saved_model.pb"):
        model_dir.check_destination(model, markers=("saved_model.pb",))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert model_dir.check_destination(empty) == empty


def test_the_current_folder_is_refused_and_a_failed_move_leaves_nothing(tmp_path, monkeypatch):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("old")
    monkeypatch.chdir(model)
    for destination in (".", "..", str(model)):
        with pytest.raises(ModelError, match="current folder"):
            model_dir.check_destination(destination)

    def fail(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(model_dir, "replace_dir", fail)
    with pytest.raises(OSError, match="disk full"):
        with model_dir.staged_dir(tmp_path / "other") as tmp:
            (tmp / "config.json").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_link_is_replaced_by_the_folder_and_what_it_pointed_to_stays(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "config.json").write_text("old")
    (tmp_path / "link").symlink_to(target)
    with model_dir.staged_dir(tmp_path / "link") as tmp:
        (tmp / "config.json").write_text("new")
    assert not (tmp_path / "link").is_symlink()
    assert (tmp_path / "link" / "config.json").read_text() == "new"
    assert (target / "config.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]


def test_a_written_folder_has_the_permissions_the_umask_gives(tmp_path):
    old = os.umask(0o022)
    try:
        with model_dir.staged_dir(tmp_path / "model") as tmp:
            (tmp / "config.json").write_text("{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == 0o755


def test_a_folder_name_that_is_not_utf8_is_written_and_recorded_as_latest(
        tmp_path, isolated_models):
    destination = tmp_path / os.fsdecode(b"model-\xff")
    with model_dir.staged_dir(destination) as staging:
        # TensorFlow writes into the staging folder and can only encode UTF-8 paths.
        str(staging).encode("utf-8")
        (staging / model_dir.CONFIG_FILE).write_text("{}")
    assert (destination / model_dir.CONFIG_FILE).is_file()
    model_dir.set_latest(destination)
    assert model_dir.latest_model_dir() == destination.resolve()


def test_a_parent_path_that_is_not_utf8_is_refused_before_any_work(tmp_path):
    destination = tmp_path / os.fsdecode(b"folder-\xff") / "model"
    with pytest.raises(ModelError, match="not valid UTF-8"):
        model_dir.check_destination(destination)
    assert not destination.parent.exists()
