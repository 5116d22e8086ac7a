"""The HTTP service, tested over real HTTP against a `stanceframe serve` process on loopback."""

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from stanceframe.model import Classifier
from tests.conftest import FRAMING_LABELS, REPO

LIMITS = ["--max-texts", "4", "--max-text-chars", "300", "--max-document-chars", "3000"]
LIMITS += ["--max-body-bytes", "20000"]
ARTICLE = "KYIV (Reuters) - Ukraine denied the report. Gen. Smith proposed talks on Feb. 3."


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(framing_run):
    port = free_port()
    command = [sys.executable, "-m", "stanceframe", "serve", str(framing_run), "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--device", "cpu", "--log-level", "warning", *LIMITS],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"stanceframe serve exited early:\n{process.stdout.read()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("stanceframe serve did not answer /healthz within 120 s")
            time.sleep(0.2)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def classifier(framing_run):
    return Classifier.load(framing_run, device="cpu")


def test_health_info_and_openapi(server):
    assert server.get("/healthz").json() == {"status": "ok"}
    info = server.get("/v1/info").json()
    assert info["labels"] == FRAMING_LABELS
    assert info["model_card"]["task"] == "framing"
    assert info["model_card"]["metrics"]["test"]["n"] > 0
    assert info["limits"]["max_texts"] == 4
    assert {"stanceframe", "torch", "transformers", "fastapi"} <= set(info["versions"])
    schema = server.get("/openapi.json").json()
    assert {"/v1/classify", "/v1/analyze", "/v1/info", "/healthz"} <= set(schema["paths"])
    assert "413" in schema["paths"]["/v1/classify"]["post"]["responses"]


def test_classify_matches_the_model_in_process(server, classifier):
    texts = ["Moscow denied the report.", "Kyiv proposed talks in Istanbul."]
    response = server.post("/v1/classify", json={"texts": texts})
    assert response.status_code == 200
    body = response.json()
    expected = classifier.predict(texts)
    assert [p["label"] for p in body["predictions"]] == [p.label for p in expected]
    for got, want in zip(body["predictions"], expected, strict=True):
        assert got["scores"] == pytest.approx(want.scores, abs=1e-5)


def test_analyze_returns_offsets_and_a_profile(server, classifier):
    response = server.post("/v1/analyze", json={"text": ARTICLE, "id": "a1"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "a1" and body["dateline"] == {
        "text": "KYIV (Reuters) -",
        "start": 0,
        "end": 16,
    }
    for sentence in body["sentences"]:
        assert ARTICLE[sentence["start"] : sentence["end"]] == sentence["text"]
    local = classifier.analyze(ARTICLE)
    assert [s["label"] for s in body["sentences"]] == [s.label for s in local.sentences]
    assert body["profile"]["counts"] == local.profile.counts
    empty = server.post("/v1/analyze", json={"text": "MOSCOW, May 2. /TASS/."}).json()
    assert empty["sentences"] == [] and empty["profile"]["sentences"] == 0


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v1/classify", b'{"texts": ["unfinished', 422, "not valid JSON"),
        ("/v1/classify", b"", 422, "the body is empty"),
        ("/v1/classify", b'{"texts": "one string"}', 422, "texts: Input should be a valid list"),
        ("/v1/classify", b'{"texts": ["ok", 2]}', 422, "texts.1: Input should be a valid string"),
        ("/v1/classify", b'{"texts": []}', 422, "texts: List should have at least 1 item"),
        ("/v1/classify", b'{"texts": ["fine", "  "]}', 422, "texts[1] is empty"),
        ("/v1/classify", b'{"text": ["wrong field"]}', 422, "texts: Field required"),
        ("/v1/classify", b'{"texts": ["a"], "extra": 1}', 422, "extra: Extra inputs"),
        ("/v1/classify", b'["a", "b"]', 422, "must be a JSON object"),
        ("/v1/classify", b'{"texts": ["a"], "targets": "NATO"}', 422, "leave out targets"),
        ("/v1/classify", b'{"texts": ["a", "b", "c", "d", "e"]}', 413, "5 texts in one request"),
        ("/v1/classify", json.dumps({"texts": ["x" * 301]}).encode(), 413, "texts[0] has 301"),
        ("/v1/analyze", b'{"texts": ["wrong endpoint"]}', 422, "text: Field required"),
        ("/v1/analyze", b'{"text": 42}', 422, "text: Input should be a valid string"),
        ("/v1/analyze", b'{"text": "\\n\\n"}', 422, "text is empty"),
        ("/v1/analyze", json.dumps({"text": "Words. " * 500}).encode(), 413, "limit is 3000"),
    ],
)
def test_bad_requests_get_a_clear_answer(server, path, body, status, message):
    response = server.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    answer = response.json()
    text = answer.get("message") or answer["detail"]
    assert message in text


def test_oversized_bodies_are_refused_before_parsing(server):
    big = json.dumps({"texts": ["word " * 50] * 200}).encode()
    assert len(big) > 20000
    declared = server.post(
        "/v1/classify", content=big, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413 and "20000 bytes" in declared.json()["detail"]

    def chunks():  # no Content-Length: sent chunked
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    streamed = server.post(
        "/v1/classify", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    small = json.dumps({"texts": ["Moscow denied it."]}).encode()
    chunked_ok = server.post(
        "/v1/classify",
        content=iter([small[:10], small[10:]]),
        headers={"content-type": "application/json"},
    )
    assert chunked_ok.status_code == 200


def test_wrong_method_and_form_bodies(server):
    assert server.get("/v1/classify").status_code == 405
    form = server.post("/v1/classify", data={"texts": "a"})
    assert form.status_code == 422 and "JSON" in form.json()["message"]


def test_concurrent_requests_each_get_their_own_answers(server, classifier):
    requests = [
        [f"Request {index}: Moscow denied claim {n}." for n in range(index % 4 + 1)]
        for index in range(24)
    ]

    def send(texts):
        return server.post("/v1/classify", json={"texts": texts})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(send, requests))
    assert all(response.status_code == 200 for response in responses)
    for texts, response in zip(requests, responses, strict=True):
        expected = classifier.predict(texts)
        got = response.json()["predictions"]
        assert [p["label"] for p in got] == [p.label for p in expected]
        assert [p["score"] for p in got] == pytest.approx([p.score for p in expected], abs=1e-4)


def test_stance_models_take_targets(stance_run):
    from fastapi.testclient import TestClient

    from stanceframe.server import create_app

    app = create_app(Classifier.load(stance_run, device="cpu"))
    with TestClient(app) as client:
        missing = client.post("/v1/classify", json={"texts": ["NATO expanded."]})
        assert missing.status_code == 422 and "stance model" in missing.json()["detail"]
        one = client.post("/v1/classify", json={"texts": ["a", "b"], "targets": "NATO"})
        assert one.status_code == 200 and len(one.json()["predictions"]) == 2
        mismatched = client.post("/v1/classify", json={"texts": ["a", "b"], "targets": ["x"]})
        assert mismatched.status_code == 422 and "1 targets for 2 texts" in mismatched.text
        analyzed = client.post("/v1/analyze", json={"text": ARTICLE, "target": "Ukraine"})
        assert analyzed.status_code == 200 and analyzed.json()["target"] == "Ukraine"
        assert set(analyzed.json()["profile"]["counts"]) == {"favor", "against", "none"}
