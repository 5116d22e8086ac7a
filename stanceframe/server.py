"""The HTTP service: one loaded model behind FastAPI, labelling texts and analysing articles.

`create_app(classifier)` builds the app (tests pass a model in); `serve(run_dir, ...)` loads a run once
and runs it under uvicorn, on the loopback interface unless told otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import platform
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from stanceframe.batcher import BatcherOverloaded, MicroBatcher
from stanceframe.model.classifier import Classifier
from stanceframe.model.document import assemble_document, previous_sentences
from stanceframe.model.sentences import split_sentences

logger = logging.getLogger(__name__)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class ServiceLimits:
    max_texts: int = 256  # texts in one /v1/classify request
    max_text_chars: int = 5_000  # characters in one text to classify
    max_document_chars: int = 100_000  # characters in one article to analyse
    max_body_bytes: int = 4_000_000  # request body, whatever it holds
    max_batch_texts: int = 128  # texts the model takes at once, across requests
    batch_wait_ms: float = 0.0  # how long a batch waits for company when nothing else is queued
    max_queued_texts: int = 20_000  # past this, requests get 503 until the queue drains


# ------------------------------------------------------------------ request and response bodies


def _check_not_blank(values: list[str], field: str) -> list[str]:
    for index, value in enumerate(values):
        if not value.strip():
            raise ValueError(f"{field}[{index}] is empty")
    return values


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"texts": ["Moscow dismissed the report as fake news."]}]},
    )
    texts: list[StrictStr] = Field(min_length=1, description="Sentences to label, in order.")
    targets: list[StrictStr] | StrictStr | None = Field(
        default=None,
        description="Stance models only: one target for all texts, or one per text.",
    )

    @field_validator("texts")
    @classmethod
    def _texts_not_blank(cls, texts: list[str]) -> list[str]:
        return _check_not_blank(texts, "texts")

    @field_validator("targets")
    @classmethod
    def _targets_not_blank(cls, targets: list[str] | str | None) -> list[str] | str | None:
        if isinstance(targets, list):
            return _check_not_blank(targets, "targets")
        if isinstance(targets, str) and not targets.strip():
            raise ValueError("targets is empty")
        return targets


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": "KYIV (Reuters) - Ukraine denied the report. It proposed talks."}]
        },
    )
    text: StrictStr = Field(min_length=1, description="The article, as plain text.")
    target: StrictStr | None = Field(default=None, description="Stance models only.")
    id: StrictStr | None = Field(default=None, description="Echoed back in the result.")

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("text is empty")
        return text


class PredictionOut(BaseModel):
    label: str
    score: float
    scores: dict[str, float]
    labels: list[str]


class ClassifyResponse(BaseModel):
    model: str
    predictions: list[PredictionOut]


class SpanOut(BaseModel):
    text: str
    start: int
    end: int


class SentenceOut(PredictionOut):
    index: int
    text: str
    start: int = Field(description="Offset of the sentence's first character in `text`.")
    end: int = Field(description="Offset just past its last character: text[start:end].")


class StrongestOut(BaseModel):
    index: int
    text: str
    score: float


class ProfileOut(BaseModel):
    sentences: int
    counts: dict[str, int]
    shares: dict[str, float]
    weighted_shares: dict[str, float] = Field(
        description="Mean score of each label over sentences."
    )
    strongest: dict[str, StrongestOut | None]


class AnalyzeResponse(BaseModel):
    model: str
    id: str | None
    target: str | None
    dateline: SpanOut | None
    sentences: list[SentenceOut]
    profile: ProfileOut


class ErrorOut(BaseModel):
    detail: Any
    message: str | None = None


# ------------------------------------------------------------------ request size limit


class BodySizeLimit:
    """Answers 413 to a request body over `max_bytes`, declared or streamed, before it is parsed."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send) -> None:
        body = json.dumps(
            {"detail": f"request body is over the limit of {self.max_bytes} bytes"}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes:
                return await self._refuse(send)
            return await self.app(scope, receive, send)
        # No length given (chunked): read up to the limit, then hand the body on in one piece.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, receive, send)  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return await self._refuse(send)
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        return await self.app(scope, replay, send)


# ------------------------------------------------------------------ the app


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("stanceframe", "torch", "transformers", "fastapi", "uvicorn", "pysbd"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def model_card_summary(classifier: Classifier) -> dict[str, Any]:
    """What /v1/info says about the model: its task, base, training date and held-out scores."""
    meta = classifier.meta
    metrics_path = classifier.run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    return {
        "task": meta.get("task"),
        "base_model": meta.get("base_model"),
        "max_length": classifier.max_length,
        "multi_label": classifier.multi_label,
        "needs_target": classifier.needs_target,
        "temperature": meta.get("temperature"),
        "created_at": meta.get("created_at"),
        "data": {
            split: {"rows": fingerprint.get("rows"), "source": fingerprint.get("source")}
            for split, fingerprint in (meta.get("data") or {}).items()
        },
        "metrics": {
            split: {
                key: scores[key]
                for key in ("n", "macro_f1", "accuracy", "subset_accuracy")
                if key in scores
            }
            for split, scores in metrics.items()
        },
        "trained_with": meta.get("versions") or {},
    }


def _first_message(errors: list[dict[str, Any]]) -> str:
    """One line a person can act on, from the first of pydantic's errors."""
    error = errors[0]
    location = [str(part) for part in error.get("loc", ())]
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "bad JSON")
        return f"the body is not valid JSON (at character {location[-1]}: {reason}){more}"
    if location == ["body"] and error.get("type") == "missing":
        return f"the body is empty: send a JSON object with Content-Type: application/json{more}"
    if location == ["body"]:
        return f"the body must be a JSON object sent with Content-Type: application/json{more}"
    where = ".".join(location[1:] if location[:1] == ["body"] else location)
    return f"{where}: {error.get('msg', 'invalid')}{more}"


def create_app(classifier: Classifier, limits: ServiceLimits | None = None) -> FastAPI:
    """The service around one loaded model; it runs through a `MicroBatcher` on one thread."""
    limits = limits or ServiceLimits()
    model_name = Path(classifier.run_dir).name

    def predict(texts, targets, contexts):
        return classifier.predict(texts, targets, contexts=contexts)

    batcher = MicroBatcher(
        predict,
        max_batch_texts=limits.max_batch_texts,
        max_wait_s=limits.batch_wait_ms / 1000,
        max_queued_texts=limits.max_queued_texts,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One prediction before taking requests, so the first caller does not pay for warm-up.
        await run_in_threadpool(
            classifier.predict, ["Warm-up."], "warm-up" if classifier.needs_target else None
        )
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(
        title="stanceframe",
        version=_versions().get("stanceframe", "unknown"),
        summary="Label news sentences by framing and stance; profile whole articles.",
        lifespan=lifespan,
        responses={
            413: {
                "model": ErrorOut,
                "description": "Too many texts, a text too long, or body too big",
            },
            422: {"model": ErrorOut, "description": "The request body is malformed"},
        },
    )
    app.state.classifier = classifier
    app.state.limits = limits
    app.state.batcher = batcher
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = list(error.errors())
        detail = [
            {key: value for key, value in item.items() if key in ("type", "loc", "msg")}
            for item in errors
        ]
        return JSONResponse(
            status_code=422, content={"detail": detail, "message": _first_message(errors)}
        )

    @app.exception_handler(BatcherOverloaded)
    async def _overloaded(request: Request, error: BatcherOverloaded) -> JSONResponse:
        return JSONResponse(
            status_code=503, content={"detail": str(error)}, headers={"Retry-After": "1"}
        )

    def check_targets(given: bool) -> None:
        if classifier.needs_target and not given:
            raise HTTPException(422, "this is a stance model: give targets (one, or one per text)")
        if not classifier.needs_target and given:
            raise HTTPException(422, "this model labels texts on their own: leave out targets")

    @app.get("/healthz", summary="Liveness: answers once the model is loaded and warm")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/info", summary="The model: labels, model card summary, limits and versions")
    async def info() -> dict[str, Any]:
        return {
            "model": model_name,
            "labels": classifier.labels,
            "model_card": model_card_summary(classifier),
            "limits": asdict(limits),
            "versions": _versions(),
            "stats": {
                "batches_run": batcher.batches_run,
                "texts_labelled": batcher.texts_run,
                "texts_waiting": batcher.queued_texts,
            },
        }

    @app.post(
        "/v1/classify", response_model=ClassifyResponse, summary="Label each text (a sentence)"
    )
    async def classify(request: ClassifyRequest) -> dict[str, Any]:
        texts = request.texts
        if len(texts) > limits.max_texts:
            raise HTTPException(
                413, f"{len(texts)} texts in one request; the limit is {limits.max_texts}"
            )
        for index, text in enumerate(texts):
            if len(text) > limits.max_text_chars:
                raise HTTPException(
                    413,
                    f"texts[{index}] has {len(text)} characters; the limit is "
                    f"{limits.max_text_chars} (send articles to /v1/analyze)",
                )
        check_targets(request.targets is not None)
        targets = request.targets
        if isinstance(targets, str):
            targets = [targets] * len(texts)
        if targets is not None and len(targets) != len(texts):
            raise HTTPException(422, f"got {len(targets)} targets for {len(texts)} texts")
        predictions = await batcher.submit(texts, targets)
        return {"model": model_name, "predictions": [p.to_dict() for p in predictions]}

    @app.post(
        "/v1/analyze",
        response_model=AnalyzeResponse,
        summary="Split an article into sentences, label each, and profile the whole",
    )
    async def analyze(request: AnalyzeRequest) -> dict[str, Any]:
        if len(request.text) > limits.max_document_chars:
            raise HTTPException(
                413,
                f"text has {len(request.text)} characters; the limit is "
                f"{limits.max_document_chars}",
            )
        check_targets(request.target is not None)
        split = await run_in_threadpool(split_sentences, request.text)
        texts = [span.text for span in split.sentences]
        targets = [request.target] * len(texts) if request.target is not None else None
        predictions = await batcher.submit(texts, targets, previous_sentences(texts))
        result = assemble_document(
            request.text,
            split,
            predictions,
            classifier.labels,
            article_id=request.id,
            target=request.target,
        )
        return {"model": model_name, **result.to_dict()}

    return app


def default_model_threads() -> int:
    """All cores but one: the event loop that parses requests keeps a core of its own. Torch's
    threads spin while they wait, so sharing every core with the loop slows both many times over."""
    return max(1, (os.cpu_count() or 2) - 1)


def serve(
    run_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    device: str = "auto",
    threads: int | None = None,
    limits: ServiceLimits | None = None,
    log_level: str = "info",
) -> None:
    """Load the run once and serve it until interrupted (one process; batching does the rest)."""
    import uvicorn

    if host not in LOOPBACK_HOSTS:
        logger.warning(
            "serving on %s: the service has no authentication; anyone who can reach this "
            "address can use it",
            host,
        )
    threads = threads or default_model_threads()
    classifier = Classifier.load(run_dir, device=device, threads=threads)
    logger.info("model %s loaded on %s with %d CPU threads", run_dir, classifier.device, threads)
    uvicorn.run(
        create_app(classifier, limits), host=host, port=port, log_level=log_level, workers=1
    )
