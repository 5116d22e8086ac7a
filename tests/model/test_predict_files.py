"""Labelling whole files: streaming in chunks, formats, atomic output, errors that name the line."""

import csv
import json
import os

import numpy as np
import pytest

from stanceframe import Classifier
from stanceframe.errors import DataError, OutputExistsError
from stanceframe.model.files import PredictionInterrupted, predict_file
from tests.model.test_classifier import TEXTS


@pytest.fixture(scope="module")
def classifier(framing_run):
    return Classifier.load(framing_run, device="cpu")


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def many_texts(count: int) -> list[str]:
    return [f"{TEXTS[index % len(TEXTS)]} (item {index})" for index in range(count)]


class CallRecorder:
    """Wraps `classifier.predict` to record how many texts each call received."""

    def __init__(self, classifier, fail_on_call: int | None = None, error=None):
        self.predict = classifier.predict
        self.sizes: list[int] = []
        self.fail_on_call = fail_on_call
        self.error = error

    def __call__(self, texts, targets=None, batch_size=32, contexts=None):
        self.sizes.append(len(texts))
        if self.fail_on_call is not None and len(self.sizes) == self.fail_on_call:
            raise self.error
        return self.predict(texts, targets, batch_size=batch_size, contexts=contexts)


def test_chunked_output_equals_one_call_in_input_order(classifier, tmp_path, monkeypatch):
    texts = many_texts(23)
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [{"id": index, "text": text} for index, text in enumerate(texts)])
    recorder = CallRecorder(classifier)
    monkeypatch.setattr(classifier, "predict", recorder)
    out = tmp_path / "out.jsonl"
    summary = predict_file(classifier, str(source), str(out), chunk_size=5, batch_size=3)
    assert recorder.sizes == [5, 5, 5, 5, 3]  # never more than one chunk in memory
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == list(range(23))
    expected = classifier.predict_proba(texts)
    got = np.array([[row["scores"][label] for label in classifier.labels] for row in rows])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert summary.rows == 23 and sum(summary.label_counts.values()) == 23


def test_csv_with_bom_quotes_and_newlines_to_csv(classifier, tmp_path):
    source = tmp_path / "in.csv"
    with source.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "text"])
        writer.writerow(["a", 'Moscow said "no", firmly.'])
        writer.writerow(["b", "Kyiv proposed\ntalks."])
        writer.writerow(["c", "Rain."])
    out = tmp_path / "out.csv"
    predict_file(classifier, str(source), str(out), chunk_size=2)
    with out.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["id"] for row in rows] == ["a", "b", "c"]
    assert rows[1]["text"] == "Kyiv proposed\ntalks."
    assert list(rows[0])[:4] == ["id", "text", "label", "score"]
    assert all(row["label"] in classifier.labels for row in rows)


def test_plain_text_with_crlf_and_blank_lines(classifier, tmp_path):
    source = tmp_path / "in.txt"
    source.write_bytes(b"Moscow denied it.\r\n\r\nKyiv proposed talks.\r\n")
    out = tmp_path / "out.jsonl"
    predict_file(classifier, str(source), str(out))
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == [
        "Moscow denied it.",
        "Kyiv proposed talks.",
    ]


def test_bad_row_mid_file_names_the_line_and_keeps_the_old_output(
    classifier, tmp_path, monkeypatch
):
    rows = [{"text": text} for text in many_texts(9)]
    source = tmp_path / "in.jsonl"
    write_jsonl(source, rows)
    with source.open("a") as stream:
        stream.write('{"text": "fine"}\n{"text": "broken\n')
    out = tmp_path / "out.jsonl"
    out.write_text("an earlier, complete result\n")
    recorder = CallRecorder(classifier)
    monkeypatch.setattr(classifier, "predict", recorder)
    with pytest.raises(DataError, match=r"in\.jsonl line 11: not valid JSON"):
        predict_file(classifier, str(source), str(out), chunk_size=4, overwrite=True)
    assert recorder.sizes == [4, 4]  # it was streaming: two chunks were labelled before line 11
    assert out.read_text() == "an earlier, complete result\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_interrupt_says_where_it_stopped_and_leaves_nothing(classifier, tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [{"text": text} for text in many_texts(10)])
    monkeypatch.setattr(
        classifier, "predict", CallRecorder(classifier, fail_on_call=2, error=KeyboardInterrupt())
    )
    out = tmp_path / "out.jsonl"
    with pytest.raises(
        PredictionInterrupted,
        match=r"with .*in\.jsonl read up to line 8, 4 rows labelled; .*out\.jsonl was not written",
    ):
        predict_file(classifier, str(source), str(out), chunk_size=4)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.jsonl"]


def test_unexpected_error_keeps_its_type_and_gains_the_line(classifier, tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [{"text": text} for text in many_texts(6)])
    failure = RuntimeError("CUDA out of memory")
    monkeypatch.setattr(classifier, "predict", CallRecorder(classifier, 2, failure))
    with pytest.raises(RuntimeError, match="out of memory") as caught:
        predict_file(classifier, str(source), str(tmp_path / "out.jsonl"), chunk_size=3)
    assert any("in.jsonl read up to line 6, 3 rows labelled" in n for n in caught.value.__notes__)
    assert not (tmp_path / "out.jsonl").exists()


def test_csv_row_with_surplus_cells_is_an_error(classifier, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,fine\n2,also fine,stray\n")
    with pytest.raises(DataError, match=r"in\.csv line 3: 1 more cells than the header"):
        predict_file(classifier, str(source), str(tmp_path / "out.jsonl"))


def test_refuses_to_overwrite_and_rejects_unknown_formats(classifier, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("Moscow denied it.\n")
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        predict_file(classifier, str(source), str(out))
    with pytest.raises(DataError, match="input format 'xml' is not one of"):
        predict_file(classifier, str(source), str(tmp_path / "x.jsonl"), input_format="xml")
    assert out.read_text() == "precious\n"


def test_output_gets_the_usual_permissions(classifier, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("Moscow denied it.\n")
    out = tmp_path / "out.jsonl"
    previous = os.umask(0o022)
    try:
        predict_file(classifier, str(source), str(out))
    finally:
        os.umask(previous)
    assert out.stat().st_mode & 0o777 == 0o644


def test_progress_bar_reports_sentences_per_second(classifier, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("\n".join(many_texts(12)) + "\n")
    predict_file(classifier, str(source), str(tmp_path / "out.jsonl"), chunk_size=5, progress=True)
    progress_text = capsys.readouterr().err
    assert "12 sentences" in progress_text and "sentences/s" in progress_text
    assert "100% of input" in progress_text
