"""training.distillation: a student learns from a teacher's soft labels and from gold labels."""

import json
from pathlib import Path

import pytest
import torch

from stanceframe.training.trainer import soft_label_loss
from tests.conftest import FIXTURES, tiny_config

REPO = Path(__file__).resolve().parents[2]


def test_soft_label_loss_is_zero_when_the_student_matches_the_teacher():
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    mask = torch.ones(2)
    assert soft_label_loss(logits, logits, mask, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    other = torch.tensor([[3.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    assert soft_label_loss(logits, other, mask, 2.0).item() > 0.1


def test_rows_without_a_teacher_do_not_count():
    student = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    teacher = torch.tensor([[1.0, 0.0], [5.0, -5.0]])
    masked = soft_label_loss(student, teacher, torch.tensor([1.0, 0.0]), 1.0)
    assert masked.item() == pytest.approx(0.0, abs=1e-6)


@pytest.fixture(scope="module")
def soft_labels_file(framing_run, tmp_path_factory):
    from stanceframe.model import Classifier
    from stanceframe.model.soft_labels import write_soft_labels

    folder = tmp_path_factory.mktemp("soft")
    unlabelled = folder / "unlabelled.txt"
    unlabelled.write_text("Brussels offered to host talks.\nThe port reopened on Friday.\n")
    output = folder / "soft.jsonl"
    teacher = Classifier.load(framing_run, device="cpu")
    summary = write_soft_labels(
        teacher, [str(FIXTURES / "framing_small.jsonl"), str(unlabelled)], output
    )
    assert summary.rows == len(output.read_text().splitlines())
    return output


def test_soft_labels_hold_the_teachers_logits(soft_labels_file, framing_run):
    from stanceframe.model import Classifier

    rows = [json.loads(line) for line in soft_labels_file.read_text().splitlines()]
    teacher = Classifier.load(framing_run, device="cpu")
    first = rows[0]
    expected = teacher.logits([first["text"]])[0]
    assert [first["logits"][label] for label in teacher.labels] == pytest.approx(
        expected.tolist(), abs=1e-4
    )
    assert rows[-1]["text"] == "The port reopened on Friday." and rows[-1]["context"] == ""


def test_soft_labels_refuse_to_overwrite(soft_labels_file, framing_run):
    from stanceframe.errors import OutputExistsError
    from stanceframe.model import Classifier
    from stanceframe.model.soft_labels import write_soft_labels

    teacher = Classifier.load(framing_run, device="cpu")
    before = soft_labels_file.read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_soft_labels(teacher, [str(FIXTURES / "framing_small.jsonl")], soft_labels_file)
    assert soft_labels_file.read_bytes() == before


def test_unlabelled_rows_join_train_but_dev_and_test_texts_never_do(soft_labels_file, tmp_path):
    from stanceframe.training.data import load_data
    from stanceframe.training.distillation import load_soft_labels

    config = tiny_config(
        tmp_path / "run",
        training={"distillation": {"soft_labels": str(soft_labels_file)}},
    )
    data = load_data(config.data, config.training.seed)
    soft = load_soft_labels(config, data)
    unlabelled = {row.text for row in soft.unlabelled}
    assert "The port reopened on Friday." in unlabelled
    assert not unlabelled & {example.text for example in data.dev.examples}
    assert not unlabelled & {example.text for example in data.test.examples}


def test_a_student_trains_with_distillation(soft_labels_file, tmp_path):
    from stanceframe.training import train

    run_dir = tmp_path / "student"
    config = tiny_config(
        run_dir,
        training={"distillation": {"soft_labels": str(soft_labels_file), "alpha": 0.7}},
    )
    result = train(config)
    meta = json.loads((run_dir / "stanceframe.json").read_text())
    summary = meta["training"]["distillation"]
    assert summary["alpha"] == 0.7 and summary["unlabelled_rows"] == 2
    assert summary["matched_train_rows"] == summary["train_rows"]
    assert result.global_step == 12


def test_logits_of_another_label_set_are_an_error(tmp_path):
    from stanceframe.errors import DataError
    from stanceframe.training.data import load_data
    from stanceframe.training.distillation import load_soft_labels

    bad = tmp_path / "soft.jsonl"
    bad.write_text(json.dumps({"text": "x", "context": "", "logits": {"favor": 1.0}}) + "\n")
    config = tiny_config(tmp_path / "run", training={"distillation": {"soft_labels": str(bad)}})
    data = load_data(config.data, config.training.seed)
    with pytest.raises(DataError, match="soft.jsonl line 1: field 'logits' lacks accusation"):
        load_soft_labels(config, data)


def test_the_bundled_soft_labels_cover_the_bundled_training_split(tmp_path):
    from stanceframe.training import load_config
    from stanceframe.training.data import load_data
    from stanceframe.training.distillation import load_soft_labels

    config = load_config("configs/framing.yaml", [f"run_dir={tmp_path / 'run'}"])
    assert config.training.distillation.soft_labels == "bundled:distillation/framing_mpnet"
    data = load_data(config.data, config.training.seed)
    soft = load_soft_labels(config, data)
    columns = {
        "text": [example.text for example in data.train.examples],
        "second": data.train.contexts,
        "labels": [0] * len(data.train.examples),
    }
    soft.add_columns(columns, data.train, len(data.label_names))
    # the teacher labelled every training row, and the unlabelled written articles of data/raw
    train_file = REPO / "data" / "framing" / "train.jsonl"
    assert (
        soft.train_rows
        == len(data.train.examples)
        == len(train_file.read_text("utf-8").splitlines())
    )
    assert soft.matched_train_rows == soft.train_rows
    unlabelled_files = sorted((REPO / "data" / "raw").glob("unlabelled_articles_*.jsonl"))
    unlabelled = {
        json.loads(line)["text"]
        for path in unlabelled_files
        for line in path.read_text("utf-8").splitlines()
    }
    labelled = {
        example.text for split in (data.train, data.dev, data.test) for example in split.examples
    }
    assert len(unlabelled_files) == 6 and len(soft.unlabelled) > 4800
    assert {row.text for row in soft.unlabelled} == unlabelled - labelled
    assert not any("TEACHER FROM ANOTHER CORPUS" in warning for warning in data.warnings)


def test_the_bundled_teacher_with_the_users_train_warns(tmp_path):
    from stanceframe.training import load_config
    from stanceframe.training.data import load_data
    from stanceframe.training.distillation import load_soft_labels

    fixture = str(FIXTURES / "framing_small.jsonl")
    config = load_config(
        "configs/framing.yaml",
        [f"run_dir={tmp_path / 'run'}", f"data.train={fixture}", "data.dev=null", "data.test=null"],
    )
    data = load_data(config.data, config.training.seed)
    load_soft_labels(config, data)
    trap = [warning for warning in data.warnings if "TEACHER FROM ANOTHER CORPUS" in warning]
    assert len(trap) == 1 and "training.distillation=null" in trap[0]
    alone = load_config(
        "configs/framing.yaml",
        [f"run_dir={tmp_path / 'run'}", f"data.train={fixture}", "training.distillation=null"],
    )
    assert alone.training.distillation is None


STANCE_DATA = {
    "train": str(FIXTURES / "stance_small.jsonl"),
    "test": str(FIXTURES / "stance_small.jsonl"),
    "label_column": "stance",
    "target_column": "target",
    "labels": ["favor", "against", "none"],
}


@pytest.fixture(scope="module")
def stance_soft_labels(stance_run, tmp_path_factory):
    from stanceframe.model import Classifier
    from stanceframe.model.soft_labels import write_soft_labels

    output = tmp_path_factory.mktemp("soft") / "stance_soft.jsonl"
    teacher = Classifier.load(stance_run, device="cpu")
    write_soft_labels(teacher, [str(FIXTURES / "stance_small.jsonl")], output)
    return output


def test_a_stance_teacher_labels_each_sentence_with_its_target(stance_soft_labels, stance_run):
    from stanceframe.model import Classifier

    pairs = [
        json.loads(line) for line in (FIXTURES / "stance_small.jsonl").read_text().splitlines()
    ]
    rows = [json.loads(line) for line in stance_soft_labels.read_text().splitlines()]
    assert len(rows) == len({(pair["text"], pair["target"]) for pair in pairs})
    assert all(set(row) == {"text", "target", "logits"} for row in rows)
    teacher = Classifier.load(stance_run, device="cpu")
    first = rows[0]
    expected = teacher.logits([first["text"]], targets=[first["target"]])[0]
    assert [first["logits"][label] for label in teacher.labels] == pytest.approx(
        expected.tolist(), abs=1e-4
    )


def test_a_stance_teacher_needs_a_target_per_row(stance_run, tmp_path):
    from stanceframe.errors import DataError
    from stanceframe.model import Classifier
    from stanceframe.model.soft_labels import write_soft_labels

    texts = tmp_path / "texts.jsonl"
    texts.write_text(json.dumps({"text": "Seoul offered talks."}) + "\n")
    output = tmp_path / "soft.jsonl"
    with pytest.raises(DataError, match=r"texts.jsonl line 1: field 'target' is missing"):
        write_soft_labels(Classifier.load(stance_run, device="cpu"), [str(texts)], output)
    assert not output.exists()


def test_a_stance_student_finds_its_pairs(stance_soft_labels, tmp_path):
    from stanceframe.training import train

    run_dir = tmp_path / "student"
    config = tiny_config(
        run_dir,
        task="stance",
        data=STANCE_DATA,
        training={"distillation": {"soft_labels": str(stance_soft_labels)}},
    )
    train(config)
    summary = json.loads((run_dir / "stanceframe.json").read_text())["training"]["distillation"]
    assert summary["matched_train_rows"] == summary["train_rows"] > 0


def test_soft_labels_of_the_other_kind_of_task_are_an_error(
    stance_soft_labels, soft_labels_file, tmp_path
):
    from stanceframe.errors import DataError
    from stanceframe.training.data import load_data
    from stanceframe.training.distillation import load_soft_labels

    framing = tiny_config(
        tmp_path / "a", training={"distillation": {"soft_labels": str(stance_soft_labels)}}
    )
    with pytest.raises(DataError, match="line 1: field 'target': these are a stance teacher's"):
        load_soft_labels(framing, load_data(framing.data, 0))
    stance = tiny_config(
        tmp_path / "b",
        task="stance",
        data=STANCE_DATA,
        training={"distillation": {"soft_labels": str(soft_labels_file)}},
    )
    with pytest.raises(DataError, match="line 1: no field 'target'"):
        load_soft_labels(stance, load_data(stance.data, 0))


def test_a_train_sentence_with_a_new_target_is_a_new_stance_row(tmp_path):
    """A stance row is a (sentence, target) pair: the teacher's label of a training sentence
    toward a target it is not paired with in train joins training as an unlabelled row."""
    from stanceframe.training.data import load_data
    from stanceframe.training.distillation import load_soft_labels

    def write(name, rows):
        path = tmp_path / name
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return str(path)

    sentence = "Freedonia accused Ruritania of shelling the border."
    train_rows = [
        {"text": sentence, "target": "Ruritania", "stance": "against"},
        {"text": "Lakeland praised the new grid deal.", "target": "Lakeland", "stance": "none"},
        {"text": "The deal is a triumph for Lakeland.", "target": "Lakeland", "stance": "favor"},
    ]
    held_out = [{"text": "Ruritania denied it.", "target": "Ruritania", "stance": "none"}]
    logits = {"favor": 0.1, "against": 0.2, "none": 0.3}
    soft = write(
        "soft.jsonl",
        [
            {"text": sentence, "target": "Ruritania", "logits": logits},  # in train
            {"text": sentence, "target": "Freedonia", "logits": logits},  # a new pair
            {"text": "Ruritania denied it.", "target": "Freedonia", "logits": logits},  # test text
        ],
    )
    data_section = {
        **STANCE_DATA,
        "train": write("train.jsonl", train_rows),
        "dev": write("dev.jsonl", held_out),
        "test": write("test.jsonl", held_out),
    }
    config = tiny_config(
        tmp_path / "run",
        task="stance",
        data=data_section,
        training={"distillation": {"soft_labels": soft}},
    )
    soft_labels = load_soft_labels(config, load_data(config.data, config.training.seed))
    assert [(row.text, row.context) for row in soft_labels.unlabelled] == [(sentence, "Freedonia")]


def test_the_bundled_stance_soft_labels_cover_train_and_its_swapped_copies(tmp_path):
    """configs/stance.yaml distils from bundled:distillation/stance_mpnet: the teacher labelled
    every training pair and every target-swap copy, and the pairs of
    scripts/stance_teacher_pairs.py are exactly the bundled ones; no dev or test text joins."""
    import subprocess
    import sys

    from stanceframe.training import load_config
    from stanceframe.training.augment import swap_targets
    from stanceframe.training.data import load_data
    from stanceframe.training.distillation import load_soft_labels

    config = load_config("configs/stance.yaml", [f"run_dir={tmp_path / 'run'}"])
    assert config.training.distillation.soft_labels == "bundled:distillation/stance_mpnet"
    data = load_data(config.data, config.training.seed)
    gold_rows = len(data.train.examples)
    data.train = swap_targets(data.train, config.training.target_swap, config.training.seed).split
    soft = load_soft_labels(config, data)
    columns = {
        "text": [example.text for example in data.train.examples],
        "second": [example.target for example in data.train.examples],
        "labels": [0] * len(data.train.examples),
    }
    soft.add_columns(columns, data.train, len(data.label_names))
    assert soft.matched_train_rows == soft.train_rows == len(data.train.examples) > gold_rows
    held_out = {example.text for split in (data.dev, data.test) for example in split.examples}
    assert len(soft.unlabelled) > 7000
    assert not {row.text for row in soft.unlabelled} & held_out

    pairs = tmp_path / "pairs.jsonl"
    script = REPO / "scripts" / "stance_teacher_pairs.py"
    subprocess.run([sys.executable, str(script), "--out", str(pairs)], check=True, cwd=REPO)
    written = {(row["text"], row["target"]) for row in map(json.loads, pairs.open())}
    bundled = REPO / "data" / "distillation" / "stance_mpnet.jsonl"
    assert written == {(row["text"], row["target"]) for row in map(json.loads, bundled.open())}
