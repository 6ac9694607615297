import json

import pytest

from slotfill import model_dir
from slotfill.checkpoint import STATE_FILE, Checkpoint
from slotfill.config import Config


def _write_state(folder, config_dict):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STATE_FILE).write_text(json.dumps({"epoch": 2, "config": config_dict,
                                                 "scorer": {}}))


def test_a_checkpoint_from_before_a_field_existed_resumes_with_the_legacy_value(tmp_path):
    old = Config(intent_smoothing=0.0).to_dict()
    del old["intent_smoothing"]
    _write_state(tmp_path, old)
    assert Checkpoint(tmp_path, Config(intent_smoothing=0.0)).next_epoch == 3
    # The current default differs from the value that run was made with: say so.
    with pytest.raises(model_dir.ModelError, match="intent_smoothing"):
        Checkpoint(tmp_path, Config(intent_smoothing=0.1))
