"""`stanceframe analyze`: articles from .txt files, folders or JSONL in; a folder of results out.

The folder holds per-sentence JSONL and CSV, a per-article summary (CSV and JSONL), one HTML page per
article with an index page, and `analysis.json` saying what made it. It is written beside its place
and renamed into it only when complete, so a failed run leaves no half-written results.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from stanceframe.atomic import check_replaceable, staged_folder
from stanceframe.errors import DataError
from stanceframe.model.classifier import Classifier
from stanceframe.model.document import DocumentResult, Profile, analyze_texts
from stanceframe.model.document_html import IndexEntry, render_article, render_index
from stanceframe.records import RecordReader, decode_text, folder_files, read_text, source_name

ARTICLE_SUFFIXES = (".txt", ".jsonl")  # what a folder is searched for
RECORD_SUFFIXES = {".jsonl": "jsonl", ".csv": "csv"}  # one article a record
MANIFEST_FILE = "analysis.json"
STDIN = "-"


@dataclass
class Article:
    id: str
    text: str
    source: str  # where it came from, for messages: "feed.jsonl line 4" or "examples/a.txt"
    target: str | None = None


@dataclass
class ArticleSummary:
    id: str
    source: str
    profile: Profile


@dataclass
class AnalyzeSummary:
    out_dir: Path
    articles: list[ArticleSummary] = field(default_factory=list)
    sentences: int = 0
    label_counts: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ reading articles


def _input_files(paths: Sequence[Path]) -> Iterator[tuple[Path, str]]:
    """(file, id prefix) pairs: a file stands for itself; a folder for its .txt and .jsonl files
    (a CSV file in a folder is more often a table of something else, so it is read only by name).

    "-" is one plain-text article read from standard input.
    """
    for path in paths:
        if str(path) == STDIN:
            yield path, "stdin"
        elif path.is_dir():
            found = folder_files(path, ARTICLE_SUFFIXES)
            if not found:
                raise DataError(f"{path}: folder holds no .txt or .jsonl files")
            for file in found:
                yield file, file.relative_to(path).with_suffix("").as_posix()
        elif path.is_file():
            if path.suffix.lower() not in (".txt", *RECORD_SUFFIXES):
                raise DataError(
                    f"{path}: give articles as .txt files (one article each), .jsonl or .csv "
                    "files (one article a record) or folders of .txt and .jsonl files"
                )
            yield path, path.stem
        else:
            raise DataError(f"{path}: no such file or folder")


def _record_articles(
    reader: RecordReader, id_prefix: str, text_field: str, id_field: str, target_field: str | None
) -> Iterator[Article]:
    """One article per record of a JSONL or CSV file."""
    for row in reader:
        record, source = row.fields, row.location
        text = record.get(text_field)
        if not isinstance(text, str) or not text.strip():
            problem = "missing" if text_field not in record else "empty or not text"
            raise DataError(f"{source}: field {text_field!r} is {problem}")
        raw_id = record.get(id_field)
        if raw_id == "":  # an empty CSV cell
            raw_id = None
        if raw_id is not None and not isinstance(raw_id, (str, int)):
            raise DataError(f"{source}: field {id_field!r} must be a string or a number")
        article_id = str(raw_id) if raw_id is not None else f"{id_prefix}-{row.line}"
        target = None
        if target_field:
            target = record.get(target_field)
            if not isinstance(target, str) or not target.strip():
                raise DataError(f"{source}: field {target_field!r} is missing or empty")
        yield Article(id=article_id, text=text, source=source, target=target)


def _unique_ids(articles: Iterator[Article], seen: dict[str, str]) -> Iterator[Article]:
    for article in articles:
        if article.id in seen:
            raise DataError(
                f"{article.source}: article id {article.id!r} was already used by "
                f"{seen[article.id]}; ids must be unique"
            )
        seen[article.id] = article.source
        yield article


def read_articles(
    paths: Sequence[Path],
    *,
    text_field: str = "text",
    id_field: str = "id",
    target_field: str | None = None,
) -> Iterator[Article]:
    """Every article under `paths`, in order, each with an id unique across all inputs."""
    seen: dict[str, str] = {}
    for path, id_prefix in _input_files(paths):
        if path.suffix.lower() in RECORD_SUFFIXES:
            with RecordReader(path, RECORD_SUFFIXES[path.suffix.lower()]) as reader:
                yield from _unique_ids(
                    _record_articles(reader, id_prefix, text_field, id_field, target_field), seen
                )
        else:
            text = read_text(path)
            source = source_name(path)
            if not text.strip():
                raise DataError(f"{source}: the text is empty")
            yield from _unique_ids(iter([Article(id=id_prefix, text=text, source=source)]), seen)


def read_uploaded_articles(
    name: str,
    data: bytes,
    *,
    text_field: str = "text",
    id_field: str = "id",
    target_field: str | None = None,
) -> list[Article]:
    """The articles of one uploaded file, read from memory (nothing is written to disk): a .txt file
    is one article, a .jsonl or .csv file one article a record. `name` gives the format and the id
    prefix, and names the file in errors."""
    suffix = Path(name).suffix.lower()
    if suffix not in (".txt", *RECORD_SUFFIXES):
        raise DataError(
            f"{name}: give a .txt file (one article), or a .jsonl or .csv file (one article a "
            "record)"
        )
    stem = Path(name).stem or "upload"
    if suffix == ".txt":
        text = decode_text(data, name)
        if not text.strip():
            raise DataError(f"{name}: the text is empty")
        return [Article(id=stem, text=text, source=name)]
    with RecordReader(name, RECORD_SUFFIXES[suffix], stream=io.BytesIO(data)) as reader:
        articles = list(
            _unique_ids(_record_articles(reader, stem, text_field, id_field, target_field), {})
        )
    if not articles:
        raise DataError(f"{name}: no articles found")
    return articles


# ------------------------------------------------------------------ writing results


def _file_slug(article_id: str, taken: set[str]) -> str:
    slug = re.sub(r"[^\w.-]+", "_", article_id).strip("._")[:80] or "article"
    candidate, number = slug, 2
    while candidate.lower() in taken:
        candidate, number = f"{slug}-{number}", number + 1
    taken.add(candidate.lower())
    return candidate


class _ResultWriter:
    """Streams each analysed article into the output files of a staging folder."""

    def __init__(self, folder: Path, label_names: list[str], model_name: str, html: bool):
        self.folder = folder
        self.label_names = label_names
        self.model_name = model_name
        self.html = html
        self.handles: list[IO[str]] = []
        self.sentences_jsonl = self._open("sentences.jsonl")
        self.articles_jsonl = self._open("articles.jsonl")
        self.sentences_csv = csv.writer(self._open("sentences.csv"))
        self.sentences_csv.writerow(
            ["article", "index", "start", "end", "text", "label", "score"]
            + [f"score_{label}" for label in label_names]
        )
        self.articles_csv = csv.writer(self._open("articles.csv"))
        self.articles_csv.writerow(
            ["article", "source", "sentences", "dateline"]
            + [
                f"{kind}_{label}"
                for kind in ("count", "share", "weighted")
                for label in label_names
            ]
            + [f"strongest_{label}" for label in label_names]
        )
        self.index_entries: list[IndexEntry] = []
        self.slugs: set[str] = set()
        if html:
            (folder / "html").mkdir()

    def _open(self, name: str) -> IO[str]:
        handle = open(self.folder / name, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self.handles.append(handle)
        return handle

    def write(self, article: Article, result: DocumentResult) -> None:
        profile = result.profile
        for sentence in result.sentences:
            row: dict[str, Any] = {"article": article.id, **asdict(sentence)}
            if result.target is not None:
                row["target"] = result.target
            self.sentences_jsonl.write(json.dumps(row, ensure_ascii=False) + "\n")
            self.sentences_csv.writerow(
                [article.id, sentence.index, sentence.start, sentence.end, sentence.text]
                + [sentence.label, round(sentence.score, 6)]
                + [round(sentence.scores[label], 6) for label in self.label_names]
            )
        summary = {
            "article": article.id,
            "source": article.source,
            "dateline": result.dateline.text if result.dateline else None,
            "target": result.target,
            "profile": asdict(profile),
        }
        self.articles_jsonl.write(json.dumps(summary, ensure_ascii=False) + "\n")
        self.articles_csv.writerow(
            [article.id, article.source, profile.sentences, summary["dateline"] or ""]
            + [profile.counts[label] for label in self.label_names]
            + [round(profile.shares[label], 4) for label in self.label_names]
            + [round(profile.weighted_shares[label], 4) for label in self.label_names]
            + [
                profile.strongest[label].text if profile.strongest[label] else ""
                for label in self.label_names
            ]
        )
        if self.html:
            href = f"html/{_file_slug(article.id, self.slugs)}.html"
            page = render_article(
                result,
                self.label_names,
                title=article.id,
                model_name=self.model_name,
                source=article.source,
            )
            (self.folder / href).write_text(page, encoding="utf-8")
            self.index_entries.append(IndexEntry(article.id, href, profile))

    def close(self) -> None:
        for handle in self.handles:
            handle.close()
        if self.html:
            index = render_index(self.index_entries, self.label_names, model_name=self.model_name)
            (self.folder / "index.html").write_text(index, encoding="utf-8")


def _check_target(
    classifier: Classifier, article: Article, target: str | None, target_field: str | None
) -> None:
    if classifier.needs_target and not (article.target or target):
        raise DataError(
            f"{article.source}: {classifier.run_dir} is a stance model; give --target (one for "
            "every article) or --target-field (a JSONL field)"
        )
    if not classifier.needs_target and (target or target_field):
        raise DataError(
            f"{classifier.run_dir} labels sentences on their own; leave out --target and "
            "--target-field"
        )


def _chunks(articles: Iterator[Article], size: int) -> Iterator[list[Article]]:
    chunk: list[Article] = []
    for article in articles:
        chunk.append(article)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def analyze_files(
    classifier: Classifier,
    inputs: Sequence[Path],
    out_dir: Path,
    *,
    overwrite: bool = False,
    text_field: str = "text",
    id_field: str = "id",
    target: str | None = None,
    target_field: str | None = None,
    batch_size: int = 32,
    articles_per_chunk: int = 64,
    html: bool = True,
) -> AnalyzeSummary:
    """Analyse every article under `inputs` into the folder `out_dir` (see the module docstring)."""
    inputs = [Path(path) for path in inputs]
    out_dir = Path(out_dir)
    if not inputs:
        raise DataError("no input given: name .txt or .jsonl files, or folders of them")
    check_replaceable(
        out_dir,
        overwrite,
        marker=MANIFEST_FILE,
        writer="stanceframe analyze",
        protect=[classifier.run_dir, *(path for path in inputs if str(path) != STDIN)],
    )
    model_name = str(classifier.run_dir)
    summary = AnalyzeSummary(out_dir=out_dir, label_counts=dict.fromkeys(classifier.labels, 0))
    writer: _ResultWriter | None = None
    try:
        with staged_folder(out_dir) as staging:
            writer = _ResultWriter(staging, classifier.labels, model_name, html)
            articles = read_articles(
                inputs, text_field=text_field, id_field=id_field, target_field=target_field
            )
            for chunk in _chunks(articles, articles_per_chunk):
                for article in chunk:
                    _check_target(classifier, article, target, target_field)
                try:
                    results = analyze_texts(
                        classifier,
                        [article.text for article in chunk],
                        targets=[article.target or target for article in chunk],
                        ids=[article.id for article in chunk],
                        batch_size=batch_size,
                    )
                except ValueError as error:
                    raise DataError(f"{chunk[0].source}: {error}") from error
                for article, result in zip(chunk, results, strict=True):
                    writer.write(article, result)
                    summary.articles.append(
                        ArticleSummary(article.id, article.source, result.profile)
                    )
                    summary.sentences += result.profile.sentences
                    for label, count in result.profile.counts.items():
                        summary.label_counts[label] += count
            if not summary.articles:
                raise DataError(f"{', '.join(map(str, inputs))}: no articles found")
            writer.close()
            manifest = {
                "run": model_name,
                "inputs": [str(path) for path in inputs],
                "articles": len(summary.articles),
                "sentences": summary.sentences,
                "label_counts": summary.label_counts,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
            summary.files = sorted(path.name for path in staging.iterdir())
    except BaseException:
        for handle in writer.handles if writer else []:
            handle.close()
        raise
    return summary


def format_summary(summary: AnalyzeSummary, label_names: Sequence[str], limit: int = 20) -> str:
    """A short table of each article's sentence counts (and shares) per label, for the terminal."""
    shown = summary.articles[:limit]
    id_width = max([7, *(len(article.id) for article in shown)])
    widths = [max(len(label), 10) for label in label_names]
    header = "  ".join(
        f"{label:>{width}}" for label, width in zip(label_names, widths, strict=True)
    )
    lines = [f"{'article':<{id_width}}  {'sentences':>9}  {header}"]
    for article in shown:
        profile = article.profile
        cells = "  ".join(
            f"{profile.counts[label]} ({profile.shares[label]:.0%})".rjust(width)
            for label, width in zip(label_names, widths, strict=True)
        )
        lines.append(f"{article.id:<{id_width}}  {profile.sentences:>9}  {cells}")
    if len(summary.articles) > limit:
        lines.append(f"... and {len(summary.articles) - limit} more articles (see articles.csv)")
    counts = ", ".join(f"{label} {count}" for label, count in summary.label_counts.items())
    lines.append(
        f"{len(summary.articles)} article(s), {summary.sentences} sentences ({counts})\n"
        f"written to {summary.out_dir}/: {', '.join(summary.files)}"
    )
    return "\n".join(lines)
