"""The `stanceframe` command line: parses arguments and calls the library, nothing more."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from stanceframe.errors import StanceframeError

app = typer.Typer(
    help="Fine-tune and run sentence classifiers for framing and stance in news text.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _fail(error: Exception) -> None:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(2)


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="YAML config, e.g. configs/framing.yaml")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config key: --set training.epochs=2 (repeatable)"),
    ] = None,
    run_dir: Annotated[
        str | None, typer.Option(help="Where to write the run (overrides run_dir)")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue an interrupted run from its last checkpoint")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run directory")] = False,
) -> None:
    """Fine-tune a model from CONFIG, evaluate it on dev and test, and write a run directory."""
    from stanceframe.training import load_config
    from stanceframe.training import train as train_run

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    overrides = list(set_ or []) + ([f"run_dir={run_dir}"] if run_dir else [])
    try:
        run_config = load_config(config, overrides)
        result = train_run(run_config, overwrite=overwrite, resume=resume)
    except StanceframeError as error:
        _fail(error)
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under torchrun, only the main process reports
    for split, scores in result.metrics.items():
        accuracy = scores.get("accuracy", scores.get("subset_accuracy"))
        typer.echo(
            f"{split}: macro-F1 {scores['macro_f1']:.3f}  accuracy {accuracy:.3f}  (n={scores['n']})"
        )
    typer.echo(
        f"run written to {result.run_dir} ({result.global_step} steps, {result.runtime_s:.0f} s)"
    )


@app.command()
def predict(
    run: Annotated[Path, typer.Argument(help="A run directory written by `stanceframe train`")],
    input_path: Annotated[
        str, typer.Argument(metavar="INPUT", help="JSONL, CSV, TSV or .txt file; - for stdin")
    ] = "-",
    output: Annotated[
        str | None, typer.Option("-o", "--output", help="Output .jsonl or .csv; default stdout")
    ] = None,
    text_column: Annotated[str, typer.Option(help="Field holding the text")] = "text",
    target_column: Annotated[
        str | None, typer.Option(help="Field holding the stance target")
    ] = None,
    target: Annotated[str | None, typer.Option(help="One stance target for every row")] = None,
    input_format: Annotated[
        str | None, typer.Option(help="jsonl, csv, tsv or txt (default: by extension)")
    ] = None,
    output_format: Annotated[
        str | None, typer.Option(help="jsonl or csv (default: by extension)")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file")] = False,
) -> None:
    """Label every row of INPUT with RUN; writes JSONL or CSV with label, score and per-label scores."""
    from stanceframe.model import Classifier
    from stanceframe.model.files import predict_file

    try:
        classifier = Classifier.load(run, device=device)
        summary = predict_file(
            classifier,
            input_path,
            output,
            text_column=text_column,
            target_column=target_column,
            target=target,
            input_format=input_format,
            output_format=output_format,
            batch_size=batch_size,
            overwrite=overwrite,
        )
    except (StanceframeError, ValueError) as error:
        _fail(error)
    if output not in (None, "-"):
        counts = ", ".join(f"{label} {count}" for label, count in summary.label_counts.items())
        typer.echo(f"{summary.rows} rows labelled into {summary.output} ({counts})", err=True)


@app.command()
def info(run: Annotated[Path, typer.Argument(help="A run directory")]) -> None:
    """Show a run's task, labels, data, scores and library versions."""
    from stanceframe.training.run_dir import read_meta

    try:
        meta = read_meta(run)
    except StanceframeError as error:
        _fail(error)
    metrics_path = run / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    typer.echo(f"run:        {run}")
    typer.echo(
        f"task:       {meta['task']}  ({'multi-label' if meta['multi_label'] else 'single-label'})"
    )
    typer.echo(f"labels:     {', '.join(meta['labels'])}")
    if meta["input"].get("target_column"):
        typer.echo(f"input:      text + target (column {meta['input']['target_column']!r})")
    typer.echo(f"base model: {meta['base_model']}  (max {meta['max_length']} tokens)")
    typer.echo(
        f"created:    {meta['created_at']}  steps {meta['training']['global_step']}  "
        f"device {meta['training']['device']}"
    )
    if meta.get("temperature"):
        typer.echo(f"calibrated: temperature {meta['temperature']:.3f}")
    for split, fingerprint in meta["data"].items():
        typer.echo(f"data {split:<5} {fingerprint['rows']:>6} rows  {fingerprint['source']}")
    for split, scores in metrics.items():
        typer.echo(f"{split:<5} macro-F1 {scores['macro_f1']:.3f}  n={scores['n']}")
    versions = ", ".join(f"{name} {version}" for name, version in meta["versions"].items())
    typer.echo(f"versions:   {versions}")


def main() -> None:  # pragma: no cover - console entry point for `python -m stanceframe`
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
