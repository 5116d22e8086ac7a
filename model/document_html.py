"""HTML views of analysed articles: each sentence coloured by label, its scores on hover or focus.

One renderer, Jinja templates in model/templates: `stanceframe analyze` writes self-contained pages
(no scripts, fonts or images from elsewhere, so a page opens offline from a mail attachment or an
archive), and `stanceframe serve`'s web page shows the same article view, rendered by the same
templates, with `render_article_view`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader

from stanceframe.model.document import DocumentResult, Profile
from stanceframe.rendering import jinja_environment

# Labels people know get the colours they expect; any other label takes the next palette colour.
_KNOWN_COLOURS = {
    "accusation": "#d62728",
    "denial": "#1f77b4",
    "diplomatic_proposal": "#2ca02c",
    "favor": "#2ca02c",
    "against": "#d62728",
}
_PALETTE = ["#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f"]
# Labels that mean "nothing to see": shown in grey and left unhighlighted in the text.
QUIET_LABELS = frozenset({"other", "none", "neutral", "O"})
_QUIET_COLOUR = "#9aa0a6"
STYLESHEET = "document.css"


@dataclass(frozen=True)
class IndexEntry:
    title: str
    href: str
    profile: Profile


def label_colours(label_names: Sequence[str]) -> dict[str, str]:
    colours: dict[str, str] = {}
    spare = iter(_PALETTE * (len(label_names) // len(_PALETTE) + 1))
    for label in label_names:
        if label in QUIET_LABELS:
            colours[label] = _QUIET_COLOUR
        else:
            colours[label] = _KNOWN_COLOURS.get(label) or next(spare)
    return colours


def display_label(label: str) -> str:
    return label.replace("_", " ")


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[index : index + 2], 16) for index in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha:.2f})"


def highlight_style(label: str, score: float, colours: dict[str, str]) -> str:
    """A sentence's inline style: its label's colour, stronger the surer the model; quiet labels
    get none."""
    if label in QUIET_LABELS:
        return ""
    colour = colours[label]
    return f"background:{_rgba(colour, 0.08 + 0.27 * score)};box-shadow: inset 0 -2px 0 {colour}"


@cache
def template_environment(*packages: str) -> Environment:
    """The Jinja environment of the article view; templates of `packages` (e.g. the server's page)
    are looked up first and may extend or import the article view's."""
    environment = jinja_environment(
        ChoiceLoader(
            [PackageLoader(package, "templates") for package in packages]
            + [PackageLoader("stanceframe.model", "templates")]
        )
    )
    environment.filters["display"] = display_label
    environment.filters["pct"] = lambda value: f"{value:.0%}"
    return environment


def stylesheet() -> str:
    """The article view's CSS (inlined in `analyze` pages, served by `serve` at /static/)."""
    loader = template_environment().loader
    assert loader is not None
    return loader.get_source(template_environment(), STYLESHEET)[0]


def _tooltip(scores: dict[str, float]) -> str:
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    width = max(len(display_label(label)) for label in scores)
    return "\n".join(f"{display_label(label):<{width}}  {score:.3f}" for label, score in ranked)


def _segments(result: DocumentResult, colours: dict[str, str]) -> list[dict[str, Any]]:
    """The article as given, cut into plain text, the dateline and sentences, in order."""
    spans: list[tuple[int, int, int]] = []  # (start, end, sentence index or -1 for the dateline)
    if result.dateline is not None:
        spans.append((result.dateline.start, result.dateline.end, -1))
    spans.extend((sentence.start, sentence.end, sentence.index) for sentence in result.sentences)
    segments: list[dict[str, Any]] = []
    cursor = 0
    for start, end, index in sorted(spans):
        segments.append({"kind": "text", "text": result.text[cursor:start]})
        if index < 0:
            segments.append({"kind": "dateline", "text": result.text[start:end]})
        else:
            sentence = result.sentences[index]
            segments.append(
                {
                    "kind": "sentence",
                    "sentence": sentence,
                    "quiet": sentence.label in QUIET_LABELS,
                    "style": highlight_style(sentence.label, sentence.score, colours),
                    "tip": f"#{sentence.index}  {display_label(sentence.label)}\n"
                    + _tooltip(sentence.scores),
                }
            )
        cursor = end
    segments.append({"kind": "text", "text": result.text[cursor:]})
    # the box keeps the article's own whitespace, less what surrounds the whole
    segments[0]["text"] = segments[0]["text"].lstrip()
    segments[-1]["text"] = segments[-1]["text"].rstrip()
    return [segment for segment in segments if segment["kind"] != "text" or segment["text"]]


def _view_context(
    result: DocumentResult, label_names: Sequence[str], id_prefix: str
) -> dict[str, Any]:
    colours = label_colours(label_names)
    return {
        "result": result,
        "colours": colours,
        "segments": _segments(result, colours),
        "id_prefix": id_prefix,
        "profile_title": "Stance profile" if result.target else "Framing profile",
    }


def render_article_view(
    result: DocumentResult, label_names: Sequence[str], *, id_prefix: str = ""
) -> str:
    """The article view alone (profile bar and table, legend, highlighted text), to embed in a page;
    sentence ids are `{id_prefix}s{index}`, so several articles can share one page."""
    template = template_environment().get_template("article_view.html.j2")
    return template.render(**_view_context(result, label_names, id_prefix))


def render_article(
    result: DocumentResult,
    label_names: Sequence[str],
    *,
    title: str,
    model_name: str = "",
    source: str = "",
) -> str:
    """One article's page: profile, legend, and the text with every sentence highlighted."""
    meta = [source] if source and source != title else []
    meta.append(f"{result.profile.sentences} sentences")
    if model_name:
        meta.append(f"model {model_name}")
    if result.target:
        meta.append(f"target {result.target}")
    template = template_environment().get_template("article.html.j2")
    return template.render(
        title=title, meta=meta, css=stylesheet(), **_view_context(result, label_names, "")
    )


def render_index(
    entries: Sequence[IndexEntry], label_names: Sequence[str], *, model_name: str = ""
) -> str:
    """A table of every analysed article with its profile bar, linking to each article's page."""
    meta = f"{len(entries)} articles" + (f" · model {model_name}" if model_name else "")
    template = template_environment().get_template("index.html.j2")
    return template.render(
        title="Framing profiles",
        meta=meta,
        css=stylesheet(),
        entries=entries,
        colours=label_colours(label_names),
    )
