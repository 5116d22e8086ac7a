"""Choosing a backend, device, precision and thread count for inference."""

import pytest
import torch

from stanceframe import Classifier
from stanceframe.model.backends import OnnxBackend, TorchBackend, resolve_dtype


def test_cpu_runs_in_fp32_and_refuses_half_precision():
    cpu = torch.device("cpu")
    assert resolve_dtype("auto", cpu) == torch.float32
    assert resolve_dtype("fp32", cpu) == torch.float32
    with pytest.raises(ValueError, match="'bf16' needs a CUDA GPU"):
        resolve_dtype("bf16", cpu)
    with pytest.raises(ValueError, match="precision 'int4' is not one of auto, fp32, fp16, bf16"):
        resolve_dtype("int4", cpu)


@pytest.mark.parametrize(("bf16_supported", "expected"), [(True, "bfloat16"), (False, "float16")])
def test_gpu_runs_in_half_precision_by_default(monkeypatch, bf16_supported, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16_supported)
    cuda = torch.device("cuda")
    assert resolve_dtype("auto", cuda) == getattr(torch, expected)
    assert resolve_dtype("fp32", cuda) == torch.float32
    assert resolve_dtype("fp16", cuda) == torch.float16


def test_torch_backend_on_cpu(framing_run):
    classifier = Classifier.load(framing_run, device="cpu")
    assert isinstance(classifier.backend, TorchBackend)
    assert classifier.backend.dtype == torch.float32
    assert classifier.model is classifier.backend.model and not classifier.model.training
    assert classifier.device == torch.device("cpu")
    assert {"input_ids", "attention_mask"} <= set(classifier.input_names)


def test_threads_setting_reaches_torch(framing_run):
    previous = torch.get_num_threads()
    try:
        Classifier.load(framing_run, device="cpu", threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_asking_for_a_missing_gpu_is_a_clear_error(framing_run):
    with pytest.raises(ValueError, match="no CUDA GPU is visible"):
        Classifier.load(framing_run, device="cuda")


def test_onnx_on_a_gpu_needs_onnxruntime_gpu(tmp_path, monkeypatch):
    import onnxruntime

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    onnx_file = tmp_path / "model.onnx"
    onnx_file.write_bytes(b"")
    with pytest.raises(ValueError, match="needs onnxruntime-gpu"):
        OnnxBackend.from_file(onnx_file, "cuda")


def test_batch_size_must_be_positive(framing_run):
    classifier = Classifier.load(framing_run, device="cpu")
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        classifier.predict(["Moscow denied it."], batch_size=0)


def test_cli_predict_passes_backend_threads_and_precision(framing_run, tmp_path):
    from typer.testing import CliRunner

    from stanceframe.cli import app

    source = tmp_path / "in.txt"
    source.write_text("Moscow denied it.\n")
    runner = CliRunner()
    result = runner.invoke(app, ["predict", str(framing_run), str(source), "--precision", "fp16"])
    assert result.exit_code == 2 and "'fp16' needs a CUDA GPU" in result.output
    result = runner.invoke(app, ["predict", str(framing_run), str(source), "--backend", "onnx"])
    assert result.exit_code == 2 and "stanceframe export" in result.output
    previous = torch.get_num_threads()
    try:
        result = runner.invoke(app, ["predict", str(framing_run), str(source), "--threads", "1"])
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)
