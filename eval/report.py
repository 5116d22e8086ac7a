"""Write evaluation reports: a folder with metrics.json, predictions.jsonl, report.md, report.html
and figures/, built in a temporary folder and renamed into place only when complete.

`evaluate_run` serves `stanceframe evaluate --data`; `write_run_reports` writes the dev and test
reports that `stanceframe train` leaves in a finished run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stanceframe.atomic import check_replaceable, staged_folder, write_marker
from stanceframe.eval import bootstrap
from stanceframe.eval.evaluate import Evaluation, evaluate_split, run_reference
from stanceframe.eval.render import draw_figures, render_html, render_markdown
from stanceframe.eval.run_data import data_config, load_eval_split, load_run_splits
from stanceframe.model.classifier import Classifier

REPORT_FOLDER = "report"


@dataclass
class WrittenReport:
    out_dir: Path
    evaluation: Evaluation

    @property
    def metrics(self) -> dict:
        return self.evaluation.metrics


def _prediction_rows(evaluation: Evaluation):
    labels, multi_label = evaluation.label_names, evaluation.multi_label
    predictions = evaluation.predictions
    for index, example in enumerate(evaluation.split.examples):
        if multi_label:
            predicted = [
                name for name, on in zip(labels, predictions.predicted[index], strict=True) if on
            ]
        else:
            predicted = labels[int(predictions.predicted[index])]
        row = {"row": example.location, "text": example.text}
        if example.target is not None:
            row["target"] = example.target
        row.update(
            {
                "gold": example.labels if multi_label else example.labels[0],
                "predicted": predicted,
                "correct": bool((predictions.gold[index] == predictions.predicted[index]).all()),
                "score": float(predictions.scores[index].max()),
                "scores": {
                    name: round(float(value), 6)
                    for name, value in zip(labels, predictions.scores[index], strict=True)
                },
                "abstained": bool(predictions.abstained[index]),
            }
        )
        yield row


def check_writable(out_dir: Path, overwrite: bool, protect: Sequence[Path] = ()) -> None:
    """Refuse an --out folder that exists (without --overwrite) or that stanceframe did not write."""
    check_replaceable(out_dir, overwrite, protect=protect)


def write_report(
    evaluation: Evaluation,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    command: str | None = None,
    protect: Sequence[Path] = (),
) -> WrittenReport:
    """Write one report folder; `protect` names folders it must never replace (the run)."""
    out_path = Path(out_dir)
    check_writable(out_path, overwrite, protect)
    with staged_folder(out_path) as staging:
        drawn = draw_figures(evaluation)
        (staging / "figures").mkdir()
        for figure in drawn:
            (staging / "figures" / f"{figure.name}.png").write_bytes(figure.png)
        (staging / "metrics.json").write_text(
            json.dumps(evaluation.metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        with (staging / "predictions.jsonl").open("w", encoding="utf-8") as predictions_file:
            for row in _prediction_rows(evaluation):
                predictions_file.write(json.dumps(row, ensure_ascii=False) + "\n")
        (staging / "report.md").write_text(
            render_markdown(evaluation, drawn, command), encoding="utf-8"
        )
        (staging / "report.html").write_text(
            render_html(evaluation, drawn, command), encoding="utf-8"
        )
        write_marker(staging, "report")
    return WrittenReport(out_path, evaluation)


def evaluate_run(
    run_dir: str | Path,
    data: str,
    out_dir: str | Path | None = None,
    *,
    overwrite: bool = False,
    baselines: bool = True,
    resamples: int = bootstrap.RESAMPLES,
    seed: int = bootstrap.SEED,
    device: str = "auto",
    batch_size: int = 32,
    text_column: str | None = None,
    label_column: str | None = None,
    target_column: str | None = None,
    command: str | None = None,
) -> WrittenReport:
    """Evaluate a run on a labelled file (in the run's columns) and write a report folder.

    The default folder is RUN/report/<data file stem>.
    """
    run_path = Path(run_dir)
    classifier = Classifier.load(run_path, device=device)
    settings = data_config(
        classifier, text_column=text_column, label_column=label_column, target_column=target_column
    )
    split = load_eval_split(data, classifier, settings)
    out_path = Path(out_dir) if out_dir else run_path / REPORT_FOLDER / split.name
    check_writable(out_path, overwrite, [run_path])  # before the slow part
    reference = run_reference(
        run_path, classifier.labels, classifier.multi_label, baselines=baselines
    )
    evaluation = evaluate_split(
        classifier,
        split,
        reference=reference,
        resamples=resamples,
        seed=seed,
        batch_size=batch_size,
    )
    return write_report(
        evaluation, out_path, overwrite=overwrite, command=command, protect=[run_path]
    )


def write_run_reports(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    overwrite: bool = False,
    baselines: bool = True,
    resamples: int = bootstrap.RESAMPLES,
    seed: int = bootstrap.SEED,
    device: str = "auto",
    batch_size: int = 32,
    command: str | None = None,
) -> list[WrittenReport]:
    """Reports on the run's own dev and test splits, in OUT/dev and OUT/test (OUT: RUN/report)."""
    run_path = Path(run_dir)
    base = Path(out_dir) if out_dir else run_path / REPORT_FOLDER
    run_splits = load_run_splits(run_path)  # raises DataError when the run's data is unreadable
    loaded = run_splits[0]
    splits = [split for split in (loaded.dev, loaded.test) if split is not None]
    for split in splits:
        check_writable(base / split.name, overwrite, [run_path])
    classifier = Classifier.load(run_path, device=device)
    reference = run_reference(
        run_path,
        classifier.labels,
        classifier.multi_label,
        baselines=baselines,
        run_splits=run_splits,
    )
    written = []
    for split in splits:
        evaluation = evaluate_split(
            classifier,
            split,
            reference=reference,
            resamples=resamples,
            seed=seed,
            batch_size=batch_size,
        )
        written.append(
            write_report(
                evaluation,
                base / split.name,
                overwrite=overwrite,
                command=command,
                protect=[run_path],
            )
        )
    return written
