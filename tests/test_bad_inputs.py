"""Issue 9's matrix of bad inputs and faults: each case is a clear error (exit 2, file, line and
field named, no traceback) or a correct result, and nothing of the user's is lost."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from stanceframe.cli import app
from stanceframe.errors import DataError
from tests.conftest import FIXTURES

runner = CliRunner()
FRAMING_DATA = str(FIXTURES / "framing_small.jsonl")


def invoke(*arguments):
    return runner.invoke(app, [str(argument) for argument in arguments])


def assert_user_error(result, *fragments: str) -> None:
    """Exit 2 with a message, not a traceback."""
    assert result.exit_code == 2, result.output  # an uncaught exception exits 1
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def files_under(folder) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# ------------------------------------------------------------ 1. --overwrite replaces only our own


EVALUATE = ["--data", FRAMING_DATA, "--no-baselines", "--resamples", "100"]


def test_evaluate_overwrite_never_deletes_a_foreign_folder_nor_the_run(framing_run, tmp_path):
    run = shutil.copytree(framing_run, tmp_path / "run")
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("precious")
    result = invoke("evaluate", run, *EVALUATE, "--out", thesis, "--overwrite")
    assert_user_error(result, "did not write")
    assert (thesis / "chapter1.tex").read_text() == "precious"

    run_files = files_under(run)
    for out in (run, tmp_path):  # the run itself, and the folder that holds it
        result = invoke("evaluate", run, *EVALUATE, "--out", out, "--overwrite")
        assert_user_error(result)
        assert files_under(run) == run_files

    report = tmp_path / "report"
    assert invoke("evaluate", run, *EVALUATE, "--out", report).exit_code == 0
    (report / "metrics.json").write_text("stale")
    assert invoke("evaluate", run, *EVALUATE, "--out", report, "--overwrite").exit_code == 0
    assert json.loads((report / "metrics.json").read_text())["n"] == 40
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report", "run", "thesis"]


def test_compare_overwrite_never_deletes_a_foreign_folder_nor_a_run(framing_run, tmp_path):
    run = shutil.copytree(framing_run, tmp_path / "run")
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "notes.md").write_text("precious")
    compare = ["compare", run, run, "--data", FRAMING_DATA, "--resamples", "100"]
    assert_user_error(invoke(*compare, "--out", thesis, "--overwrite"), "did not write")
    assert (thesis / "notes.md").read_text() == "precious"
    run_files = files_under(run)
    assert_user_error(invoke(*compare, "--out", run, "--overwrite"))
    assert files_under(run) == run_files
    out = tmp_path / "comparison"
    assert invoke(*compare, "--out", out).exit_code == 0
    assert invoke(*compare, "--out", out, "--overwrite").exit_code == 0
    assert (out / "comparison.json").is_file()


# ------------------------------------------------------------ 2. one strict records reader


def test_csv_duplicate_header_column_is_an_error_in_training(tmp_path):
    from stanceframe.training.config import DataConfig
    from stanceframe.training.data import load_data

    path = tmp_path / "train.csv"
    path.write_text("text,label,text\nKyiv proposed talks.,diplomatic_proposal,other text\n")
    with pytest.raises(DataError, match=r"train\.csv line 1: column 'text' appears twice"):
        load_data(DataConfig(train=str(path), dev=str(path)), seed=0)


def test_csv_row_with_surplus_cells_is_an_error_in_training(tmp_path):
    from stanceframe.training.config import DataConfig
    from stanceframe.training.data import load_data

    path = tmp_path / "train.csv"
    path.write_text("text,label\nMoscow denied it.,denial\nKyiv, talks,diplomatic_proposal\n")
    with pytest.raises(DataError, match=r"train\.csv line 3: 1 more cells than the header"):
        load_data(DataConfig(train=str(path), dev=str(path)), seed=0)


def test_evaluate_reads_csv_as_strictly_as_training(framing_run, tmp_path):
    path = tmp_path / "eval.csv"
    path.write_text("text,label,label\nMoscow denied it.,denial,other\n")
    result = invoke("evaluate", framing_run, "--data", path, "--no-baselines")
    assert_user_error(result, "eval.csv line 1: column 'label' appears twice in the header")


def test_predict_refuses_a_duplicate_header(framing_run, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text,text\n1,a,b\n")
    result = invoke("predict", framing_run, path, "-o", tmp_path / "out.jsonl")
    assert_user_error(result, "in.csv line 1: column 'text' appears twice")
    assert not (tmp_path / "out.jsonl").exists()


def test_bad_utf8_names_the_right_line_in_predict(framing_run, tmp_path):
    path = tmp_path / "in.jsonl"
    good = b'{"text": "Moscow denied it."}\n'
    path.write_bytes(good * 3000 + b'{"text": "caf\xe9"}\n' + good)
    result = invoke("predict", framing_run, path, "-o", tmp_path / "out.jsonl")
    assert_user_error(result, "in.jsonl line 3001: the file is not valid UTF-8")


def test_bad_utf8_names_the_line_in_analyze(framing_run, tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b'{"id": 1, "text": "Fine."}\n{"id": 2, "text": "caf\xe9"}\n')
    result = invoke("analyze", framing_run, path, "--out", tmp_path / "out")
    assert_user_error(result, "feed.jsonl line 2: the file is not valid UTF-8")


def test_records_reader_formats_and_locations(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from stanceframe.records import RecordReader

    (tmp_path / "a.tsv").write_text('text\tlabel\n"two\nlines"\tx\n\nthird\ty\n')
    pq.write_table(pa.table({"text": ["p", "q"]}), tmp_path / "a.parquet")
    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbfone\r\n\r\ntwo\n")
    (tmp_path / "a.jsonl").write_text('{"text": "j"}\n\n{"text": "k"}\n')
    found = {
        name: [(record.location, record.fields["text"]) for record in RecordReader(tmp_path / name)]
        for name in ("a.tsv", "a.parquet", "a.txt", "a.jsonl")
    }
    assert [location.split()[-1] for location, _ in found["a.tsv"]] == ["2", "5"]
    assert found["a.tsv"][0][1] == "two\nlines"
    assert [location.split(" ", 1)[1] for location, _ in found["a.parquet"]] == ["row 1", "row 2"]
    assert [text for _, text in found["a.txt"]] == ["one", "two"]
    assert [location.split()[-1] for location, _ in found["a.jsonl"]] == ["1", "3"]
    (tmp_path / "dup.jsonl").write_text('{"text": "a", "text": "b"}\n')
    with pytest.raises(DataError, match=r"dup\.jsonl line 1: field 'text' appears twice"):
        list(RecordReader(tmp_path / "dup.jsonl"))
    (tmp_path / "short.csv").write_text("text,label\nonly text\n")
    with pytest.raises(DataError, match=r"short\.csv line 2: 1 fewer cells than the header"):
        list(RecordReader(tmp_path / "short.csv"))


# ------------------------------------------------------------ 4. predict keeps the input's fields


def test_predict_refuses_to_overwrite_an_input_field_and_prefix_keeps_both(framing_run, tmp_path):
    source = tmp_path / "gold.jsonl"
    source.write_text(
        '{"text": "Moscow denied the report.", "label": "denial", "score": 5}\n'
        '{"text": "Kyiv proposed talks.", "label": "diplomatic_proposal", "score": 4}\n'
    )
    out = tmp_path / "out.jsonl"
    out.write_text("an earlier result\n")
    result = invoke("predict", framing_run, source, "-o", out, "--overwrite")
    assert_user_error(
        result, "gold.jsonl line 1: the input already has a field 'label'", "--prefix"
    )
    assert out.read_text() == "an earlier result\n"
    result = invoke("predict", framing_run, source, "-o", out, "--overwrite", "--prefix", "pred_")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["label"] for row in rows] == ["denial", "diplomatic_proposal"]  # gold kept
    assert [row["score"] for row in rows] == [5, 4]
    assert all({"pred_label", "pred_score", "pred_scores", "pred_labels"} <= set(r) for r in rows)


def test_predict_csv_refuses_a_score_column_clash(framing_run, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("text,score_denial\nMoscow denied it.,0.5\n")
    result = invoke("predict", framing_run, source, "-o", tmp_path / "out.csv")
    assert_user_error(result, "in.csv line 2: the input already has a field 'score_denial'")
    assert not (tmp_path / "out.csv").exists()


# ------------------------------------------------------------ 8. output formats, modes, SIGTERM


def test_predict_refuses_an_output_extension_it_cannot_write(framing_run, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("Moscow denied it.\n")
    for name in ("out.parquet", "out.xlsx"):
        result = invoke("predict", framing_run, source, "-o", tmp_path / name)
        assert_user_error(result, f"{name}: predict cannot write", "--output-format")
        assert not (tmp_path / name).exists()
    result = invoke(
        "predict", framing_run, source, "-o", tmp_path / "out.data", "--output-format", "jsonl"
    )
    assert result.exit_code == 0 and json.loads((tmp_path / "out.data").read_text())["label"]


def test_csv_output_keeps_fields_that_only_later_rows_have(framing_run, tmp_path):
    import csv

    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": 1, "text": "Moscow denied it."}\n'
        '{"id": 2, "text": "Kyiv proposed talks.", "source": "TASS"}\n'
        '{"id": 3, "text": "Rain fell.", "lang": "en"}\n'
    )
    out = tmp_path / "out.csv"
    result = invoke("predict", framing_run, source, "-o", out, "--chunk-size", "1")
    assert result.exit_code == 0, result.output
    with out.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0])[:4] == ["id", "text", "source", "lang"]
    assert list(rows[0])[4:6] == ["label", "score"]
    assert [row["source"] for row in rows] == ["", "TASS", ""]
    assert [row["lang"] for row in rows] == ["", "", "en"]
    assert all(row["label"] for row in rows)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.jsonl", "out.csv"]
    # on standard output the header cannot be rewritten: an error, not a dropped field
    result = invoke("predict", framing_run, source, "--output-format", "csv")
    assert result.exit_code == 2 and "field 'source' is not among the earlier rows' fields" in (
        result.output
    )


SIGTERM_DURING_PREDICT = """
import os, signal, sys
from stanceframe.model.classifier import Prediction
from stanceframe.model.files import predict_file
from stanceframe.run_files import RunMeta

class Slow:
    labels = ["a", "b"]
    context = "none"
    run_meta = RunMeta(labels=labels)
    calls = 0
    def predict(self, texts, targets=None, batch_size=32, contexts=None):
        Slow.calls += 1
        if Slow.calls == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return [Prediction("a", 0.9, {"a": 0.9, "b": 0.1}, ["a"]) for _ in texts]

predict_file(Slow(), sys.argv[1], sys.argv[2], chunk_size=2)
"""


def test_sigterm_during_predict_leaves_no_partial_file_and_exits_143(tmp_path):
    import subprocess
    import sys

    source = tmp_path / "in.txt"
    source.write_text("one\ntwo\nthree\nfour\nfive\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    completed = subprocess.run(
        [sys.executable, "-c", SIGTERM_DURING_PREDICT, str(source), str(out_dir / "out.jsonl")],
        capture_output=True,
        text=True,
        timeout=900,  # a hang guard: a new process imports torch, slow on a busy machine
    )
    assert completed.returncode == 143, completed.stderr[-2000:]
    assert list(out_dir.iterdir()) == []  # no .out.jsonl.*.partial left behind


SIGTERM_DURING_STAGED_FOLDER = """
import os, signal, sys
from pathlib import Path
from stanceframe.atomic import staged_folder

with staged_folder(Path(sys.argv[1])) as staging:
    (staging / "half.json").write_text("{")
    os.kill(os.getpid(), signal.SIGTERM)
    (staging / "never.json").write_text("{}")
"""


def test_sigterm_while_writing_a_report_folder_leaves_nothing_behind(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "report"
    target.mkdir()
    (target / "old.json").write_text("kept")
    completed = subprocess.run(
        [sys.executable, "-c", SIGTERM_DURING_STAGED_FOLDER, str(target)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 143, completed.stderr[-2000:]
    assert [path.name for path in tmp_path.iterdir()] == ["report"]  # no hidden staging folder
    assert [path.name for path in target.iterdir()] == ["old.json"]


# ------------------------------------------------------------ 3. a damaged run folder


def damaged_run(framing_run, tmp_path, damage):
    run = shutil.copytree(framing_run, tmp_path / "run")
    damage(run)
    return run


def truncate(path, keep):
    path.write_bytes(path.read_bytes()[:keep])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda run: (run / "tokenizer.json").unlink(), "no tokenizer files"),
        (lambda run: (run / "model.safetensors").unlink(), "model.safetensors: missing"),
        (lambda run: (run / "model.safetensors").write_bytes(b""), "model.safetensors: empty"),
        (lambda run: truncate(run / "model.safetensors", -1000), "model.safetensors: truncated"),
        (lambda run: truncate(run / "model.safetensors", 4), "model.safetensors: truncated"),
        (lambda run: truncate(run / "config.json", 40), "config.json line"),
        (lambda run: truncate(run / "stanceframe.json", 40), "stanceframe.json line"),
        (lambda run: (run / "stanceframe.json").write_text("[]"), "stanceframe.json: damaged"),
    ],
    ids=[
        "no-tokenizer",
        "no-weights",
        "empty-weights",
        "truncated-weights",
        "truncated-weights-header",
        "corrupt-config",
        "corrupt-meta",
        "meta-not-an-object",
    ],
)
def test_a_damaged_run_is_a_run_dir_error_naming_the_file(framing_run, tmp_path, damage, message):
    from stanceframe import Classifier
    from stanceframe.errors import RunDirError

    run = damaged_run(framing_run, tmp_path, damage)
    with pytest.raises(RunDirError, match=message):
        Classifier.load(run, device="cpu")
    source = tmp_path / "in.txt"
    source.write_text("Moscow denied it.\n")
    assert_user_error(invoke("predict", run, source), message)


def test_labels_must_match_the_models_id2label(framing_run, tmp_path):
    def swap_labels(run):
        meta = json.loads((run / "stanceframe.json").read_text())
        meta["labels"] = list(reversed(meta["labels"]))
        (run / "stanceframe.json").write_text(json.dumps(meta))

    run = damaged_run(framing_run, tmp_path, swap_labels)
    source = tmp_path / "in.txt"
    source.write_text("Moscow denied it.\n")
    result = invoke("predict", run, source)
    assert_user_error(result, "stanceframe.json: field 'labels'", "does not match config.json")


def test_info_on_a_corrupt_run_names_the_file(framing_run, tmp_path):
    run = damaged_run(framing_run, tmp_path, lambda run: truncate(run / "stanceframe.json", 40))
    assert_user_error(invoke("info", run), "stanceframe.json line", "not valid JSON")
    run = shutil.copytree(framing_run, tmp_path / "run2")
    (run / "metrics.json").write_text("{")
    assert_user_error(invoke("info", run), "metrics.json line 1")
    (run / "metrics.json").unlink()
    meta = json.loads((run / "stanceframe.json").read_text())
    del meta["training"], meta["data"]
    (run / "stanceframe.json").write_text(json.dumps(meta))
    result = invoke("info", run)
    assert result.exit_code == 0 and "labels:" in result.output, result.output


# ------------------------------------------------------------ 5. Classifier.predict's inputs


def test_targets_for_a_run_trained_without_them_are_refused(framing_run, stance_run):
    from stanceframe import Classifier

    framing = Classifier.load(framing_run, device="cpu")
    with pytest.raises(ValueError, match="trained without targets"):
        framing.predict(["Moscow denied it."], targets=["NATO"])
    with pytest.raises(ValueError, match="trained without targets"):
        framing.predict_proba(["Moscow denied it."], targets="NATO")
    stance = Classifier.load(stance_run, device="cpu")
    with pytest.raises(ValueError, match="pass targets"):
        stance.predict(["NATO keeps Europe safe."])


def test_predict_none_is_a_clear_error(framing_run):
    from stanceframe import Classifier

    classifier = Classifier.load(framing_run, device="cpu")
    with pytest.raises(ValueError, match="texts is None; pass a list of strings"):
        classifier.predict(None)
    with pytest.raises(ValueError, match="texts must be a list of strings, not int"):
        classifier.predict(7)


# ------------------------------------------------------------ 6. a failed start leaves nothing


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"base": "/nonexistent/models/minilm", "random_init": None}, "no such folder"),
        ({"base": "NOT-A-MODEL", "random_init": None}, "is not a model folder"),
        ({"max_length": 1024}, "model.max_length: 1024 is more than"),
    ],
    ids=["bad-base-path", "base-not-a-model", "max-length-beyond-positions"],
)
def test_a_bad_model_setting_fails_before_the_staging_folder_exists(
    tmp_path, monkeypatch, model, message
):
    from stanceframe.errors import ConfigError
    from stanceframe.training import train
    from stanceframe.training.run_dir import staging_dir
    from tests.conftest import TINY_MODEL, tiny_config

    (tmp_path / "NOT-A-MODEL").mkdir()
    (tmp_path / "NOT-A-MODEL" / "notes.txt").write_text("not a model")
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError, match=message):
        train(tiny_config(run_dir, model={**TINY_MODEL, **model}))
    assert not run_dir.exists() and not staging_dir(run_dir).exists()


@pytest.mark.parametrize("steps", [-20, 0])
def test_max_steps_must_be_minus_one_or_positive(tmp_path, steps):
    from stanceframe.errors import ConfigError
    from tests.conftest import tiny_config

    with pytest.raises(ConfigError, match=r"training\.max_steps: .*must be -1 .* or a positive"):
        tiny_config(tmp_path / "run", training={"max_steps": steps})


def test_an_empty_staging_folder_does_not_block_the_next_run(tmp_path):
    from stanceframe.errors import RunDirError
    from stanceframe.training import train
    from stanceframe.training.run_dir import staging_dir
    from tests.conftest import tiny_config

    run_dir = tmp_path / "run"
    staging_dir(run_dir).mkdir()  # what a start that failed used to leave
    config = tiny_config(run_dir, training={"max_steps": 2, "eval_steps": 2})
    with pytest.raises(RunDirError, match="no checkpoint"):
        train(config, resume=True)
    assert train(config).global_step == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run"]
    # a staging folder that holds anything else is not taken for a failed start
    other = tmp_path / "other"
    staging_dir(other).mkdir()
    (staging_dir(other) / "mine.txt").write_text("precious")
    with pytest.raises(RunDirError, match="an interrupted run is there"):
        train(tiny_config(other, training={"max_steps": 2, "eval_steps": 2}))
    assert (staging_dir(other) / "mine.txt").read_text() == "precious"


# ------------------------------------------------------------ 7. --resume after kill -9


class StopAt:
    def __init__(self, step: int):
        from transformers import TrainerCallback

        class _Stop(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == step:
                    raise KeyboardInterrupt

        self.callback = _Stop()


def test_resume_skips_a_half_written_checkpoint_and_refuses_changed_settings(tmp_path):
    from stanceframe.errors import ConfigError
    from stanceframe.training import train
    from stanceframe.training.run_dir import checkpoints_dir
    from tests.conftest import tiny_config

    data_file = tmp_path / "train.jsonl"
    shutil.copy(FIXTURES / "framing_small.jsonl", data_file)
    run_dir = tmp_path / "run"
    data = {"train": str(data_file), "test": str(data_file)}
    config = tiny_config(run_dir, data=data)
    with pytest.raises(KeyboardInterrupt):
        train(config, extra_callbacks=[StopAt(10).callback])
    latest = checkpoints_dir(run_dir) / "checkpoint-8"
    assert (checkpoints_dir(run_dir) / "checkpoint-4").is_dir() and latest.is_dir()
    # kill -9 while checkpoint-8 was being saved: trainer_state.json (written last) is missing
    (latest / "trainer_state.json").unlink()

    changed = tiny_config(run_dir, data=data, training={"learning_rate": 5e-4})
    with pytest.raises(ConfigError, match=r"training\.learning_rate 0\.001 -> 0\.0005"):
        train(changed, resume=True)
    with data_file.open("a") as stream:
        stream.write('{"text": "One more row.", "label": "other"}\n')
    with pytest.raises(ConfigError, match=r"train data changed \(.*rows 34 -> 35"):
        train(config, resume=True)
    result = train(config, resume=True, force_resume=True)
    assert result.global_step == 12
    meta = json.loads((run_dir / "stanceframe.json").read_text())
    assert any("--force-resume" in warning for warning in meta["training"]["warnings"])
    assert (
        "resumed with --force-resume after changes: train data changed"
        in (run_dir / "README.md").read_text()
    )


def test_the_last_complete_checkpoint_is_found_past_damaged_ones(framing_run, tmp_path):
    from stanceframe.training.run_dir import checkpoints_dir, last_checkpoint

    run_dir = tmp_path / "run"
    for step in (4, 8, 12, 16):
        checkpoint = checkpoints_dir(run_dir) / f"checkpoint-{step}"
        checkpoint.mkdir(parents=True)
        shutil.copy(framing_run / "model.safetensors", checkpoint)
        (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    assert last_checkpoint(run_dir).name == "checkpoint-16"
    damaged = checkpoints_dir(run_dir)
    (damaged / "checkpoint-16" / "trainer_state.json").write_text('{"global_st')  # cut short
    weights = damaged / "checkpoint-12" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    (damaged / "checkpoint-8" / "model.safetensors").unlink()
    assert last_checkpoint(run_dir).name == "checkpoint-4"
    (damaged / "checkpoint-4" / "trainer_state.json").unlink()
    assert last_checkpoint(run_dir) is None


# ------------------------------------------------------------ 8. a finished run's file modes


def test_a_finished_runs_weights_get_the_usual_permissions(framing_run):
    from stanceframe.atomic import file_mode

    assert (framing_run / "model.safetensors").stat().st_mode & 0o777 == file_mode()
    assert not (framing_run / "start.json").exists()
