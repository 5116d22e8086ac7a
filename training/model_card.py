"""Write the model card (README.md) of a run: intended use, labels, data, metrics, limitations."""

from __future__ import annotations

from typing import Any

from stanceframe.training.config import RunConfig

LABEL_MEANINGS = {
    "accusation": "someone blames or charges another actor with wrongdoing or hostile intent",
    "denial": "someone rejects a claim, charge, report or responsibility",
    "diplomatic_proposal": "someone proposes, calls for or agrees to talks, a summit, ceasefire, "
    "mediation or a deal",
    "other": "none of the above: facts, background, military events, quotes of position",
    "favor": "the text supports the target",
    "against": "the text opposes the target",
    "none": "no attitude toward the target can be read",
}


def _metrics_table(metrics: dict[str, Any]) -> list[str]:
    lines = ["| split | n | accuracy | macro-F1 |", "|---|---:|---:|---:|"]
    for split, scores in metrics.items():
        accuracy = scores.get("accuracy", scores.get("subset_accuracy", 0.0))
        lines.append(f"| {split} | {scores['n']} | {accuracy:.3f} | {scores['macro_f1']:.3f} |")
    return lines


def _per_label_table(scores: dict[str, Any]) -> list[str]:
    lines = ["| label | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for label, row in scores["per_label"].items():
        lines.append(
            f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |"
        )
    return lines


def _context_line(meta: dict[str, Any]) -> str:
    if meta["input"].get("context") == "previous":
        return (
            "- context: each sentence is read with the previous sentence of its article as the "
            "second segment (`data.context: previous`); `analyze` and `serve` pass it automatically"
        )
    return "- context: none; each sentence is read on its own (`data.context: none`)"


def _prior_lines(meta: dict[str, Any]) -> list[str]:
    prior = meta.get("training_prior")
    if not prior:
        return []
    shares = ", ".join(f"{label} {share:.2f}" for label, share in prior.items())
    return [
        f"- label shares the model was fitted to (class weights included): {shares}; for text "
        "with other shares set `inference.priors` (`stanceframe priors RUN FILE` estimates them)"
    ]


def _distillation_lines(training: dict[str, Any]) -> list[str]:
    distillation = training.get("distillation")
    if not distillation:
        return []
    return [
        f"- distilled from `{distillation['soft_labels']}` (temperature "
        f"{distillation['temperature']}, alpha {distillation['alpha']}; "
        f"{distillation['matched_train_rows']} of {distillation['train_rows']} training rows "
        f"with soft labels, {distillation['unlabelled_rows']} unlabelled rows)"
    ]


def render_model_card(config: RunConfig, meta: dict[str, Any], metrics: dict[str, Any]) -> str:
    label_names = meta["labels"]
    pair = meta["input"]["target_column"] is not None
    lines = [
        "---",
        "library_name: transformers",
        "pipeline_tag: text-classification",
        "tags: [stanceframe, text-classification, " + ("stance" if pair else "framing") + "]",
        "---",
        "",
        f"# stanceframe run: {config.task}",
        "",
        f"A `{meta['base_model']}` encoder fine-tuned by stanceframe {meta['versions']['stanceframe']} "
        f"to label {'a sentence read together with a target' if pair else 'sentences'} "
        f"as one of: {', '.join(f'`{label}`' for label in label_names)}"
        + (" (several labels may apply)." if meta["multi_label"] else "."),
        "",
        "## Intended use",
        "",
        "Labelling sentences of news and political text (wire stories, official statements) for "
        "research and analysis, with a human reviewing conclusions. Scores are model confidences, "
        "not probabilities of truth; check calibration in the evaluation report before relying on them.",
        "",
        "```python",
        "from stanceframe import Classifier",
        'classifier = Classifier.load("RUN_DIR")',
        (
            'classifier.predict(["Sentence about the target."], targets=["target"])'
            if pair
            else 'classifier.predict(["The ministry dismissed the allegations as baseless."])'
        ),
        "```",
        "",
        "## Labels",
        "",
    ]
    for label in label_names:
        lines.append(f"- `{label}`: {LABEL_MEANINGS.get(label, 'user-defined label')}")
    lines += ["", "## Data", "", "| split | source | rows | sha256 |", "|---|---|---:|---|"]
    for split, fingerprint in meta["data"].items():
        digest = fingerprint.get("sha256") or fingerprint.get("dataset_fingerprint") or ""
        lines.append(
            f"| {split} | `{fingerprint['source']}` | {fingerprint['rows']} | `{digest[:16]}` |"
        )
    lines += ["", "## Evaluation", ""] + _metrics_table(metrics)
    final_split = "test" if "test" in metrics else "dev"
    if final_split in metrics:
        lines += ["", f"Per label ({final_split}):", ""] + _per_label_table(metrics[final_split])
    training = meta["training"]
    lines += [
        "",
        "## Training",
        "",
        f"- base model: `{meta['base_model']}`; max length {meta['max_length']} tokens",
        f"- epochs {config.training.epochs}, batch size {config.training.batch_size}, "
        f"learning rate {config.training.learning_rate}, warmup {config.training.warmup_ratio}, "
        f"weight decay {config.training.weight_decay}, seed {config.training.seed}",
        f"- class weights: {config.training.class_weights}; best checkpoint by dev macro-F1",
        _context_line(meta),
        *_prior_lines(meta),
        *_distillation_lines(training),
        f"- steps {training['global_step']}, device {training['device']}, precision {training['precision']}, "
        f"{training['runtime_s']:.0f} s",
        # data warnings, and what changed if the run was resumed with --force-resume
        *(f"- warning: {warning}" for warning in training.get("warnings", [])),
        "",
        "## Limitations",
        "",
        "- Trained on the data listed above; sentences far from it (other languages, genres or "
        "label definitions) will be labelled less reliably.",
        "- The label is the act of a sentence's main clause; sentences with several acts get one "
        "primary label.",
        "- The bundled corpus was written for the project, not sampled from real wire copy; scores on "
        "its test split overstate accuracy on real news.",
        "",
        "The resolved config is in `config.yaml`, labels and provenance in `stanceframe.json`, "
        "scores in `metrics.json`, the training log in `metrics.jsonl`.",
        "",
    ]
    return "\n".join(lines)
