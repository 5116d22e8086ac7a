"""The `stanceframe` command line: parses arguments and calls the library, nothing more."""

from __future__ import annotations

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


def _with_priors(classifier, priors: str | None):
    """`--priors`: none (the training shares), LABEL=SHARE,... or a JSON file; default: the run's."""
    if priors is None:
        return classifier
    if priors == "none":
        return classifier.with_priors(None)
    from stanceframe.model.priors import parse_priors

    return classifier.with_priors(parse_priors(priors, classifier.labels))


PRIORS_HELP = (
    "Expected label shares of your text: LABEL=SHARE,... or a JSON file (see `stanceframe priors`); "
    "'none' ignores the run's stored priors"
)


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
    force_resume: Annotated[
        bool,
        typer.Option(help="--resume even though the config or data changed since the run started"),
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run directory")] = False,
    report: Annotated[
        bool, typer.Option(help="Write evaluation reports for dev and test into RUN/report")
    ] = True,
) -> None:
    """Fine-tune a model from CONFIG, evaluate it on dev and test, and write a run directory."""
    from stanceframe.training import load_config
    from stanceframe.training import train as train_run

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    overrides = list(set_ or []) + ([f"run_dir={run_dir}"] if run_dir else [])
    try:
        run_config = load_config(config, overrides)
        result = train_run(
            run_config, overwrite=overwrite, resume=resume, force_resume=force_resume
        )
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
    for warning in result.warnings:  # said at the start too; repeated where the scores are read
        typer.echo(f"warning: {warning}", err=True)
    if report:
        _write_run_reports(result.run_dir, True, overwrite=False, command=" ".join(sys.argv))


@app.command()
def predict(
    run: Annotated[Path, typer.Argument(help="A run directory written by `stanceframe train`")],
    input_path: Annotated[
        str,
        typer.Argument(metavar="INPUT", help="JSONL, CSV, TSV, Parquet or .txt file; - for stdin"),
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
    prefix: Annotated[
        str,
        typer.Option(
            help="Put this before the prediction fields (--prefix pred_ writes pred_label, "
            "pred_score, ...), for input that has its own label or score fields"
        ),
    ] = "",
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file")] = False,
    backend: Annotated[
        str,
        typer.Option(help="torch, onnx or onnx-int8 (the ONNX ones need `stanceframe export`)"),
    ] = "torch",
    threads: Annotated[
        int | None, typer.Option(min=1, help="CPU threads for the model (default: one per core)")
    ] = None,
    chunk_size: Annotated[
        int, typer.Option(min=1, help="Rows read, labelled and written at a time")
    ] = 4096,
    precision: Annotated[
        str, typer.Option(help="torch on a GPU: auto (bf16, else fp16), fp32, fp16 or bf16")
    ] = "auto",
    progress: Annotated[
        bool | None,
        typer.Option(
            help="Show a progress bar with sentences/s (default: when stderr is a terminal)"
        ),
    ] = None,
    priors: Annotated[str | None, typer.Option(help=PRIORS_HELP)] = None,
    engine: Annotated[
        str,
        typer.Option(
            help="local, or ray: INPUT a folder or glob of shards, -o a folder of Parquet files"
        ),
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="--engine ray: cluster address (default: $RAY_ADDRESS)")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="--engine ray: labelling actors (default: CPUs)")
    ] = None,
) -> None:
    """Label every row of INPUT with RUN; writes JSONL or CSV with label, score and per-label scores.

    For a run trained with `data.context: previous`, rows with an `article` field are read after
    the row before them in the same article."""
    from stanceframe.model import Classifier
    from stanceframe.model.files import PredictionInterrupted, predict_file

    if engine not in ("local", "ray"):
        _fail(ValueError(f"--engine {engine!r} is not one of local, ray"))
    try:
        classifier = Classifier.load(
            run, device=device, threads=threads, backend=backend, precision=precision
        )
        classifier = _with_priors(classifier, priors)
        if engine == "ray":
            _predict_with_ray(
                classifier,
                input_path,
                output,
                overwrite=overwrite,
                address=ray_address,
                workers=workers,
                device=device,
                threads=threads,
                text_column=text_column,
                target_column=target_column,
                target=target,
                batch_size=batch_size,
                chunk_size=chunk_size,
                prefix=prefix,
            )
            return
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
            chunk_size=chunk_size,
            overwrite=overwrite,
            progress=sys.stderr.isatty() if progress is None else progress,
            prefix=prefix,
        )
    except PredictionInterrupted as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(130) from None
    except (StanceframeError, ValueError) as error:
        _fail(error)
    if output not in (None, "-"):
        counts = ", ".join(f"{label} {count}" for label, count in summary.label_counts.items())
        typer.echo(f"{summary.rows} rows labelled into {summary.output} ({counts})", err=True)


def _predict_with_ray(classifier, input_path: str, output: str | None, **options) -> None:
    from stanceframe.model.ray_predict import predict_with_ray

    if input_path == "-" or output in (None, "-"):
        raise ValueError(
            "--engine ray reads files (INPUT: a folder, glob or file) into a folder (-o)"
        )
    summary = predict_with_ray(classifier, [input_path], output, **options)
    typer.echo(
        f"{summary.rows} rows of {len(summary.shards)} shards labelled into {summary.out_dir}",
        err=True,
    )


@app.command()
def info(run: Annotated[Path, typer.Argument(help="A run directory")]) -> None:
    """Show a run's task, labels, data, scores and library versions."""
    from stanceframe.run_files import read_json, read_meta

    try:
        meta = read_meta(run)
        metrics_path = run / "metrics.json"
        metrics = read_json(metrics_path) if metrics_path.is_file() else {}
    except StanceframeError as error:
        _fail(error)
    training = meta.training
    steps = "?" if training.global_step is None else training.global_step
    typer.echo(f"run:        {run}")
    typer.echo(
        f"task:       {meta.task or '?'}  ({'multi-label' if meta.multi_label else 'single-label'})"
    )
    typer.echo(f"labels:     {', '.join(meta.labels)}")
    if meta.input.target_column:
        typer.echo(f"input:      text + target (column {meta.input.target_column!r})")
    typer.echo(f"base model: {meta.base_model or '?'}  (max {meta.max_length} tokens)")
    typer.echo(
        f"created:    {meta.created_at or '?'}  steps {steps}  device {training.device or '?'}"
    )
    if meta.temperature:
        typer.echo(f"calibrated: temperature {meta.temperature:.3f}")
    for split, fingerprint in meta.data.items():
        typer.echo(f"data {split:<5} {fingerprint.rows:>6} rows  {fingerprint.source}")
    for split, scores in (metrics if isinstance(metrics, dict) else {}).items():
        if isinstance(scores, dict) and "macro_f1" in scores:
            typer.echo(f"{split:<5} macro-F1 {scores['macro_f1']:.3f}  n={scores.get('n')}")
    versions = ", ".join(f"{name} {version}" for name, version in meta.versions.items())
    typer.echo(f"versions:   {versions}")


@app.command()
def analyze(
    run: Annotated[Path, typer.Argument(help="A run directory written by `stanceframe train`")],
    inputs: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE_OR_DIR...",
            help=".txt files (one article each), .jsonl or .csv files (one article a record), "
            "folders of .txt and .jsonl files, or - for one article on stdin",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the results to")],
    overwrite: Annotated[bool, typer.Option(help="Replace an earlier analyze output")] = False,
    text_field: Annotated[
        str, typer.Option(help="JSONL field (CSV column) holding the article")
    ] = "text",
    id_field: Annotated[
        str, typer.Option(help="JSONL field (CSV column) holding the article id")
    ] = "id",
    target: Annotated[
        str | None, typer.Option(help="Stance models: one target for every article")
    ] = None,
    target_field: Annotated[
        str | None, typer.Option(help="Stance models: JSONL field holding each article's target")
    ] = None,
    html: Annotated[bool, typer.Option(help="Write the HTML pages (index.html, html/)")] = True,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    threads: Annotated[
        int | None, typer.Option(min=1, help="CPU threads for the model (default: one per core)")
    ] = None,
    priors: Annotated[str | None, typer.Option(help=PRIORS_HELP)] = None,
) -> None:
    """Split articles into sentences, label each with RUN, and write per-sentence results,
    per-article framing profiles and an HTML view to --out."""
    from stanceframe.model import Classifier
    from stanceframe.model.analyze_files import analyze_files, format_summary

    try:
        classifier = _with_priors(Classifier.load(run, device=device, threads=threads), priors)
        summary = analyze_files(
            classifier,
            inputs,
            out,
            overwrite=overwrite,
            text_field=text_field,
            id_field=id_field,
            target=target,
            target_field=target_field,
            batch_size=batch_size,
            html=html,
        )
    except (StanceframeError, ValueError) as error:
        _fail(error)
    typer.echo(format_summary(summary, classifier.labels))


@app.command()
def profile(
    run: Annotated[Path, typer.Argument(help="A run directory written by `stanceframe train`")],
    corpus: Annotated[
        list[str],
        typer.Argument(
            metavar="CORPUS...",
            help="Article records (.jsonl, .csv, .tsv, .parquet; one article a row, `text` plus "
            "metadata), folders of such shards, or glob patterns",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the results to")],
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="Group by this record field, e.g. outlet (repeatable)"),
    ] = None,
    time: Annotated[
        str | None,
        typer.Option(help="Also group by calendar period of a date field: FIELD:month|week|year"),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            help="Correction: em (default; measured best), acc, pacc, pcc, or cc (raw counts)"
        ),
    ] = "em",
    sentences: Annotated[
        bool,
        typer.Option(
            "--sentences", help="Records are sentences (with --article-field), not articles"
        ),
    ] = False,
    min_group: Annotated[
        int, typer.Option(min=1, help="Groups with fewer sentences are reported but flagged")
    ] = 30,
    resamples: Annotated[int, typer.Option(min=10, help="Bootstrap resamples")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed")] = 0,
    dev: Annotated[
        str | None,
        typer.Option(
            help="Labelled dev data for the correction (default: the run's own dev statistics)"
        ),
    ] = None,
    text_field: Annotated[str, typer.Option(help="Field holding the article's text")] = "text",
    id_field: Annotated[str, typer.Option(help="Field holding the article's id")] = "id",
    article_field: Annotated[
        str | None,
        typer.Option(help="--sentences: field naming each sentence's article (default: article)"),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Stance runs: one target for every record")
    ] = None,
    target_field: Annotated[
        str | None, typer.Option(help="Stance runs: field holding each record's target")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="local (this process) or ray (Ray Data; see --ray-address)")
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to use (default: $RAY_ADDRESS, or a local Ray on this machine)"
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="--engine ray: labelling actors (default: CPUs)")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an earlier profile output")] = False,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    threads: Annotated[
        int | None, typer.Option(min=1, help="CPU threads for the model (default: one per core)")
    ] = None,
) -> None:
    """Label CORPUS with RUN and write each group's label shares, corrected for the model's errors
    with 95% intervals: profiles.csv, sentences.csv, profiles.json and report.html in --out."""
    from stanceframe.eval.profile import ProfileSettings, write_profile
    from stanceframe.model import Classifier

    try:
        classifier = Classifier.load(run, device=device, threads=threads)
        settings = ProfileSettings.for_run(
            classifier,
            by,
            time,
            article_field,
            method=method,
            sentences=sentences,
            min_group=min_group,
            resamples=resamples,
            seed=seed,
            text_field=text_field,
            id_field=id_field,
            target=target,
            target_field=target_field,
            batch_size=batch_size,
        )
        result = write_profile(
            classifier,
            corpus,
            out,
            settings,
            overwrite=overwrite,
            dev=dev,
            engine=engine,
            ray_address=ray_address,
            command=" ".join(sys.argv),
            run_options={"device": device, "threads": threads, "workers": workers},
        )
    except (StanceframeError, ValueError) as error:
        _fail(error)
    summary = result.summary
    for note in summary["notes"]:
        typer.echo(f"note: {note}", err=True)
    typer.echo(
        f"{summary['articles']} articles, {summary['sentences']} sentences, {summary['groups']} "
        f"groups ({len(summary['small_groups'])} under {min_group} sentences, flagged); "
        f"method {summary['method']}, {summary['interval']['resamples']} resamples"
    )
    typer.echo(f"{'label':<22}{'counted':>9}{'corrected':>11}   95% interval")
    for label, values in summary["overall"].items():
        typer.echo(
            f"{label:<22}{values['share']:>9.3f}{values['corrected_share']:>11.3f}   "
            f"{values['ci_low']:.3f}-{values['ci_high']:.3f}"
        )
    typer.echo(f"written to {out}: profiles.csv, sentences.csv, profiles.json, report.html")


@app.command()
def serve(
    run: Annotated[Path, typer.Argument(help="A run directory written by `stanceframe train`")],
    host: Annotated[
        str, typer.Option(help="Interface to listen on; the default answers this machine only")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="CPU threads for the model (default: all cores but one)"),
    ] = None,
    max_texts: Annotated[int, typer.Option(min=1, help="Texts per /v1/classify request")] = 256,
    max_text_chars: Annotated[int, typer.Option(min=1, help="Characters per text")] = 5_000,
    max_document_chars: Annotated[
        int, typer.Option(min=1, help="Characters per /v1/analyze article")
    ] = 100_000,
    max_body_bytes: Annotated[int, typer.Option(min=1, help="Bytes per request body")] = 4_000_000,
    max_batch_texts: Annotated[
        int, typer.Option(min=1, help="Texts the model takes at once, across requests")
    ] = 128,
    batch_wait_ms: Annotated[
        float, typer.Option(min=0, help="How long a lone request waits for others to batch with")
    ] = 0.0,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve RUN over HTTP: a web page for people at /, and POST /v1/classify, POST /v1/analyze,
    POST /v1/analyze/file, GET /v1/info, GET /healthz (OpenAPI at /openapi.json, docs at /docs)."""
    from stanceframe.server import ServiceLimits
    from stanceframe.server import serve as serve_run

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    limits = ServiceLimits(
        max_texts=max_texts,
        max_text_chars=max_text_chars,
        max_document_chars=max_document_chars,
        max_body_bytes=max_body_bytes,
        max_batch_texts=max_batch_texts,
        batch_wait_ms=batch_wait_ms,
    )
    try:
        serve_run(
            run,
            host=host,
            port=port,
            device=device,
            threads=threads,
            limits=limits,
            log_level=log_level,
        )
    except (StanceframeError, ValueError) as error:
        _fail(error)


@app.command()
def export(
    run: Annotated[Path, typer.Argument(help="A run directory written by `stanceframe train`")],
    onnx: Annotated[
        bool, typer.Option("--onnx", help="Export to ONNX (RUN/onnx/model.onnx)")
    ] = False,
    quantize: Annotated[
        str | None,
        typer.Option(help="int8: also write a dynamically quantised model.int8.onnx for CPUs"),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing export")] = False,
) -> None:
    """Export RUN for fast inference; then `stanceframe predict RUN --backend onnx|onnx-int8`."""
    from stanceframe.model.export import export_onnx

    if not onnx:
        _fail(ValueError("choose what to export: --onnx (the only format so far)"))
    try:
        result = export_onnx(run, quantize=quantize, overwrite=overwrite)
    except (StanceframeError, ValueError) as error:
        _fail(error)
    for backend_name, path in result.files.items():
        parity = result.parity[backend_name]
        typer.echo(
            f"{backend_name:<9} {path}  ({path.stat().st_size / 2**20:.1f} MiB; probabilities within "
            f"{parity['max_abs_diff']:.1e} of torch on {parity['probe_sentences']} probe sentences)"
        )


def _echo_report(written) -> None:
    metrics = written.metrics
    accuracy_key = "subset_accuracy" if metrics["multi_label"] else "accuracy"
    interval = metrics["intervals"]["macro_f1"]
    stance = metrics.get("stance") or {}
    f_avg = f"  F_avg {stance['f_avg']:.3f}" if stance.get("f_avg") is not None else ""
    typer.echo(
        f"{metrics['split']}: macro-F1 {metrics['macro_f1']:.3f} "
        f"[{interval['low']:.3f}, {interval['high']:.3f}]  "
        f"{accuracy_key.replace('_', ' ')} {metrics[accuracy_key]:.3f}{f_avg}  "
        f"ECE {metrics['calibration']['ece']:.3f}  (n={metrics['n']})"
    )
    for name, entry in metrics["baselines"].items():
        typer.echo(f"  baseline {name:<16} macro-F1 {entry['macro_f1']:.3f}")
    for warning in metrics["warnings"]:
        typer.echo(f"  warning: {warning}")
    typer.echo(f"  report: {written.out_dir / 'report.html'}")


def _write_run_reports(run: Path, after_training: bool = False, **options) -> None:
    from stanceframe.eval.report import write_run_reports

    try:
        written = write_run_reports(run, **options)
    except StanceframeError as error:
        if after_training:
            error = StanceframeError(
                f"the run is written, but its report failed: {error}. "
                f"`stanceframe evaluate {run}` tries again"
            )
        _fail(error)
    for report in written:
        _echo_report(report)


@app.command()
def evaluate(
    run: Annotated[Path, typer.Argument(help="A run directory")],
    data: Annotated[
        str | None,
        typer.Option(
            help="Labelled file in the run's columns (JSONL, CSV, TSV, Parquet); "
            "default: the run's own dev and test splits"
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Report folder; default RUN/report/<data file stem> (dev/, test/)"),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing report folder")] = False,
    baselines: Annotated[
        bool, typer.Option(help="Train and score the three baselines on the run's training data")
    ] = True,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed")] = 0,
    text_column: Annotated[str | None, typer.Option(help="Text field, if not the run's")] = None,
    label_column: Annotated[str | None, typer.Option(help="Label field, if not the run's")] = None,
    target_column: Annotated[
        str | None, typer.Option(help="Stance target field, if not the run's")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
) -> None:
    """Score RUN on labelled data and write metrics.json, report.md and report.html."""
    from stanceframe.eval.report import evaluate_run

    options = {
        "overwrite": overwrite,
        "baselines": baselines,
        "resamples": resamples,
        "seed": seed,
        "device": device,
        "batch_size": batch_size,
        "command": " ".join(sys.argv),
    }
    if data is None:
        _write_run_reports(run, out_dir=out, **options)
        return
    try:
        written = evaluate_run(
            run,
            data,
            out,
            text_column=text_column,
            label_column=label_column,
            target_column=target_column,
            **options,
        )
    except (StanceframeError, ValueError) as error:
        _fail(error)
    _echo_report(written)


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="The reference run (A)")],
    run_b: Annotated[Path, typer.Argument(help="The run compared with it (B)")],
    data: Annotated[
        str | None, typer.Option(help="Labelled file in A's columns; default: A's test split")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write comparison.json, comparison.md, disagreements.jsonl here"),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out folder")] = False,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed")] = 0,
    show: Annotated[int, typer.Option(min=0, help="Disagreements to print")] = 10,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
) -> None:
    """Compare two runs on the same rows: paired bootstrap test on macro-F1, and disagreements."""
    from stanceframe.eval.compare import compare_runs, render_comparison_markdown, write_comparison
    from stanceframe.eval.report import check_writable

    try:
        if out is not None:
            check_writable(out, overwrite, [run_a, run_b])  # before the slow part
        comparison = compare_runs(
            run_a, run_b, data, resamples=resamples, seed=seed, device=device, batch_size=batch_size
        )
        if out is not None:
            write_comparison(comparison, out, overwrite=overwrite)
    except (StanceframeError, ValueError) as error:
        _fail(error)
    typer.echo(render_comparison_markdown(comparison, shown=show).rstrip())
    if out is not None:
        typer.echo(f"\ncomparison written to {out}", err=True)


@app.command()
def calibrate(
    run: Annotated[Path, typer.Argument(help="A run directory")],
    data: Annotated[
        str | None,
        typer.Option(help="Labelled dev file in the run's columns; default: its dev split"),
    ] = None,
    reset: Annotated[bool, typer.Option(help="Remove the stored temperature instead")] = False,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
) -> None:
    """Fit temperature scaling on dev data and store it in RUN; scores become calibrated."""
    from stanceframe.eval.calibration import calibrate_run, reset_calibration

    try:
        if reset:
            removed = reset_calibration(run)
            typer.echo(f"{run}: temperature {removed} removed; scores are uncalibrated")
            return
        result = calibrate_run(run, data, device=device, batch_size=batch_size)
    except (StanceframeError, ValueError) as error:
        _fail(error)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(
        f"temperature {result.temperature:.3f} fitted on {result.n} rows of {result.data}\n"
        f"  NLL {result.nll_before:.4f} -> {result.nll_after:.4f}   "
        f"ECE {result.ece_before:.4f} -> {result.ece_after:.4f}\n"
        f"stored in {run / 'stanceframe.json'}; labels are unchanged. "
        f"`stanceframe evaluate {run} --overwrite` rewrites the run's reports with it."
    )


@app.command()
def priors(
    run: Annotated[Path, typer.Argument(help="A run directory")],
    input_path: Annotated[
        str, typer.Argument(metavar="INPUT", help="Unlabelled sentences: JSONL, CSV, TSV or .txt")
    ],
    text_column: Annotated[str, typer.Option(help="Field holding the text")] = "text",
    write: Annotated[
        bool, typer.Option(help="Store the estimate in RUN as inference.priors")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
) -> None:
    """Estimate the label shares of unlabelled text by EM (Saerens et al. 2002) on RUN's scores."""
    import numpy as np

    from stanceframe.model import Classifier
    from stanceframe.model.files import read_sentences
    from stanceframe.model.priors import estimate_priors

    try:
        classifier = Classifier.load(run, device=device).with_priors(None)
        if classifier.multi_label:
            raise ValueError("priors apply to single-label runs")
        texts, contexts = read_sentences(classifier, input_path, text_column=text_column)
        scores = classifier.predict_proba(texts, batch_size=batch_size, contexts=contexts)
        training = classifier.prior_vector(classifier.training_prior)
        estimate = estimate_priors(scores, training)
    except (StanceframeError, ValueError) as error:
        _fail(error)
    if classifier.temperature == 1.0:
        typer.echo(
            "note: the run is not calibrated; `stanceframe calibrate` first gives better estimates",
            err=True,
        )
    predicted = np.bincount(scores.argmax(axis=1), minlength=len(classifier.labels)) / len(scores)
    typer.echo(f"{'label':<22}{'training':>10}{'predicted':>11}{'estimated':>11}")
    for index, label in enumerate(classifier.labels):
        typer.echo(
            f"{label:<22}{training[index]:>10.3f}{predicted[index]:>11.3f}"
            f"{estimate.priors[index]:>11.3f}"
        )
    typer.echo(
        f"{len(texts)} sentences; EM {'converged' if estimate.converged else 'stopped'} "
        f"after {estimate.iterations} iterations"
    )
    shares = ",".join(
        f"{label}={share:.4f}"
        for label, share in zip(classifier.labels, estimate.priors, strict=True)
    )
    if write:
        from stanceframe.run_files import META_FILE, read_meta, update_meta

        estimated = dict(
            zip(classifier.labels, [float(share) for share in estimate.priors], strict=True)
        )
        try:
            inference = read_meta(run).inference.model_copy(update={"priors": estimated})
            update_meta(run, inference=inference)
        except StanceframeError as error:
            _fail(error)
        typer.echo(f"stored in {run / META_FILE}: predict, analyze and serve now use them")
    else:
        typer.echo(f"use them with: --priors {shares}   (or rerun with --write to store them)")


@app.command("soft-labels")
def soft_labels(
    teacher: Annotated[Path, typer.Argument(help="The teacher's run directory")],
    inputs: Annotated[
        list[str],
        typer.Argument(help="Files or bundled:NAME sources to label (labelled or not)"),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output .jsonl")],
    text_column: Annotated[str, typer.Option(help="Field holding the text")] = "text",
    target_column: Annotated[
        str, typer.Option(help="Field holding the target (stance teachers)")
    ] = "target",
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file")] = False,
) -> None:
    """Write TEACHER's logits over INPUTS, for `training.distillation.soft_labels`."""
    from stanceframe.model import Classifier
    from stanceframe.model.soft_labels import write_soft_labels

    try:
        classifier = Classifier.load(teacher, device=device)
        summary = write_soft_labels(
            classifier,
            inputs,
            output,
            text_column=text_column,
            target_column=target_column,
            batch_size=batch_size,
            overwrite=overwrite,
        )
    except (StanceframeError, ValueError) as error:
        _fail(error)
    for source, count in summary.sources.items():
        typer.echo(f"{source}: {count} new texts")
    typer.echo(f"{summary.rows} rows of soft labels written to {summary.output}")


@app.command()
def suggest(
    run: Annotated[Path, typer.Argument(help="A run directory written by `stanceframe train`")],
    pool: Annotated[
        str,
        typer.Argument(help="Unlabelled records: JSONL, CSV, TSV, Parquet or .txt; - for stdin"),
    ],
    n: Annotated[int, typer.Option("-n", min=1, help="How many records to suggest")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output .jsonl or .csv")],
    strategy: Annotated[
        str,
        typer.Option(
            help="uncertain-diverse (uncertain rows spread over k-means groups of their "
            "embeddings), uncertainty, diverse or random"
        ),
    ] = "uncertain-diverse",
    measure: Annotated[str, typer.Option(help="Uncertainty: margin or entropy")] = "margin",
    embeddings: Annotated[
        str,
        typer.Option(
            help="For diversity: base (the run's base model) or run (its fine-tuned encoder)"
        ),
    ] = "base",
    text_column: Annotated[str, typer.Option(help="Field holding the text")] = "text",
    target_column: Annotated[
        str | None, typer.Option(help="Stance runs: field holding the target")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Stance runs: one target for every row")
    ] = None,
    id_field: Annotated[str, typer.Option(help="Field holding each record's id")] = "id",
    require_ids: Annotated[
        bool, typer.Option(help="Refuse records without an id instead of numbering them")
    ] = False,
    labelled: Annotated[
        list[str] | None,
        typer.Option(help="More labelled data whose repeats to leave out (repeatable)"),
    ] = None,
    run_data: Annotated[
        bool,
        typer.Option(
            help="Leave out repeats of the labelled data the run was trained and tested on"
        ),
    ] = True,
    near_duplicates: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Word 3-gram Jaccard at which two texts count as near-duplicates; 1 for exact "
            "repeats only",
        ),
    ] = 0.6,
    seed: Annotated[int, typer.Option(help="Seed for k-means and random")] = 0,
    prefix: Annotated[
        str, typer.Option(help="Put this before the added fields (label, score, ...)")
    ] = "",
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file")] = False,
) -> None:
    """Choose the N records of POOL most worth labelling next, by RUN's uncertainty and the
    diversity of their embeddings; repeats of each other and of labelled data are left out."""
    from stanceframe.annotation.suggest import suggest as suggest_records
    from stanceframe.model import Classifier

    try:
        classifier = Classifier.load(run, device=device)
        summary = suggest_records(
            classifier,
            pool,
            n,
            output,
            strategy=strategy,
            measure=measure,
            text_column=text_column,
            target_column=target_column,
            target=target,
            id_field=id_field,
            require_ids=require_ids,
            labelled=labelled,
            check_run_data=run_data,
            near_duplicate_threshold=None if near_duplicates >= 1.0 else near_duplicates,
            embeddings=embeddings,
            seed=seed,
            prefix=prefix,
            batch_size=batch_size,
            device=device,
            overwrite=overwrite,
        )
    except (StanceframeError, ValueError) as error:
        _fail(error)
    if summary.generated_ids:
        stem = "stdin" if pool == "-" else Path(pool).stem
        typer.echo(
            f"ids: the pool has no {summary.id_field!r} field; each record got {stem}:LINE "
            f"(written as {summary.id_field!r})",
            err=True,
        )
    for source in summary.labelled:
        rows = f"{source.rows} rows" if source.rows is not None else source.note
        typer.echo(f"labelled data checked for repeats: {source.source} ({rows})", err=True)
    if not summary.calibrated:
        typer.echo(
            "note: the run is not calibrated; `stanceframe calibrate` makes its scores, and so "
            "its uncertainty, more trustworthy",
            err=True,
        )
    counts = ", ".join(f"{label} {count}" for label, count in summary.label_counts.items())
    typer.echo(
        f"{summary.chosen} of {summary.pool_rows} records suggested ({summary.strategy}, "
        f"{summary.measure}) into {summary.output}\n"
        f"  left out: {summary.repeats_in_pool} repeats of other pool records, "
        f"{summary.repeats_of_labelled} repeats of labelled data\n"
        f"  model's labels: {counts}\n"
        f"  mean uncertainty {summary.mean_uncertainty_chosen:.3f} "
        f"(pool {summary.mean_uncertainty_pool:.3f})"
    )


labelstudio_app = typer.Typer(
    help="Round trip with Label Studio: export tasks with pre-annotations, import annotations.",
    no_args_is_help=True,
)
app.add_typer(labelstudio_app, name="labelstudio")


@labelstudio_app.command("export")
def labelstudio_export(
    run: Annotated[Path, typer.Argument(help="A run directory: its labels and pre-annotations")],
    input_path: Annotated[
        str, typer.Argument(metavar="IN", help="Records to annotate (e.g. `suggest`'s output)")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Label Studio tasks (.json)")],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="Where to write the labelling config (default: labeling.xml beside -o)"
        ),
    ] = None,
    text_column: Annotated[str, typer.Option(help="Field holding the text")] = "text",
    target_column: Annotated[
        str | None, typer.Option(help="Stance runs: field holding the target")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Stance runs: one target for every row")
    ] = None,
    id_field: Annotated[str, typer.Option(help="Field holding each record's id")] = "id",
    require_ids: Annotated[
        bool, typer.Option(help="Refuse records without an id instead of numbering them")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace existing output files")] = False,
) -> None:
    """Write IN's records as Label Studio tasks pre-annotated by RUN, and the labelling config."""
    from stanceframe.annotation.labelstudio import export_tasks
    from stanceframe.model import Classifier

    try:
        classifier = Classifier.load(run, device=device)
        summary = export_tasks(
            classifier,
            input_path,
            output,
            config,
            text_column=text_column,
            target_column=target_column,
            target=target,
            id_field=id_field,
            require_ids=require_ids,
            batch_size=batch_size,
            overwrite=overwrite,
        )
    except (StanceframeError, ValueError) as error:
        _fail(error)
    if summary.generated_ids:
        typer.echo(
            f"ids: the input has no {summary.id_field!r} field; each task's data.{summary.id_field} "
            "is FILE:LINE",
            err=True,
        )
    counts = ", ".join(f"{label} {count}" for label, count in summary.label_counts.items())
    typer.echo(
        f"{summary.rows} tasks written to {summary.tasks} (pre-annotations: {counts})\n"
        f"labelling config: {summary.config}  (Label Studio: Settings > Labeling Interface > Code)"
    )


@labelstudio_app.command("import")
def labelstudio_import(
    export_file: Annotated[
        Path, typer.Argument(metavar="EXPORT", help="Label Studio's JSON export of the project")
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Training records (.jsonl or .csv)")
    ],
    run: Annotated[
        Path | None,
        typer.Option(
            help="The run that exported the tasks: its labels (default: the run the "
            "pre-annotations name)"
        ),
    ] = None,
    labels: Annotated[
        str | None, typer.Option(help="Or the allowed labels: a,b,c (with no run)")
    ] = None,
    control: Annotated[
        str | None, typer.Option(help="Name of the Choices control (default: the run's task)")
    ] = None,
    multi_label: Annotated[
        bool, typer.Option(help="With --labels: several labels per sentence")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace existing output files")] = False,
) -> None:
    """Turn a Label Studio JSON export into training records: the majority label of each task,
    with `agreement`, and inter-annotator agreement printed and written beside the output."""
    from stanceframe.annotation.labelstudio import import_annotations, import_settings

    try:
        settings = import_settings(
            export_file,
            run=run,
            labels=labels.split(",") if labels else None,
            control=control,
            multi_label=multi_label,
        )
        summary = import_annotations(
            export_file,
            output,
            label_names=settings.label_names,
            control=settings.control,
            multi_label=settings.multi_label,
            label_field=settings.label_field,
            target_field=settings.target_field,
            overwrite=overwrite,
        )
    except (StanceframeError, ValueError) as error:
        _fail(error)
    for key, name in summary.renamed.items():
        typer.echo(
            f"note: the tasks' data.{key} is written as {name!r} ({key!r} holds the annotation)",
            err=True,
        )
    counts = ", ".join(f"{label} {count}" for label, count in summary.label_counts.items())
    typer.echo(f"{summary.written} of {summary.tasks} tasks written to {summary.output} ({counts})")
    if summary.cancelled:
        typer.echo(f"  {summary.cancelled} cancelled (skipped) annotations left out")
    if summary.unlabelled:
        shown = ", ".join(summary.unlabelled[:10]) + (
            " ..." if len(summary.unlabelled) > 10 else ""
        )
        typer.echo(f"  {len(summary.unlabelled)} tasks without an annotation: {shown}")
    if summary.ties:
        shown = ", ".join(summary.ties[:10]) + (" ..." if len(summary.ties) > 10 else "")
        typer.echo(f"  {len(summary.ties)} tasks left out, their annotators split evenly: {shown}")
    agreement = summary.agreement
    if agreement["tasks_with_several_annotations"]:
        alpha = agreement["krippendorff_alpha"]
        kappa = agreement["cohen_kappa"]["mean"]
        typer.echo(
            f"  agreement over {agreement['tasks_with_several_annotations']} tasks annotated more "
            f"than once: observed {agreement['observed_agreement']:.3f}, Krippendorff's alpha "
            f"{'n/a' if alpha is None else f'{alpha:.3f}'}, mean Cohen's kappa "
            f"{'n/a' if kappa is None else f'{kappa:.3f}'} "
            f"({len(agreement['cohen_kappa']['pairs'])} annotator pairs)"
        )
    else:
        typer.echo("  no task was annotated twice, so there is no agreement to measure")
    typer.echo(f"  agreement summary: {summary.agreement_file}")


@app.command()
def audit(
    data: Annotated[str, typer.Argument(help="Labelled data: a file or bundled:NAME")],
    config: Annotated[
        Path, typer.Option("--config", help="The YAML config: columns, labels and base model")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output .csv (or .jsonl)")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config key (repeatable)")
    ] = None,
    folds: Annotated[int, typer.Option(min=2, help="Folds for the out-of-sample scores")] = 5,
    seed: Annotated[int | None, typer.Option(help="Fold seed (default: the config's)")] = None,
    regularisation: Annotated[
        float | None,
        typer.Option(
            min=0.0, help="Logistic regression C (default: chosen by out-of-fold log loss)"
        ),
    ] = None,
    all_rows: Annotated[
        bool, typer.Option("--all", help="Write every row, ranked, not only the suspect ones")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file")] = False,
) -> None:
    """Find likely label errors in DATA: out-of-fold scores from k-fold logistic regression on
    the base model's sentence embeddings, ranked by cleanlab; and repeated texts with
    different labels. Most likely errors first."""
    from stanceframe.annotation.audit import audit as audit_data
    from stanceframe.training import load_config

    try:
        run_config = load_config(config, list(set_ or []))
        summary = audit_data(
            data,
            run_config,
            output,
            folds=folds,
            seed=seed,
            regularisation=regularisation,
            write_all=all_rows,
            device=device,
            batch_size=batch_size,
            overwrite=overwrite,
        )
    except (StanceframeError, ValueError) as error:
        _fail(error)
    scores = "  ".join(f"{name} {value:.3f}" for name, value in summary.out_of_fold.items())
    seconds = sum(summary.seconds.values())
    typer.echo(
        f"{summary.rows} rows audited with {summary.folds}-fold logistic regression "
        f"(C={summary.regularisation:g}) on {summary.encoder} embeddings: out-of-fold {scores}\n"
        f"  {summary.label_issues} likely label errors (cleanlab), {summary.conflicting_rows} rows "
        f"in {summary.conflicting_groups} groups of repeated texts with different labels\n"
        f"  {summary.written} rows written to {summary.output}, most likely errors first "
        f"({seconds:.0f} s)"
    )


def main() -> None:  # pragma: no cover - console entry point for `python -m stanceframe`
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
