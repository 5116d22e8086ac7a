"""Training throughput: `stanceframe train` against a plain Hugging Face Trainer script.

    .venv/bin/python benchmarks/bench_training.py

Both fine-tune the bundled all-MiniLM-L6-v2 on the bundled framing train split with the settings
of configs/framing.yaml (batch 32, max length 128, lr 1e-4, warmup 0.1, weight decay 0.01, seed
42, dev macro-F1 at the end of each epoch, checkpoint, best model kept) for --steps optimizer
steps; both evaluate and save once, when the steps run out. The two alternate (--repeats rounds) in one process; each reports the Trainer's own
train_samples_per_second. Writes benchmarks/results/training_<device>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
CONFIG = REPO / "configs" / "framing.yaml"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def stanceframe_samples_per_s(steps: int, device: str, workdir: Path) -> float:
    from stanceframe.training import load_config, train

    overrides = [
        f"training.max_steps={steps}",
        f"training.device={device}",
        f"run_dir={workdir / 'stanceframe-run'}",
    ]
    result = train(load_config(CONFIG, overrides), overwrite=True)
    meta = json.loads((result.run_dir / "stanceframe.json").read_text())
    return float(meta["training"]["train_samples_per_second"])


def plain_trainer_samples_per_s(steps: int, device: str, workdir: Path) -> float:
    """What a user would write with transformers alone, on the same data and settings."""
    import datasets
    import yaml
    from sklearn.metrics import f1_score
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from stanceframe.data import bundled_path
    from stanceframe.training.modeling import resolve_base

    config = yaml.safe_load(CONFIG.read_text())
    labels = config["data"]["labels"]
    training = config["training"]
    base = resolve_base(config["model"]["base"])
    set_seed(training["seed"])  # the new classification head starts from the same weights each run
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
    )

    def encode(split: str) -> datasets.Dataset:
        data_file = str(bundled_path(f"framing/{split}"))
        rows = datasets.load_dataset("json", data_files=data_file, split="train")
        return rows.map(
            lambda batch: {
                **tokenizer(
                    batch["text"], truncation=True, max_length=config["model"]["max_length"]
                ),
                "labels": [labels.index(label) for label in batch["label"]],
            },
            batched=True,
            remove_columns=rows.column_names,
        )

    def compute_metrics(prediction) -> dict[str, float]:
        predicted = prediction.predictions.argmax(-1)
        return {"macro_f1": f1_score(prediction.label_ids, predicted, average="macro")}

    arguments = TrainingArguments(
        output_dir=str(workdir / "plain-trainer"),
        max_steps=steps,
        per_device_train_batch_size=training["batch_size"],
        learning_rate=training["learning_rate"],
        warmup_steps=training["warmup_ratio"],
        weight_decay=training["weight_decay"],
        seed=training["seed"],
        per_device_eval_batch_size=64,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="macro_f1",
        logging_steps=10,
        report_to="none",
        use_cpu=device == "cpu",
        bf16=device == "cuda",
        dataloader_num_workers=0,
    )
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=encode("train"),
        eval_dataset=encode("dev"),
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
    )
    return float(trainer.train().metrics["train_samples_per_second"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of (plain, stanceframe)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    import torch

    rates: dict[str, list[float]] = {"plain Trainer": [], "stanceframe train": []}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-training-") as workdir:
        for repeat in range(args.repeats):
            for name, measure in (
                ("plain Trainer", plain_trainer_samples_per_s),
                ("stanceframe train", stanceframe_samples_per_s),
            ):
                rate = measure(args.steps, args.device, Path(workdir))
                rates[name].append(rate)
                print(f"round {repeat + 1}/{args.repeats} {name}: {rate:.2f} samples/s", flush=True)

    medians = {name: statistics.median(values) for name, values in rates.items()}
    ratio = medians["stanceframe train"] / medians["plain Trainer"]
    lines = [
        "| trainer | samples/s (median) | every round | × plain Trainer |",
        "|---|---:|---|---:|",
    ]
    for name, values in rates.items():
        rounds = ", ".join(f"{value:.2f}" for value in values)
        lines.append(
            f"| {name} | {medians[name]:.2f} | {rounds} | {medians[name] / medians['plain Trainer']:.3f}× |"
        )
    header = (
        f"Training throughput on {args.device} ({os.cpu_count()} cores, torch threads "
        f"{torch.get_num_threads()}): bundled MiniLM on bundled:framing/train, configs/framing.yaml "
        f"settings, {args.steps} steps of batch 32 per run, {args.repeats} alternating rounds; "
        f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after.\n\n"
    )
    payload = {
        "environment": {
            "device": args.device,
            "cpu_cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "steps": args.steps,
            "repeats": args.repeats,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "python": sys.version.split()[0],
            "versions": {name: version(name) for name in ("torch", "transformers", "accelerate")},
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        "samples_per_s": rates,
        "median_samples_per_s": medians,
        "ratio_stanceframe_to_plain": ratio,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    device_name = "cuda" if args.device.startswith("cuda") else "cpu"
    for suffix, text in (
        ("json", json.dumps(payload, indent=2)),
        ("md", header + "\n".join(lines) + "\n"),
    ):
        path = args.out / f"training_{device_name}.{suffix}"
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    print()
    print(header + "\n".join(lines))


if __name__ == "__main__":
    main()
