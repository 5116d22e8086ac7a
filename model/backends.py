"""Inference engines behind `Classifier`: a padded batch of token ids in, float32 logits out.

`TorchBackend` runs the run's PyTorch weights; `OnnxBackend` runs an export made by model/export.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from stanceframe.errors import RunDirError
from stanceframe.model.export import ONNX_BACKENDS, onnx_path

BACKENDS = ("torch", *ONNX_BACKENDS)
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


class InferenceBackend(Protocol):
    name: str
    device: torch.device
    input_names: tuple[str, ...]

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray: ...


def mean_pooled(hidden: torch.Tensor, attention_mask: torch.Tensor) -> np.ndarray:
    """Sentence embeddings: the mean of each row's token vectors (padding left out), unit length."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy()


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but no CUDA GPU is visible")
    return torch.device(device)


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    """fp32 on CPU; on a GPU, half precision unless fp32 is asked for (bf16 where supported)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if device.type != "cuda":
        if precision in ("fp16", "bf16"):
            raise ValueError(f"precision {precision!r} needs a CUDA GPU; use fp32 on {device}")
        return torch.float32
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


class TorchBackend:
    name = "torch"

    def __init__(self, model, device: torch.device, input_names: tuple[str, ...]):
        self.model = model
        self.device = device
        self.input_names = input_names
        self.dtype = next(model.parameters()).dtype

    @classmethod
    def load(
        cls, run_dir: Path, device: torch.device, precision: str, input_names: tuple[str, ...]
    ) -> TorchBackend:
        from transformers import AutoModelForSequenceClassification

        dtype = resolve_dtype(precision, device)
        model = AutoModelForSequenceClassification.from_pretrained(
            run_dir, use_safetensors=True, trust_remote_code=False, dtype=dtype
        )
        model.to(device).eval()
        return cls(model, device, input_names)

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        non_blocking = self.device.type == "cuda"
        tensors = {
            name: torch.from_numpy(batch[name]).to(self.device, non_blocking=non_blocking)
            for name in self.input_names
        }
        with torch.inference_mode():
            return self.model(**tensors).logits.float().cpu().numpy()

    def logits_and_embeddings(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Logits, and the fine-tuned encoder's sentence embeddings (its last layer, mean-pooled)."""
        tensors = {name: torch.from_numpy(batch[name]).to(self.device) for name in self.input_names}
        with torch.inference_mode():
            output = self.model(**tensors, output_hidden_states=True)
            mask = torch.from_numpy(batch["attention_mask"]).to(self.device)
            embeddings = mean_pooled(output.hidden_states[-1], mask)
        return output.logits.float().cpu().numpy(), embeddings


class OnnxBackend:
    def __init__(self, session, device: torch.device, model_path: Path):
        self.session = session
        self.device = device
        self.model_path = model_path
        self.name = "onnx-int8" if model_path.name.endswith(".int8.onnx") else "onnx"
        self.input_names = tuple(node.name for node in session.get_inputs())

    @classmethod
    def load(cls, run_dir: Path, backend: str, device: str, threads: int | None) -> OnnxBackend:
        model_path = onnx_path(run_dir, backend)
        if not model_path.is_file():
            quantize = " --quantize int8" if backend == "onnx-int8" else ""
            raise RunDirError(
                f"{run_dir}: no ONNX export ({model_path.relative_to(run_dir)} is missing); "
                f"create it with `stanceframe export {run_dir} --onnx{quantize}`"
            )
        return cls.from_file(model_path, device, threads)

    @classmethod
    def from_file(cls, model_path: Path, device: str, threads: int | None = None) -> OnnxBackend:
        """`device` 'auto' takes the GPU only where onnxruntime-gpu can use it."""
        import onnxruntime

        quantized = model_path.name.endswith(".int8.onnx")
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        has_cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
        if device == "auto":
            device = "cuda" if has_cuda and not quantized and torch.cuda.is_available() else "cpu"
        torch_device = resolve_device(device)
        providers: list = ["CPUExecutionProvider"]
        if torch_device.type == "cuda":
            if not has_cuda:
                raise ValueError(
                    "ONNX on a GPU needs onnxruntime-gpu (this onnxruntime has no "
                    "CUDAExecutionProvider); use --device cpu or the torch backend"
                )
            if quantized:
                raise ValueError(
                    "the int8 export is for CPUs; on a GPU use the 'torch' backend (half "
                    "precision) or 'onnx'"
                )
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": torch_device.index or 0}))
        session = onnxruntime.InferenceSession(str(model_path), options, providers=providers)
        return cls(session, torch_device, model_path)

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feeds = {name: batch[name] for name in self.input_names}
        return np.asarray(self.session.run(["logits"], feeds)[0], dtype=np.float32)
