"""The web page of `stanceframe serve` in a real browser: Debian's Chromium, headless, driven by
Playwright (never Playwright's own browser download). scripts/install.sh installs both; where
Chromium cannot be installed (no root), these tests skip and say why. STANCEFRAME_BROWSER_TESTS=required
turns the skip into a failure, for a CI that must run them."""

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from stanceframe.cli import app as cli_app
from tests.conftest import FRAMING_LABELS, REPO

MARKER = "Quillbrook"  # in every text typed here; the server's log must never show it
ARTICLE = (
    f"KYIV (Reuters) - Ukraine denied the {MARKER} report. Gen. Smith accused Moscow of shelling "
    "the port.\n\nTurkey offered to host talks in Istanbul. Officials said 3.5 mln. tonnes were at "
    "stake."
)
LIMITS = ["--max-document-chars", "3000", "--max-body-bytes", "20000", "--max-texts", "4"]
CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")


def _unavailable(reason: str):
    if os.environ.get("STANCEFRAME_BROWSER_TESTS") == "required":
        pytest.fail(reason)
    pytest.skip(reason)


def debian_chromium() -> str | None:
    candidates = [os.environ.get("STANCEFRAME_CHROMIUM"), *CHROMIUM_PATHS, shutil.which("chromium")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Hang guards, not timings: a new process imports torch, which takes minutes on a busy machine.
GUARD_S = 900


def wait_until_healthy(base_url: str, alive, deadline_s: float = GUARD_S) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        if not alive():
            pytest.fail("the server stopped before it answered /healthz")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not answer /healthz within {deadline_s:.0f} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (scripts/install.sh installs it into .venv)")
    chromium = debian_chromium()
    if chromium is None:
        _unavailable(
            "Debian's chromium is not installed, and scripts/install.sh could not install it "
            "(it needs root or sudo): apt-get install -y chromium"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox"], timeout=GUARD_S * 1000
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def served(framing_run, tmp_path_factory):
    """`stanceframe serve` as a user starts it, access log on (to check what it logs)."""
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    port = free_port()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "stanceframe", "serve", str(framing_run), "--port", str(port)]
            + ["--device", "cpu", "--threads", "1", "--log-level", "info", *LIMITS],
            cwd=REPO,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, lambda: process.poll() is None)
        yield base_url, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=60)


@pytest.fixture
def page(browser, served):
    """A fresh page that records every request and every console error, to check at the end."""
    base_url, _ = served
    context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(GUARD_S * 1000)
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    outside = [
        url
        for url in requests
        if not (url.startswith(base_url + "/") or url.startswith(f"blob:{base_url}/"))
    ]
    assert outside == [], "the page loaded something from outside the server"
    # a blocked resource (content security policy) or a script error shows up here; the API's
    # answers to bad input, which the tests send on purpose, are logged too
    refused = re.compile(
        r"Failed to load resource: the server responded with a status of (413|422)"
    )
    assert [error for error in errors if not refused.match(error)] == []


def sentence_labels(page) -> list[tuple[str, str]]:
    return page.eval_on_selector_all(
        "#view .s", "elements => elements.map(e => [e.id, e.dataset.label])"
    )


def api_labels(base_url: str, text: str, **fields) -> list[tuple[str, str]]:
    answer = httpx.post(f"{base_url}/v1/analyze", json={"text": text, **fields}, timeout=GUARD_S)
    assert answer.status_code == 200, answer.text
    return [[f"s{s['index']}", s["label"]] for s in answer.json()["sentences"]]


def test_a_pasted_article_shows_every_sentence_with_its_label(page, served):
    base_url, _ = served
    page.goto(base_url + "/")
    page.fill("#text", ARTICLE)
    page.click("#analyze")
    page.wait_for_selector("#view .s")
    assert sentence_labels(page) == api_labels(base_url, ARTICLE, id="x")
    assert len(sentence_labels(page)) == 4
    assert page.is_visible("#view .bar") and page.is_visible("#view table")  # the profile above
    assert page.inner_text("#view .dateline") == "KYIV (Reuters) -"
    # keyboard: a sentence is a tab stop, its scores show on focus, arrows move, Enter opens
    page.focus("#view #s0")
    tip = page.evaluate("getComputedStyle(document.activeElement, '::after').content")
    assert "#0" in tip and all(label.replace("_", " ") in tip for label in FRAMING_LABELS)
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.id") == "s1"
    page.keyboard.press("Enter")
    assert page.is_visible("#picker")
    assert page.text_content("#picker-title") == "Sentence 2 of 4"
    page.keyboard.press("Escape")
    assert page.is_hidden("#picker") and page.evaluate("document.activeElement.id") == "s1"


def test_a_link_with_the_text_analyses_it_on_load(page, served):
    base_url, _ = served
    page.goto(base_url + "/?" + urllib.parse.urlencode({"text": ARTICLE}))
    page.wait_for_selector("#view .s")
    assert page.input_value("#text") == ARTICLE
    assert sentence_labels(page) == api_labels(base_url, ARTICLE)
    # the page's own "link to this text" is such a link; it may be longer than uvicorn's default
    # limit on a request line (16 KiB): 2,880 characters of Chinese percent-encode to 22 KB
    long_text = "莫斯科否认了这些指控. " * 240
    page.fill("#text", long_text)
    shared = urllib.parse.urljoin(base_url + "/", page.get_attribute("#share", "href"))
    assert len(shared) > 16 * 1024
    page.goto(shared)
    page.wait_for_selector("#view .s")
    assert page.input_value("#text") == long_text
    assert sentence_labels(page) == api_labels(base_url, long_text)


def test_corrections_download_as_training_data(page, served, tmp_path):
    base_url, _ = served
    page.goto(base_url + "/")
    page.fill("#text", ARTICLE)
    page.fill("#article-id", "kyiv-1")
    page.click("#analyze")
    page.wait_for_selector("#view .s")
    model = dict(sentence_labels(page))
    # by mouse: click the second sentence, pick another label in the picker
    mouse_label = next(label for label in FRAMING_LABELS if label != model["s1"])
    page.click("#view #s1")
    page.click(f'#picker-options button[data-label="{mouse_label}"]')
    assert page.get_attribute("#view #s1", "data-label") == mouse_label
    assert "corrected" in page.get_attribute("#view #s1", "class")
    # by keyboard: the digit of a label sets it
    key_label = next(label for label in FRAMING_LABELS if label != model["s3"])
    page.focus("#view #s3")
    page.keyboard.press(str(FRAMING_LABELS.index(key_label) + 1))
    assert page.get_attribute("#view #s3", "data-label") == key_label
    assert "4 sentences, 2 changed" in page.inner_text("#summary")
    with page.expect_download() as download:
        page.click("#download")
    corrections = tmp_path / "corrections.jsonl"
    download.value.save_as(corrections)
    assert download.value.suggested_filename.startswith("corrections-framing-")
    rows = [json.loads(line) for line in corrections.read_text(encoding="utf-8").splitlines()]
    answer = httpx.post(f"{base_url}/v1/analyze", json={"text": ARTICLE}, timeout=GUARD_S).json()
    assert [list(row) for row in rows] == [
        ["text", "label", "article", "position", "model_label", "model_score", "corrected"]
    ] * 4
    expected_labels = [model[f"s{index}"] for index in range(4)]
    expected_labels[1], expected_labels[3] = mouse_label, key_label
    assert [row["label"] for row in rows] == expected_labels
    assert [row["text"] for row in rows] == [s["text"] for s in answer["sentences"]]
    assert [row["model_label"] for row in rows] == [s["label"] for s in answer["sentences"]]
    assert [row["model_score"] for row in rows] == pytest.approx(
        [s["score"] for s in answer["sentences"]], abs=1e-4
    )
    assert [row["corrected"] for row in rows] == [False, True, False, True]
    assert {row["article"] for row in rows} == {"kyiv-1"}
    assert [row["position"] for row in rows] == [0, 1, 2, 3]

    # ready for `stanceframe train`: the tiny config trains on it, reading each sentence after
    # the one before it in its article (article and position), as configs/framing.yaml does
    run_dir = tmp_path / "retrained"
    overrides = [f"data.{split}={corrections}" for split in ("train", "dev", "test")]
    overrides += ["training.max_steps=2", "training.eval_steps=1", "data.context=previous"]
    result = CliRunner().invoke(
        cli_app,
        ["train", str(REPO / "configs/tiny.yaml"), "--run-dir", str(run_dir), "--no-report"]
        + [part for override in overrides for part in ("--set", override)],
    )
    assert result.exit_code == 0, result.output
    meta = json.loads((run_dir / "stanceframe.json").read_text())
    assert meta["data"]["train"]["rows"] == 4 and meta["input"]["context"] == "previous"


def test_an_oversized_paste_shows_the_error(page, served):
    base_url, _ = served
    page.goto(base_url + "/")
    page.fill("#text", f"{MARKER} denied it. " * 200)  # 4,400 characters; the limit is 3,000
    assert "over" in page.get_attribute("#count", "class")
    page.click("#analyze")
    page.wait_for_selector("#error:not([hidden])")
    message = page.inner_text("#error")
    assert "text has 4400 characters; the limit is 3000" in message and "HTTP 413" in message
    assert page.is_hidden("#results")


def test_a_file_of_articles_is_uploaded(page, served):
    base_url, _ = served
    page.goto(base_url + "/")
    feed = (
        json.dumps({"id": "wire-1", "text": ARTICLE})
        + "\n"
        + json.dumps({"text": f"Ankara offered to mediate. {MARKER} rejected the claim."})
        + "\n"
    )
    page.set_input_files(
        "#file", files=[{"name": "feed.jsonl", "mimeType": "text/plain", "buffer": feed.encode()}]
    )
    page.wait_for_selector("#articles button >> nth=1")
    assert page.inner_text("#article-title") == "wire-1"
    assert sentence_labels(page) == api_labels(base_url, ARTICLE)
    page.click("#articles button >> nth=1")
    assert page.inner_text("#article-title") == "feed-2"
    # a bad file: the error names the line and the field
    page.set_input_files(
        "#file",
        files=[{"name": "bad.jsonl", "mimeType": "text/plain", "buffer": b'{"txt": "x"}\n'}],
    )
    page.wait_for_selector("#error:not([hidden])")
    assert "bad.jsonl line 1: field 'text' is missing (HTTP 422)" in page.inner_text("#error")


@contextlib.contextmanager
def serving_in_process(run_dir: Path):
    """The app of `run_dir` under uvicorn in a thread of this process, on a free loopback port."""
    import uvicorn

    from stanceframe.model import Classifier
    from stanceframe.server import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Classifier.load(run_dir, device="cpu")),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, thread.is_alive)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=GUARD_S)


@pytest.fixture
def bare_page(browser):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(GUARD_S * 1000)
    yield page
    context.close()


def download_rows(page) -> list[dict]:
    with page.expect_download() as download:
        page.click("#download")
    return [json.loads(line) for line in Path(download.value.path()).read_text().splitlines()]


def test_a_stance_run_asks_for_the_target(bare_page, stance_run):
    page = bare_page
    with serving_in_process(stance_run) as base_url:
        page.goto(base_url + "/")
        page.fill("#text", ARTICLE)
        page.click("#analyze")
        page.wait_for_selector("#error:not([hidden])")
        assert "give the target" in page.inner_text("#error")
        page.fill("#target", "NATO")
        page.click("#analyze")
        page.wait_for_selector("#view .s")
        assert sentence_labels(page) == api_labels(base_url, ARTICLE, target="NATO")
        assert "target NATO" in page.inner_text("#article-meta")
        page.click("#view #s0")
        page.click('#picker-options button[aria-pressed="false"] >> nth=0')
        rows = download_rows(page)
    assert {row["target"] for row in rows} == {"NATO"}
    assert list(rows[0])[:3] == ["text", "label", "target"]
    assert [row["corrected"] for row in rows] == [True, False, False, False]


def test_a_multi_label_run_toggles_labels(bare_page, tmp_path_factory):
    from stanceframe.training import train
    from tests.conftest import tiny_config

    run_dir = tmp_path_factory.mktemp("runs") / "multi"
    train(tiny_config(run_dir, data={"multi_label": True}, training={"max_steps": 2}))
    page = bare_page
    with serving_in_process(run_dir) as base_url:
        page.goto(base_url + "/")
        page.fill("#text", ARTICLE)
        page.click("#analyze")
        page.wait_for_selector("#view .s")
        answer = httpx.post(f"{base_url}/v1/analyze", json={"text": ARTICLE}, timeout=GUARD_S)
        model = answer.json()["sentences"][0]
        added = next(label for label in FRAMING_LABELS if label not in model["labels"])
        page.click("#view #s0")
        page.click(f'#picker-options button[data-label="{added}"]')
        assert (
            page.get_attribute(f'#picker-options button[data-label="{added}"]', "aria-pressed")
            == "true"
        )
        rows = download_rows(page)
    expected = [label for label in FRAMING_LABELS if label in {*model["labels"], added}]
    assert rows[0]["label"] == expected and rows[0]["model_label"] == model["labels"]
    assert rows[0]["corrected"] is True and all(isinstance(row["label"], list) for row in rows)


def test_nothing_typed_into_the_page_is_logged(served):
    """The server's log holds the requests of every test above, but none of their text."""
    base_url, log_path = served
    httpx.get(f"{base_url}/", params={"text": ARTICLE}, timeout=GUARD_S)
    httpx.post(
        f"{base_url}/v1/analyze?html=true", json={"text": ARTICLE, "id": MARKER}, timeout=GUARD_S
    )
    deadline = time.monotonic() + GUARD_S
    log = ""
    while '"POST /v1/analyze?… HTTP/1.1" 200' not in log and time.monotonic() < deadline:
        time.sleep(0.1)
        log = log_path.read_text(encoding="utf-8")
    assert '"GET /?… HTTP/1.1" 200' in log  # the access log is on, and cut at the query
    assert '"POST /v1/analyze?… HTTP/1.1" 200' in log
    assert MARKER not in log and "Istanbul" not in log
