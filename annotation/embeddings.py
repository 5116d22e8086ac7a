"""Sentence embeddings from a base encoder (the configured `model.base`, e.g. all-MiniLM-L6-v2):
mean-pooled and unit length, for diversity in `suggest` and the out-of-fold model of `audit`.

A fine-tuned run's own encoder is a poor choice for both: fine-tuning pulls every sentence of a label
together (on the default run, two random dev sentences of the same label have median cosine 0.90,
against 0.13 for the base model), so distances there say little beyond the label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from stanceframe.errors import ConfigError
from stanceframe.model.backends import mean_pooled, resolve_device


class SentenceEncoder:
    """A base model read as a sentence encoder: `encode(texts)` → [n, hidden] float32, unit rows."""

    def __init__(self, model, tokenizer, device: torch.device, max_length: int, name: str):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.max_length = max_length
        self.name = name

    @classmethod
    def load(cls, base: str, device: str = "auto", max_length: int = 128) -> SentenceEncoder:
        """`base` as in a config's `model.base`: bundled:NAME, a model folder or a hub id."""
        from transformers import AutoModel, AutoTokenizer

        from stanceframe.training.modeling import resolve_base

        location = resolve_base(base)
        try:
            tokenizer = AutoTokenizer.from_pretrained(location)
            model = AutoModel.from_pretrained(
                location, use_safetensors=True, trust_remote_code=False
            )
        except (OSError, ValueError) as error:
            raise ConfigError(f"cannot load the encoder {base!r} ({error})") from error
        torch_device = resolve_device(device)
        model.to(torch_device).eval()
        limit = min(max_length, tokenizer.model_max_length or max_length)
        return cls(model, tokenizer, torch_device, limit, base)

    def encode(
        self,
        texts: Sequence[str],
        targets: Sequence[str] | None = None,
        batch_size: int = 32,
    ) -> np.ndarray:
        """One embedding per text (read with its target as a pair where targets are given)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        hidden_size = int(self.model.config.hidden_size)
        if len(texts) == 0:
            return np.zeros((0, hidden_size), dtype=np.float32)
        encoded = self.tokenizer(
            list(texts),
            list(targets) if targets is not None else None,
            truncation="only_first" if targets is not None else True,
            max_length=self.max_length,
        )
        lengths = np.array([len(ids) for ids in encoded["input_ids"]])
        order = np.argsort(-lengths, kind="stable")  # batches of similar length pad little
        embeddings = np.empty((len(texts), hidden_size), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            batch = self.tokenizer.pad(
                {key: [encoded[key][i] for i in indices] for key in encoded},
                return_tensors="pt",
            )
            batch = {key: value.to(self.device) for key, value in batch.items()}
            with torch.inference_mode():
                hidden = self.model(**batch).last_hidden_state
            embeddings[indices] = mean_pooled(hidden, batch["attention_mask"])
        return embeddings
