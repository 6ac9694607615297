import pytest

from slotfill.config import ARCHS, SINGLE_DIRECTION_WINDOW, Config


def test_defaults_are_valid_and_round_trip(tmp_path):
    config = Config()
    config.save(tmp_path / "config.json")
    assert Config.load(tmp_path / "config.json") == config


@pytest.mark.parametrize("arch", ARCHS)
def test_arch_splits_into_direction_and_cell(arch):
    config = Config(arch=arch)
    assert config.bidirectional == arch.startswith("bi")
    assert config.cell in {"elman", "jordan", "lstm", "peephole", "gru"}


@pytest.mark.parametrize(("field", "value"), [
    ("arch", "transformer"), ("decoder", "beam"), ("hidden", 0), ("layers", -1),
    ("dropout", 1.0), ("dropout", -0.1), ("learning_rate", 0.0), ("clipnorm", -1.0),
    ("activation", "sigmoid"), ("window", -2), ("batch_size", 2.5),
    ("intent_hidden", -1), ("intent_balance", 1.5), ("intent_balance", -0.5),
    ("ema", 1.0), ("ema", -0.01), ("intent_encoder", "transformer"),
    ("intent_smoothing", 1.0), ("intent_smoothing", -0.1), ("case_noise", 1.5),
    ("prefix_noise", -0.5),
])
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        Config(**{field: value})


def test_unknown_fields_are_rejected():
    with pytest.raises(ValueError, match="unknown config fields"):
        Config.from_dict({"arch": "bilstm", "colour": "red"})


def test_window_defaults_by_direction_and_can_be_set():
    assert Config(arch="bilstm").context_window == 0
    assert Config(arch="lstm").context_window == SINGLE_DIRECTION_WINDOW > 0
    # Changing the arch re-derives the default; an explicit window is kept as given.
    assert Config(arch="lstm").replace(arch="bigru").context_window == 0
    assert Config(arch="bilstm", window=3).context_window == 3
    assert Config(arch="elman", window=0).context_window == 0


def test_jordan_archs_train_longer_and_slower_by_default():
    from slotfill.config import (
        BIJORDAN_TRAINING,
        JORDAN_TRAINING,
        SINGLE_DIRECTION_WINDOW,
        TRAINING_DEFAULTS,
    )

    for arch, training in (("jordan", JORDAN_TRAINING), ("bijordan", BIJORDAN_TRAINING)):
        config = Config(arch=arch)
        assert (config.epochs, config.patience, config.learning_rate) == (
            training["epochs"], training["patience"], training["learning_rate"])
        assert config.epochs > TRAINING_DEFAULTS["epochs"]
    assert Config(arch="bijordan").context_window == SINGLE_DIRECTION_WINDOW
    assert Config(arch="bilstm").epochs == TRAINING_DEFAULTS["epochs"]
    assert Config(arch="jordan", epochs=7).epochs == 7  # a value given wins
    # A new arch brings its own defaults, but keeps values that were chosen.
    assert Config().replace(arch="jordan").learning_rate == JORDAN_TRAINING["learning_rate"]
    assert Config(patience=9).replace(arch="jordan").patience == 9
    assert Config(arch="jordan").replace(arch="gru").epochs == TRAINING_DEFAULTS["epochs"]
    # Saved configs hold the resolved values.
    assert Config.from_dict(Config(arch="jordan").to_dict()) == Config(arch="jordan")


def test_a_config_saved_before_a_field_existed_loads_with_the_value_its_model_was_made_with():
    old = Config().to_dict()
    del old["intent_encoder"]  # model folders from before the CNN intent encoder
    del old["intent_smoothing"]  # ... and before label smoothing
    del old["case_noise"]  # ... and before the case mark
    assert Config.from_dict(old).intent_encoder == "bilstm"
    assert Config.from_dict(old).intent_smoothing == 0.0
    assert Config.from_dict(old).case_noise == 0.0
    # A value that was saved wins over the legacy one.
    assert Config.from_dict(Config(intent_encoder="cnn").to_dict()).intent_encoder == "cnn"
