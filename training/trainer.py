"""Fine-tune with the Hugging Face Trainer and write a self-describing run directory."""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import (
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)

from stanceframe.atomic import write_json
from stanceframe.errors import ConfigError
from stanceframe.metrics import classification_metrics, multilabel_metrics
from stanceframe.run_files import (
    DataFingerprint,
    DistillationRecord,
    RunInference,
    RunInput,
    RunMeta,
    TrainingRecord,
    write_meta,
)
from stanceframe.segments import pair_segments
from stanceframe.training import run_dir as runs
from stanceframe.training.augment import swap_targets
from stanceframe.training.config import DistillationConfig, RunConfig, TrainingConfig
from stanceframe.training.data import LoadedData, Split, load_data
from stanceframe.training.distillation import SoftLabels, load_soft_labels
from stanceframe.training.model_card import render_model_card
from stanceframe.training.modeling import build_model

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    global_step: int
    runtime_s: float
    warnings: list[str]


@dataclass
class DevicePlan:
    device: str
    precision: str

    @property
    def bf16(self) -> bool:
        return self.precision == "bf16"

    @property
    def fp16(self) -> bool:
        return self.precision == "fp16"


def plan_device(training: TrainingConfig) -> DevicePlan:
    cuda = torch.cuda.is_available()
    if training.device == "cuda" and not cuda:
        raise ConfigError("training.device: 'cuda' was asked for but no CUDA GPU is visible")
    device = "cuda" if training.device == "cuda" or (training.device == "auto" and cuda) else "cpu"
    precision = training.precision
    if precision == "auto":
        precision = (
            ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if device == "cuda" else "fp32"
        )
    if precision == "fp16" and device == "cpu":
        raise ConfigError("training.precision: fp16 needs a CUDA GPU; use fp32 or bf16 on CPU")
    return DevicePlan(device, precision)


class WeightedLossTrainer(Trainer):
    """Trainer whose loss weights each class, so rare labels are not drowned out, and that can
    learn from a teacher's soft labels (temperature-scaled KL, Hinton et al. 2015)."""

    def __init__(
        self,
        *args,
        class_weights: torch.Tensor | None,
        multi_label: bool,
        distillation: DistillationConfig | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights
        self.multi_label = multi_label
        self.distillation = distillation

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        teacher_logits = inputs.pop("teacher_logits", None)
        teacher_mask = inputs.pop("teacher_mask", None)
        if self.class_weights is None and teacher_logits is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        logits = outputs.logits
        weights = (
            None
            if self.class_weights is None
            else self.class_weights.to(logits.device, logits.dtype)
        )
        if self.multi_label:
            loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=weights)
            loss = loss_fn(logits, labels.to(logits.dtype))
        elif (labels != -100).any():
            loss = torch.nn.functional.cross_entropy(logits, labels, weight=weights)
        else:  # a batch of unlabelled rows only: the teacher alone teaches
            loss = logits.sum() * 0.0
        if teacher_logits is not None and self.distillation is not None:
            loss = (1 - self.distillation.alpha) * loss + self.distillation.alpha * soft_label_loss(
                logits,
                teacher_logits.to(logits.device, logits.dtype),
                teacher_mask,
                self.distillation.temperature,
            )
        return (loss, outputs) if return_outputs else loss


def soft_label_loss(
    logits: torch.Tensor, teacher_logits: torch.Tensor, mask: torch.Tensor, temperature: float
) -> torch.Tensor:
    """KL(teacher || student) at a temperature, times T² so its gradients keep their scale."""
    student = torch.log_softmax(logits / temperature, dim=-1)
    teacher = torch.softmax(teacher_logits / temperature, dim=-1)
    per_row = torch.nn.functional.kl_div(student, teacher, reduction="none").sum(-1)
    mask = mask.to(per_row.dtype)
    return (per_row * mask).sum() / mask.sum().clamp(min=1.0) * temperature**2


class JsonlMetricsLog(TrainerCallback):
    """Append every training and evaluation log record to metrics.jsonl."""

    def __init__(self, path: Path):
        self.path = path

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "epoch": state.epoch, **logs}
        with self.path.open("a", encoding="utf-8") as log_file:
            log_file.write(json.dumps(record) + "\n")


def class_weight_vector(config: RunConfig, data: LoadedData) -> torch.Tensor | None:
    weights_setting = config.training.class_weights
    label_names = data.label_names
    if weights_setting == "none":
        return None
    if isinstance(weights_setting, dict):
        unknown = set(weights_setting) - set(label_names)
        if unknown:
            raise ConfigError(
                f"training.class_weights: unknown labels {', '.join(sorted(unknown))}"
            )
        return torch.tensor([float(weights_setting.get(label, 1.0)) for label in label_names])
    counts = Counter(label for example in data.train.examples for label in example.labels)
    n_rows = len(data.train.examples)
    if config.data.multi_label:
        # pos_weight: negatives per positive, capped so a very rare label cannot dominate.
        return torch.tensor(
            [min((n_rows - counts[label]) / max(counts[label], 1), 20.0) for label in label_names]
        )
    return torch.tensor(
        [n_rows / (len(label_names) * max(counts[label], 1)) for label in label_names]
    )


def training_prior(config: RunConfig, data: LoadedData) -> dict[str, float] | None:
    """Label shares of train as the loss sees them: counts times class weights, normalised."""
    if config.data.multi_label:
        return None
    counts = Counter(example.labels[0] for example in data.train.examples)
    weights = class_weight_vector(config, data)
    mass = [
        counts[label] * (float(weights[index]) if weights is not None else 1.0)
        for index, label in enumerate(data.label_names)
    ]
    total = sum(mass) or 1.0
    return {label: value / total for label, value in zip(data.label_names, mass, strict=True)}


def encode_split(
    split: Split,
    tokenizer,
    config: RunConfig,
    label_names: list[str],
    teacher: SoftLabels | None = None,
):
    """Tokenise a split (with its targets or previous sentences as the second segment)."""
    import datasets

    label_index = {label: index for index, label in enumerate(label_names)}
    if config.data.multi_label:
        labels = [
            [1.0 if label in example.labels else 0.0 for label in label_names]
            for example in split.examples
        ]
    else:
        labels = [label_index[example.labels[0]] for example in split.examples]
    columns: dict[str, list] = {"text": split.texts, "labels": labels}
    if split.targets is not None:
        columns["second"] = split.targets
    elif config.data.context != "none":
        columns["second"] = split.contexts
    if teacher is not None:
        teacher.add_columns(columns, split, len(label_names))

    def tokenize(batch):
        second = batch.get("second")
        is_target = config.data.target_column is not None
        first, second, truncation = pair_segments(
            batch["text"],
            targets=second if is_target else None,
            contexts=None if is_target else second,
            target_first=config.data.target_position == "first",
        )
        return tokenizer(first, second, truncation=truncation, max_length=config.model.max_length)

    dataset = datasets.Dataset.from_dict(columns)
    kept = {"labels", "teacher_logits", "teacher_mask"}
    return dataset.map(tokenize, batched=True, remove_columns=[c for c in columns if c not in kept])


def probabilities(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    logits_tensor = torch.from_numpy(np.asarray(logits, dtype=np.float32))
    if multi_label:
        return torch.sigmoid(logits_tensor).numpy()
    return torch.softmax(logits_tensor, dim=-1).numpy()


def score_logits(
    logits, gold, label_names: list[str], multi_label: bool, threshold: float
) -> dict[str, Any]:
    if multi_label:
        predicted = probabilities(logits, True) >= threshold
        return multilabel_metrics(np.asarray(gold), predicted, label_names)
    return classification_metrics(np.asarray(gold), np.asarray(logits).argmax(-1), label_names)


def training_arguments(
    config: RunConfig, staging: Path, plan: DevicePlan, n_train: int
) -> TrainingArguments:
    training = config.training
    steps_strategy = training.eval_strategy == "steps"
    return TrainingArguments(
        output_dir=str(staging / "checkpoints"),
        num_train_epochs=training.epochs,
        max_steps=training.max_steps,
        per_device_train_batch_size=training.batch_size,
        per_device_eval_batch_size=training.eval_batch_size,
        gradient_accumulation_steps=training.gradient_accumulation_steps,
        learning_rate=training.learning_rate,
        weight_decay=training.weight_decay,
        warmup_steps=training.warmup_ratio,
        lr_scheduler_type=training.lr_scheduler,
        seed=training.seed,
        data_seed=training.seed,
        train_sampling_strategy=training.sampling,
        eval_strategy=training.eval_strategy,
        save_strategy=training.eval_strategy,
        eval_steps=training.eval_steps if steps_strategy else None,
        save_steps=training.eval_steps if steps_strategy else None,
        logging_steps=training.logging_steps,
        save_total_limit=training.save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model="macro_f1",
        greater_is_better=True,
        use_cpu=plan.device == "cpu",
        bf16=plan.bf16,
        fp16=plan.fp16,
        report_to="none",
        dataloader_num_workers=0,
        # the teacher's logits travel in the batch; the text columns were already dropped
        remove_unused_columns=config.training.distillation is None,
    )


def _config_error_if_labels_mismatch(config: RunConfig, data: LoadedData) -> None:
    fallback = config.inference.fallback_label
    if fallback is not None and fallback not in data.label_names:
        raise ConfigError(
            f"inference.fallback_label {fallback!r} is not one of {', '.join(data.label_names)}"
        )
    swap = config.training.target_swap
    if swap is not None and swap.label not in data.label_names:
        raise ConfigError(
            f"training.target_swap.label {swap.label!r} is not one of {', '.join(data.label_names)}"
        )
    thresholds = config.inference.thresholds or {}
    unknown = set(thresholds) - set(data.label_names)
    if unknown:
        raise ConfigError(f"inference.thresholds: unknown labels {', '.join(sorted(unknown))}")


def _checkpoint_step(checkpoint: str | None) -> int | None:
    return int(Path(checkpoint).name.rpartition("-")[2]) if checkpoint else None


def train(
    config: RunConfig,
    *,
    overwrite: bool = False,
    resume: bool = False,
    force_resume: bool = False,
    extra_callbacks: list[TrainerCallback] | None = None,
) -> TrainResult:
    """Validate data, fine-tune, evaluate on dev and test, and write the run directory.

    `resume` refuses a run started with other settings or data unless `force_resume`.
    """
    run_dir = Path(config.run_dir)
    resume = resume or force_resume
    data = load_data(config.data, config.training.seed)
    _config_error_if_labels_mismatch(config, data)
    swapped = None
    if config.training.target_swap is not None:
        swapped = swap_targets(data.train, config.training.target_swap, config.training.seed)
        data.train = swapped.split
        logger.info(
            "target swap: %d copies added (%d drawn pairs had no safe target)",
            swapped.added,
            swapped.without_candidate,
        )
    plan = plan_device(config.training)
    # Under torchrun / accelerate launch every process runs this function; the main one writes the run.
    main_process = int(os.environ.get("RANK", "0")) == 0
    # Everything that can refuse the start does so before RUN.partial is made or touched.
    runs.check_start(run_dir, overwrite=overwrite, resume=resume)
    start_record = runs.start_record(config, data)
    if resume:
        data.warnings += runs.check_resume(run_dir, start_record, force=force_resume)
    if config.training.threads:
        torch.set_num_threads(config.training.threads)

    # The classification head is initialised inside build_model: seed first, or two runs differ.
    set_seed(config.training.seed)
    model, tokenizer = build_model(config.model, data.label_names, config.data.multi_label)
    # a bad soft-label file is refused before RUN.partial is made, like every other input
    teacher = load_soft_labels(config, data) if config.training.distillation is not None else None
    staging = runs.prepare(run_dir, overwrite=overwrite, resume=resume, main_process=main_process)
    if main_process and not resume:
        runs.write_start(staging, start_record)
    train_set = encode_split(data.train, tokenizer, config, data.label_names, teacher)
    dev_set = encode_split(data.dev, tokenizer, config, data.label_names)
    threshold = config.inference.threshold

    def compute_metrics(prediction) -> dict[str, float]:
        scores = score_logits(
            prediction.predictions,
            prediction.label_ids,
            data.label_names,
            config.data.multi_label,
            threshold,
        )
        accuracy = scores.get("accuracy", scores.get("subset_accuracy"))
        return {"macro_f1": scores["macro_f1"], "accuracy": accuracy}

    callbacks: list[TrainerCallback] = [JsonlMetricsLog(staging / "metrics.jsonl")]
    if config.training.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(config.training.early_stopping_patience))
    callbacks += extra_callbacks or []
    trainer = WeightedLossTrainer(
        model=model,
        args=training_arguments(config, staging, plan, len(train_set)),
        train_dataset=train_set,
        eval_dataset=dev_set,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
        callbacks=callbacks,
        class_weights=class_weight_vector(config, data),
        multi_label=config.data.multi_label,
        distillation=config.training.distillation,
    )
    started = time.perf_counter()
    checkpoint = runs.last_checkpoint(run_dir) if resume else None  # complete ones only
    output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    runtime_s = time.perf_counter() - started

    metrics: dict[str, Any] = {}
    quantification = None
    for split in (data.dev, data.test):
        if split is None:
            continue
        encoded = (
            dev_set
            if split is data.dev
            else encode_split(split, tokenizer, config, data.label_names)
        )
        prediction = trainer.predict(encoded)
        if split is data.dev and not config.data.multi_label:
            quantification = runs.quantification_record(
                split, data.label_names, prediction.label_ids, prediction.predictions, "train"
            )
        metrics[split.name] = score_logits(
            prediction.predictions,
            prediction.label_ids,
            data.label_names,
            config.data.multi_label,
            threshold,
        )

    trainer.save_model(str(staging))
    if not trainer.is_world_process_zero():
        return TrainResult(run_dir, metrics, output.global_step, runtime_s, data.warnings)
    meta = RunMeta(
        task=config.task,
        labels=data.label_names,
        multi_label=config.data.multi_label,
        input=RunInput(
            text_column=config.data.text_column,
            target_column=config.data.target_column,
            target_position=config.data.target_position,
            context=config.data.context,
            article_column=config.data.article_column,
            position_column=config.data.position_column,
        ),
        training_prior=training_prior(config, data),
        max_length=config.model.max_length,
        base_model=config.model.base,
        inference=RunInference(**config.inference.model_dump(mode="json")),
        data={split.name: DataFingerprint(**split.fingerprint) for split in data.splits},
        training=TrainingRecord(
            global_step=output.global_step,
            distillation=None
            if teacher is None
            else DistillationRecord(
                **config.training.distillation.model_dump(), **teacher.summary()
            ),
            train_rows=len(data.train.examples),
            target_swap_rows=None if swapped is None else swapped.added,
            # the checkpoint folders are deleted with the staging folder; keep the step they were at
            best_step=_checkpoint_step(trainer.state.best_model_checkpoint),
            best_dev_macro_f1=trainer.state.best_metric,
            runtime_s=runtime_s,
            train_samples_per_second=output.metrics.get("train_samples_per_second"),
            device=plan.device,
            precision=plan.precision,
            warnings=data.warnings,
        ),
        versions=runs.library_versions(),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    write_meta(staging, meta)
    write_json(staging / "labels.json", data.label_names)
    write_json(staging / "metrics.json", metrics)
    if quantification is not None:
        write_json(staging / runs.QUANTIFICATION_FILE, quantification)
    (staging / "config.yaml").write_text(config.to_yaml(), encoding="utf-8")
    (staging / "README.md").write_text(render_model_card(config, meta, metrics), encoding="utf-8")
    runs.finalize(staging, run_dir)
    logger.info("run written to %s", run_dir)
    return TrainResult(run_dir, metrics, output.global_step, runtime_s, data.warnings)
