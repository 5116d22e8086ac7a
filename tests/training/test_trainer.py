import json
import subprocess
import sys

import pytest
import torch
from transformers import TrainerCallback

from stanceframe.errors import ConfigError, DataError, RunDirError
from stanceframe.training import train
from stanceframe.training.run_dir import checkpoints_dir, staging_dir
from tests.conftest import FRAMING_LABELS, REPO, stance_data, tiny_config


def test_run_directory_is_complete(framing_run):
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "stanceframe.json",
        "labels.json",
        "metrics.json",
        "metrics.jsonl",
        "config.yaml",
        "README.md",
    ):
        assert (framing_run / name).is_file(), name
    meta = json.loads((framing_run / "stanceframe.json").read_text())
    assert meta["labels"] == FRAMING_LABELS
    assert set(meta["data"]) == {"train", "dev", "test"}
    assert meta["data"]["test"]["rows"] == 40 and len(meta["data"]["test"]["sha256"]) == 64
    assert meta["versions"]["transformers"]
    assert meta["training"]["best_step"] in (4, 8, 12)
    metrics = json.loads((framing_run / "metrics.json").read_text())
    assert set(metrics) == {"dev", "test"} and metrics["test"]["n"] == 40
    log = [json.loads(line) for line in (framing_run / "metrics.jsonl").read_text().splitlines()]
    assert any("eval_macro_f1" in record for record in log)
    card = (framing_run / "README.md").read_text()
    assert "## Intended use" in card and "## Limitations" in card and "diplomatic_proposal" in card
    assert not staging_dir(framing_run).exists()


def test_hf_pipeline_reads_real_label_names(framing_run):
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(framing_run))
    assert classify("Moscow denied the report.")[0]["label"] in FRAMING_LABELS


def test_refuses_existing_run_and_leaves_it_unchanged(framing_run):
    before = {path.name: path.read_bytes() for path in framing_run.iterdir()}
    with pytest.raises(RunDirError, match="--overwrite"):
        train(tiny_config(framing_run))
    assert {path.name: path.read_bytes() for path in framing_run.iterdir()} == before


def test_bad_data_fails_before_anything_is_written(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": "accusaton"}\n', encoding="utf-8")
    run_dir = tmp_path / "run"
    with pytest.raises(DataError, match="bad.jsonl line 1"):
        train(tiny_config(run_dir, data={"train": str(bad), "dev": str(bad)}))
    assert not run_dir.exists() and not staging_dir(run_dir).exists()


class Interrupt(TrainerCallback):
    def __init__(self, at_step: int):
        self.at_step = at_step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at_step:
            raise KeyboardInterrupt


def test_resume_after_interruption_reaches_the_same_step_count(tmp_path):
    run_dir = tmp_path / "run"
    config = tiny_config(run_dir)
    with pytest.raises(KeyboardInterrupt):
        train(config, extra_callbacks=[Interrupt(at_step=6)])
    assert not run_dir.exists()
    assert any(checkpoints_dir(run_dir).glob("checkpoint-4"))
    with pytest.raises(RunDirError, match="--resume"):
        train(config)
    result = train(config, resume=True)
    assert result.global_step == config.training.max_steps
    assert (run_dir / "model.safetensors").is_file()
    with pytest.raises(RunDirError, match="no checkpoint"):
        train(config, resume=True)


def test_overwrite_replaces_a_run(tmp_path):
    run_dir = tmp_path / "run"
    train(tiny_config(run_dir, training={"max_steps": 4, "eval_steps": 2}))
    first = json.loads((run_dir / "stanceframe.json").read_text())["created_at"]
    result = train(tiny_config(run_dir, training={"max_steps": 6, "eval_steps": 3}), overwrite=True)
    assert result.global_step == 6
    assert json.loads((run_dir / "stanceframe.json").read_text())["training"]["global_step"] == 6
    assert first  # the old run was replaced, not merged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_class_weights_follow_inverse_frequency(tmp_path):
    from stanceframe.training.data import load_data
    from stanceframe.training.trainer import class_weight_vector

    rows = [{"text": f"a{i}", "label": "other"} for i in range(6)] + [
        {"text": "b", "label": "denial"}
    ] * 2
    path = tmp_path / "w.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    config = tiny_config(
        tmp_path / "r",
        data={"train": str(path), "dev": str(path), "test": None, "labels": ["denial", "other"]},
    )
    weights = class_weight_vector(config, load_data(config.data, 0))
    assert weights.tolist() == pytest.approx([8 / (2 * 2), 8 / (2 * 6)])


def test_multi_label_run(tmp_path):
    rows = [
        {"text": "A denied it and accused B of lying.", "label": ["denial", "accusation"]},
        {"text": "C proposed talks.", "label": ["diplomatic_proposal"]},
        {"text": "D blamed E.", "label": ["accusation"]},
        {"text": "Rain fell.", "label": ["other"]},
    ] * 3
    path = tmp_path / "ml.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    config = tiny_config(
        tmp_path / "run",
        data={"train": str(path), "dev": str(path), "test": str(path), "multi_label": True},
    )
    result = train(config)
    assert "subset_accuracy" in result.metrics["test"]
    from stanceframe import Classifier

    prediction = Classifier.load(result.run_dir).predict(["A denied it."])[0]
    assert set(prediction.labels) <= set(FRAMING_LABELS)


def test_cli_train_tiny_subprocess(tmp_path):
    """The shipped tiny config trains through the console command on fixture data."""
    fixture = "tests/fixtures/framing_small.jsonl"
    command = [
        sys.executable,
        "-m",
        "stanceframe",
        "train",
        "configs/tiny.yaml",
        "--set",
        f"data.train={fixture}",
        "--set",
        "data.dev=null",
        "--set",
        f"data.test={fixture}",
        "--set",
        "training.max_steps=4",
        "--set",
        "training.eval_steps=2",
        "--run-dir",
        str(tmp_path / "run"),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "test: macro-F1" in completed.stdout


def test_same_config_and_seed_give_identical_weights(framing_run, tmp_path):
    from safetensors.torch import load_file

    config = json.loads((framing_run / "stanceframe.json").read_text())
    assert config["training"]["global_step"] == 12
    again = tmp_path / "again"
    train(tiny_config(again))
    first, second = (
        load_file(framing_run / "model.safetensors"),
        load_file(again / "model.safetensors"),
    )
    assert first.keys() == second.keys()
    for name, tensor in first.items():
        assert torch.equal(tensor, second[name]), name


def test_target_first_puts_the_target_before_the_text_in_training_and_inference(tmp_path):
    from stanceframe import Classifier
    from stanceframe.training.trainer import encode_split

    data = stance_data(target_position="first")
    config = tiny_config(tmp_path / "stance-first", task="stance", data=data)
    train(config)
    meta = json.loads((tmp_path / "stance-first" / "stanceframe.json").read_text())
    assert meta["input"]["target_position"] == "first"
    classifier = Classifier.load(tmp_path / "stance-first")
    tokenizer = classifier.tokenizer
    ids, _ = classifier._encode(["Sanctions work."], ["NATO"])
    expected = tokenizer("NATO", "Sanctions work.")["input_ids"]
    assert ids[0] == expected != tokenizer("Sanctions work.", "NATO")["input_ids"]
    # training encodes the same order as inference
    from stanceframe.training.data import load_data

    loaded = load_data(config.data, seed=0)
    first = loaded.train.examples[0]
    encoded = encode_split(loaded.train, tokenizer, config, loaded.label_names)
    assert encoded[0]["input_ids"] == tokenizer(first.target, first.text)["input_ids"]
    with pytest.raises(ConfigError, match="set data.target_column too"):
        tiny_config(tmp_path / "x", data={"target_position": "first"})


def test_target_swap_copies_are_trained_on_and_recorded(tmp_path):
    """Issue 11: training.target_swap adds `none` copies to train; the run says how many."""
    from stanceframe.training.data import load_data

    data = stance_data()
    config = tiny_config(
        tmp_path / "swap", task="stance", data=data, training={"target_swap": {"fraction": 0.5}}
    )
    rows = len(load_data(config.data, seed=0).train.examples)
    train(config)
    record = json.loads((tmp_path / "swap" / "stanceframe.json").read_text())["training"]
    assert record["target_swap_rows"] > 0
    assert record["train_rows"] == rows + record["target_swap_rows"]
    with pytest.raises(ConfigError, match="single-label stance runs"):
        tiny_config(tmp_path / "x", training={"target_swap": {"fraction": 0.5}})
