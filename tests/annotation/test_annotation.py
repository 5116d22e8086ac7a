"""suggest (strategies, repeats, ids, bad input) and audit (out-of-fold ranking, conflicts)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from stanceframe.annotation.audit import audit
from stanceframe.annotation.duplicates import find_duplicates, normalised
from stanceframe.annotation.strategies import select, uncertainty
from stanceframe.annotation.suggest import suggest
from stanceframe.cli import app
from stanceframe.errors import DataError, OutputExistsError
from stanceframe.model import Classifier
from tests.conftest import FIXTURES, tiny_config

runner = CliRunner()

POOL_TEXTS = [
    "Beijing accused Washington of bullying chipmakers with export controls.",
    "The ministry rejected the report as baseless and politically motivated.",
    "Both leaders agreed to resume talks on the border next month.",
    "Heavy rain flooded several villages in the north on Tuesday.",
    "Ankara proposed a ceasefire monitored by observers from the region.",
    "Officials denied that any civilians had been hurt in the strike.",
    "The opposition charged the government with rigging the count.",
    "Shares in the company rose by four percent after the results.",
    "The envoy offered to host a new round of negotiations in Doha.",
    "Police said the fire at the warehouse started shortly after midnight.",
    "Critics blamed the regulator for ignoring repeated warnings.",
    "The spokesman dismissed the claims as fabricated propaganda.",
]


@pytest.fixture(scope="module")
def classifier(framing_run):
    return Classifier.load(framing_run, device="cpu")


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ------------------------------------------------------------------ strategies


def test_uncertainty_measures():
    probabilities = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    margin = uncertainty(probabilities, "margin")
    entropy = uncertainty(probabilities, "entropy")
    assert margin == pytest.approx([0.0, 1.0, 1.0])
    assert entropy == pytest.approx([0.0, np.log(2) / np.log(3), 1.0], abs=1e-6)
    multi = uncertainty(np.array([[0.99, 0.01], [0.5, 0.99]]), "margin", multi_label=True)
    assert multi == pytest.approx([0.02, 1.0])
    with pytest.raises(ValueError, match="not one of margin, entropy"):
        uncertainty(probabilities, "variance")


def three_blobs():
    """30 rows in three far-apart groups; group A is the most uncertain, then B, then C."""
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 10
    embeddings = np.concatenate([centres[g] + rng.normal(0, 0.1, (10, 3)) for g in range(3)])
    top = np.concatenate([np.linspace(0.50, 0.52, 10), [0.6] * 10, [0.7] * 10])
    probabilities = np.stack([top, 1 - top], axis=1)
    return embeddings, probabilities


def test_uncertain_diverse_spreads_a_batch_over_groups_where_uncertainty_does_not():
    embeddings, probabilities = three_blobs()
    by_uncertainty = select("uncertainty", 3, probabilities=probabilities, embeddings=embeddings)
    assert {int(i) // 10 for i in by_uncertainty} == {0}
    mixed = select(
        "uncertain-diverse",
        3,
        probabilities=probabilities,
        embeddings=embeddings,
        candidate_factor=10,
    )
    assert sorted(int(i) // 10 for i in mixed) == [0, 1, 2]
    # most uncertain first
    assert [int(i) // 10 for i in mixed] == [0, 1, 2]
    diverse = select("diverse", 3, probabilities=probabilities, embeddings=embeddings)
    assert sorted(int(i) // 10 for i in diverse) == [0, 1, 2]


def test_random_is_seeded_and_select_checks_n():
    _, probabilities = three_blobs()
    first = select("random", 5, probabilities=probabilities, seed=3)
    assert list(first) == list(select("random", 5, probabilities=probabilities, seed=3))
    assert len(set(first.tolist())) == 5
    with pytest.raises(ValueError, match="cannot choose 31 of 30"):
        select("uncertainty", 31, probabilities=probabilities)
    with pytest.raises(ValueError, match="not one of"):
        select("greedy", 2, probabilities=probabilities)


# ------------------------------------------------------------------ repeats


def test_duplicates_within_the_pool_and_of_labelled_data():
    texts = [
        "Moscow accused Kyiv of shelling the nuclear plant overnight.",
        "MOSCOW accused Kyiv of shelling the nuclear plant, overnight!",  # same after normalising
        "Moscow accused Kyiv of shelling the nuclear plant overnight again.",  # near
        "Seoul proposed talks with Pyongyang.",
        "The opposition blamed the government for the collapse of the bridge.",  # labelled
        "Completely different sentence about the weather in Lisbon.",
    ]
    labelled = ["The opposition blamed the government for the collapse of the bridge."]
    report = find_duplicates(texts, labelled_texts=labelled)
    assert report.of_earlier == [None, 0, 0, None, None, None]
    assert report.of_labelled == [None, None, None, None, 0, None]
    assert report.kept == [0, 3, 5]
    exact_only = find_duplicates(texts, labelled_texts=labelled, threshold=None)
    assert exact_only.kept == [0, 2, 3, 5]
    assert normalised("  Hello,   WORLD! ") == "hello world"


def test_stance_pairs_repeat_only_with_the_same_target():
    texts = ["NATO keeps Europe safe.", "NATO keeps Europe safe."]
    report = find_duplicates(texts, ["NATO", "the EU"])
    assert report.kept == [0, 1]
    assert find_duplicates(texts, ["NATO", "nato"]).kept == [0]


# ------------------------------------------------------------------ suggest


def test_suggest_keeps_every_field_adds_the_prediction_and_leaves_out_repeats(classifier, tmp_path):
    training_text = json.loads((FIXTURES / "framing_small.jsonl").read_text().splitlines()[0])[
        "text"
    ]
    rows = [
        {"id": f"s{i}", "text": text, "source": "wire", "meta": {"n": i}}
        for i, text in enumerate(POOL_TEXTS)
    ]
    rows.append({"id": "dup-pool", "text": POOL_TEXTS[0].upper()})
    rows.append({"id": "dup-train", "text": training_text})
    pool = write_jsonl(tmp_path / "pool.jsonl", rows)
    out = tmp_path / "next.jsonl"
    summary = suggest(classifier, str(pool), 5, out, seed=0)
    assert summary.repeats_in_pool == 1 and summary.repeats_of_labelled == 1
    assert summary.generated_ids == 0 and summary.chosen == 5
    chosen = read_jsonl(out)
    assert [row["rank"] for row in chosen] == [1, 2, 3, 4, 5]
    assert {row["id"] for row in chosen}.isdisjoint({"dup-pool", "dup-train"})
    by_id = {row["id"]: row for row in rows}
    for row in chosen:
        original = by_id[row["id"]]
        assert {key: row[key] for key in original} == original  # every input field, unchanged
        assert row["label"] in classifier.labels
        assert set(row["scores"]) == set(classifier.labels)
        assert row["score"] == pytest.approx(max(row["scores"].values()), abs=1e-5)
        assert 0.0 <= row["uncertainty"] <= 1.0
    uncertainties = [row["uncertainty"] for row in chosen]
    assert uncertainties == sorted(uncertainties, reverse=True)


def test_suggest_strategies_and_csv(classifier, tmp_path):
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"text": text} for text in POOL_TEXTS])
    for strategy in ("uncertainty", "diverse", "random"):
        out = tmp_path / f"{strategy}.csv"
        suggest(classifier, str(pool), 4, out, strategy=strategy, measure="entropy")
        with out.open(newline="") as handle:
            table = list(csv.DictReader(handle))
        assert len(table) == 4
        assert list(table[0]) == [
            "text",
            "id",
            "label",
            "score",
            *[f"score_{label}" for label in classifier.labels],
            "uncertainty",
            "rank",
        ]
    by_uncertainty = read_jsonl_after(classifier, pool, tmp_path, "uncertainty")
    probabilities = classifier.predict_proba(POOL_TEXTS)
    expected = np.argsort(-uncertainty(probabilities), kind="stable")[:3]
    assert [row["text"] for row in by_uncertainty] == [POOL_TEXTS[i] for i in expected]


def read_jsonl_after(classifier, pool, tmp_path, strategy):
    out = tmp_path / f"{strategy}-3.jsonl"
    suggest(classifier, str(pool), 3, out, strategy=strategy)
    return read_jsonl(out)


def test_suggest_generates_and_reports_ids(framing_run, tmp_path):
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(POOL_TEXTS[:6]) + "\n", encoding="utf-8")
    out = tmp_path / "next.jsonl"
    result = runner.invoke(
        app, ["suggest", str(framing_run), str(pool), "-n", "3", "-o", str(out), "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    assert "each record got pool:LINE" in result.output
    ids = [row["id"] for row in read_jsonl(out)]
    assert len(ids) == 3 and all(value.startswith("pool:") for value in ids)
    line = int(ids[0].split(":")[1])
    assert read_jsonl(out)[0]["text"] == POOL_TEXTS[line - 1]


@pytest.mark.parametrize(
    ("rows", "options", "message"),
    [
        (
            [{"text": t} for t in POOL_TEXTS[:3]],
            ["-n", "4"],
            "asked for 4 suggestions, but the pool has only 3 rows",
        ),
        (
            [{"text": POOL_TEXTS[0]}, {"text": POOL_TEXTS[0].lower()}, {"text": POOL_TEXTS[1]}],
            ["-n", "3"],
            "only 2 are left once repeats are set aside (1 repeat other rows of the pool, 0 repeat labelled data); ask for at most 2",
        ),
        (
            [{"id": 1, "text": "a b c"}, {"text": "d e f"}],
            ["-n", "1"],
            "line 2: field 'id' is missing or empty",
        ),
        (
            [{"id": 1, "text": "a b c"}, {"id": 1, "text": "d e f"}],
            ["-n", "1"],
            "line 2: id '1' is already the id of line 1",
        ),
        (
            [{"text": "a b c"}],
            ["-n", "1", "--require-ids"],
            "no record has an 'id' field, and --require-ids is set",
        ),
        (
            [{"text": "a b c", "label": "x"}],
            ["-n", "1"],
            "line 1: the input already has a field 'label'",
        ),
        (
            [{"text": "a b c"}],
            ["-n", "1", "--strategy", "greedy"],
            "strategy 'greedy' is not one of",
        ),
        ([{"body": "a b c"}], ["-n", "1"], "line 1: field 'text' is missing"),
    ],
    ids=[
        "n-over-pool",
        "n-over-kept",
        "mixed-ids",
        "duplicate-ids",
        "require-ids",
        "clash",
        "strategy",
        "no-text",
    ],
)
def test_suggest_bad_input(framing_run, tmp_path, rows, options, message):
    pool = write_jsonl(tmp_path / "pool.jsonl", rows)
    out = tmp_path / "next.jsonl"
    result = runner.invoke(app, ["suggest", str(framing_run), str(pool), "-o", str(out), *options])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_suggest_with_a_prefix_and_overwrite_guard(classifier, tmp_path):
    pool = write_jsonl(
        tmp_path / "pool.jsonl", [{"text": t, "label": "other"} for t in POOL_TEXTS[:5]]
    )
    out = tmp_path / "next.jsonl"
    suggest(classifier, str(pool), 2, out, prefix="pred_", strategy="uncertainty")
    row = read_jsonl(out)[0]
    assert row["label"] == "other" and row["pred_label"] in classifier.labels
    with pytest.raises(OutputExistsError, match="--overwrite"):
        suggest(classifier, str(pool), 2, out, prefix="pred_")


def test_suggest_for_a_stance_run(stance_run, tmp_path):
    stance = Classifier.load(stance_run, device="cpu")
    pool = write_jsonl(
        tmp_path / "pool.jsonl",
        [
            {"text": "The alliance has kept the peace for decades.", "target": "NATO"},
            {"text": "The alliance has kept the peace for decades.", "target": "the EU"},
            {"text": "Sanctions hurt ordinary people most.", "target": "sanctions"},
        ],
    )
    out = tmp_path / "next.jsonl"
    summary = suggest(stance, str(pool), 3, out)
    assert summary.repeats_in_pool == 0  # one sentence, two targets: two items
    assert {row["target"] for row in read_jsonl(out)} == {"NATO", "the EU", "sanctions"}


# ------------------------------------------------------------------ audit


class ClusterEncoder:
    """Embeddings that put each true label in its own region: a stand-in for a sentence encoder."""

    name = "fake"

    def __init__(self, true_labels: dict[str, str], label_names: list[str]):
        self.true_labels = true_labels
        self.label_names = label_names

    def encode(self, texts, targets=None, batch_size=32):
        rng = np.random.default_rng(len(texts))
        rows = []
        for text in texts:
            vector = np.zeros(len(self.label_names) + 4)
            vector[self.label_names.index(self.true_labels[text])] = 3.0
            rows.append(vector + rng.normal(0, 0.5, len(vector)))
        return np.array(rows, dtype=np.float32)


FRAMING_LABELS = ["accusation", "denial", "diplomatic_proposal", "other"]


def test_audit_ranks_flipped_labels_first_and_lists_conflicting_repeats(tmp_path):
    rows = [
        json.loads(line) for line in (FIXTURES / "framing_small.jsonl").read_text().splitlines()
    ]
    true_labels = {row["text"]: row["label"] for row in rows}
    flipped = {3, 17, 28}  # 0-based rows whose label is changed
    noisy = []
    for index, row in enumerate(rows):
        label = row["label"]
        if index in flipped:
            label = FRAMING_LABELS[(FRAMING_LABELS.index(label) + 1) % 4]
        noisy.append({"text": row["text"], "label": label})
    noisy.append({"text": rows[0]["text"].upper(), "label": "other"})  # repeat, another label
    true_labels[rows[0]["text"].upper()] = rows[0]["label"]
    data = write_jsonl(tmp_path / "noisy.jsonl", noisy)
    config = tiny_config(tmp_path / "unused")
    out = tmp_path / "audit.csv"
    summary = audit(
        str(data), config, out, write_all=True, encoder=ClusterEncoder(true_labels, FRAMING_LABELS)
    )
    assert summary.rows == 41 and summary.written == 41
    assert set(summary.ranked[:4]) == flipped | {40}
    with out.open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["line", "text", "label", "suggested_label", "score", "issue"]
    top = {int(row["line"]) for row in table[:4]}
    assert top == {index + 1 for index in flipped} | {41}
    by_line = {int(row["line"]): row for row in table}
    for index in flipped:
        assert by_line[index + 1]["suggested_label"] == rows[index]["label"]
        assert "label_issue" in by_line[index + 1]["issue"]
    assert "conflicting_duplicate of line 1" in by_line[41]["issue"]
    assert "conflicting_duplicate of line 41" in by_line[1]["issue"]
    scores = [float(row["score"]) for row in table]
    assert scores == sorted(scores, reverse=True)

    only_suspects = tmp_path / "suspects.csv"
    summary = audit(
        str(data), config, only_suspects, encoder=ClusterEncoder(true_labels, FRAMING_LABELS)
    )
    with only_suspects.open(newline="") as handle:
        listed = {int(row["line"]) for row in csv.DictReader(handle)}
    assert {index + 1 for index in flipped} | {1, 41} <= listed
    assert len(listed) < 41


def test_audit_cli_with_the_base_encoder(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(
        "task: framing\n"
        "model: {base: 'bundled:minilm', max_length: 48}\n"
        f"data: {{train: '{FIXTURES / 'framing_small.jsonl'}', labels: {FRAMING_LABELS}}}\n"
        "training: {device: cpu}\n",
        encoding="utf-8",
    )
    out = tmp_path / "audit.csv"
    data = str(FIXTURES / "framing_small.jsonl")
    result = runner.invoke(
        app, ["audit", data, "--config", str(config), "-o", str(out), "--all", "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    assert "40 rows audited with 5-fold logistic regression" in result.output
    with out.open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert sorted(int(row["line"]) for row in table) == list(range(1, 41))
    result = runner.invoke(app, ["audit", data, "--config", str(config), "-o", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output


def test_audit_bad_input(tmp_path):
    config = tiny_config(tmp_path / "unused")
    data = write_jsonl(
        tmp_path / "data.jsonl",
        [{"text": "a b c", "label": "accusation"}, {"text": "d e f", "label": "acusation"}],
    )
    with pytest.raises(DataError, match="line 2: field 'label': label 'acusation' is not one of"):
        audit(str(data), config, tmp_path / "out.csv", encoder=ClusterEncoder({}, FRAMING_LABELS))
    data = write_jsonl(
        tmp_path / "rare.jsonl",
        [{"text": f"t{i}", "label": "accusation"} for i in range(5)]
        + [{"text": "u", "label": "denial"}],
    )
    with pytest.raises(DataError, match="label denial has fewer than 2 rows"):
        audit(str(data), config, tmp_path / "out.csv", encoder=ClusterEncoder({}, FRAMING_LABELS))
    with pytest.raises(DataError, match="name the output .jsonl or .csv"):
        audit(str(data), config, tmp_path / "out.xlsx")


def test_classifier_embed_matches_its_logits_pass(classifier):
    texts = POOL_TEXTS[:5]
    logits, vectors = classifier.logits_and_embeddings(texts, batch_size=2)
    assert np.allclose(logits, classifier.logits(texts), atol=1e-5)
    assert vectors.shape == (5, classifier.model.config.hidden_size)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(classifier.embed(texts[::-1]), vectors[::-1], atol=1e-5)


def test_suggest_with_the_runs_own_embeddings(classifier, tmp_path):
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"text": text} for text in POOL_TEXTS])
    out = tmp_path / "next.jsonl"
    summary = suggest(classifier, str(pool), 3, out, embeddings="run", check_run_data=False)
    assert summary.chosen == 3 and summary.labelled == []
    assert len({row["text"] for row in read_jsonl(out)}) == 3
