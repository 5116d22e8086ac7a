"""Export a run to ONNX (fp32, and dynamically quantised int8) for fast CPU inference.

The files go to `RUN/onnx/` with an `export.json` that records versions and the parity measured
against the PyTorch model at export time; `Classifier.load(RUN, backend="onnx")` reads them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stanceframe.atomic import write_json
from stanceframe.errors import OutputExistsError, RunDirError, StanceframeError

ONNX_DIR = "onnx"
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
ONNX_BACKENDS = tuple(ONNX_FILES)
EXPORT_INFO_FILE = "export.json"
QUANTIZATIONS = ("int8",)
OPSET = 17  # the first opset with a native LayerNormalization
PARITY_TOLERANCE = 1e-4  # largest allowed gap between ONNX fp32 and torch probabilities
QUANTIZATION_NOTE = (
    "onnxruntime quantize_dynamic: int8 weights per channel, activations at run time"
)

# Sentences of different lengths, so that the traced graph and the parity check see padding.
PROBE_TEXTS = [
    "Moscow dismissed the report as fake news.",
    "Qatar offered to mediate between the two sides.",
    "Beijing accused Manila of a deliberate provocation near the shoal and demanded an apology.",
    "Rain.",
    "The ministry said it was ready to resume talks without preconditions next week in Geneva.",
    "Officials denied any involvement in the attack on the pipeline.",
    "Three soldiers were killed when their vehicle hit a mine near the border on Monday evening.",
    "Both leaders agreed to set up a joint commission on water sharing.",
]
PROBE_TARGET = "the government"


class ExportError(StanceframeError):
    """The exported graph does not reproduce the PyTorch model, so it was not written."""


@dataclass
class ExportResult:
    run_dir: Path
    files: dict[str, Path]  # backend name -> file
    parity: dict[str, dict[str, float]] = field(default_factory=dict)


def onnx_path(run_dir: str | Path, backend: str = "onnx") -> Path:
    if backend not in ONNX_FILES:
        raise ValueError(f"backend {backend!r} is not one of {', '.join(ONNX_FILES)}")
    return Path(run_dir) / ONNX_DIR / ONNX_FILES[backend]


class _LogitsOnly(torch.nn.Module):
    """The graph's signature: positional token arrays in, logits out (no ModelOutput)."""

    def __init__(self, model, input_names: tuple[str, ...]):
        super().__init__()
        self.model = model
        self.input_names = input_names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.input_names, inputs, strict=True))).logits


def _trace_to_onnx(classifier, destination: Path) -> None:
    probe = _probe_inputs(classifier)
    input_names = tuple(name for name in classifier.input_names if name in probe)
    example = tuple(torch.from_numpy(probe[name]) for name in input_names)
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    dynamic_axes["logits"] = {0: "batch"}
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of the dynamo one, but the dynamo export
        # of BERT drifts from the PyTorch model by ~1e-2 in logits with torch 2.13 (docs/inference.md);
        # the tracer also warns about shape checks that are constant for an encoder.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _LogitsOnly(classifier.model, input_names).eval(),
            example,
            str(destination),
            input_names=list(input_names),
            output_names=["logits"],
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            dynamo=False,
        )


def _quantize_int8(source: Path, destination: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per output channel: on the default run, per-tensor scales changed 2.3% of the test labels,
    # per-channel 0.8% (docs/inference.md); embeddings are quantised too (a 22 MiB file, not 56).
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.setLevel(logging.ERROR)  # quantize_dynamic logs advice through the root logger
    try:
        quantize_dynamic(
            str(source),
            str(destination),
            weight_type=QuantType.QInt8,
            per_channel=True,
        )
    finally:
        root_logger.setLevel(level)


def _probe_inputs(classifier) -> dict[str, np.ndarray]:
    return classifier.batch_inputs(
        PROBE_TEXTS[:2], PROBE_TARGET if classifier.needs_target else None
    )


def _parity(reference, candidate) -> dict[str, float]:
    targets = PROBE_TARGET if reference.needs_target else None
    expected = reference.predict_proba(PROBE_TEXTS, targets, batch_size=3)
    got = candidate.predict_proba(PROBE_TEXTS, targets, batch_size=3)
    return {
        "max_abs_diff": float(np.abs(expected - got).max()),
        "label_agreement": float((expected.argmax(-1) == got.argmax(-1)).mean()),
        "probe_sentences": len(PROBE_TEXTS),
    }


def _export_info(run_dir: Path) -> dict[str, Any]:
    info_path = run_dir / ONNX_DIR / EXPORT_INFO_FILE
    if info_path.is_file():
        return json.loads(info_path.read_text(encoding="utf-8"))
    return {"files": {}}


def _versions() -> dict[str, str]:
    return {name: version(name) for name in ("torch", "transformers", "onnx", "onnxruntime")}


def _files_to_write(run_path: Path, quantize: str | None, overwrite: bool) -> list[str]:
    """The backends whose files this export writes; an existing fp32 file is reused for int8."""
    wanted = ["onnx-int8"] if quantize == "int8" else []
    if not onnx_path(run_path, "onnx").exists() or overwrite or not wanted:
        wanted.insert(0, "onnx")
    existing = [onnx_path(run_path, name) for name in wanted if onnx_path(run_path, name).exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"{existing[0]}: exists; pass --overwrite to export again")
    return wanted


def _build_in(staging: Path, reference, run_path: Path, wanted: list[str]) -> None:
    staged_fp32 = staging / ONNX_FILES["onnx"]
    if "onnx" in wanted:
        _trace_to_onnx(reference, staged_fp32)
    else:
        shutil.copyfile(onnx_path(run_path, "onnx"), staged_fp32)
    if "onnx-int8" in wanted:
        _quantize_int8(staged_fp32, staging / ONNX_FILES["onnx-int8"])


def export_onnx(
    run_dir: str | Path,
    *,
    quantize: str | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Write RUN/onnx/model.onnx (and model.int8.onnx with quantize='int8'), checked against torch.

    An existing fp32 export is reused for quantisation; any other existing file needs `overwrite`.
    Files are built in a hidden folder and moved into place only once they pass the parity check.
    """
    from stanceframe.model.backends import OnnxBackend
    from stanceframe.model.classifier import Classifier

    run_path = Path(run_dir)
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize {quantize!r} is not one of {', '.join(QUANTIZATIONS)}")
    if not run_path.is_dir():
        raise RunDirError(f"{run_path}: run directory not found")
    wanted = _files_to_write(run_path, quantize, overwrite)
    reference = Classifier.load(run_path, device="cpu", backend="torch")
    export_dir = run_path / ONNX_DIR
    export_dir.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=export_dir))
    try:
        _build_in(staging, reference, run_path, wanted)
        parity = {
            name: _parity(
                reference,
                reference.with_backend(OnnxBackend.from_file(staging / ONNX_FILES[name], "cpu")),
            )
            for name in wanted
        }
        fp32_gap = parity.get("onnx", {}).get("max_abs_diff", 0.0)
        if fp32_gap > PARITY_TOLERANCE:
            raise ExportError(
                f"the ONNX graph's probabilities differ from the PyTorch model's by {fp32_gap:.2e} "
                f"(more than {PARITY_TOLERANCE:g}); the export was not written"
            )
        info = _export_info(run_path)
        for name in wanted:
            os.replace(staging / ONNX_FILES[name], onnx_path(run_path, name))
            info["files"][name] = {
                "file": ONNX_FILES[name],
                "bytes": onnx_path(run_path, name).stat().st_size,
                "quantization": QUANTIZATION_NOTE if name == "onnx-int8" else None,
                "parity_with_torch": parity[name],
            }
        info.update(
            opset=OPSET,
            inputs=list(reference.input_names),
            outputs=["logits"],
            versions=_versions(),
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        write_json(export_dir / EXPORT_INFO_FILE, info)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(
        run_dir=run_path,
        files={name: onnx_path(run_path, name) for name in wanted},
        parity=parity,
    )
