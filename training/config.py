"""The run config: a pydantic schema for the YAML files in configs/, and command-line overrides.

Every default lives here; a config file only says what differs from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stanceframe.errors import ConfigError, problem_field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class ModelConfig(_Section):
    base: str = Field(
        "bundled:minilm",
        description="bundled:minilm, a local model folder, or a Hugging Face hub id.",
    )
    max_length: int = Field(128, gt=8, le=4096)
    random_init: dict[str, Any] | None = Field(
        None,
        description="Build a randomly initialised model of the base's architecture with these "
        "config overrides (e.g. hidden_size) instead of loading weights; for tests and smoke runs.",
    )


class DataConfig(_Section):
    train: str = Field(
        ..., description="Training data: a file, a saved dataset folder, bundled:NAME or hf:ID."
    )
    dev: str | None = Field(None, description="Dev data; when absent a stratified split of train.")
    extra_train: list[str] = Field(
        [],
        description="More training data in the same format, added to train after the dev split "
        "is drawn (so dev is never drawn from it), e.g. bundled:stance/framing_derived.",
    )
    test: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    target_column: str | None = Field(
        None, description="Column holding the stance target; the text is read together with it."
    )
    target_position: Literal["second", "first"] = Field(
        "second",
        description="Where the target goes in the sentence pair: after the text (second segment) "
        "or before it (first segment); the text is what truncation cuts either way.",
    )
    labels: list[str] | None = Field(
        None, description="Label names; inferred from train when absent."
    )
    multi_label: bool = False
    label_separator: str = Field("|", description="Separates labels in a CSV cell (multi-label).")
    dev_fraction: float = Field(0.15, gt=0.0, lt=0.9)
    context: Literal["none", "previous"] = Field(
        "none",
        description="previous: read each sentence together with the sentence before it in its "
        "article (the second segment); rows without an article are read alone.",
    )
    article_column: str = Field("article", description="Column holding a row's article id.")
    target_type_column: str | None = Field(
        None,
        description="Stance: column holding the target's type (country, leader, policy...); "
        "training.target_swap swaps in targets of the same type. Rows without it: any type.",
    )
    group_column: str | None = Field(
        None,
        description="Column holding a row's group (the event or storyline it was written for); "
        "training.target_swap never swaps in a target of the same group.",
    )
    position_column: str = Field(
        "position", description="Column holding a row's 0-based position in its article."
    )

    @field_validator("labels")
    @classmethod
    def _labels_unique(cls, labels: list[str] | None) -> list[str] | None:
        if labels is not None:
            if len(labels) < 2:
                raise ValueError("at least two labels are needed")
            if len(set(labels)) != len(labels):
                raise ValueError("labels must be unique")
        return labels


class DistillationConfig(_Section):
    soft_labels: str = Field(
        ...,
        description="A teacher's logits (`stanceframe soft-labels`): JSONL rows of text, context "
        "and logits; rows whose text is not in train are added as unlabelled rows.",
    )
    temperature: float = Field(2.0, gt=0)
    alpha: float = Field(
        0.5, ge=0, le=1, description="Weight of the teacher's soft labels; 1 - alpha: gold labels."
    )


class TargetSwapConfig(_Section):
    """Target-swap augmentation for stance pairs: copies of training pairs with another target."""

    fraction: float = Field(
        0.3,
        gt=0,
        le=1,
        description="Share of training pairs that get one copy with a swapped-in target.",
    )
    label: str = Field(
        "none",
        description="The label of a copy: the sentence does not speak of the swapped-in target.",
    )


class TrainingConfig(_Section):
    epochs: float = Field(4.0, gt=0)
    max_steps: int = Field(-1, description="Overrides epochs when positive.")
    batch_size: int = Field(32, gt=0)
    eval_batch_size: int = Field(64, gt=0)
    gradient_accumulation_steps: int = Field(1, gt=0)
    learning_rate: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    lr_scheduler: str = "linear"
    seed: int = 42
    class_weights: Literal["auto", "none"] | dict[str, float] = Field(
        "auto", description="auto = inverse label frequency; none; or a weight per label."
    )
    early_stopping_patience: int | None = Field(
        2, description="Evaluations without dev macro-F1 improvement before stopping; null = off."
    )
    sampling: Literal["random", "group_by_length"] = Field(
        "random",
        description="group_by_length: batches of sentences of about the same length (shuffled), "
        "so that little compute goes to padding; about a third faster on a CPU for pairs.",
    )
    eval_strategy: Literal["epoch", "steps"] = "epoch"
    eval_steps: int | None = Field(None, gt=0)
    logging_steps: int = Field(10, gt=0)
    save_total_limit: int = Field(2, gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="auto = bf16 on CUDA GPUs that support it, fp16 on other GPUs, fp32 on CPU.",
    )
    threads: int | None = Field(None, gt=0, description="CPU threads for torch; default: torch's.")
    distillation: DistillationConfig | None = Field(
        None, description="Learn from a teacher run's soft labels as well as the gold labels."
    )
    target_swap: TargetSwapConfig | None = Field(
        None,
        description="Stance: add copies of training pairs whose target is swapped for another "
        "target of the same type that the sentence does not name or pair with, labelled "
        "target_swap.label.",
    )

    @field_validator("max_steps")
    @classmethod
    def _max_steps_is_a_count(cls, max_steps: int) -> int:
        if max_steps == 0 or max_steps < -1:
            raise ValueError("must be -1 (train for `epochs`) or a positive number of steps")
        return max_steps

    @model_validator(mode="after")
    def _steps_need_eval_steps(self) -> TrainingConfig:
        if self.eval_strategy == "steps" and self.eval_steps is None:
            raise ValueError("eval_strategy 'steps' needs eval_steps")
        return self


class InferenceConfig(_Section):
    threshold: float = Field(0.5, gt=0, lt=1, description="Multi-label decision threshold.")
    thresholds: dict[str, float] | None = Field(
        None, description="Per-label multi-label thresholds."
    )
    abstain_threshold: float | None = Field(
        None, gt=0, lt=1, description="Below this top score, predict fallback_label instead."
    )
    fallback_label: str | None = None
    priors: dict[str, float] | None = Field(
        None,
        description="Expected label shares in the text the model will label; decisions shift by "
        "log(prior / training prior). Estimate them with `stanceframe priors`.",
    )

    @field_validator("priors")
    @classmethod
    def _priors_are_shares(cls, priors: dict[str, float] | None) -> dict[str, float] | None:
        if priors is not None:
            if any(share <= 0 for share in priors.values()):
                raise ValueError("every prior must be above 0")
            total = sum(priors.values())
            priors = {label: share / total for label, share in priors.items()}
        return priors


class RunConfig(_Section):
    task: str = Field("framing", description="A name for the task, written into the model card.")
    model: ModelConfig = ModelConfig()
    data: DataConfig
    training: TrainingConfig = TrainingConfig()
    inference: InferenceConfig = InferenceConfig()
    run_dir: str = "runs/framing"

    @model_validator(mode="after")
    def _fallback_is_a_label(self) -> RunConfig:
        fallback = self.inference.fallback_label
        if self.inference.abstain_threshold is not None and fallback is None:
            raise ValueError("inference.abstain_threshold needs inference.fallback_label")
        if fallback is not None and self.data.labels and fallback not in self.data.labels:
            raise ValueError(f"inference.fallback_label {fallback!r} is not one of data.labels")
        if self.data.context != "none" and self.data.target_column:
            raise ValueError(
                "data.context reads a sentence with its neighbour; a stance run "
                "(data.target_column) already uses the second segment for the target"
            )
        if self.data.target_position != "second" and not self.data.target_column:
            raise ValueError("data.target_position places a target: set data.target_column too")
        if self.data.context != "none" and self.data.multi_label:
            raise ValueError("data.context is for single-label runs")
        swap = self.training.target_swap
        if swap is not None:
            if not self.data.target_column or self.data.multi_label:
                raise ValueError(
                    "training.target_swap is for single-label stance runs: set data.target_column"
                )
            if self.data.labels and swap.label not in self.data.labels:
                raise ValueError(
                    f"training.target_swap.label {swap.label!r} is not one of data.labels"
                )
        return self

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def parse_override(override: str) -> tuple[list[str], Any]:
    """Split 'training.epochs=2' into (['training', 'epochs'], 2), the value read as YAML."""
    key, sep, raw_value = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {override!r}: expected KEY=VALUE, e.g. training.epochs=2")
    try:
        value = yaml.safe_load(raw_value) if raw_value.strip() else None
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {override!r}: the value is not valid YAML ({error})") from error
    return key.strip().split("."), value


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for override in overrides:
        path, value = parse_override(override)
        section = raw
        for part in path[:-1]:
            existing = section.get(part)
            if existing is None:
                existing = section[part] = {}
            if not isinstance(existing, dict):
                raise ConfigError(f"--set {override!r}: {part!r} is not a section")
            section = existing
        section[path[-1]] = value
    return raw


def _describe(error: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid config"]
    for problem in error.errors():
        key = problem_field(problem)
        if problem["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        elif problem["type"] == "missing":
            lines.append(f"  {key}: required key is missing")
        else:
            given = problem.get("input")
            lines.append(f"  {key}: {problem['msg']} (got {given!r})")
    return "\n".join(lines)


def config_from_dict(raw: dict[str, Any], source: str = "<config>") -> RunConfig:
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_describe(error, source)) from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Read a YAML config, apply `--set` overrides, and validate it."""
    config_path = Path(path)
    if not config_path.is_file():
        raise ConfigError(f"{config_path}: config file not found")
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{config_path}: not valid YAML ({error})") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: the top level must be a mapping of sections")
    raw = apply_overrides(raw, overrides or [])
    source = str(config_path) + (" (with --set overrides)" if overrides else "")
    return config_from_dict(raw, source)
