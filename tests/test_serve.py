"""`antq-ner serve` as a real server over a socket: the Label Studio ML backend protocol, the JSON
endpoint, bad requests, size limits and concurrent requests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import ANNOTATIONS
from label_studio_server import free_port

from antq_ner.cli import predict_main

TEXT = (ANNOTATIONS / "raw" / "bac-lieu-2023-05-31.txt").read_text(encoding="utf-8")[:1500]
MAX_BYTES = 200_000


def call(url: str, body: bytes | str | dict | None = None, method: str | None = None, timeout: float = 120,
         headers: dict[str, str] | None = None):
    """(status, JSON answer) of a request; `body` as JSON if a dict."""
    import urllib.error
    import urllib.request

    data = json.dumps(body, ensure_ascii=False).encode() if isinstance(body, (dict, list)) else (
        body.encode() if isinstance(body, str) else body)
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"),
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def start_server(model: Path, *extra: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = model.parent / f"serve-{port}.log"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "antq-ner"), "serve", "--model", str(model), "--port", str(port), *extra],
        stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"antq-ner serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if call(f"{url}/health", timeout=2)[0] == 200:
                return process, url, log
        except OSError:
            time.sleep(0.3)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError(f"antq-ner serve did not answer /health in 120 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    process, url, log = start_server(tiny_checkpoint, "--max-request-bytes", str(MAX_BYTES))
    yield url, log
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def predicted_entities(model: Path, text: str, tmp_path: Path) -> list[dict]:
    source = tmp_path / "doc.txt"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert predict_main(["--model", str(model), str(source), "-o", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))["entities"]


def test_the_backend_protocol(server, tiny_checkpoint, tmp_path):
    url, _ = server
    status, health = call(f"{url}/health")
    assert status == 200 and health["status"] == "UP"
    version = health["model_version"]
    assert version.startswith(tiny_checkpoint.name + "-")
    config = ('<View><Labels name="ner" toName="doc"><Label value="ORG"/><Label value="PERSON"/></Labels>'
              '<Text name="doc" value="$body"/></View>')
    assert call(f"{url}/setup", {"project": "3.1700000000", "schema": config}) == (200, {"model_version": version})
    status, answer = call(f"{url}/predict", {"tasks": [{"id": 11, "data": {"body": TEXT}}, {"id": 12, "data": {"body": ""}}],
                                             "label_config": config, "project": "3.1700000000", "params": {}})
    assert status == 200 and len(answer["results"]) == 2
    first, empty = answer["results"]
    assert first["model_version"] == version and 0 < first["score"] <= 1
    assert empty["result"] == [] and empty["score"] == 1.0
    expected = [e for e in predicted_entities(tiny_checkpoint, TEXT, tmp_path) if e["type"] in ("ORG", "PERSON")]
    assert expected, "the model predicts no ORG or PERSON here: nothing to compare"
    assert [(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in first["result"]] == [
        (e["start"], e["end"], e["type"]) for e in expected]
    for r in first["result"]:  # the project's own tag names, offsets exact
        assert (r["from_name"], r["to_name"], r["type"]) == ("ner", "doc", "labels")
        assert TEXT[r["value"]["start"]:r["value"]["end"]] == r["value"]["text"]
    assert call(f"{url}/webhook", {"action": "ANNOTATION_CREATED", "annotation": {"id": 1}}) == (200, {"status": "ok"})


def test_the_json_endpoint_gives_predict_py_entities(server, tiny_checkpoint, tmp_path):
    url, _ = server
    expected = predicted_entities(tiny_checkpoint, TEXT, tmp_path)
    assert call(f"{url}/entities", {"text": TEXT}) == (200, {"entities": expected})
    status, answer = call(f"{url}/entities", {"documents": [{"id": "report.v2", "text": TEXT}, {"text": "Bộ Công an."},
                                                             {"id": "news/7", "text": "Đại tá."}]})
    assert status == 200
    assert [d["id"] for d in answer["documents"]] == ["report.v2", "2", "news/7"]  # the ids as sent
    assert answer["documents"][0]["entities"] == expected


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/entities", "{not json", 400, "not JSON"),
        ("/entities", b"\xff\xfe", 400, "not UTF-8"),
        ("/entities", {"txt": "x"}, 422, 'expected {"text"'),
        ("/entities", {"text": 5}, 422, '"text" must be a string'),
        ("/entities", {"documents": [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]}, 422, "used twice"),
        ("/entities", {"documents": "x"}, 422, "must be a list"),
        ("/predict", {"tasks": [{"id": 4, "data": {"html": "x"}}]}, 422, "task 4: no string data.text"),
        ("/predict", {"tasks": [], "label_config": "<View><Labels"}, 422, "not valid XML"),
        ("/predict", {"tasks": [], "label_config": '<View><Choices name="c" toName="t"/><Text name="t" value="$text"/></View>'},
         422, "no <Labels> over a <Text>"),
        ("/predict", [1, 2], 422, 'expected {"tasks"'),
        ("/entities", {"text": "x" * (MAX_BYTES + 10)}, 413, "limit"),
        ("/nowhere", {"text": "x"}, 404, "Not Found"),
    ],
)
def test_bad_requests_get_a_message_not_a_traceback(server, path, body, status, message):
    url, log = server
    got, answer = call(f"{url}{path}", body)
    assert got == status
    assert set(answer) == {"error"} and message in answer["error"]
    assert "Traceback" not in log.read_text()


def test_concurrent_requests_are_answered_as_alone(server):
    url, _ = server
    texts = [TEXT[k * 100:] for k in range(8)]
    alone = [call(f"{url}/entities", {"text": t})[1] for t in texts]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda t: call(f"{url}/entities", {"text": t})[1], texts * 2))
    assert together == alone * 2


def test_a_missing_checkpoint_is_one_line(tmp_path):
    done = subprocess.run([str(Path(sys.executable).parent / "antq-ner"), "serve", "--model", str(tmp_path / "none"),
                           "--port", str(free_port())], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
