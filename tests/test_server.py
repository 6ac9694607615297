"""slotfill serve: a real server process on loopback, real HTTP requests."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import BUNDLED, ServerProcess

from slotfill.limits import Limits
from slotfill.server import ApiError, parse_request


def call(url: str, method: str = "GET", path: str = "/", body: bytes | None = None,
         headers: dict | None = None, timeout: float = 60) -> tuple[int, dict, dict]:
    """One request on its own connection: status, JSON body, headers."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw), dict(response.getheaders())
    finally:
        connection.close()


def parse(url: str, payload) -> tuple[int, dict]:
    status, body, _ = call(url, "POST", "/parse", json.dumps(payload).encode(),
                           {"Content-Type": "application/json"})
    return status, body


def tag_json(model: Path, texts: list[str], tmp_path: Path) -> list[dict]:
    """What `slotfill tag --json` prints for texts, one dict per text."""
    lines = tmp_path / "texts.txt"
    lines.write_text("\n".join(texts) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "slotfill", "tag", "--model", str(model),
                           "--json", "--file", str(lines)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_health_describes_the_model(server, trained):
    status, body, _ = call(server.url, path="/health")
    assert status == 200
    assert body["status"] == "ok"
    assert body["model"] == str(trained.model_dir)
    assert body["arch"] == "bilstm"
    assert set(body["versions"]) >= {"slotfill", "tensorflow", "keras"}


def test_64_concurrent_requests_get_what_tag_json_prints(server, trained, tmp_path):
    sentences = (BUNDLED / "test" / "seq.in").read_text().splitlines()[:62]
    texts = sentences + ["Arrive Taipei on November 2nd!", "  "]
    expected = tag_json(trained.model_dir, texts, tmp_path)
    start = threading.Barrier(len(texts))

    def one(text: str) -> tuple[int, dict]:
        start.wait()
        return parse(server.url, {"text": text} if text.strip() else {"texts": [text, "hi"]})

    with ThreadPoolExecutor(len(texts)) as pool:
        answers = list(pool.map(one, texts))
    assert all(status == 200 for status, _ in answers)
    got = [body if "text" in body else body["results"][0] for _, body in answers]
    assert got == expected
    # And as one request of many texts, in input order.
    status, body = parse(server.url, {"texts": texts})
    assert status == 200 and body["results"] == expected


BAD_REQUESTS = [
    # (name, body, extra headers, status, words the message must hold)
    ("empty body", b"", {}, 400, "empty"),
    ("invalid JSON", b'{"text": ', {}, 400, "not valid JSON"),
    ("invalid UTF-8", b'{"text": "caf\xe9"}', {}, 400, "UTF-8"),
    ("a list", b'["hello"]', {}, 422, "JSON object"),
    ("text is a number", b'{"text": 5}', {}, 422, '"text" must be a string'),
    ("texts is a string", b'{"texts": "hello"}', {}, 422, '"texts" must be a list'),
    ("a text of texts is null", b'{"texts": ["a", null]}', {}, 422, '"texts"[1]'),
    ("missing field", b'{"sentence": "hi"}', {}, 422, "unknown field"),
    ("no field", b"{}", {}, 422, "missing field"),
    ("both fields", b'{"text": "a", "texts": ["b"]}', {}, 422, "not both"),
    ("empty text", b'{"text": ""}', {}, 422, "empty"),
    ("whitespace text", b'{"text": " \\t "}', {}, 422, "empty"),
    ("only empty texts", b'{"texts": ["", " "]}', {}, 422, "empty"),
    ("no texts", b'{"texts": []}', {}, 422, "empty list"),
    ("lone surrogate", b'{"text": "a \\ud800"}', {}, 422, "surrogate"),
    ("too many texts", json.dumps({"texts": ["hi"] * (Limits.max_texts + 1)}).encode(), {},
     422, "at most 64"),
    ("text over the token limit", json.dumps({"text": "a " * (Limits.max_tokens + 1)}).encode(),
     {}, 422, "at most 500"),
    ("body over the size limit", b'{"text": "' + b"a" * Limits.max_body_bytes + b'"}', {},
     413, "bytes"),
]


@pytest.mark.parametrize("name, body, headers, status, words", BAD_REQUESTS,
                         ids=[case[0] for case in BAD_REQUESTS])
def test_bad_input_gets_a_4xx_naming_the_problem(server, name, body, headers, status, words):
    got, answer, _ = call(server.url, "POST", "/parse", body, headers)
    assert got == status, answer
    assert words in answer["error"]


def test_a_chunked_body_over_the_limit_is_413(server):
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    chunks = (b"a" * 65536 for _ in range(Limits.max_body_bytes // 65536 + 2))
    connection.request("POST", "/parse", body=chunks, encode_chunked=True)
    response = connection.getresponse()
    assert response.status == 413
    assert "over 1000000 bytes" in json.loads(response.read())["error"]
    connection.close()


@pytest.mark.parametrize("method, path, status, words", [
    ("GET", "/parse", 405, "GET is not allowed on /parse"),
    ("PUT", "/health", 405, "PUT is not allowed"),
    ("GET", "/nowhere", 404, "no such path: /nowhere"),
    ("POST", "/", 405, "POST is not allowed"),
])
def test_wrong_method_or_path(server, method, path, status, words):
    got, answer, _ = call(server.url, method, path, b"{}" if method != "GET" else None)
    assert got == status and words in answer["error"]


def test_the_server_is_healthy_after_the_bad_input_and_logged_no_traceback(server):
    for _, body, headers, _, _ in BAD_REQUESTS:
        call(server.url, "POST", "/parse", body, headers)
    # A client that sends half a request and goes away.
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port)) as raw:
        raw.sendall(b"POST /parse HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"te")
    status, body = parse(server.url, {"text": "flights to boston"})
    assert status == 200 and body["tokens"] == ["flights", "to", "boston"]
    assert call(server.url, path="/health")[1]["status"] == "ok"
    assert "Traceback" not in server.stderr()


def test_demo_page_docs_and_openapi_are_served_locally(server):
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    pages = {}
    for path in ("/", "/static/demo.js", "/static/demo.css", "/docs",
                 "/docs-assets/swagger-ui-bundle.js", "/openapi.json"):
        connection.request("GET", path)
        response = connection.getresponse()
        pages[path] = response.read().decode()
        assert response.status == 200, path
    connection.close()
    assert '<form id="form">' in pages["/"]
    # Nothing the pages load comes from another host.
    for path in ("/", "/docs"):
        assert "http://" not in pages[path] and "https://" not in pages[path], path
    assert "/parse" in json.loads(pages["/openapi.json"])["paths"]


def test_sigterm_finishes_the_requests_in_flight_then_exits_0(trained, tmp_path):
    # A long batch wait keeps the requests inside the server when SIGTERM arrives.
    process = ServerProcess(trained.model_dir, "--batch-wait-ms", "1500", log_dir=tmp_path)
    texts = [f"flights to boston on day {i}" for i in range(8)]
    with ThreadPoolExecutor(len(texts)) as pool:
        answers = [pool.submit(parse, process.url, {"text": text}) for text in texts]
        time.sleep(0.5)
        process.proc.send_signal(15)
        results = [answer.result(timeout=60) for answer in answers]
    assert [status for status, _ in results] == [200] * len(texts)
    assert [body["text"] for _, body in results] == texts
    assert process.stop() == 0
    assert process.lines[-1].strip() == "stopped"
    assert "Traceback" not in process.stderr()


def _serve(*options: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slotfill", "serve", *options],
                          capture_output=True, text=True, timeout=timeout)


def test_a_missing_model_stops_serve_before_it_listens(tmp_path):
    done = _serve("--model", str(tmp_path / "nothing"), "--port", "0")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: model folder") and "nothing" in last
    assert "Traceback" not in done.stderr and "serving" not in done.stdout


def test_a_broken_model_stops_serve_before_it_listens(trained, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(trained.model_dir, broken)
    (broken / "model.keras").write_bytes(b"not a model")
    done = _serve("--model", str(broken), "--port", "0")
    assert done.returncode == 1
    assert "model.keras is corrupt" in done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr and "serving" not in done.stdout


def test_a_port_in_use_stops_serve_with_one_line(trained):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve("--model", str(trained.model_dir), "--port", str(port))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: port {port} on 127.0.0.1 is already in use; choose another with --port")
    assert "serving" not in done.stdout


@pytest.mark.parametrize("body", [b"\xff", b'{"text": 1}', b'{"texts": []}',
                                  b'{"text": "a", "x": 1}', b"null"])
def test_parse_request_refuses_with_an_api_error(body):
    with pytest.raises(ApiError) as caught:
        parse_request(body, Limits())
    assert 400 <= caught.value.status < 500 and caught.value.message


def test_parse_request_reads_one_text_or_many():
    assert parse_request(b'{"text": "hi there"}', Limits()) == (["hi there"], True)
    assert parse_request('{"texts": ["a", " ", "\u00e9t\u00e9"]}'.encode(), Limits()) == (
        ["a", " ", "\u00e9t\u00e9"], False)
    with pytest.raises(ApiError, match="at most 2"):
        parse_request(b'{"texts": ["a", "b", "c"]}', Limits(max_texts=2))
