"""Self-contained HTML views of analysed articles: each sentence coloured by label, scores on hover.

No scripts, fonts or images from elsewhere: a page opens the same offline, from a mail attachment or
an archive, as it does on the machine that wrote it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from stanceframe.model.document import DocumentResult, Profile

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
_QUIET_LABELS = {"other", "none", "neutral", "O"}
_QUIET_COLOUR = "#9aa0a6"

_CSS = """
:root { --ink: #202124; --muted: #5f6368; --rule: #e3e5e8; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: var(--ink);
  font: 16px/1.6 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 28px 32px 48px; }
header h1 { font-size: 24px; line-height: 1.3; margin: 0 0 4px; }
header .meta { color: var(--muted); font-size: 14px; }
.card { background: #fff; border: 1px solid var(--rule); border-radius: 10px; padding: 18px 22px;
  margin: 18px 0; }
.card h2 { font-size: 14px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  margin: 0 0 12px; }
.bar { display: flex; height: 22px; border-radius: 6px; overflow: hidden; background: var(--rule); }
.bar span { display: block; height: 100%; overflow: hidden; white-space: nowrap; color: #fff;
  font-size: 12px; line-height: 22px; padding-left: 8px; text-overflow: clip; }
.bar.small span { font-size: 0; padding: 0; }
.bar.small { height: 12px; min-width: 160px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 7px 8px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.quote { color: #3c4043; }
td.quote a { color: inherit; text-decoration: none; border-bottom: 1px dotted #9aa0a6; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 3px; margin-right: 7px;
  vertical-align: -1px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 14px; color: var(--muted);
  margin-bottom: 14px; }
.article { white-space: pre-wrap; font-family: Georgia, "Times New Roman", serif; font-size: 17px;
  line-height: 1.75; }
.dateline { font-variant: small-caps; letter-spacing: .04em; color: var(--muted); }
.s { position: relative; border-radius: 3px; padding: 1px 0; box-decoration-break: clone;
  -webkit-box-decoration-break: clone; cursor: help; }
.s.quiet { color: #3c4043; }
.s:hover { outline: 2px solid rgba(32, 33, 36, .35); }
.s:target { outline: 2px solid var(--ink); }
.s:hover::after, .s:target::after { content: attr(data-tip); position: absolute; left: 0; top: 100%; z-index: 10;
  margin-top: 6px; white-space: pre; background: #202124; color: #fff; border-radius: 6px;
  padding: 7px 10px; font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  box-shadow: 0 4px 14px rgba(0, 0, 0, .25); pointer-events: none; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
a { color: #1a56c4; }
"""


@dataclass(frozen=True)
class IndexEntry:
    title: str
    href: str
    profile: Profile


def label_colours(label_names: Sequence[str]) -> dict[str, str]:
    colours: dict[str, str] = {}
    spare = iter(_PALETTE * (len(label_names) // len(_PALETTE) + 1))
    for label in label_names:
        if label in _QUIET_LABELS:
            colours[label] = _QUIET_COLOUR
        else:
            colours[label] = _KNOWN_COLOURS.get(label) or next(spare)
    return colours


def _display(label: str) -> str:
    return label.replace("_", " ")


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[index : index + 2], 16) for index in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha:.2f})"


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _bar(profile: Profile, colours: dict[str, str], small: bool = False) -> str:
    """The article's shares as one stacked bar; segments wide enough carry their numbers."""
    segments = []
    for label, share in profile.shares.items():
        if share <= 0:
            continue
        caption = f"{_display(label)} {share:.0%}"
        shown = caption if share >= 0.2 else f"{share:.0%}" if share >= 0.05 else ""
        segments.append(
            f'<span style="width:{share * 100:.2f}%;background:{colours[label]}" '
            f'title="{escape(caption)}">{escape(shown)}</span>'
        )
    return f'<div class="bar{" small" if small else ""}">{"".join(segments)}</div>'


def _legend(colours: dict[str, str]) -> str:
    items = "".join(
        f'<span><span class="swatch" style="background:{colour}"></span>{escape(_display(label))}'
        "</span>"
        for label, colour in colours.items()
    )
    return f'<div class="legend">{items}</div>'


def _profile_table(profile: Profile, colours: dict[str, str]) -> str:
    rows = []
    for label, colour in colours.items():
        strongest = profile.strongest[label]
        quote = (
            f'<a href="#s{strongest.index}">{escape(strongest.text)}</a> '
            f'<span class="meta">({strongest.score:.2f})</span>'
            if strongest
            else '<span class="meta">—</span>'
        )
        rows.append(
            f'<tr><td><span class="swatch" style="background:{colour}"></span>'
            f"{escape(_display(label))}</td>"
            f'<td class="num">{profile.counts[label]}</td>'
            f'<td class="num">{profile.shares[label]:.0%}</td>'
            f'<td class="num">{profile.weighted_shares[label]:.0%}</td>'
            f'<td class="quote">{quote}</td></tr>'
        )
    return (
        '<table><thead><tr><th>label</th><th class="num">sentences</th><th class="num">share</th>'
        '<th class="num" title="the mean of this label\'s score over all sentences">'
        "mean score</th>"
        "<th>strongest sentence</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _tooltip(scores: dict[str, float]) -> str:
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    width = max(len(_display(label)) for label in scores)
    return "\n".join(f"{_display(label):<{width}}  {score:.3f}" for label, score in ranked)


def _article_body(result: DocumentResult, colours: dict[str, str]) -> str:
    """The article as given, whitespace and all, with each sentence wrapped in a coloured span."""
    pieces: list[str] = []
    cursor = 0
    spans: list[tuple[int, int, str]] = []
    if result.dateline is not None:
        spans.append((result.dateline.start, result.dateline.end, "dateline"))
    spans.extend(
        (sentence.start, sentence.end, str(sentence.index)) for sentence in result.sentences
    )
    for start, end, key in sorted(spans):
        pieces.append(escape(result.text[cursor:start]))
        if key == "dateline":
            pieces.append(f'<span class="dateline">{escape(result.text[start:end])}</span>')
        else:
            sentence = result.sentences[int(key)]
            colour = colours[sentence.label]
            quiet = sentence.label in _QUIET_LABELS
            style = (
                ""
                if quiet
                else f' style="background:{_rgba(colour, 0.08 + 0.27 * sentence.score)};'
                f'box-shadow: inset 0 -2px 0 {colour}"'
            )
            tip = escape(
                f"#{sentence.index}  {_display(sentence.label)}\n{_tooltip(sentence.scores)}"
            )
            pieces.append(
                f'<span class="s{" quiet" if quiet else ""}" id="s{sentence.index}" '
                f'data-label="{escape(sentence.label)}" data-score="{sentence.score:.4f}" '
                f'data-tip="{tip}"{style}>{escape(sentence.text)}</span>'
            )
        cursor = end
    pieces.append(escape(result.text[cursor:]))
    return "".join(pieces).strip()


def render_article(
    result: DocumentResult,
    label_names: Sequence[str],
    *,
    title: str,
    model_name: str = "",
    source: str = "",
) -> str:
    """One article's page: profile, legend, and the text with every sentence highlighted."""
    colours = label_colours(label_names)
    meta = [source] if source and source != title else []
    meta.append(f"{result.profile.sentences} sentences")
    if model_name:
        meta.append(f"model {model_name}")
    if result.target:
        meta.append(f"target {result.target}")
    body = (
        f"<header><h1>{escape(title)}</h1>"
        f'<div class="meta">{escape(" · ".join(meta))}</div></header>\n'
        f'<section class="card"><h2>Framing profile</h2>{_bar(result.profile, colours)}'
        f'<div style="height:12px"></div>{_profile_table(result.profile, colours)}</section>\n'
        f'<section class="card"><h2>Article</h2>{_legend(colours)}'
        f'<div class="article">{_article_body(result, colours)}</div></section>\n'
        "<footer>Hover a sentence, or follow a strongest-sentence link, to see its scores. "
        "Highlight strength follows the model's score. "
        "Written by stanceframe analyze.</footer>"
    )
    return _page(title, body)


def render_index(
    entries: Sequence[IndexEntry], label_names: Sequence[str], *, model_name: str = ""
) -> str:
    """A table of every analysed article with its profile bar, linking to each article's page."""
    colours = label_colours(label_names)
    header_cells = "".join(f'<th class="num">{escape(_display(label))}</th>' for label in colours)
    rows = "".join(
        f'<tr><td><a href="{escape(entry.href)}">{escape(entry.title)}</a></td>'
        f'<td class="num">{entry.profile.sentences}</td>'
        f"<td>{_bar(entry.profile, colours, small=True)}</td>"
        + "".join(f'<td class="num">{entry.profile.counts[label]}</td>' for label in colours)
        + "</tr>"
        for entry in entries
    )
    meta = f"{len(entries)} articles" + (f" · model {model_name}" if model_name else "")
    body = (
        f'<header><h1>Framing profiles</h1><div class="meta">{escape(meta)}</div></header>\n'
        f'<section class="card">{_legend(colours)}<table><thead><tr><th>article</th>'
        f'<th class="num">sentences</th><th>profile</th>{header_cells}</tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )
    return _page("Framing profiles", body)
