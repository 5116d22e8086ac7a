"""The Ray engine on a local Ray with 2 CPUs: labels equal the local engine's sentence by sentence,
the estimates too, a record's error still names the record, and predict writes parquet shards."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from stanceframe.cli import app
from tests.eval.test_profile import article_records, write_jsonl

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'stanceframe[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'ray[data]')")

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    records = article_records()
    for number, start in enumerate(range(0, len(records), 12)):
        write_jsonl(folder / f"part-{number}.jsonl", records[start : start + 12])
    return folder


def read_csv(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_ray_labels_and_profiles_equal_the_local_engine(framing_run, shards, tmp_path):
    outputs = {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        result = runner.invoke(
            app,
            ["profile", str(framing_run), str(shards), "--by", "outlet", "--out", str(out),
             "--resamples", "50", "--engine", engine, "--workers", "2"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs[engine] = out
    local = read_csv(outputs["local"] / "sentences.csv")
    distributed = read_csv(outputs["ray"] / "sentences.csv")
    assert len(local) == len(distributed) > 300
    for ours, theirs in zip(local, distributed, strict=True):
        assert (ours["id"], ours["sentence"], ours["label"]) == (
            theirs["id"],
            theirs["sentence"],
            theirs["label"],
        )
        assert float(ours["score"]) == pytest.approx(float(theirs["score"]), abs=1e-5)
    local_table = pd.read_csv(outputs["local"] / "profiles.csv")
    ray_table = pd.read_csv(outputs["ray"] / "profiles.csv")
    pd.testing.assert_frame_equal(local_table, ray_table, atol=1e-4)
    assert json.loads((outputs["ray"] / "profiles.json").read_text())["engine"] == "ray"


def test_a_record_error_on_a_worker_names_the_record(framing_run, tmp_path):
    records = article_records()[:6]
    del records[4]["outlet"]
    corpus = write_jsonl(tmp_path / "news.jsonl", records)
    result = runner.invoke(
        app,
        ["profile", str(framing_run), str(corpus), "--by", "outlet", "--out",
         str(tmp_path / "out"), "--engine", "ray"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"{corpus} line 5: field 'outlet' (--by) is missing" in result.output
    assert not (tmp_path / "out").exists()


def test_predict_with_ray_writes_parquet_shards(framing_run, shards, tmp_path):
    sentences = tmp_path / "sentences"
    sentences.mkdir()
    rows = [
        {"text": t, "n": i} for i, t in enumerate(["Moscow denied it.", "Kyiv blamed Moscow."] * 5)
    ]
    write_jsonl(sentences / "a.jsonl", rows[:6])
    write_jsonl(sentences / "b.jsonl", rows[6:])
    out = tmp_path / "labelled"
    result = runner.invoke(
        app, ["predict", str(framing_run), str(sentences), "-o", str(out), "--engine", "ray"]
    )
    assert result.exit_code == 0, result.output
    shards_written = sorted(path.name for path in out.glob("*.parquet"))
    assert shards_written == ["part-00000-a.parquet", "part-00001-b.parquet"]
    table = pd.concat(pd.read_parquet(out / name) for name in shards_written)
    assert list(table["n"]) == list(range(10))
    from stanceframe.model import Classifier

    expected = [p.label for p in Classifier.load(framing_run).predict([r["text"] for r in rows])]
    assert list(table["label"]) == expected
