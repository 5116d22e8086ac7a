"""The HTTP service: one loaded model behind FastAPI, labelling texts and analysing articles.

`create_app(classifier)` builds the app (tests pass a model in); `serve(run_dir, ...)` loads a run once
and runs it under uvicorn, on the loopback interface unless told otherwise. `GET /` is a web page for
people (templates/serve.html.j2 and static/): it calls the same API, and stores nothing.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import platform
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from stanceframe.batcher import BatcherOverloaded, MicroBatcher
from stanceframe.errors import DataError
from stanceframe.model.analyze_files import read_uploaded_articles
from stanceframe.model.classifier import Classifier
from stanceframe.model.document import DocumentResult, assemble_document, previous_sentences
from stanceframe.model.document_html import (
    display_label,
    highlight_style,
    label_colours,
    render_article_view,
    stylesheet,
    template_environment,
)
from stanceframe.model.sentences import split_sentences

logger = logging.getLogger(__name__)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# The page loads nothing from elsewhere, and the browser is told so: scripts and styles from this
# server only (sentence highlights are inline style attributes), requests back to it only.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' "
    "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",  # /?text=... holds the article itself
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# A request line and headers may be this long: /?text=... links carry whole articles, and
# percent-encoding makes a 100,000-character article up to a few hundred KB (uvicorn's default: 16 KiB).
MAX_REQUEST_HEAD_BYTES = 1_048_576
ASSET_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
HtmlFlag = Annotated[
    bool, Query(description="Also return the article view as HTML (the web page uses it)")
]


def _asset(name: str) -> str:
    return (resources.files("stanceframe") / "static" / name).read_text(encoding="utf-8")


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
    html: str | None = Field(
        default=None,
        description="With ?html=true only: the article view as `stanceframe analyze` renders it "
        "(profile bar and table, then the text, each sentence a span with data-label).",
    )


class AnalyzeFileResponse(BaseModel):
    model: str
    file: str
    articles: list[AnalyzeResponse]


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
    meta = classifier.run_meta
    metrics_path = classifier.run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    return {
        "task": meta.task,
        "base_model": meta.base_model,
        "max_length": classifier.max_length,
        "multi_label": classifier.multi_label,
        "needs_target": classifier.needs_target,
        "temperature": meta.temperature,
        "created_at": meta.created_at,
        "data": {
            split: {"rows": fingerprint.rows, "source": fingerprint.source}
            for split, fingerprint in meta.data.items()
        },
        "metrics": {
            split: {
                key: scores[key]
                for key in ("n", "macro_f1", "accuracy", "subset_accuracy")
                if key in scores
            }
            for split, scores in metrics.items()
        },
        "trained_with": meta.versions,
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

    async def analyze_article(
        text: str, target: str | None, article_id: str | None
    ) -> DocumentResult:
        split = await run_in_threadpool(split_sentences, text)
        texts = [span.text for span in split.sentences]
        targets = [target] * len(texts) if target is not None else None
        predictions = await batcher.submit(texts, targets, previous_sentences(texts))
        return assemble_document(
            text, split, predictions, classifier.labels, article_id=article_id, target=target
        )

    def answer(result: DocumentResult, html: bool) -> dict[str, Any]:
        body = {"model": model_name, **result.to_dict()}
        if html:
            body["html"] = render_article_view(result, classifier.labels)
        return body

    @app.post(
        "/v1/analyze",
        response_model=AnalyzeResponse,
        response_model_exclude_unset=True,
        summary="Split an article into sentences, label each, and profile the whole",
    )
    async def analyze(request: AnalyzeRequest, html: HtmlFlag = False) -> dict[str, Any]:
        if len(request.text) > limits.max_document_chars:
            raise HTTPException(
                413,
                f"text has {len(request.text)} characters; the limit is "
                f"{limits.max_document_chars}",
            )
        check_targets(request.target is not None)
        result = await analyze_article(request.text, request.target, request.id)
        return answer(result, html)

    @app.post(
        "/v1/analyze/file",
        response_model=AnalyzeFileResponse,
        response_model_exclude_unset=True,
        summary="Analyse the articles of one file sent as the body: .txt, .jsonl or .csv",
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "The file's bytes, as they are (UTF-8).",
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            }
        },
    )
    async def analyze_file(
        request: Request,
        filename: Annotated[
            str,
            Query(
                min_length=1,
                description="The file's name: its extension gives the format, its stem the ids "
                "of records without one",
            ),
        ],
        target: Annotated[str | None, Query(description="Stance models: one for all")] = None,
        text_field: Annotated[str, Query(description="Field holding the article")] = "text",
        id_field: Annotated[str, Query(description="Field holding its id")] = "id",
        target_field: Annotated[
            str | None, Query(description="Stance models: field holding each article's target")
        ] = None,
        html: HtmlFlag = False,
    ) -> dict[str, Any]:
        # The body is read into memory and parsed there: an upload never touches the disk.
        data = await request.body()
        name = Path(filename).name or "upload"
        if not data.strip():
            raise HTTPException(422, f"{name}: the file is empty")
        if target is not None and not target.strip():
            target = None
        if classifier.needs_target and target is None and not target_field:
            raise HTTPException(
                422, "this is a stance model: give target (one for every article) or target_field"
            )
        if not classifier.needs_target and (target is not None or target_field):
            raise HTTPException(
                422, "this model labels texts on their own: leave out target and target_field"
            )
        try:
            articles = read_uploaded_articles(
                name, data, text_field=text_field, id_field=id_field, target_field=target_field
            )
        except DataError as error:
            raise HTTPException(422, str(error)) from None
        if len(articles) > limits.max_texts:
            raise HTTPException(
                413,
                f"{name} holds {len(articles)} articles; the limit is {limits.max_texts} "
                "per request",
            )
        for article in articles:
            if len(article.text) > limits.max_document_chars:
                raise HTTPException(
                    413,
                    f"{article.source}: the article has {len(article.text)} characters; the "
                    f"limit is {limits.max_document_chars}",
                )
        results = []
        for article in articles:  # one at a time, so that other callers get their turns
            result = await analyze_article(article.text, article.target or target, article.id)
            results.append(answer(result, html))
        return {"model": model_name, "file": name, "articles": results}

    pages = template_environment("stanceframe")
    colours = label_colours(classifier.labels)
    # a corrected sentence wears its new label's colour at full strength (the page's classes c0, c1…)
    corrected_styles = [
        (position, style)
        for position, label in enumerate(classifier.labels)
        if (style := highlight_style(label, 1.0, colours))
    ]
    assets = {
        "serve.js": ("text/javascript; charset=utf-8", _asset("serve.js")),
        "serve.css": ("text/css; charset=utf-8", _asset("serve.css")),
        "document.css": ("text/css; charset=utf-8", stylesheet()),
    }

    @app.get("/", response_class=HTMLResponse, summary="The web page: paste or upload an article")
    async def page(
        text: Annotated[
            str | None, Query(description="Fills the text box and analyses it on load")
        ] = None,
        target: Annotated[str | None, Query(description="Stance models: the target")] = None,
    ) -> HTMLResponse:
        settings = {
            "model": model_name,
            "labels": classifier.labels,
            "label_names": {label: display_label(label) for label in classifier.labels},
            "needs_target": classifier.needs_target,
            "multi_label": classifier.multi_label,
            "limits": {
                "max_document_chars": limits.max_document_chars,
                "max_body_bytes": limits.max_body_bytes,
                "max_texts": limits.max_texts,
            },
            "autorun": bool(text and text.strip()),
        }
        html = pages.get_template("serve.html.j2").render(
            title=f"stanceframe · {model_name}",
            model_name=model_name,
            settings=settings,
            colours=colours,
            corrected_styles=corrected_styles,
            text=text or "",
            target=target or "",
            needs_target=classifier.needs_target,
            limits=limits,
        )
        return HTMLResponse(html, headers=PAGE_HEADERS)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in assets:
            raise HTTPException(404, f"no such file: /static/{name}")
        media_type, content = assets[name]
        return Response(content, media_type=media_type, headers=ASSET_HEADERS)

    return app


class QueryRedactingFilter(logging.Filter):
    """Cuts the query string off uvicorn's access-log lines: `GET /?text=...` carries an article,
    and nothing a user sends to the service is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            if isinstance(path, str) and "?" in path:
                record.args = (client, method, path.split("?", 1)[0] + "?…", version, status)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging setup, with the access log's query strings cut off."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_query"] = {"()": QueryRedactingFilter}
    config["loggers"]["uvicorn.access"]["filters"] = ["no_query"]
    return config


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
        create_app(classifier, limits),
        host=host,
        port=port,
        log_level=log_level,
        log_config=uvicorn_log_config(),
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        workers=1,
    )
