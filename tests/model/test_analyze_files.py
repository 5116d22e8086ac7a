import csv
import json
import re

import pytest
from typer.testing import CliRunner

from stanceframe.cli import app
from stanceframe.errors import DataError
from stanceframe.model.analyze_files import read_articles
from tests.conftest import FRAMING_LABELS, REPO

runner = CliRunner()
EXAMPLE = REPO / "examples" / "tass_grain_corridor.txt"


def analyze(*args: str):
    return runner.invoke(app, ["analyze", *map(str, args)])


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_analyze_one_article_writes_every_output(framing_run, tmp_path):
    out = tmp_path / "article"
    result = analyze(framing_run, EXAMPLE, "--out", out)
    assert result.exit_code == 0, result.output
    assert "tass_grain_corridor" in result.output and "1 article(s), 19 sentences" in result.output
    expected = {
        "analysis.json",
        "articles.csv",
        "articles.jsonl",
        "html",
        "index.html",
        "sentences.csv",
        "sentences.jsonl",
    }
    assert {path.name for path in out.iterdir()} == expected
    text = EXAMPLE.read_text(encoding="utf-8")
    rows = [json.loads(line) for line in (out / "sentences.jsonl").read_text().splitlines()]
    assert len(rows) == 19 and [row["index"] for row in rows] == list(range(19))
    for row in rows:
        assert text[row["start"] : row["end"]] == row["text"]
        assert row["article"] == "tass_grain_corridor"
    csv_rows = read_csv(out / "sentences.csv")
    assert [row["text"] for row in csv_rows] == [row["text"] for row in rows]
    assert [row["label"] for row in csv_rows] == [row["label"] for row in rows]
    assert {f"score_{label}" for label in FRAMING_LABELS} <= set(csv_rows[0])
    (article,) = read_csv(out / "articles.csv")
    assert article["dateline"] == "ISTANBUL, March 14. /TASS/." and article["sentences"] == "19"
    counts = {label: sum(row["label"] == label for row in rows) for label in FRAMING_LABELS}
    assert {label: int(article[f"count_{label}"]) for label in FRAMING_LABELS} == counts
    page = (out / "html" / "tass_grain_corridor.html").read_text(encoding="utf-8")
    assert len(re.findall(r'<span class="s(?: quiet)?" id="s\d+"', page)) == 19
    assert 'href="html/tass_grain_corridor.html"' in (out / "index.html").read_text()
    manifest = json.loads((out / "analysis.json").read_text())
    assert manifest["articles"] == 1 and manifest["sentences"] == 19


def test_folder_and_jsonl_inputs_get_unique_ids(framing_run, tmp_path):
    folder = tmp_path / "archive"
    (folder / "2024").mkdir(parents=True)
    (folder / "2024" / "one.txt").write_text("Moscow denied it. Kyiv proposed talks.\n")
    (folder / "two.txt").write_text("KYIV (Reuters) - Ukraine accused Russia.")
    (folder / "notes.md").write_text("ignored")
    (folder / ".hidden.txt").write_text("ignored too")
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": "a1", "text": "Russia denied it."}\n\n{"text": "No id here. Two sentences."}\n'
    )
    out = tmp_path / "out"
    result = analyze(framing_run, folder, feed, "--out", out, "--no-html")
    assert result.exit_code == 0, result.output
    articles = read_csv(out / "articles.csv")
    assert [row["article"] for row in articles] == ["2024/one", "two", "a1", "feed-3"]
    assert [row["sentences"] for row in articles] == ["2", "1", "1", "2"]
    assert articles[1]["dateline"] == "KYIV (Reuters) -"
    assert not (out / "html").exists() and not (out / "index.html").exists()


def test_never_replaces_output_without_overwrite_nor_a_foreign_folder(framing_run, tmp_path):
    out = tmp_path / "out"
    assert analyze(framing_run, EXAMPLE, "--out", out).exit_code == 0
    before = (out / "sentences.jsonl").read_text()
    (out / "sentences.jsonl").write_text("mine")
    result = analyze(framing_run, EXAMPLE, "--out", out)
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (out / "sentences.jsonl").read_text() == "mine"
    assert analyze(framing_run, EXAMPLE, "--out", out, "--overwrite").exit_code == 0
    assert (out / "sentences.jsonl").read_text() == before
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.tex").write_text("precious")
    result = analyze(framing_run, EXAMPLE, "--out", foreign, "--overwrite")
    assert result.exit_code == 2 and "did not write" in result.output
    assert (foreign / "chapter1.tex").read_text() == "precious"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out", "thesis"]  # no leftovers


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('{"id": 1, "text": "Fine."}\n{"id": 2, "body": "x"}\n', "line 2: field 'text' is missing"),
        ('{"id": 1, "text": "Fine."}\nnot json\n', "line 2: not valid JSON"),
        ('{"id": 1, "text": "   "}\n', "line 1: field 'text' is empty"),
        ('{"id": 1, "text": "A."}\n{"id": 1, "text": "B."}\n', "already used by"),
        ('{"id": [1], "text": "A."}\n', "line 1: field 'id' must be"),
        ('["a list"]\n', "line 1: expected a JSON object"),
    ],
)
def test_bad_input_names_file_and_line_and_writes_nothing(framing_run, tmp_path, lines, message):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(lines)
    out = tmp_path / "out"
    result = analyze(framing_run, feed, "--out", out)
    assert result.exit_code == 2
    assert str(feed) in result.output and message in result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == ["feed.jsonl"]


def test_unusable_paths_are_refused(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "notes.docx").write_text("text\nx\n")
    (tmp_path / "nothing").mkdir()
    (tmp_path / "latin1.txt").write_bytes("Kyiv denied it. Caf\xe9.".encode("latin-1"))
    cases = {
        tmp_path / "missing.txt": "no such file",
        tmp_path / "empty.txt": "the text is empty",
        tmp_path / "notes.docx": ".jsonl or .csv files",
        tmp_path / "nothing": "no .txt or .jsonl",
        tmp_path / "latin1.txt": "not valid UTF-8",
    }
    for path, message in cases.items():
        with pytest.raises(DataError, match=message):
            list(read_articles([path]))


def test_stance_runs_take_a_target(stance_run, tmp_path):
    out = tmp_path / "out"
    result = analyze(stance_run, EXAMPLE, "--out", out)
    assert result.exit_code == 2 and "stance model" in result.output
    result = analyze(stance_run, EXAMPLE, "--out", out, "--target", "Russia")
    assert result.exit_code == 0, result.output
    row = json.loads((out / "sentences.jsonl").read_text().splitlines()[0])
    assert row["target"] == "Russia" and set(row["scores"]) == {"favor", "against", "none"}


def test_an_article_can_come_from_standard_input(framing_run, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["analyze", str(framing_run), "-", "--out", str(out)],
        input="MOSCOW, May 2. /TASS/. Russia denied it. It proposed talks.",
    )
    assert result.exit_code == 0, result.output
    (article,) = read_csv(out / "articles.csv")
    assert article["article"] == "stdin" and article["sentences"] == "2"


def test_a_framing_run_refuses_a_target(framing_run, tmp_path):
    result = analyze(framing_run, EXAMPLE, "--out", tmp_path / "out", "--target", "NATO")
    assert result.exit_code == 2 and "on their own" in result.output
    assert not (tmp_path / "out").exists()
