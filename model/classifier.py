"""`Classifier`: load a trained run and predict labels with scores for sentences (and targets)."""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from stanceframe.errors import RunDirError
from stanceframe.model.backends import (
    BACKENDS,
    InferenceBackend,
    OnnxBackend,
    TorchBackend,
    resolve_device,
)
from stanceframe.run_files import (
    HF_CONFIG_FILE,
    META_FILE,
    RunMeta,
    check_labels,
    check_tokenizer,
    check_weights,
    config_labels,
    read_json,
    read_meta,
    validate_meta,
)
from stanceframe.segments import pair_segments

if TYPE_CHECKING:
    from stanceframe.model.document import DocumentResult

logger = logging.getLogger(__name__)
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


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


def _read_run_meta(run_dir: Path) -> RunMeta:
    """stanceframe's metadata, or what can be read from a plain Hugging Face model folder."""
    if (run_dir / META_FILE).is_file():
        meta = read_meta(run_dir)
        check_labels(run_dir, meta.labels)
        return meta
    config_path = run_dir / HF_CONFIG_FILE
    if not config_path.is_file():
        raise RunDirError(f"{run_dir}: not a run directory (no {META_FILE} and no config.json)")
    labels = config_labels(run_dir)
    problem_type = read_json(config_path).get("problem_type")
    content = {
        "labels": labels,
        "multi_label": problem_type == "multi_label_classification",
        "max_length": 512,
    }
    return validate_meta(content, config_path)


class Classifier:
    """A trained stanceframe run, ready to label text.

    >>> classifier = Classifier.load("runs/framing")
    >>> classifier.predict(["Moscow dismissed the report as fake news."])[0].label
    'denial'
    """

    def __init__(self, backend: InferenceBackend, tokenizer, meta: RunMeta, run_dir: Path):
        self.backend = backend
        self.tokenizer = tokenizer
        # stanceframe.json as RunMeta validated it: typed for stanceframe's own code, and as a plain
        # dict (every field there, unknown ones included) for users and JSON output
        self.run_meta: RunMeta = meta
        self.meta: dict[str, Any] = meta.model_dump(mode="json")
        self.run_dir = run_dir
        self.labels: list[str] = list(meta.labels)
        self.multi_label: bool = meta.multi_label
        self.needs_target: bool = meta.input.target_column is not None
        # data.target_position of a stance run: "first" puts the target before the text
        self.target_first: bool = meta.input.target_position == "first"
        self.max_length: int = min(meta.max_length or 512, tokenizer.model_max_length)
        self.temperature: float = meta.temperature or 1.0
        inference = meta.inference
        self.threshold: float = inference.threshold
        self.label_thresholds: dict[str, float] = inference.thresholds or {}
        self.abstain_threshold: float | None = inference.abstain_threshold
        self.fallback_label: str | None = inference.fallback_label
        # data.context of the run: "previous" reads each sentence with the one before it
        self.context: str = meta.input.context
        self.training_prior: dict[str, float] | None = meta.training_prior
        self.priors: dict[str, float] | None = inference.priors

    @classmethod
    def load(
        cls,
        run_dir: str | Path,
        device: str = "auto",
        threads: int | None = None,
        backend: str = "torch",
        precision: str = "auto",
    ) -> Classifier:
        """Load a run directory (or a plain Hugging Face model folder).

        backend: 'torch', or 'onnx' / 'onnx-int8' for an export made by `stanceframe export`.
        device: 'auto' (a CUDA GPU when one is visible), 'cpu' or 'cuda[:N]'.
        threads: CPU threads for the model (default: the library's, one per core).
        precision: torch on a GPU runs in bf16 (fp16 where bf16 is missing) unless 'fp32' is given.
        """
        from transformers import AutoTokenizer

        run_path = Path(run_dir)
        if not run_path.is_dir():
            raise RunDirError(f"{run_path}: run directory not found")
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
        meta = _read_run_meta(run_path)
        check_tokenizer(run_path)
        if backend == "torch":
            check_weights(run_path)
        if threads:
            torch.set_num_threads(threads)
        tokenizer = AutoTokenizer.from_pretrained(run_path)
        if backend == "torch":
            input_names = tuple(
                name for name in tokenizer.model_input_names if name in TOKEN_INPUTS
            )
            engine = TorchBackend.load(run_path, resolve_device(device), precision, input_names)
        else:
            engine = OnnxBackend.load(run_path, backend, device, threads)
        return cls(engine, tokenizer, meta, run_path)

    def with_backend(self, backend: InferenceBackend) -> Classifier:
        """The same run and settings, predicting through another backend."""
        other = copy.copy(self)
        other.backend = backend
        return other

    @property
    def model(self):
        """The PyTorch model (None for ONNX backends)."""
        return getattr(self.backend, "model", None)

    @property
    def device(self) -> torch.device:
        return self.backend.device

    @property
    def input_names(self) -> tuple[str, ...]:
        return self.backend.input_names

    # ------------------------------------------------------------------ input checks

    def _check_inputs(
        self, texts: Sequence[str], targets: Sequence[str] | str | None
    ) -> list[str] | None:
        if texts is None:
            raise ValueError("texts is None; pass a list of strings")
        if isinstance(texts, str):
            raise ValueError("texts must be a list of strings, not one string")
        if not hasattr(texts, "__len__") or not hasattr(texts, "__getitem__"):
            raise ValueError(f"texts must be a list of strings, not {type(texts).__name__}")
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
        if not self.needs_target:
            # Pairing each text with a target would change every label without a word of warning.
            raise ValueError(
                "this run labels texts on their own (it was trained without targets); "
                "leave out targets"
            )
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

    def _check_contexts(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None
    ) -> list[str] | None:
        """The second segment of a context run: the previous sentence, "" where there is none."""
        if self.context == "none":
            return None
        if contexts is None:
            return [""] * len(texts)
        if len(contexts) != len(texts):
            raise ValueError(f"got {len(contexts)} contexts for {len(texts)} texts")
        for index, context in enumerate(contexts):
            if context is not None and not isinstance(context, str):
                raise ValueError(f"contexts[{index}] is {type(context).__name__}, not a string")
        return [context or "" for context in contexts]

    def _encode(
        self, texts: list[str], targets: list[str] | None, contexts: list[str] | None = None
    ) -> tuple[list[list[int]], list[list[int]] | None]:
        """Token ids (and token type ids where the model takes them), truncated, unpadded."""
        first, second, truncation = pair_segments(
            texts, targets, contexts, target_first=self.target_first
        )
        encoded = self.tokenizer(
            first,
            second,
            truncation=truncation,
            max_length=self.max_length,
            return_attention_mask=False,
            return_token_type_ids="token_type_ids" in self.input_names,
        )
        self._warn_if_truncated(encoded, first, second)
        return encoded["input_ids"], encoded.get("token_type_ids")

    def _warn_if_truncated(self, encoded, texts: list[str], targets: list[str] | None) -> None:
        if encoded.encodings is not None:  # a Rust tokenizer keeps what truncation cut off
            n_truncated = sum(1 for encoding in encoded.encodings if encoding.overflowing)
        else:
            at_limit = [
                i for i, ids in enumerate(encoded["input_ids"]) if len(ids) >= self.max_length
            ]
            full = (
                self.tokenizer(
                    [texts[i] for i in at_limit],
                    [targets[i] for i in at_limit] if targets is not None else None,
                    return_attention_mask=False,
                )["input_ids"]
                if at_limit
                else []
            )
            n_truncated = sum(1 for ids in full if len(ids) > self.max_length)
        if n_truncated:
            warnings.warn(
                f"{n_truncated} of {len(texts)} texts were longer than {self.max_length} tokens and "
                "were truncated",
                stacklevel=5,
            )

    def _batch_arrays(
        self, input_ids: list[list[int]], token_type_ids: list[list[int]] | None
    ) -> dict[str, np.ndarray]:
        """Pad one batch to its own longest row, as the int64 arrays both backends take."""
        width = max(len(ids) for ids in input_ids)
        ids_array = np.full((len(input_ids), width), self.tokenizer.pad_token_id or 0, np.int64)
        mask_array = np.zeros((len(input_ids), width), np.int64)
        types_array = np.zeros((len(input_ids), width), np.int64)
        left = self.tokenizer.padding_side == "left"
        for row, ids in enumerate(input_ids):
            columns = slice(width - len(ids), width) if left else slice(0, len(ids))
            ids_array[row, columns] = ids
            mask_array[row, columns] = 1
            if token_type_ids is not None:
                types_array[row, columns] = token_type_ids[row]
        arrays = {"input_ids": ids_array, "attention_mask": mask_array}
        if token_type_ids is not None:
            arrays["token_type_ids"] = types_array
        return arrays

    def batch_inputs(
        self,
        texts: Sequence[str],
        targets: Sequence[str] | str | None = None,
        contexts: Sequence[str | None] | None = None,
    ) -> dict[str, np.ndarray]:
        """The padded int64 arrays the model takes for these texts, as one batch in input order."""
        checked_targets = self._check_inputs(texts, targets)
        input_ids, token_type_ids = self._encode(
            list(texts), checked_targets, self._check_contexts(texts, contexts)
        )
        return self._batch_arrays(input_ids, token_type_ids)

    def logits(
        self,
        texts: Sequence[str],
        targets: Sequence[str] | str | None = None,
        batch_size: int = 32,
        contexts: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """Raw model outputs [n_texts, n_labels] in input order, before temperature and priors."""
        return self._forward(texts, targets, batch_size, contexts, embeddings=False)[0]

    def logits_and_embeddings(
        self,
        texts: Sequence[str],
        targets: Sequence[str] | str | None = None,
        batch_size: int = 32,
        contexts: Sequence[str | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Logits, and the fine-tuned encoder's sentence embeddings [n_texts, hidden] (the last
        layer mean-pooled over the tokens, unit length), from one pass of the model."""
        logits, embeddings = self._forward(texts, targets, batch_size, contexts, embeddings=True)
        return logits, embeddings

    def embed(
        self,
        texts: Sequence[str],
        targets: Sequence[str] | str | None = None,
        batch_size: int = 32,
        contexts: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """Sentence embeddings from the run's fine-tuned encoder (see `logits_and_embeddings`)."""
        return self.logits_and_embeddings(texts, targets, batch_size, contexts)[1]

    def _forward(
        self,
        texts: Sequence[str],
        targets: Sequence[str] | str | None,
        batch_size: int,
        contexts: Sequence[str | None] | None,
        embeddings: bool,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if embeddings and not hasattr(self.backend, "logits_and_embeddings"):
            raise ValueError(
                f"sentence embeddings come from the torch backend; the {self.backend.name} "
                "backend gives logits only"
            )
        checked_targets = self._check_inputs(texts, targets)
        checked_contexts = self._check_contexts(texts, contexts)
        logits = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        vectors = None
        if len(texts) == 0:
            return logits, np.zeros((0, 0), dtype=np.float32) if embeddings else None
        input_ids, token_type_ids = self._encode(list(texts), checked_targets, checked_contexts)
        # Longest first: each batch pads only to its own longest row, and a batch too big for
        # the GPU fails at the start rather than at the end.
        lengths = np.fromiter((len(ids) for ids in input_ids), dtype=np.int64, count=len(input_ids))
        order = np.argsort(-lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            batch_indices = order[start : start + batch_size]
            batch = self._batch_arrays(
                [input_ids[i] for i in batch_indices],
                [token_type_ids[i] for i in batch_indices] if token_type_ids is not None else None,
            )
            if not embeddings:
                logits[batch_indices] = self.backend.logits(batch)
                continue
            batch_logits, batch_vectors = self.backend.logits_and_embeddings(batch)
            if vectors is None:
                vectors = np.empty((len(input_ids), batch_vectors.shape[1]), dtype=np.float32)
            logits[batch_indices] = batch_logits
            vectors[batch_indices] = batch_vectors
        return logits, vectors

    def probabilities(self, logits: np.ndarray, temperature: float | None = None) -> np.ndarray:
        """Scores from logits: softmax (sigmoid for multi-label) at the run's temperature, then
        shifted to the deployment priors when `priors` are set (single-label runs)."""
        scaled = torch.from_numpy(np.asarray(logits, dtype=np.float32)) / (
            self.temperature if temperature is None else temperature
        )
        if self.multi_label:
            return torch.sigmoid(scaled).numpy()
        probabilities = torch.softmax(scaled, dim=-1).numpy()
        if self.priors:
            from stanceframe.model.priors import shift_to_priors

            probabilities = shift_to_priors(
                probabilities,
                self.prior_vector(self.training_prior),
                self.prior_vector(self.priors),
            )
        return probabilities

    def prior_vector(self, shares: dict[str, float] | None) -> np.ndarray:
        """Shares in label order; uniform when unknown (runs trained before training_prior)."""
        if not shares:
            return np.full(len(self.labels), 1.0 / len(self.labels))
        missing = [label for label in self.labels if label not in shares]
        if missing:
            raise ValueError(f"priors lack {', '.join(missing)}; give a share for every label")
        vector = np.array([float(shares[label]) for label in self.labels], dtype=np.float64)
        return vector / vector.sum()

    def with_priors(self, priors: dict[str, float] | None) -> Classifier:
        """The same run deciding for text with these label shares (None: the training shares)."""
        if priors is not None:
            unknown = set(priors) - set(self.labels)
            if unknown:
                raise ValueError(f"priors: unknown labels {', '.join(sorted(unknown))}")
            if self.multi_label:
                raise ValueError("priors apply to single-label runs")
            vector = self.prior_vector(priors)
            if (vector <= 0).any():
                raise ValueError("every prior must be above 0")
            priors = dict(zip(self.labels, vector.tolist(), strict=True))
        other = copy.copy(self)
        other.priors = priors
        return other

    def predict_proba(
        self,
        texts: Sequence[str],
        targets: Sequence[str] | str | None = None,
        batch_size: int = 32,
        contexts: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """Scores [n_texts, n_labels] in input order (softmax, or sigmoid for multi-label runs)."""
        return self.probabilities(self.logits(texts, targets, batch_size, contexts))

    def decide(self, row: np.ndarray) -> Prediction:
        """The decision for one row of scores: top label (or labels over threshold), abstention."""
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
        contexts: Sequence[str | None] | None = None,
    ) -> list[Prediction]:
        """One `Prediction` per text, in input order.

        contexts: for a run trained with `data.context: previous`, each text's previous sentence
        in its article (None or "" for a first sentence); `analyze` fills them in itself.
        """
        return [
            self.decide(row) for row in self.predict_proba(texts, targets, batch_size, contexts)
        ]

    def analyze(self, text: str, target: str | None = None, batch_size: int = 32) -> DocumentResult:
        """Split an article into sentences, label each, and profile the whole (model/document.py)."""
        from stanceframe.model.document import analyze_texts

        return analyze_texts(self, [text], targets=target, batch_size=batch_size)[0]
