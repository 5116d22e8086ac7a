from pathlib import Path

import pytest

from stanceframe.errors import ConfigError
from stanceframe.training.config import load_config

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_configs_validate():
    for name in ("framing", "stance", "tiny"):
        config = load_config(REPO / "configs" / f"{name}.yaml")
        assert config.data.train.startswith("bundled:")
    assert load_config(REPO / "configs" / "stance.yaml").data.target_column == "target"


def test_defaults_fill_missing_sections(tmp_path):
    config = load_config(write(tmp_path, "data:\n  train: a.csv\n"))
    assert config.model.base == "bundled:minilm"
    assert config.training.class_weights == "auto"
    assert config.data.dev is None


def test_unknown_key_names_key_and_file(tmp_path):
    path = write(tmp_path, "data:\n  train: a.csv\ntraining:\n  epochz: 3\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "training.epochz: unknown key" in str(error.value)
    assert str(path) in str(error.value)


def test_wrong_type_names_key(tmp_path):
    path = write(tmp_path, "data:\n  train: a.csv\ntraining:\n  batch_size: many\n")
    with pytest.raises(ConfigError, match="training.batch_size"):
        load_config(path)


def test_missing_required_key(tmp_path):
    with pytest.raises(ConfigError, match="data: required key is missing"):
        load_config(write(tmp_path, "task: framing\n"))


def test_overrides_are_parsed_as_yaml(tmp_path):
    path = write(tmp_path, "data:\n  train: a.csv\n")
    config = load_config(
        path,
        [
            "training.epochs=2",
            "data.train=my.csv",
            "data.labels=[a, b]",
            "model.random_init.hidden_size=32",
        ],
    )
    assert config.training.epochs == 2
    assert config.data.train == "my.csv"
    assert config.data.labels == ["a", "b"]
    assert config.model.random_init == {"hidden_size": 32}


def test_bad_override_is_an_error(tmp_path):
    path = write(tmp_path, "data:\n  train: a.csv\n")
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_config(path, ["training.epochs"])
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(path, ["training.nope=1"])


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_abstain_needs_fallback(tmp_path):
    with pytest.raises(ConfigError, match="fallback_label"):
        load_config(
            write(tmp_path, "data:\n  train: a.csv\ninference:\n  abstain_threshold: 0.4\n")
        )
