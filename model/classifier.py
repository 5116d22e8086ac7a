"""`Classifier`: load a trained run and predict labels with scores for sentences (and targets)."""

from __future__ import annotations

import json
import logging
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stanceframe.errors import RunDirError

logger = logging.getLogger(__name__)
META_FILE = "stanceframe.json"


@dataclass
class Prediction:
    label: str
    score: float
    scores: dict[str, float]
    labels: list[str] = field(default_factory=list)  # all labels over threshold (multi-label runs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "score": self.score,
            "scores": self.scores,
            "labels": self.labels,
        }


def _read_run_meta(run_dir: Path) -> dict[str, Any]:
    """stanceframe's metadata, or what can be read from a plain Hugging Face model folder."""
    meta_path = run_dir / META_FILE
    if meta_path.is_file():
        return json.loads(meta_path.read_text(encoding="utf-8"))
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise RunDirError(f"{run_dir}: not a run directory (no {META_FILE} and no config.json)")
    hf_config = json.loads(config_path.read_text(encoding="utf-8"))
    id2label = hf_config.get("id2label") or {}
    labels = [id2label[key] for key in sorted(id2label, key=int)]
    return {
        "labels": labels,
        "multi_label": hf_config.get("problem_type") == "multi_label_classification",
        "input": {"target_column": None},
        "max_length": 512,
        "inference": {},
        "temperature": None,
    }


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but no CUDA GPU is visible")
    return torch.device(device)


class Classifier:
    """A trained stanceframe run, ready to label text.

    >>> classifier = Classifier.load("runs/framing")
    >>> classifier.predict(["Moscow dismissed the report as fake news."])[0].label
    'denial'
    """

    def __init__(self, model, tokenizer, meta: dict[str, Any], device: torch.device, run_dir: Path):
        self.model = model
        self.tokenizer = tokenizer
        self.meta = meta
        self.device = device
        self.run_dir = run_dir
        self.labels: list[str] = list(meta["labels"])
        self.multi_label: bool = bool(meta.get("multi_label"))
        self.needs_target: bool = meta["input"].get("target_column") is not None
        self.max_length: int = min(int(meta.get("max_length") or 512), tokenizer.model_max_length)
        self.temperature: float = float(meta.get("temperature") or 1.0)
        inference = meta.get("inference") or {}
        self.threshold: float = float(inference.get("threshold") or 0.5)
        self.label_thresholds: dict[str, float] = inference.get("thresholds") or {}
        self.abstain_threshold: float | None = inference.get("abstain_threshold")
        self.fallback_label: str | None = inference.get("fallback_label")

    @classmethod
    def load(
        cls, run_dir: str | Path, device: str = "auto", threads: int | None = None
    ) -> Classifier:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        run_path = Path(run_dir)
        if not run_path.is_dir():
            raise RunDirError(f"{run_path}: run directory not found")
        meta = _read_run_meta(run_path)
        if threads:
            torch.set_num_threads(threads)
        torch_device = resolve_device(device)
        tokenizer = AutoTokenizer.from_pretrained(run_path)
        model = AutoModelForSequenceClassification.from_pretrained(
            run_path, use_safetensors=True, trust_remote_code=False
        )
        if torch_device.type == "cuda":
            model = model.to(torch_device, dtype=torch.float16)
        model.eval()
        return cls(model, tokenizer, meta, torch_device, run_path)

    # ------------------------------------------------------------------ input checks

    def _check_inputs(
        self, texts: Sequence[str], targets: Sequence[str] | str | None
    ) -> list[str] | None:
        if isinstance(texts, str):
            raise ValueError("texts must be a list of strings, not one string")
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"texts[{index}] is {type(text).__name__}, not a string")
            if not text.strip():
                raise ValueError(f"texts[{index}] is empty")
        if targets is None:
            if self.needs_target:
                raise ValueError(
                    "this is a stance model: pass targets (one per text, or one for all)"
                )
            return None
        if isinstance(targets, str):
            targets = [targets] * len(texts)
        if len(targets) == 1 and len(texts) != 1:
            targets = list(targets) * len(texts)
        if len(targets) != len(texts):
            raise ValueError(f"got {len(targets)} targets for {len(texts)} texts")
        for index, target in enumerate(targets):
            if not isinstance(target, str) or not target.strip():
                raise ValueError(f"targets[{index}] is empty or not a string")
        return list(targets)

    # ------------------------------------------------------------------ prediction

    def _encode(self, texts: list[str], targets: list[str] | None) -> list[list[int]]:
        encoded = self.tokenizer(
            texts,
            targets,
            truncation="only_first" if targets is not None else True,
            max_length=self.max_length,
            return_overflowing_tokens=True,
            stride=0,
        )
        # Overflow chunks repeat a sample's index: keep each sample's first chunk, count the rest.
        keys = [key for key in encoded if key != "overflow_to_sample_mapping"]
        first_chunks: dict[int, dict[str, list[int]]] = {}
        for chunk, sample in enumerate(encoded["overflow_to_sample_mapping"]):
            first_chunks.setdefault(sample, {key: encoded[key][chunk] for key in keys})
        truncated = len(encoded["overflow_to_sample_mapping"]) > len(texts)
        if truncated:
            n_truncated = len(
                set(Counter(encoded["overflow_to_sample_mapping"]) - Counter(range(len(texts))))
            )
            warnings.warn(
                f"{n_truncated} of {len(texts)} texts were longer than {self.max_length} tokens and "
                "were truncated",
                stacklevel=3,
            )
        return [first_chunks[index] for index in range(len(texts))]

    def predict_proba(
        self,
        texts: Sequence[str],
        targets: Sequence[str] | str | None = None,
        batch_size: int = 32,
    ) -> np.ndarray:
        """Scores [n_texts, n_labels] in input order (softmax, or sigmoid for multi-label runs)."""
        checked_targets = self._check_inputs(texts, targets)
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        features = self._encode(list(texts), checked_targets)
        # Sorting by length lets each batch pad only to its own longest sentence.
        order = sorted(range(len(features)), key=lambda index: len(features[index]["input_ids"]))
        scores = np.zeros((len(features), len(self.labels)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                batch_indices = order[start : start + batch_size]
                batch = self.tokenizer.pad(
                    [features[i] for i in batch_indices], return_tensors="pt"
                )
                batch = {key: value.to(self.device) for key, value in batch.items()}
                logits = self.model(**batch).logits.float() / self.temperature
                probs = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
                scores[batch_indices] = probs.cpu().numpy()
        return scores

    def _to_prediction(self, row: np.ndarray) -> Prediction:
        scores = {label: float(value) for label, value in zip(self.labels, row, strict=True)}
        best = int(row.argmax())
        label, score = self.labels[best], float(row[best])
        if self.multi_label:
            chosen = [
                name
                for name in self.labels
                if scores[name] >= self.label_thresholds.get(name, self.threshold)
            ]
        else:
            chosen = [label]
        if (
            self.abstain_threshold is not None
            and score < self.abstain_threshold
            and self.fallback_label
        ):
            label, chosen = self.fallback_label, [self.fallback_label]
        return Prediction(label=label, score=score, scores=scores, labels=chosen)

    def predict(
        self,
        texts: Sequence[str],
        targets: Sequence[str] | str | None = None,
        batch_size: int = 32,
    ) -> list[Prediction]:
        """One `Prediction` per text, in input order."""
        return [self._to_prediction(row) for row in self.predict_proba(texts, targets, batch_size)]
