"""ONNX export: parity with the PyTorch model, int8 agreement, files and errors."""

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from stanceframe import Classifier
from stanceframe.cli import app
from stanceframe.data import bundled_path
from stanceframe.errors import OutputExistsError, RunDirError
from stanceframe.model import export as export_module
from stanceframe.model.export import ExportError, export_onnx, onnx_path
from tests.conftest import FIXTURES, tiny_config
from tests.model.test_classifier import TEXTS

runner = CliRunner()


@pytest.fixture(scope="module")
def exported_run(tmp_path_factory):
    """A tiny BERT trained long enough to separate the labels, exported to fp32 and int8.

    The session's `framing_run` scores every sentence ~0.25 per label, which would let any
    export pass a 1e-4 parity check and an int8 agreement check by default.
    """
    import torch

    from stanceframe.training import train

    run_dir = tmp_path_factory.mktemp("export") / "framing"
    small = str(FIXTURES / "framing_small.jsonl")
    steps = {"max_steps": 80, "eval_steps": 80, "logging_steps": 80}
    # One thread: a model this small gains nothing from more, and on a busy machine the
    # threads' spin-waits make each step many times slower.
    config = tiny_config(
        run_dir,
        data={"train": "bundled:framing/train", "dev": small, "test": small},
        training={**steps, "batch_size": 32, "learning_rate": 3e-3, "threads": 1},
    )
    threads = torch.get_num_threads()
    try:
        train(config)
    finally:
        torch.set_num_threads(threads)
    export_onnx(run_dir, quantize="int8")
    return run_dir


@pytest.fixture(scope="module")
def torch_classifier(exported_run):
    return Classifier.load(exported_run, device="cpu")


def bundled_test_texts() -> list[str]:
    lines = bundled_path("framing/test").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


@pytest.mark.parametrize("batch_size", [1, 2, 32])
def test_onnx_fp32_probabilities_match_torch(exported_run, torch_classifier, batch_size):
    onnx_classifier = Classifier.load(exported_run, backend="onnx")
    expected = torch_classifier.predict_proba(TEXTS, batch_size=batch_size)
    # the scores differ from text to text by far more than the 1e-4 parity tolerance
    assert np.ptp(expected, axis=0).max() > 0.01
    got = onnx_classifier.predict_proba(TEXTS, batch_size=batch_size)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert [p.label for p in onnx_classifier.predict(TEXTS)] == [
        p.label for p in torch_classifier.predict(TEXTS)
    ]


def test_onnx_keeps_input_order_and_truncates_like_torch(exported_run, torch_classifier):
    onnx_classifier = Classifier.load(exported_run, backend="onnx")
    long_text = "The ministry said " + "very " * 400 + "much."
    texts = [long_text, *TEXTS, long_text[:300]]
    with pytest.warns(UserWarning, match="2 of 7 texts were longer than"):
        got = onnx_classifier.predict_proba(texts, batch_size=2)
    with pytest.warns(UserWarning, match="truncated"):
        one_by_one = np.vstack([torch_classifier.predict_proba([text]) for text in texts])
    np.testing.assert_allclose(got, one_by_one, atol=1e-4, rtol=0)
    with pytest.warns(UserWarning, match="truncated"):
        reversed_scores = onnx_classifier.predict_proba(texts[::-1], batch_size=3)
    np.testing.assert_allclose(reversed_scores[::-1], got, atol=1e-5, rtol=0)


def test_int8_labels_agree_with_fp32_on_the_bundled_test_set(exported_run):
    from sklearn.metrics import f1_score

    texts = bundled_test_texts()
    with pytest.warns(UserWarning, match="truncated"):
        fp32 = Classifier.load(exported_run, backend="onnx").predict_proba(texts)
    with pytest.warns(UserWarning, match="truncated"):
        int8 = Classifier.load(exported_run, backend="onnx-int8").predict_proba(texts)
    assert len(set(fp32.argmax(-1))) >= 2  # a model that predicts one label agrees trivially
    agreement = float((fp32.argmax(-1) == int8.argmax(-1)).mean())
    # The tiny random model's logits lie close together, so int8 rounding flips more of its labels
    # than it does the real model's (99.2% there, benchmarks/bench_inference.py), and how many
    # depends on the CPU's int8 kernels: 97.7% on this machine. A broken export agrees at chance.
    assert agreement >= 0.95, f"int8 agrees with fp32 on {agreement:.1%} of {len(texts)} sentences"
    assert not np.array_equal(fp32, int8)  # it really is another model
    gold_lines = bundled_path("framing/test").read_text(encoding="utf-8").splitlines()
    labels = Classifier.load(exported_run, backend="onnx").labels
    gold = [labels.index(json.loads(line)["label"]) for line in gold_lines if line.strip()]
    f1_fp32 = f1_score(gold, fp32.argmax(-1), average="macro")
    f1_int8 = f1_score(gold, int8.argmax(-1), average="macro")
    assert abs(f1_fp32 - f1_int8) <= 0.03


def test_stance_export_takes_text_and_target(stance_run, tmp_path):
    run_dir = tmp_path / "stance"
    shutil.copytree(stance_run, run_dir)
    result = export_onnx(run_dir)
    assert set(result.files) == {"onnx"}
    texts = ["NATO keeps Europe safe.", "Sanctions work.", "Talks failed again in Geneva."]
    torch_scores = Classifier.load(run_dir).predict_proba(texts, targets="NATO")
    onnx_classifier = Classifier.load(run_dir, backend="onnx")
    assert "token_type_ids" in onnx_classifier.input_names
    onnx_scores = onnx_classifier.predict_proba(texts, targets="NATO", batch_size=2)
    np.testing.assert_allclose(onnx_scores, torch_scores, atol=1e-4, rtol=0)
    other_target = onnx_classifier.predict_proba(texts[:1], targets=["vaccination"])
    assert not np.allclose(other_target[0], onnx_scores[0])


def test_export_writes_info_with_parity_and_versions(exported_run):
    info = json.loads((exported_run / "onnx" / "export.json").read_text())
    assert set(info["files"]) == {"onnx", "onnx-int8"}
    assert info["files"]["onnx"]["parity_with_torch"]["max_abs_diff"] <= 1e-4
    assert info["outputs"] == ["logits"] and "input_ids" in info["inputs"]
    assert {"torch", "onnxruntime"} <= set(info["versions"])
    leftovers = [path.name for path in (exported_run / "onnx").iterdir()]
    assert sorted(leftovers) == ["export.json", "model.int8.onnx", "model.onnx"]


def test_export_never_overwrites_without_flag_but_reuses_fp32(framing_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(framing_run, run_dir)
    export_onnx(run_dir)
    fp32_bytes = onnx_path(run_dir).read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        export_onnx(run_dir)
    result = export_onnx(run_dir, quantize="int8")  # quantises the existing fp32 file
    assert set(result.files) == {"onnx-int8"}
    assert onnx_path(run_dir).read_bytes() == fp32_bytes
    with pytest.raises(OutputExistsError, match="model.int8.onnx"):
        export_onnx(run_dir, quantize="int8")
    assert set(export_onnx(run_dir, quantize="int8", overwrite=True).files) == {
        "onnx",
        "onnx-int8",
    }


def test_failed_parity_check_writes_nothing(framing_run, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    shutil.copytree(framing_run, run_dir)
    monkeypatch.setattr(export_module, "PARITY_TOLERANCE", -1.0)
    with pytest.raises(ExportError, match="was not written"):
        export_onnx(run_dir, quantize="int8")
    assert list((run_dir / "onnx").iterdir()) == []


def test_load_without_export_says_how_to_make_one(framing_run):
    with pytest.raises(RunDirError, match=r"stanceframe export .* --onnx --quantize int8"):
        Classifier.load(framing_run, backend="onnx-int8")
    with pytest.raises(ValueError, match="backend 'tensorrt' is not one of torch, onnx, onnx-int8"):
        Classifier.load(framing_run, backend="tensorrt")
    with pytest.raises(ValueError, match="quantize 'int4' is not one of int8"):
        export_onnx(framing_run, quantize="int4")


def test_cli_export_then_predict_with_onnx(framing_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(framing_run, run_dir)
    result = runner.invoke(app, ["export", str(run_dir)])
    assert result.exit_code == 2 and "--onnx" in result.output
    result = runner.invoke(app, ["export", str(run_dir), "--onnx", "--quantize", "int8"])
    assert result.exit_code == 0, result.output
    assert "model.int8.onnx" in result.output and "of torch" in result.output
    source = tmp_path / "in.txt"
    source.write_text("\n".join(TEXTS) + "\n")
    labels = {}
    for backend in ("torch", "onnx"):
        out = tmp_path / f"{backend}.jsonl"
        result = runner.invoke(
            app,
            ["predict", str(run_dir), str(source), "-o", str(out), "--backend", backend],
        )
        assert result.exit_code == 0, result.output
        labels[backend] = [json.loads(line)["label"] for line in out.read_text().splitlines()]
    assert labels["onnx"] == labels["torch"] and len(labels["torch"]) == len(TEXTS)
