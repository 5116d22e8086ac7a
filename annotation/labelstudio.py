"""Label Studio round trip: records → JSON tasks with the run's pre-annotations and a labelling
config; Label Studio's JSON export → training records, with majority labels and agreement.

The task and export formats are Label Studio's own (labelstud.io/guide/tasks, /guide/export):
each task's `data` holds the record (`text`, `target` for stance pairs, and every other field);
`predictions[].result[]` and `annotations[].result[]` hold `choices` results of the control
named for the run's task (`framing`, `stance`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from stanceframe.annotation.agreement import agreement_summary
from stanceframe.annotation.io import write_json, write_records
from stanceframe.annotation.pool import read_pool
from stanceframe.atomic import check_new_file, staged_file
from stanceframe.errors import DataError
from stanceframe.model.classifier import Classifier
from stanceframe.records import read_text

TEXT_KEY = "text"
TARGET_KEY = "target"
CONTEXT_KEY = "previous_sentence"
# result types of controls that mark spans or regions: another kind of project than ours
SPAN_TYPES = {
    "labels",
    "hypertextlabels",
    "paragraphlabels",
    "timeserieslabels",
    "rectanglelabels",
    "polygonlabels",
    "keypointlabels",
    "brushlabels",
    "ellipselabels",
    "videorectangle",
    "relation",
}


def control_name(task: str | None) -> str:
    """The Choices control's name: the run's task (framing, stance), or `label`."""
    if task and re.fullmatch(r"[A-Za-z_][\w-]*", task):
        return task
    return "label"


def labeling_config(
    label_names: list[str],
    control: str,
    *,
    multi_label: bool = False,
    with_target: bool = False,
    with_context: bool = False,
) -> str:
    """Label Studio's labelling interface: a Choices control over the sentence's Text."""
    lines = ["<View>"]
    if with_context:
        lines += [
            '  <Header value="Previous sentence" size="6"/>',
            f'  <Text name="{CONTEXT_KEY}" value="${CONTEXT_KEY}"/>',
        ]
    if with_target:
        lines += [
            '  <Header value="Target" size="6"/>',
            f'  <Text name="{TARGET_KEY}" value="$target"/>',
        ]
    lines += [
        '  <Header value="Sentence" size="6"/>',
        f'  <Text name="{TEXT_KEY}" value="$text"/>',
        f"  <Choices name={quoteattr(control)} toName={quoteattr(TEXT_KEY)} "
        f'choice="{"multiple" if multi_label else "single-radio"}" showInline="true" '
        'required="true">',
    ]
    for number, label in enumerate(label_names, start=1):
        hotkey = f" hotkey={quoteattr(str(number))}" if number <= 9 else ""
        lines.append(f"    <Choice value={quoteattr(label)}{hotkey}/>")
    lines += ["  </Choices>", "</View>"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- export


@dataclass
class ExportSummary:
    tasks: Path
    config: Path
    rows: int
    id_field: str
    generated_ids: int
    label_counts: dict[str, int]


def export_tasks(
    classifier: Classifier,
    input_path: str,
    tasks_path: Path,
    config_path: Path | None = None,
    *,
    text_column: str = "text",
    target_column: str | None = None,
    target: str | None = None,
    id_field: str = "id",
    require_ids: bool = False,
    model_version: str | None = None,
    batch_size: int = 32,
    overwrite: bool = False,
) -> ExportSummary:
    """Write `input_path`'s records as Label Studio tasks pre-annotated by `classifier`, and the
    labelling config (default: `labeling.xml` beside the tasks)."""
    tasks_path = Path(tasks_path)
    config_path = Path(config_path) if config_path else tasks_path.with_name("labeling.xml")
    if tasks_path.suffix.lower() != ".json":
        raise DataError(f"{tasks_path}: Label Studio imports tasks from a .json file; name it so")
    protect = [Path(input_path)] if input_path != "-" else []
    check_new_file(tasks_path, overwrite, protect)
    check_new_file(config_path, overwrite, protect)
    pool = read_pool(
        classifier,
        input_path,
        text_column=text_column,
        target_column=target_column,
        target=target,
        id_field=id_field,
        require_ids=require_ids,
    )
    with_context = classifier.context != "none"
    ours = {TEXT_KEY: text_column}
    if pool.targets is not None:
        ours[TARGET_KEY] = target_column or classifier.run_meta.input.target_column
    if with_context:
        ours[CONTEXT_KEY] = None
    for record in pool.records:
        for key, source_field in ours.items():
            if key in record.fields and key != source_field:
                raise DataError(
                    f"{record.location}: the record has a field {key!r}, but the task's "
                    f"data.{key} holds the {'previous sentence' if key == CONTEXT_KEY else key}"
                    f"{'' if source_field is None else f' (from {source_field!r})'}; rename it"
                )
    probabilities = classifier.predict_proba(
        pool.texts, pool.targets, batch_size=batch_size, contexts=pool.contexts
    )
    control = control_name(classifier.run_meta.task)
    version = model_version or str(classifier.run_dir)
    label_counts: Counter[str] = Counter()
    tasks = []
    for index, row in enumerate(probabilities):
        prediction = classifier.decide(row)
        data = pool.fields(index)
        data[TEXT_KEY] = pool.texts[index]
        if pool.targets is not None:
            data[TARGET_KEY] = pool.targets[index]
        if with_context:
            data[CONTEXT_KEY] = (pool.contexts[index] if pool.contexts else None) or ""
        chosen = prediction.labels if classifier.multi_label else [prediction.label]
        label_counts.update(chosen)
        result = {
            "from_name": control,
            "to_name": TEXT_KEY,
            "type": "choices",
            "value": {"choices": chosen},
        }
        tasks.append(
            {
                "data": data,
                "predictions": [
                    {
                        "model_version": version,
                        "score": round(prediction.score, 6),
                        "result": [result],
                    }
                ],
            }
        )
    config = labeling_config(
        classifier.labels,
        control,
        multi_label=classifier.multi_label,
        with_target=pool.targets is not None,
        with_context=with_context,
    )
    with staged_file(tasks_path) as stream:
        stream.write("[\n")
        stream.write(
            ",\n".join(json.dumps(task, ensure_ascii=False, default=str) for task in tasks)
        )
        stream.write("\n]\n")
    with staged_file(config_path) as stream:
        stream.write(config)
    return ExportSummary(
        tasks_path,
        config_path,
        len(tasks),
        pool.id_field,
        pool.generated_ids,
        {label: label_counts[label] for label in classifier.labels},
    )


# ---------------------------------------------------------------------------- import


@dataclass
class ImportSummary:
    output: Path
    agreement_file: Path
    tasks: int
    written: int
    unlabelled: list[str] = field(default_factory=list)  # task ids without a usable annotation
    ties: list[str] = field(default_factory=list)  # task ids whose annotators split evenly
    cancelled: int = 0
    renamed: dict[str, str] = field(default_factory=dict)
    agreement: dict[str, Any] = field(default_factory=dict)
    label_counts: dict[str, int] = field(default_factory=dict)


def _annotator(annotation: dict[str, Any]) -> Any:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return who


def _task_id(task: dict[str, Any], position: int) -> str:
    return str(task["id"]) if task.get("id") is not None else f"#{position}"


def _read_export(path: Path) -> list[dict[str, Any]]:
    text = read_text(path)
    try:
        tasks = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(
            f"{path} line {error.lineno}: not valid JSON ({error.msg}); give the file Label "
            "Studio's JSON export wrote"
        ) from None
    if isinstance(tasks, dict) and isinstance(tasks.get("data"), dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise DataError(f"{path}: expected a JSON list of tasks (Label Studio's JSON export)")
    for position, task in enumerate(tasks, start=1):
        if not isinstance(task, dict):
            raise DataError(f"{path}: item {position} is not a task object")
        if not isinstance(task.get("data"), dict):
            shown = ", ".join(sorted(map(str, task))[:8]) or "none"
            raise DataError(
                f"{path} task {_task_id(task, position)}: no 'data' object (fields: {shown}); "
                "this is not Label Studio's JSON export (JSON-MIN and CSV exports drop the "
                "annotations' details): export the project as JSON"
            )
    return tasks


def _choices(
    result: list[Any], control: str, where: str, label_names: list[str], multi_label: bool
) -> frozenset[str] | str | None:
    """The label one annotation gives (a frozenset for multi-label), or None when it gives none."""
    if not isinstance(result, list):
        raise DataError(f"{where}: 'result' is not a list")
    ours, other_controls = [], set()
    for item in result:
        if not isinstance(item, dict):
            raise DataError(f"{where}: a result item is not an object")
        kind = str(item.get("type", "")).lower()
        if kind in SPAN_TYPES:
            raise DataError(
                f"{where}: holds a {kind!r} result (spans or regions marked in the data, from "
                f"control {item.get('from_name')!r}); stanceframe imports one choice per "
                f"sentence from a Choices control ({control!r}): this export is from another "
                "kind of project. Use the labelling config `stanceframe labelstudio export` wrote"
            )
        if kind != "choices":
            continue  # comments, ratings and other controls beside ours
        if item.get("from_name") == control:
            ours.append(item)
        else:
            other_controls.add(str(item.get("from_name")))
    if not ours:
        if other_controls:
            raise DataError(
                f"{where}: its choices come from control {', '.join(sorted(other_controls))}, "
                f"not {control!r}; pass --control NAME to read them"
            )
        return None
    chosen: list[str] = []
    for item in ours:
        value = item.get("value")
        values = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(values, list):
            raise DataError(f"{where}: a {control!r} result has no value.choices list")
        chosen += [str(choice) for choice in values]
    for choice in chosen:
        if choice not in label_names:
            raise DataError(
                f"{where}: label {choice!r} is not one of the run's labels "
                f"({', '.join(label_names)})"
            )
    if multi_label:
        return frozenset(chosen)
    distinct = list(dict.fromkeys(chosen))
    if len(distinct) > 1:
        raise DataError(
            f"{where}: chooses {', '.join(distinct)}; the run takes one label per sentence"
        )
    return distinct[0] if distinct else None


def _decide(
    labels: list[frozenset[str] | str], ground_truth: frozenset[str] | str | None
) -> tuple[frozenset[str] | str | None, float]:
    """The majority label and the share of annotations that gave it (None on a tie)."""
    counts = Counter(labels).most_common()
    if ground_truth is not None:
        winner = ground_truth
    elif len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None, counts[0][1] / len(labels)
    else:
        winner = counts[0][0]
    return winner, sum(label == winner for label in labels) / len(labels)


def import_annotations(
    export_path: Path,
    output: Path,
    *,
    label_names: list[str],
    control: str,
    multi_label: bool = False,
    label_field: str = "label",
    target_field: str | None = "target",
    overwrite: bool = False,
) -> ImportSummary:
    """Turn Label Studio's JSON export into training records (`text`, `label_field`, the target,
    the task's other fields, `agreement`, `annotations`) and write the agreement summary to
    `<output stem>.agreement.json` beside them."""
    export_path, output = Path(export_path), Path(output)
    agreement_file = output.with_name(f"{output.stem}.agreement.json")
    check_new_file(output, overwrite, [export_path])
    check_new_file(agreement_file, overwrite, [export_path])
    tasks = _read_export(export_path)
    if not tasks:
        raise DataError(f"{export_path}: holds no tasks")
    written_fields = {label_field, "agreement", "annotations"}
    rows: list[dict[str, Any]] = []
    all_labels: list[list[tuple[Any, Any]]] = []
    summary = ImportSummary(output, agreement_file, len(tasks), 0)
    for position, task in enumerate(tasks, start=1):
        task_id = _task_id(task, position)
        where_task = f"{export_path} task {task_id}"
        data = task["data"]
        text = data.get(TEXT_KEY)
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where_task}: data.{TEXT_KEY} is missing or empty")
        annotations = task.get("annotations")
        if annotations is None:
            annotations = task.get("completions") or []  # exports of Label Studio before 1.0
        labels, annotators, ground_truth = [], [], None
        for number, annotation in enumerate(annotations, start=1):
            if not isinstance(annotation, dict):
                raise DataError(f"{where_task}: annotation {number} is not an object")
            where = f"{where_task} annotation {annotation.get('id', number)}"
            if annotation.get("was_cancelled"):
                summary.cancelled += 1
                continue
            label = _choices(annotation.get("result"), control, where, label_names, multi_label)
            if label is None:
                continue
            labels.append(label)
            annotators.append(_annotator(annotation))
            if annotation.get("ground_truth"):
                ground_truth = label
        if not labels:
            summary.unlabelled.append(task_id)
            continue
        all_labels.append(list(zip(annotators, labels, strict=True)))
        winner, agreement = _decide(labels, ground_truth)
        if winner is None:
            summary.ties.append(task_id)
            continue
        row: dict[str, Any] = {}
        for key, value in data.items():
            name = f"data_{key}" if key in written_fields else key
            if name != key:
                summary.renamed[key] = name
            row[name] = value
        row[label_field] = sorted(winner) if isinstance(winner, frozenset) else winner
        row["agreement"] = round(agreement, 4)
        row["annotations"] = len(labels)
        if target_field and TARGET_KEY in data and target_field != TARGET_KEY:
            row[target_field] = data[TARGET_KEY]
        rows.append(row)
    counts: Counter[str] = Counter()
    for row in rows:
        value = row[label_field]
        counts.update(value if isinstance(value, list) else [value])
    summary.label_counts = {label: counts[label] for label in label_names}
    summary.agreement = agreement_summary(all_labels)
    summary.written = write_records(output, rows)
    write_json(
        agreement_file,
        {
            "export": str(export_path),
            "output": str(output),
            "tasks": summary.tasks,
            "written": summary.written,
            "cancelled_annotations": summary.cancelled,
            "unlabelled_tasks": summary.unlabelled,
            "tied_tasks": summary.ties,
            "label_counts": summary.label_counts,
            **summary.agreement,
        },
    )
    return summary


@dataclass
class ImportSettings:
    label_names: list[str]
    control: str
    multi_label: bool
    label_field: str
    target_field: str | None
    run: Path | None  # the run they came from, if any


def _run_settings(run: Path) -> ImportSettings:
    import yaml

    from stanceframe.run_files import read_meta

    meta = read_meta(run)
    label_field = "label"
    config_file = run / "config.yaml"
    if config_file.is_file():
        config = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
        label_field = (config.get("data") or {}).get("label_column") or label_field
    return ImportSettings(
        list(meta.labels),
        control_name(meta.task),
        meta.multi_label,
        label_field,
        meta.input.target_column,
        run,
    )


def _predictions(task: dict[str, Any]) -> list[dict[str, Any]]:
    """A task's pre-annotations: in `predictions` (tasks as imported), or, as Label Studio's
    export writes them, as ids there and whole under each annotation's `prediction`."""
    found = [item for item in task.get("predictions") or [] if isinstance(item, dict)]
    for annotation in task.get("annotations") or []:
        if isinstance(annotation, dict) and isinstance(annotation.get("prediction"), dict):
            found.append(annotation["prediction"])
    return found


def import_settings(
    export_path: Path,
    *,
    run: Path | None = None,
    labels: list[str] | None = None,
    control: str | None = None,
    multi_label: bool = False,
) -> ImportSettings:
    """The labels an export may hold and where to find them: from `run`, from `labels`, or from
    the run named as `model_version` by the tasks' pre-annotations (`labelstudio export`)."""
    if run is None and not labels:
        versions = {
            str(prediction.get("model_version"))
            for task in _read_export(Path(export_path))
            for prediction in _predictions(task)
            if prediction.get("model_version")
        }
        runs = [Path(version) for version in versions if (Path(version) / "labels.json").is_file()]
        if len(runs) != 1:
            found = f" (its predictions name {', '.join(sorted(versions))})" if versions else ""
            raise DataError(
                f"{export_path}: say which labels the annotations may use: --run RUN (the run "
                f"that exported the tasks) or --labels a,b,c{found}"
            )
        run = runs[0]
    if run is not None:
        settings = _run_settings(Path(run))
        if control:
            settings.control = control
        return settings
    names = list(dict.fromkeys(label.strip() for label in labels if label.strip()))
    if len(names) < 2:
        raise DataError("--labels: give two labels or more, separated by commas")
    if control is None:
        found = {
            str(item.get("from_name"))
            for task in _read_export(Path(export_path))
            for annotation in task.get("annotations") or []
            if isinstance(annotation, dict) and isinstance(annotation.get("result"), list)
            for item in annotation["result"]
            if isinstance(item, dict) and str(item.get("type", "")).lower() == "choices"
        }
        if len(found) > 1:
            raise DataError(
                f"{export_path}: choices come from several controls ({', '.join(sorted(found))}); "
                "pass --control NAME"
            )
        control = found.pop() if found else "label"
    return ImportSettings(names, control, multi_label, "label", TARGET_KEY, None)
