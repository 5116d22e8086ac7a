import json
from pathlib import Path

import pytest

from stanceframe.errors import DataError
from stanceframe.training.config import DataConfig
from stanceframe.training.data import load_data

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LABELS = ["accusation", "denial", "diplomatic_proposal", "other"]


def fixture_rows() -> list[dict]:
    return [
        json.loads(line) for line in (FIXTURES / "framing_small.jsonl").read_text().splitlines()
    ]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_jsonl_loads_and_splits_dev_stratified():
    data = load_data(
        DataConfig(train=str(FIXTURES / "framing_small.jsonl"), dev_fraction=0.2), seed=1
    )
    assert data.label_names == LABELS  # inferred, sorted
    assert len(data.train.examples) + len(data.dev.examples) == 40
    assert len(data.dev.examples) == 8
    assert sorted(ex.labels[0] for ex in data.dev.examples) == sorted(LABELS * 2)
    assert data.train.fingerprint["rows"] == 32 and len(data.train.fingerprint["sha256"]) == 64
    again = load_data(
        DataConfig(train=str(FIXTURES / "framing_small.jsonl"), dev_fraction=0.2), seed=1
    )
    assert again.dev.texts == data.dev.texts


def test_csv_and_parquet_match_jsonl(tmp_path):
    import pandas as pd

    rows = fixture_rows()
    frame = pd.DataFrame(rows)
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.to_parquet(tmp_path / "train.parquet")
    for name in ("train.csv", "train.parquet"):
        data = load_data(DataConfig(train=str(tmp_path / name), dev=str(tmp_path / name)), seed=0)
        assert data.train.texts == [row["text"] for row in rows]


def test_saved_hf_dataset(tmp_path):
    import datasets

    rows = fixture_rows()
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))
    data = load_data(DataConfig(train=str(tmp_path / "saved"), labels=LABELS), seed=0)
    assert len(data.train.examples) + len(data.dev.examples) == len(rows)


def test_missing_file():
    with pytest.raises(DataError, match="nope.jsonl: file not found"):
        load_data(DataConfig(train="nope.jsonl"), seed=0)


def test_unknown_label_names_file_line_field(tmp_path):
    rows = fixture_rows()
    rows[6]["label"] = "accusaton"
    path = write_jsonl(tmp_path / "train.jsonl", rows)
    with pytest.raises(DataError) as error:
        load_data(DataConfig(train=str(path), labels=LABELS), seed=0)
    message = str(error.value)
    assert f"{path} line 7" in message and "'label'" in message and "accusaton" in message


def test_missing_column(tmp_path):
    rows = fixture_rows()
    del rows[2]["text"]
    path = write_jsonl(tmp_path / "train.jsonl", rows)
    with pytest.raises(DataError, match=r"line 3: missing field 'text'"):
        load_data(DataConfig(train=str(path)), seed=0)


def test_empty_text_in_csv(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('text,label\n"A claim",accusation\n"   ",denial\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"train.csv line 3: field 'text' is empty"):
        load_data(DataConfig(train=str(path)), seed=0)


def test_bad_utf8_names_line(tmp_path):
    path = tmp_path / "train.jsonl"
    good = '{"text": "fine", "label": "other"}\n'
    path.write_bytes((good * 4).encode() + b'{"text": "caf\xe9", "label": "other"}\n')
    with pytest.raises(DataError, match=r"train.jsonl line 5: the file is not valid UTF-8"):
        load_data(DataConfig(train=str(path)), seed=0)


def test_invalid_json_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "fine", "label": "other"}\n{"text": broken\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2: not valid JSON"):
        load_data(DataConfig(train=str(path)), seed=0)


def test_unknown_extension(tmp_path):
    path = tmp_path / "train.xlsx"
    path.write_text("x")
    with pytest.raises(DataError, match="unknown file type"):
        load_data(DataConfig(train=str(path)), seed=0)


def test_train_test_duplicates_warn():
    fixture = str(FIXTURES / "framing_small.jsonl")
    data = load_data(DataConfig(train=fixture, dev=fixture, test=fixture), seed=0)
    assert any("40 texts appear in both train and test" in warning for warning in data.warnings)


def test_stance_pairs_need_target(tmp_path):
    rows = [
        {"text": "x is good", "target": "x", "stance": "favor"},
        {"text": "y", "target": "", "stance": "none"},
    ]
    path = write_jsonl(tmp_path / "stance.jsonl", rows)
    config = DataConfig(
        train=str(path), dev=str(path), label_column="stance", target_column="target"
    )
    with pytest.raises(DataError, match=r"line 2: field 'target' is empty"):
        load_data(config, seed=0)


def test_multi_label_lists_and_csv_separator(tmp_path):
    rows = [
        {"text": "A denied and accused B.", "label": ["denial", "accusation"]},
        {"text": "C proposed talks.", "label": ["diplomatic_proposal"]},
    ]
    path = write_jsonl(tmp_path / "ml.jsonl", rows)
    data = load_data(DataConfig(train=str(path), dev=str(path), multi_label=True), seed=0)
    assert data.train.examples[0].labels == ["denial", "accusation"]
    csv_path = tmp_path / "ml.csv"
    csv_path.write_text('text,label\n"A denied.",denial|accusation\n"B.",other\n', encoding="utf-8")
    data = load_data(DataConfig(train=str(csv_path), dev=str(csv_path), multi_label=True), seed=0)
    assert data.train.examples[0].labels == ["denial", "accusation"]
    with pytest.raises(DataError, match="set data.multi_label"):
        load_data(DataConfig(train=str(path), dev=str(path)), seed=0)


def test_bundled_source_unknown():
    with pytest.raises(DataError, match="bundled:nothing/train does not exist"):
        load_data(DataConfig(train="bundled:nothing/train"), seed=0)


def test_own_train_with_the_bundled_dev_warns_loudly(caplog):
    fixture = str(FIXTURES / "framing_small.jsonl")
    with caplog.at_level("WARNING"):
        data = load_data(DataConfig(train=fixture, dev="bundled:framing/dev"), seed=0)
    trap = [warning for warning in data.warnings if "DEV FROM ANOTHER CORPUS" in warning]
    assert len(trap) == 1 and "data.dev=null" in trap[0] and fixture in trap[0]
    assert any("DEV FROM ANOTHER CORPUS" in message for message in caplog.messages)


@pytest.mark.parametrize(
    ("train", "dev"),
    [("bundled:framing/train", "bundled:framing/dev"), ("FIXTURE", None), ("FIXTURE", "FIXTURE")],
)
def test_no_dev_trap_warning_when_dev_matches_train(train, dev):
    fixture = str(FIXTURES / "framing_small.jsonl")
    config = DataConfig(
        train=fixture if train == "FIXTURE" else train, dev=fixture if dev == "FIXTURE" else dev
    )
    data = load_data(config, seed=0)
    assert not any("DEV FROM ANOTHER CORPUS" in warning for warning in data.warnings)


def test_dev_without_a_label_warns(tmp_path):
    dev = write_jsonl(
        tmp_path / "dev.jsonl", [row for row in fixture_rows() if row["label"] != "denial"]
    )
    data = load_data(DataConfig(train=str(FIXTURES / "framing_small.jsonl"), dev=str(dev)), seed=0)
    assert any("no dev rows of denial" in warning for warning in data.warnings)


def test_extra_train_is_added_after_the_dev_split_and_fingerprinted(tmp_path):
    extra = write_jsonl(
        tmp_path / "extra.jsonl",
        [{"text": f"Extra sentence number {i}.", "label": "other"} for i in range(5)],
    )
    config = DataConfig(
        train=str(FIXTURES / "framing_small.jsonl"), dev_fraction=0.2, extra_train=[str(extra)]
    )
    data = load_data(config, seed=1)
    plain = load_data(DataConfig(train=config.train, dev_fraction=0.2), seed=1)
    assert data.dev.texts == plain.dev.texts  # the dev split is drawn from train alone
    assert data.train.texts == plain.train.texts + [f"Extra sentence number {i}." for i in range(5)]
    assert [split.name for split in data.splits] == ["train", "dev", "extra_train_1"]
    assert data.extra_train[0].fingerprint["rows"] == 5
    assert data.train.fingerprint == plain.train.fingerprint


def test_a_bad_label_in_extra_train_names_its_file_and_line(tmp_path):
    extra = write_jsonl(tmp_path / "extra.jsonl", [{"text": "A sentence.", "label": "praise"}])
    config = DataConfig(
        train=str(FIXTURES / "framing_small.jsonl"), labels=LABELS, extra_train=[str(extra)]
    )
    with pytest.raises(DataError, match=r"extra.jsonl line 1: field 'label': label 'praise'"):
        load_data(config, seed=1)
