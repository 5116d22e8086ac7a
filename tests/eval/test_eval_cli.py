import json
import shutil

from typer.testing import CliRunner

from stanceframe.cli import app
from tests.conftest import FIXTURES, tiny_config

runner = CliRunner()
FRAMING_DATA = str(FIXTURES / "framing_small.jsonl")


def test_help_lists_the_evaluation_commands():
    result = runner.invoke(app, ["--help"])
    for command in ("evaluate", "compare", "calibrate"):
        assert command in result.output


def test_train_writes_dev_and_test_reports_and_honours_abstention(tmp_path):
    run_dir = tmp_path / "run"
    config = tiny_config(
        run_dir,
        training={"max_steps": 4, "eval_steps": 2},
        inference={"abstain_threshold": 0.9, "fallback_label": "other"},
    )
    config_file = tmp_path / "config.yaml"
    config_file.write_text(config.to_yaml())
    result = runner.invoke(app, ["train", str(config_file)])
    assert result.exit_code == 0, result.output
    assert "report: " in result.output and "baseline tfidf_logreg" in result.output
    for split in ("dev", "test"):
        assert (run_dir / "report" / split / "report.html").is_file()
    metrics = json.loads((run_dir / "report" / "test" / "metrics.json").read_text())
    # a random tiny model is never 90% sure: every row falls back to `other`
    assert metrics["abstention"]["threshold"] == 0.9
    assert metrics["label_distribution"]["predicted"]["other"] == 40


def test_evaluate_writes_into_the_run_and_refuses_to_overwrite(framing_run, tmp_path):
    run = shutil.copytree(framing_run, tmp_path / "run")
    arguments = [
        "evaluate",
        str(run),
        "--data",
        FRAMING_DATA,
        "--no-baselines",
        "--resamples",
        "200",
    ]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "framing_small: macro-F1" in result.output
    report = run / "report" / "framing_small" / "report.html"
    assert report.is_file()
    before = report.read_bytes()
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert report.read_bytes() == before
    assert runner.invoke(app, [*arguments, "--overwrite"]).exit_code == 0


def test_evaluate_names_the_bad_row(framing_run, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,other\n,denial\n")
    result = runner.invoke(app, ["evaluate", str(framing_run), "--data", str(bad)])
    assert result.exit_code == 2
    assert "bad.csv line 3: field 'text' is empty" in result.output


def test_calibrate_reports_ece_before_and_after(framing_run, tmp_path):
    run = shutil.copytree(framing_run, tmp_path / "run")
    result = runner.invoke(app, ["calibrate", str(run)])
    assert result.exit_code == 0, result.output
    assert "temperature" in result.output and "ECE" in result.output and "->" in result.output
    assert json.loads((run / "stanceframe.json").read_text())["temperature"] > 0
    info = runner.invoke(app, ["info", str(run)])
    assert "calibrated: temperature" in info.output
    result = runner.invoke(app, ["calibrate", str(run), "--reset"])
    assert result.exit_code == 0
    assert json.loads((run / "stanceframe.json").read_text())["temperature"] is None


def test_compare_a_run_with_itself(framing_run, tmp_path):
    out = tmp_path / "comparison"
    result = runner.invoke(
        app,
        ["compare", str(framing_run), str(framing_run), "--data", FRAMING_DATA, "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "| macro-F1 |" in result.output and "| 1.000 |" in result.output
    summary = json.loads((out / "comparison.json").read_text())
    assert summary["paired_bootstrap"]["macro_f1"]["p_value"] == 1.0
    assert summary["agreement"]["disagree"] == 0
    assert (out / "disagreements.jsonl").read_text() == ""
    result = runner.invoke(app, ["compare", str(framing_run), str(framing_run), "--out", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output


def test_compare_refuses_runs_with_different_labels(framing_run, stance_run):
    result = runner.invoke(app, ["compare", str(framing_run), str(stance_run)])
    assert result.exit_code == 2 and "do not share a label set" in result.output
