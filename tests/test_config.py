import pytest

from slotfill.config import ARCHS, Config


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
])
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        Config(**{field: value})


def test_unknown_fields_are_rejected():
    with pytest.raises(ValueError, match="unknown config fields"):
        Config.from_dict({"arch": "bilstm", "colour": "red"})
