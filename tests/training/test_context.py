"""data.context: previous — each article sentence is read with the sentence before it."""

import json

import pytest

from stanceframe.errors import DataError
from stanceframe.training.config import DataConfig
from stanceframe.training.data import load_split
from tests.conftest import FRAMING_LABELS, tiny_config


def _write(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


ARTICLE_ROWS = [
    {"text": "Second of a.", "label": "other", "article": "a", "position": 1},
    {"text": "A standalone sentence.", "label": "other"},
    {"text": "First of a.", "label": "accusation", "article": "a", "position": 0},
    {"text": "First of b.", "label": "denial", "article": "b", "position": 0},
    {"text": "Third of a.", "label": "other", "article": "a", "position": 2},
    {"text": "Second of b.", "label": "other", "article": "b", "position": 1},
]


def test_each_sentence_gets_its_own_articles_previous_sentence(tmp_path):
    source = _write(tmp_path / "articles.jsonl", ARTICLE_ROWS)
    config = DataConfig(train=source, labels=FRAMING_LABELS, context="previous")
    split = load_split(source, "train", config)
    contexts = {example.text: example.context for example in split.examples}
    assert contexts == {
        "Second of a.": "First of a.",
        "A standalone sentence.": None,
        "First of a.": None,  # the first sentence of an article has none
        "First of b.": None,
        "Third of a.": "Second of a.",
        "Second of b.": "First of b.",
    }
    assert split.contexts[1] == ""  # read alone


def test_without_context_no_sentence_has_one(tmp_path):
    source = _write(tmp_path / "articles.jsonl", ARTICLE_ROWS)
    split = load_split(source, "train", DataConfig(train=source, labels=FRAMING_LABELS))
    assert all(example.context is None for example in split.examples)


def test_two_rows_at_one_position_are_an_error(tmp_path):
    rows = [
        {"text": "One.", "label": "other", "article": "a", "position": 0},
        {"text": "Two.", "label": "other", "article": "a", "position": 0},
    ]
    source = _write(tmp_path / "dup.jsonl", rows)
    config = DataConfig(train=source, labels=FRAMING_LABELS, context="previous")
    with pytest.raises(
        DataError, match=r"dup.jsonl line 2: article 'a' has two rows at position 0"
    ):
        load_split(source, "train", config)


def test_a_position_that_is_not_a_number_names_the_line(tmp_path):
    rows = [{"text": "One.", "label": "other", "article": "a", "position": "first"}]
    source = _write(tmp_path / "bad.jsonl", rows)
    config = DataConfig(train=source, labels=FRAMING_LABELS, context="previous")
    with pytest.raises(DataError, match=r"bad.jsonl line 1: field 'position'"):
        load_split(source, "train", config)


def test_context_with_a_stance_target_is_a_config_error(tmp_path):
    from stanceframe.errors import ConfigError

    with pytest.raises(ConfigError, match="data.context"):
        tiny_config(tmp_path / "run", data={"target_column": "target", "context": "previous"})


def test_encoded_pair_holds_the_sentence_then_its_previous_sentence(tmp_path):
    from transformers import AutoTokenizer

    from stanceframe.training.modeling import resolve_base
    from stanceframe.training.trainer import encode_split

    source = _write(tmp_path / "articles.jsonl", ARTICLE_ROWS)
    config = tiny_config(tmp_path / "run", data={"train": source, "context": "previous"})
    tokenizer = AutoTokenizer.from_pretrained(resolve_base("bundled:minilm"))
    split = load_split(source, "train", config.data)
    encoded = encode_split(split, tokenizer, config, FRAMING_LABELS)
    third = tokenizer.decode(encoded[4]["input_ids"])
    assert third == "[CLS] third of a. [SEP] second of a. [SEP]"
    first = tokenizer.decode(encoded[2]["input_ids"])
    assert first == "[CLS] first of a. [SEP] [SEP]"  # no previous sentence: an empty segment


@pytest.fixture(scope="module")
def context_run(tmp_path_factory):
    from stanceframe.training import train

    folder = tmp_path_factory.mktemp("context")
    copies = [
        {**row, "article": f"{row['article']}{copy}"} if "article" in row else row
        for copy in range(4)
        for row in ARTICLE_ROWS
    ]
    source = _write(folder / "articles.jsonl", copies)
    run_dir = folder / "run"
    config = tiny_config(
        run_dir,
        data={"train": source, "dev": source, "test": source, "context": "previous"},
        training={"max_steps": 4, "eval_steps": 2, "logging_steps": 2},
    )
    train(config)
    return run_dir


def test_a_context_run_records_it_and_reads_contexts(context_run):
    from stanceframe.model import Classifier

    classifier = Classifier.load(context_run, device="cpu")
    assert classifier.context == "previous"
    texts = ["The ministry rejected the report.", "It called the claims baseless."]
    alone = classifier.predict_proba(texts)
    with_context = classifier.predict_proba(texts, contexts=[None, texts[0]])
    assert (alone[0] == with_context[0]).all()  # None reads like a first sentence
    assert not (alone[1] == with_context[1]).all()
    with pytest.raises(ValueError, match="2 contexts for 1 texts"):
        classifier.predict_proba(texts[:1], contexts=[None, None])


def test_analyze_reads_each_sentence_after_the_one_before(context_run, monkeypatch):
    from stanceframe.model import Classifier

    classifier = Classifier.load(context_run, device="cpu")
    seen = {}
    original = classifier.predict

    def recording_predict(texts, targets=None, batch_size=32, contexts=None):
        seen["texts"], seen["contexts"] = list(texts), list(contexts)
        return original(texts, targets, batch_size, contexts)

    monkeypatch.setattr(classifier, "predict", recording_predict)
    classifier.analyze("Moscow denied it. Kyiv disagreed. Talks were proposed.")
    assert seen["contexts"] == [None, seen["texts"][0], seen["texts"][1]]


def test_file_prediction_follows_the_article_field(context_run, tmp_path):
    from stanceframe.model import Classifier
    from stanceframe.model.files import read_sentences

    classifier = Classifier.load(context_run, device="cpu")
    rows = [
        {"text": "A one.", "article": "x"},
        {"text": "B one.", "article": "y"},
        {"text": "A two.", "article": "x"},
        {"text": "Alone."},
    ]
    source = _write(tmp_path / "in.jsonl", rows)
    texts, contexts = read_sentences(classifier, source)
    assert contexts == [None, None, "A one.", None]
