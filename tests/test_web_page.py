"""The web page of `stanceframe serve` and the routes it calls, tested in process (the browser itself
is driven in test_web_browser.py)."""

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from stanceframe.errors import DataError
from stanceframe.model import Classifier
from stanceframe.model.analyze_files import analyze_files, read_uploaded_articles
from stanceframe.model.document_html import render_article, render_article_view
from stanceframe.server import (
    QueryRedactingFilter,
    ServiceLimits,
    create_app,
    uvicorn_log_config,
)
from tests.conftest import FRAMING_LABELS

ARTICLE = "KYIV (Reuters) - Ukraine denied the report. Turkey offered to host talks in Istanbul."
LIMITS = ServiceLimits(max_texts=3, max_document_chars=400, max_body_bytes=4000)
EXTERNAL = re.compile(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
def classifier(framing_run):
    return Classifier.load(framing_run, device="cpu")


@pytest.fixture(scope="module")
def client(classifier):
    with TestClient(create_app(classifier, LIMITS)) as client:
        yield client


def settings_of(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="settings">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def test_the_page_loads_nothing_from_elsewhere(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert not EXTERNAL.search(page)
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "connect-src 'self'" in policy and "unsafe-eval" not in policy
    assert response.headers["cache-control"] == "no-store"
    # every script and stylesheet it names is served by the app itself
    assets = re.findall(r'(?:src|href)="(static/[^"]+)"', page)
    assert sorted(assets) == ["static/document.css", "static/serve.css", "static/serve.js"]
    for asset in assets:
        served = client.get("/" + asset)
        assert served.status_code == 200, asset
        assert not EXTERNAL.search(served.text) and "@import" not in served.text
        assert "url(" not in served.text  # no fonts or images fetched by the stylesheets
    assert client.get("/static/serve.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/../server.py").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404
    settings = settings_of(page)
    assert settings["labels"] == FRAMING_LABELS and settings["needs_target"] is False
    assert settings["limits"] == {"max_document_chars": 400, "max_body_bytes": 4000, "max_texts": 3}
    assert settings["autorun"] is False
    assert 'id="target"' not in page  # a framing run asks for no target


def test_the_article_view_css_is_the_one_analyze_pages_inline(client, classifier):
    result = classifier.analyze(ARTICLE)
    page = render_article(result, classifier.labels, title="t")
    assert client.get("/static/document.css").text in page


def test_text_in_the_query_fills_the_box_escaped_and_runs(client):
    text = "\nLine one </textarea><script>alert(1)</script> & more"
    response = client.get("/", params={"text": text})
    page = response.text
    assert "<script>alert(1)" not in page
    box = re.search(r'<textarea id="text"[^>]*>\n(.*?)</textarea>', page, re.S).group(1)
    assert box == "\nLine one &lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"
    assert settings_of(page)["autorun"] is True
    assert settings_of(client.get("/", params={"text": "  "}).text)["autorun"] is False


def test_analyze_with_html_returns_the_analyze_article_view(client, classifier):
    plain = client.post("/v1/analyze", json={"text": ARTICLE})
    assert plain.status_code == 200 and "html" not in plain.json()  # the API answer is unchanged
    assert set(plain.json()) == {"model", "id", "target", "dateline", "sentences", "profile"}
    answer = client.post("/v1/analyze?html=true", json={"text": ARTICLE, "id": "a1"}).json()
    html = answer["html"]
    labels = re.findall(r'<span class="s[^"]*" id="s(\d+)" data-label="([^"]+)"', html)
    assert [(int(index), label) for index, label in labels] == [
        (sentence["index"], sentence["label"]) for sentence in answer["sentences"]
    ]
    assert html.count('tabindex="0"') == len(answer["sentences"])  # each sentence a tab stop
    assert 'class="bar"' in html and "<table>" in html  # the profile bar and table come with it
    assert '<span class="dateline">KYIV (Reuters) -</span>' in html
    # one renderer: the page analyze writes holds exactly this view
    result = classifier.analyze(ARTICLE)
    assert render_article_view(result, classifier.labels) in render_article(
        result, classifier.labels, title="a1"
    )


def test_the_page_answers_limits_and_bad_bodies_as_the_api_does(client):
    too_long = client.post("/v1/analyze?html=true", json={"text": "Words. " * 100})
    assert too_long.status_code == 413 and "limit is 400" in too_long.json()["detail"]
    too_big = client.post(
        "/v1/analyze?html=true",
        content=json.dumps({"text": "x" * 5000}),
        headers={"content-type": "application/json"},
    )
    assert too_big.status_code == 413 and "4000 bytes" in too_big.json()["detail"]
    blank = client.post("/v1/analyze?html=true", json={"text": " \n"})
    assert (
        blank.status_code == 422 and blank.json()["message"] == "text: Value error, text is empty"
    )


FIRST = "Moscow denied the report. Kyiv proposed talks."
FEED = (
    b'{"id": "first", "text": "' + FIRST.encode() + b'"}\n{"text": "Ankara offered to mediate."}\n'
)


def test_a_jsonl_file_is_analysed_article_by_article(client):
    response = client.post("/v1/analyze/file?filename=feed.jsonl&html=true", content=FEED)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["file"] == "feed.jsonl"
    assert [article["id"] for article in body["articles"]] == ["first", "feed-2"]
    first = body["articles"][0]
    alone = client.post("/v1/analyze", json={"text": FIRST}).json()
    assert [(s["text"], s["label"]) for s in first["sentences"]] == [
        (s["text"], s["label"]) for s in alone["sentences"]
    ]
    for article in body["articles"]:
        found = re.findall(r'data-label="([^"]+)"', article["html"])
        assert found == [sentence["label"] for sentence in article["sentences"]]
    plain = client.post("/v1/analyze/file?filename=feed.jsonl", content=FEED).json()
    assert "html" not in plain["articles"][0]


def test_csv_and_txt_files(client):
    csv_file = b'id,body\nc1,"Moscow denied it, again."\n,Kyiv proposed talks.\n'
    answer = client.post(
        "/v1/analyze/file?filename=wire.csv&text_field=body", content=csv_file
    ).json()
    assert [a["id"] for a in answer["articles"]] == ["c1", "wire-3"]
    assert answer["articles"][0]["sentences"][0]["text"] == "Moscow denied it, again."
    text = "\ufeffMOSCOW, May 2. /TASS/. Moscow denied it.\r\n\r\nKyiv proposed talks.".encode()
    txt = client.post("/v1/analyze/file?filename=story.txt", content=text).json()
    assert [a["id"] for a in txt["articles"]] == ["story"]
    assert txt["articles"][0]["dateline"]["text"] == "MOSCOW, May 2. /TASS/."


@pytest.mark.parametrize(
    ("query", "content", "status", "message"),
    [
        ("filename=feed.pdf", b"%PDF", 422, "feed.pdf: give a .txt file"),
        ("filename=feed.jsonl", b"", 422, "feed.jsonl: the file is empty"),
        ("filename=feed.jsonl", b'{"text": "ok."}\n{"text": "bad\n', 422, "feed.jsonl line 2"),
        ("filename=feed.jsonl", b'{"txt": "wrong field"}\n', 422, "line 1: field 'text' is"),
        ("filename=a.txt", b"caf\xe9 denied it.", 422, "a.txt line 1: the file is not valid UTF-8"),
        ("filename=f.jsonl", b'{"id": 1, "text": "A."}\n{"id": 1, "text": "B."}', 422, "id '1'"),
        ("filename=f.csv", b"id,text\n1,A.\n2\n", 422, "f.csv line 3: 1 fewer cells"),
        ("filename=f.jsonl", b'{"text": "A."}\n' * 4, 413, "4 articles; the limit is 3"),
        (
            "filename=f.jsonl",
            b'{"text": "A."}\n{"text": "' + b"Words. " * 60 + b'"}',
            413,
            "f.jsonl line 2: the article has 420",
        ),
        ("filename=f.jsonl", b'{"text": "' + b"x" * 4100 + b'"}', 413, "4000 bytes"),
        ("filename=f.jsonl&target=NATO", FEED, 422, "leave out target"),
        ("", FEED, 422, "filename: Field required"),
    ],
)
def test_bad_files_get_a_clear_answer(client, query, content, status, message):
    response = client.post(f"/v1/analyze/file?{query}", content=content)
    assert response.status_code == status, response.text
    answer = response.json()
    assert message in (answer.get("message") or answer["detail"])


def test_stance_runs_ask_for_a_target(stance_run):
    with TestClient(create_app(Classifier.load(stance_run, device="cpu"))) as client:
        page = client.get("/", params={"target": "NATO"}).text
        assert settings_of(page)["needs_target"] is True
        assert re.search(r'<input id="target"[^>]*value="NATO"', page)
        missing = client.post("/v1/analyze/file?filename=f.jsonl", content=FEED)
        assert missing.status_code == 422 and "give target" in missing.json()["detail"]
        one = client.post("/v1/analyze/file?filename=f.jsonl&target=NATO&html=true", content=FEED)
        assert [a["target"] for a in one.json()["articles"]] == ["NATO", "NATO"]
        assert "Stance profile" in one.json()["articles"][0]["html"]
        per_article = b'{"text": "NATO expanded.", "who": "NATO"}\n{"text": "A.", "who": ""}\n'
        field = client.post(
            "/v1/analyze/file?filename=f.jsonl&target_field=who", content=per_article
        )
        assert field.status_code == 422 and "f.jsonl line 2: field 'who'" in field.text


def test_uploads_are_read_in_memory_with_the_project_reader(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    articles = read_uploaded_articles("feed.jsonl", FEED)
    assert [(a.id, a.source) for a in articles] == [
        ("first", "feed.jsonl line 1"),
        ("feed-2", "feed.jsonl line 2"),
    ]
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere
    with pytest.raises(DataError, match="feed.jsonl: no articles found"):
        read_uploaded_articles("feed.jsonl", b"\n\n")


def test_analyze_reads_a_named_csv_file(classifier, tmp_path):
    feed = tmp_path / "wire.csv"
    feed.write_text("id,text\nw1,Moscow denied the report.\nw2,Kyiv proposed talks.\n")
    summary = analyze_files(classifier, [feed], tmp_path / "out", html=False)
    assert [article.id for article in summary.articles] == ["w1", "w2"]


def test_access_log_lines_lose_their_query_string():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/?text=Secret%20article", "1.1", 200),
        None,
    )
    assert QueryRedactingFilter().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /?… HTTP/1.1" 200'
    config = uvicorn_log_config()
    assert config["loggers"]["uvicorn.access"]["filters"] == ["no_query"]
    assert config["filters"]["no_query"] == {"()": QueryRedactingFilter}
