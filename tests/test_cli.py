import json
import subprocess
import sys

from typer.testing import CliRunner

from stanceframe.cli import app
from tests.conftest import FIXTURES, REPO

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("train", "predict", "info"):
        assert command in result.output


def test_predict_jsonl_to_jsonl_and_csv(framing_run, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": 1, "text": "Moscow denied it."}\n{"id": 2, "text": "Kyiv proposed talks."}\n'
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["predict", str(framing_run), str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == [1, 2]
    assert all(
        set(row["scores"]) == {"accusation", "denial", "diplomatic_proposal", "other"}
        for row in rows
    )
    csv_out = tmp_path / "out.csv"
    assert (
        runner.invoke(app, ["predict", str(framing_run), str(source), "-o", str(csv_out)]).exit_code
        == 0
    )
    header = csv_out.read_text().splitlines()[0]
    assert header.startswith("id,text,label,score,score_accusation")


def test_predict_never_overwrites_without_flag(framing_run, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("Moscow denied it.\n\nKyiv proposed talks.\n")
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    result = runner.invoke(app, ["predict", str(framing_run), str(source), "-o", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert out.read_text() == "precious\n"
    result = runner.invoke(
        app, ["predict", str(framing_run), str(source), "-o", str(out), "--overwrite"]
    )
    assert result.exit_code == 0
    assert len(out.read_text().splitlines()) == 2


def test_predict_bad_row_leaves_no_partial_output(framing_run, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "fine"}\n{"body": "no text field"}\n')
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["predict", str(framing_run), str(source), "-o", str(out)])
    assert result.exit_code == 2
    assert "line 2" in result.output and "'text'" in result.output
    assert list(tmp_path.iterdir()) == [source]


def test_predict_from_stdin_in_a_new_process(framing_run):
    completed = subprocess.run(
        [sys.executable, "-m", "stanceframe", "predict", str(framing_run), "-"],
        input="Moscow denied it.\nKyiv proposed talks.\n",
        capture_output=True,
        text=True,
        timeout=900,  # a guard against a hang; a new process imports torch, slow on a busy machine
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert len([json.loads(line) for line in completed.stdout.splitlines()]) == 2


def test_predict_stance_with_one_target(stance_run, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "NATO keeps us safe."}\n')
    result = runner.invoke(app, ["predict", str(stance_run), str(source), "--target", "NATO"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["label"] in {"favor", "against", "none"}


def test_info(framing_run):
    result = runner.invoke(app, ["info", str(framing_run)])
    assert result.exit_code == 0
    assert "accusation, denial, diplomatic_proposal, other" in result.output
    assert "test  macro-F1" in result.output


def test_train_errors_exit_nonzero_with_message(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,other\n,denial\n")
    result = runner.invoke(
        app,
        [
            "train",
            str(REPO / "configs/tiny.yaml"),
            "--set",
            f"data.train={bad}",
            "--set",
            f"data.dev={bad}",
            "--run-dir",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 2
    assert "bad.csv line 3: field 'text' is empty" in result.output
    result = runner.invoke(
        app, ["train", str(REPO / "configs/tiny.yaml"), "--set", "data.train=missing.csv"]
    )
    assert result.exit_code == 2 and "missing.csv: file not found" in result.output
    result = runner.invoke(app, ["train", str(FIXTURES / "framing_small.jsonl")])
    assert result.exit_code == 2 and "not valid YAML" in result.output
