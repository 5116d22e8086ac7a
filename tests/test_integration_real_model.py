"""Fine-tune the real bundled all-MiniLM-L6-v2 for a few steps, reload it in a new process, predict."""

import json
import subprocess
import sys

import pytest

from stanceframe.training import train
from stanceframe.training.modeling import resolve_base
from tests.conftest import tiny_config


def test_bundled_base_resolves_to_a_model_folder():
    from pathlib import Path

    folder = Path(resolve_base("bundled:minilm"))
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()


@pytest.mark.slow
def test_real_base_model_fine_tunes_and_reloads(tmp_path):
    run_dir = tmp_path / "run"
    config = tiny_config(
        run_dir,
        model={"base": "bundled:minilm", "max_length": 64, "random_init": None},
        training={"max_steps": 6, "eval_steps": 3, "learning_rate": 5e-5},
    )
    result = train(config)
    assert result.global_step == 6
    probe = (
        "import json, sys; from stanceframe import Classifier; "
        "c = Classifier.load(sys.argv[1]); "
        "print(json.dumps([p.to_dict() for p in c.predict(['Moscow denied the report.', 'Qatar offered to mediate.'])]))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe, str(run_dir)], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    predictions = json.loads(completed.stdout.splitlines()[-1])
    assert len(predictions) == 2
    assert all(
        p["label"] in {"accusation", "denial", "diplomatic_proposal", "other"} for p in predictions
    )
    assert json.loads((run_dir / "stanceframe.json").read_text())["base_model"] == "bundled:minilm"
