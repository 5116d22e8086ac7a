"""Split news text into sentences with character offsets into the original text.

pysbd (rule-based, no download) finds the boundaries; this module adds what wire copy needs on top:
paragraphs as hard breaks, hard-wrapped lines joined, the dateline kept off the first sentence, and
a few merges pysbd gets wrong in news ("Amb. Linda Thomas-Greenfield", "5 p.m. Moscow time").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pysbd


@dataclass(frozen=True)
class Span:
    """A stretch of the original text: `original[start:end] == text`."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class SplitText:
    dateline: Span | None
    sentences: list[Span]


_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
# Words and their separators never share a character, so a failed match cannot backtrack for ever.
_CAPS_PLACE = r"[A-Z][A-Z'’.]+(?:[ \-][A-Z][A-Z'’.]+)*"  # MOSCOW, ST. PETERSBURG, NEW YORK
_ANY_PLACE = r"[A-Z][A-Za-z'’.]+(?:[ \-][A-Z][A-Za-z'’.]+)*"  # also Kyiv, New York
_REGION = r"(?:,\s*[A-Z][A-Za-z.]+(?:\s[A-Z][A-Za-z.]+)?)?"  # ", Calif." or ", Ukraine"
_DATE = rf"(?:[,.]?\s*{_MONTH}\s+\d{{1,2}}(?:,\s*\d{{4}})?)?"
# (Reuters), (AP), (AFP), (Xinhua), (The Associated Press), (dpa): capitalised words, or a short one
_AGENCY = r"\((?:[A-Z][\w.&'’-]*(?: [A-Z][\w.&'’-]*){0,3}|[a-z]{2,4})\)"
_DASH = r"(?:[-–—]{1,2}|:)"
# Checked in order at the start of the article (or of the paragraph after a headline).
_DATELINES = [
    # MOSCOW, February 21. /TASS/.   and   KYIV, Feb 3. /ITAR-TASS/.
    re.compile(rf"{_ANY_PLACE}{_REGION}{_DATE}\.?\s*/\s*[A-Za-z][\w-]*\s*/\.?\s*"),
    # KYIV (Reuters) -   WASHINGTON (AP) —   BEIJING, March 14 (Xinhua) --   MOSCOW. Feb 21 (Interfax) -
    re.compile(rf"{_ANY_PLACE}{_REGION}{_DATE}\s*{_AGENCY}\s*{_DASH}\s*"),
    # LONDON —   (no agency: an em or en dash, or a double hyphen, after a place in capitals)
    re.compile(rf"{_CAPS_PLACE}{_REGION}{_DATE}\s+(?:—|–|--)\s*"),
]
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_SENTENCE_END = re.compile(r"""[.!?:;]["'”’)\]]*\s*$""")
_LIST_ITEM = re.compile(r"\s*(?:[-*•·–—]|\d{1,3}[.)])\s")
# Titles that stand before a name: a period after one of these never ends a sentence in news copy.
_TITLE_AT_END = re.compile(
    r"(?:^|[\s(\"“])(?:Adm|Amb|Brig|Capt|Cdr|Cmdr|Col|Cpl|Dr|Fr|Gen|Gov|Hon|Insp|Lt|Maj|Messrs|Mr|"
    r"Mrs|Ms|Pres|Prof|Rep|Rev|Sen|Sgt|Supt)\.\s*$"
)
_CLOCK_AT_END = re.compile(r"\d\s*[ap]\.m\.\s*$", re.IGNORECASE)
_ZONE_AT_START = re.compile(
    r"(?:[A-Z][a-z]+(?:\s[A-Z][a-z]+)?\s+time\b|GMT|UTC|EST|EDT|CET|CEST|EET|EEST|MSK)"
)
_WORD = re.compile(r"\w")
# pysbd slows down with the square of a paragraph's length when it finds no sentence end in it, so
# very long paragraphs go to it in windows cut where a sentence most likely ends.
_WINDOW_CHARS = 3_000
_LIKELY_END = re.compile(r"""[.!?]["'”’)\]]*\s+(?=["“‘(\[]?[A-Z0-9])""")


@lru_cache(maxsize=4)
def _segmenter(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language, clean=False)


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of text between blank lines, without surrounding whitespace."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for separator in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = separator.start() if separator else len(text)
        chunk = text[start:end]
        if chunk.strip():
            left = start + len(chunk) - len(chunk.lstrip())
            bounds.append((left, start + len(chunk.rstrip())))
        if separator:
            start = separator.end()
    return bounds


def _match_dateline(text: str, start: int, end: int) -> int | None:
    """Where the body begins after a dateline at `start`, or None when there is none."""
    for pattern in _DATELINES:
        match = pattern.match(text, start, end)
        if match:
            return match.end()
    return None


def _looks_like_headline(text: str, start: int, end: int) -> bool:
    chunk = text[start:end]
    return "\n" not in chunk and len(chunk) <= 200 and not _SENTENCE_END.search(chunk)


def _join_wrapped_lines(chunk: str) -> str:
    """The chunk with hard-wrap newlines turned into spaces (same length, so offsets hold).

    A newline stays a break after sentence-final punctuation, before a list item or a dateline.
    """
    lines = chunk.split("\n")
    joined = lines[0]
    for line in lines[1:]:
        keeps_break = (
            _SENTENCE_END.search(joined)
            or _LIST_ITEM.match(line)
            or _match_dateline(line, 0, len(line)) is not None
        )
        joined += ("\n" if keeps_break else " ") + line
    return joined


def _find(view: str, sentence: str, cursor: int) -> int:
    """Where pysbd's `sentence` starts in `view` at or after `cursor`; -1 when it cannot be found."""
    position = view.find(sentence, cursor)
    if position >= 0:
        return position
    # pysbd may turn whitespace into other whitespace; match word by word instead.
    pattern = r"\s+".join(re.escape(word) for word in sentence.split())
    match = re.compile(pattern).search(view, cursor) if pattern else None
    return match.start() if match else -1


def _boundaries(view: str, language: str) -> list[int]:
    """Start offsets of pysbd's sentences in `view`; the first is always 0 so no text is lost."""
    starts = [0]
    cursor = 0
    for sentence in _segmenter(language).processor(view).process() or []:
        stripped = sentence.strip()
        if not stripped:
            continue
        position = _find(view, stripped, cursor)
        if position < 0:
            continue  # unaligned: its text stays with the sentence before
        if position > starts[-1]:
            starts.append(position)
        cursor = position + len(stripped)
    return starts


def _windows(view: str) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    start = 0
    while len(view) - start > _WINDOW_CHARS:
        limit = start + _WINDOW_CHARS
        ends = [
            match.end() for match in _LIKELY_END.finditer(view, start + _WINDOW_CHARS // 2, limit)
        ]
        space = view.rfind(" ", start + 1, limit)
        cut = ends[-1] if ends else (space + 1 if space > start else limit)
        windows.append((start, cut))
        start = cut
    windows.append((start, len(view)))
    return windows


def _should_merge(previous: str, following: str) -> bool:
    if not _WORD.search(following):
        return True  # a stray closing quote or dash belongs to the sentence before
    if following[:1].islower():
        return True  # "$3.4 bln. in Q1": news sentences do not start in lower case
    if _TITLE_AT_END.search(previous) and following[:1].isupper():
        return True
    return bool(_CLOCK_AT_END.search(previous) and _ZONE_AT_START.match(following))


def _split_paragraph(text: str, start: int, end: int, language: str) -> list[Span]:
    view = _join_wrapped_lines(text[start:end].replace("\r", " "))
    starts = [
        window_start + offset
        for window_start, window_end in _windows(view)
        for offset in _boundaries(view[window_start:window_end], language)
    ]
    pieces: list[tuple[int, int]] = []
    for index, piece_start in enumerate(starts):
        piece_end = starts[index + 1] if index + 1 < len(starts) else len(view)
        piece_end = piece_start + len(view[piece_start:piece_end].rstrip())
        if pieces and _should_merge(view[pieces[-1][0] : pieces[-1][1]], view[piece_start:]):
            pieces[-1] = (pieces[-1][0], piece_end)
        else:
            pieces.append((piece_start, piece_end))
    return [
        Span(text[start + left : start + right], start + left, start + right)
        for left, right in pieces
        if right > left
    ]


def split_sentences(text: str, language: str = "en") -> SplitText:
    """Sentences of `text` (and its wire dateline, if any) with offsets into `text` itself.

    >>> split = split_sentences("KYIV (Reuters) - Ukraine denied it. Gen. Smith agreed.")
    >>> split.dateline.text, [sentence.text for sentence in split.sentences]
    ('KYIV (Reuters) -', ['Ukraine denied it.', 'Gen. Smith agreed.'])
    """
    paragraphs = _paragraphs(text)
    dateline: Span | None = None
    # The dateline opens the article, or the paragraph after a one-line headline.
    candidates = paragraphs[:2] if paragraphs and _looks_like_headline(text, *paragraphs[0]) else []
    for index, (start, end) in enumerate(candidates or paragraphs[:1]):
        body_start = _match_dateline(text, start, end)
        if body_start is not None:
            dateline_end = start + len(text[start:body_start].rstrip())
            dateline = Span(text[start:dateline_end], start, dateline_end)
            paragraphs[index] = (body_start, end)
            break
    sentences = [
        sentence
        for start, end in paragraphs
        if end > start
        for sentence in _split_paragraph(text, start, end, language)
    ]
    return SplitText(dateline=dateline, sentences=sentences)
