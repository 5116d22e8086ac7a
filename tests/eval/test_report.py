import base64
import io
import json
import os
import re
import shutil

import numpy as np
import pytest
import yaml
from matplotlib import image as mpimg
from PIL import Image
from sklearn.metrics import f1_score

from stanceframe.errors import DataError, OutputExistsError
from stanceframe.eval.report import evaluate_run, write_run_reports
from stanceframe.training import train
from tests.conftest import FIXTURES, FRAMING_LABELS, tiny_config

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FRAMING_DATA = str(FIXTURES / "framing_small.jsonl")


@pytest.fixture(scope="module")
def framing_report(framing_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "framing"
    return evaluate_run(framing_run, FRAMING_DATA, out, resamples=300)


def test_report_folder_is_complete(framing_report):
    out = framing_report.out_dir
    for name in ("metrics.json", "predictions.jsonl", "report.md", "report.html"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["schema_version"] == 1 and metrics["labels"] == FRAMING_LABELS
    for key in (
        "accuracy",
        "macro_f1",
        "macro",
        "micro",
        "weighted",
        "per_label",
        "confusion_matrix",
        "intervals",
        "calibration",
        "baselines",
        "most_confident_errors",
        "label_distribution",
        "data",
        "run",
        "versions",
    ):
        assert key in metrics, key
    assert metrics["n"] == 40 and metrics["data"]["rows"] == 40
    assert metrics["bootstrap"] == {
        "method": "percentile",
        "resamples": 300,
        "seed": 0,
        "confidence": 0.95,
    }
    assert metrics["calibration"]["n_bins"] == 15 and len(metrics["calibration"]["bins"]) == 15
    assert set(metrics["baselines"]) == {"majority", "keyword_lexicon", "tfidf_logreg"}
    assert len(metrics["most_confident_errors"]) <= 20
    # the fixture is both the run's training file and the evaluated file
    assert "34 of 40 rows also occur in the run's training data" in metrics["warnings"][0]
    markdown = (out / "report.md").read_text()
    for image in re.findall(r"\]\((figures/[^)]+)\)", markdown):
        assert (out / image).is_file(), image
    assert "## Most confident errors" in markdown and "## Provenance" in markdown


def test_metrics_agree_with_the_written_predictions(framing_report):
    out = framing_report.out_dir
    metrics = json.loads((out / "metrics.json").read_text())
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    gold = [FRAMING_LABELS.index(row["gold"]) for row in rows]
    predicted = [FRAMING_LABELS.index(row["predicted"]) for row in rows]
    assert metrics["macro_f1"] == pytest.approx(
        f1_score(gold, predicted, labels=range(4), average="macro", zero_division=0)
    )
    assert metrics["accuracy"] == pytest.approx(np.mean([row["correct"] for row in rows]))
    low, high = metrics["intervals"]["macro_f1"]["low"], metrics["intervals"]["macro_f1"]["high"]
    assert low <= metrics["macro_f1"] <= high
    errors = metrics["most_confident_errors"]
    assert [error["score"] for error in errors] == sorted(
        (error["score"] for error in errors), reverse=True
    )
    assert all(error["gold"] != error["predicted"] for error in errors)


def test_every_image_in_report_html_is_a_png(framing_report):
    html = (framing_report.out_dir / "report.html").read_text()
    sources = re.findall(r'<img[^>]*\ssrc="([^"]+)"', html)
    assert len(sources) >= 5  # baselines, confusion, reliability, scores, distribution
    for source in sources:
        assert source.startswith("data:image/png;base64,"), source[:60]
        payload = base64.b64decode(source.removeprefix("data:image/png;base64,"), validate=True)
        assert payload.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(payload)) as picture:
            assert picture.format == "PNG"
            picture.verify()
        assert mpimg.imread(io.BytesIO(payload), format="png").ndim == 3


def test_report_html_needs_no_network(framing_report):
    html = (framing_report.out_dir / "report.html").read_text()
    linked = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(link.startswith("data:") for link in linked), linked
    assert "@import" not in html and "<script" not in html


def test_text_in_the_report_is_escaped(framing_run, tmp_path):
    data = tmp_path / "tricky.jsonl"
    tricky = "<script>alert(1)</script> Moscow denied it | twice."
    # One text under three gold labels: at least two rows are errors, so the text is shown.
    data.write_text(
        "".join(
            json.dumps({"text": tricky, "label": label}) + "\n"
            for label in ("denial", "other", "accusation")
        )
    )
    written = evaluate_run(framing_run, str(data), tmp_path / "out", baselines=False)
    html = (written.out_dir / "report.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
    assert written.metrics["baselines_skipped"] == "turned off (--no-baselines)"
    assert "no gold rows for diplomatic_proposal" in written.metrics["warnings"][0]
    markdown = (written.out_dir / "report.md").read_text()
    assert "denied it \\| twice" in markdown  # a | inside a table cell is escaped


def test_existing_report_is_kept_without_overwrite(framing_run, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "mine.txt").write_text("precious")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        evaluate_run(framing_run, FRAMING_DATA, out, baselines=False)
    assert (out / "mine.txt").read_text() == "precious"
    # --overwrite replaces only a folder stanceframe wrote, never the user's own files
    with pytest.raises(OutputExistsError, match="did not write"):
        evaluate_run(framing_run, FRAMING_DATA, out, baselines=False, overwrite=True)
    assert (out / "mine.txt").read_text() == "precious"
    (out / "mine.txt").unlink()
    evaluate_run(framing_run, FRAMING_DATA, out, baselines=False)
    evaluate_run(framing_run, FRAMING_DATA, out, baselines=False, overwrite=True)
    assert (out / "report.html").is_file()
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask  # not the 0700 of a temporary folder
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report"]  # no partial folders


def test_run_reports_cover_dev_and_test(framing_run, tmp_path):
    run = shutil.copytree(framing_run, tmp_path / "run")
    reports = write_run_reports(run, baselines=False, resamples=100)
    assert [report.out_dir.name for report in reports] == ["dev", "test"]
    assert reports[0].metrics["n"] == 6 and reports[1].metrics["n"] == 40


def test_bad_data_is_reported_with_file_line_and_field(framing_run, tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "fine", "label": "denial"}\n{"text": "x", "label": "denail"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl line 2: field 'label': label 'denail'"):
        evaluate_run(framing_run, str(data), tmp_path / "out")
    data.write_text('{"text": "fine", "stance": "denial"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl line 1: missing field 'label'"):
        evaluate_run(framing_run, str(data), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_baselines_are_skipped_with_a_reason_when_training_data_is_gone(framing_run, tmp_path):
    run = shutil.copytree(framing_run, tmp_path / "run")
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["data"]["train"] = str(tmp_path / "moved.jsonl")
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    written = evaluate_run(run, FRAMING_DATA, tmp_path / "out", resamples=100)
    assert written.metrics["baselines"] == {}
    assert "moved.jsonl: file not found" in written.metrics["baselines_skipped"]
    assert "No baselines" in (written.out_dir / "report.html").read_text()


def test_abstention_is_applied_and_counted(framing_run, tmp_path):
    run = shutil.copytree(framing_run, tmp_path / "run")
    meta = json.loads((run / "stanceframe.json").read_text())
    meta["inference"].update(abstain_threshold=0.99, fallback_label="other")
    (run / "stanceframe.json").write_text(json.dumps(meta))
    written = evaluate_run(run, FRAMING_DATA, tmp_path / "out", baselines=False, resamples=100)
    abstention = written.metrics["abstention"]
    top_is_other = written.evaluation.predictions.scores.argmax(1) == FRAMING_LABELS.index("other")
    assert abstention["abstained"] == int((~top_is_other).sum()) and abstention["rate"] > 0.5
    assert written.metrics["label_distribution"]["predicted"]["other"] == 40
    assert "Abstention" in (written.out_dir / "report.html").read_text()


def test_stance_report_has_f_avg_and_per_target_scores(stance_run, tmp_path):
    written = evaluate_run(
        stance_run, str(FIXTURES / "stance_small.jsonl"), tmp_path / "out", resamples=200
    )
    stance = written.metrics["stance"]
    predictions = written.evaluation.predictions
    favor_against = f1_score(predictions.gold, predictions.predicted, labels=[0, 1], average=None)
    assert stance["f_avg"] == pytest.approx(favor_against.mean())
    assert "f_avg" in written.metrics["intervals"]
    assert stance["per_target"]["climate action"]["n"] == 3
    assert sum(row["n"] for row in stance["per_target"].values()) == 20
    assert "F<sub>avg</sub>" in (written.out_dir / "report.html").read_text()


@pytest.fixture(scope="module")
def multilabel_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("multilabel")
    data = folder / "data.jsonl"
    rows = [
        json.loads(line) for line in (FIXTURES / "framing_small.jsonl").read_text().splitlines()
    ]
    with data.open("w") as output:
        for index, row in enumerate(rows):
            labels = [row["label"]] + (["accusation"] if index % 5 == 0 else [])
            output.write(json.dumps({"text": row["text"], "label": sorted(set(labels))}) + "\n")
    run_dir = folder / "run"
    config = tiny_config(run_dir, data={"train": str(data), "test": str(data), "multi_label": True})
    train(config)
    return run_dir, data


def test_multilabel_report(multilabel_run, tmp_path):
    run_dir, data = multilabel_run
    written = evaluate_run(run_dir, str(data), tmp_path / "out", resamples=200)
    metrics = written.metrics
    assert metrics["multi_label"] is True
    assert {"subset_accuracy", "micro_f1", "macro_f1", "per_label_confusion"} <= set(metrics)
    assert set(metrics["intervals"]) == {"macro_f1", "subset_accuracy"}
    assert metrics["per_label_confusion"]["matrices"]["accusation"][1][1] >= 0
    assert set(metrics["baselines"]) == {"majority", "keyword_lexicon", "tfidf_logreg"}
    html = (written.out_dir / "report.html").read_text()
    assert "subset accuracy" in html and len(re.findall(r"<img ", html)) >= 5
