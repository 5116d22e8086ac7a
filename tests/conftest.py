"""Shared fixtures: tiny random models trained on small fixture files, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from stanceframe.training.config import RunConfig, config_from_dict  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
FRAMING_LABELS = ["accusation", "denial", "diplomatic_proposal", "other"]
TINY_MODEL = {
    "base": "bundled:minilm",
    "max_length": 48,
    "random_init": {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
    },
}


def tiny_config(run_dir: Path, **sections) -> RunConfig:
    """A tiny random BERT on the framing fixture; keyword sections update the defaults."""
    raw = {
        "task": "framing",
        "model": dict(TINY_MODEL),
        "data": {
            "train": str(FIXTURES / "framing_small.jsonl"),
            "test": str(FIXTURES / "framing_small.jsonl"),
            "labels": FRAMING_LABELS,
        },
        "training": {
            "max_steps": 12,
            "batch_size": 8,
            "learning_rate": 1e-3,
            "eval_strategy": "steps",
            "eval_steps": 4,
            "logging_steps": 4,
            "early_stopping_patience": None,
            "device": "cpu",
        },
        "run_dir": str(run_dir),
    }
    for section, values in sections.items():
        if isinstance(values, dict) and isinstance(raw.get(section), dict):
            raw[section] = {**raw[section], **values}
        else:
            raw[section] = values
    return config_from_dict(raw)


def stance_data(**changes) -> dict:
    """The data section of a tiny stance run on the stance fixture."""
    stance_file = str(FIXTURES / "stance_small.jsonl")
    return {
        "train": stance_file,
        "test": stance_file,
        "label_column": "stance",
        "target_column": "target",
        "labels": ["favor", "against", "none"],
        **changes,
    }


@pytest.fixture(scope="session")
def framing_run(tmp_path_factory) -> Path:
    from stanceframe.training import train

    run_dir = tmp_path_factory.mktemp("runs") / "framing"
    train(tiny_config(run_dir))
    return run_dir


@pytest.fixture(scope="session")
def stance_run(tmp_path_factory) -> Path:
    from stanceframe.training import train

    run_dir = tmp_path_factory.mktemp("runs") / "stance"
    train(tiny_config(run_dir, task="stance", data=stance_data()))
    return run_dir
