"""A checkpoint behind HTTP (`antq-ner serve`): a Label Studio ML backend and a plain JSON endpoint.

Label Studio's ML backend protocol: `GET /health`, `POST /setup`, `POST /predict` (answered
`{"results": [{"result": [...], "score", "model_version"}, …]}`, one per task, regions named after
the project's own `<Labels>` and `<Text>` tags) and `POST /webhook`. For applications,
`POST /entities` takes `{"text": …}` or `{"documents": [{"id", "text"}, …]}` and answers with
predict.py's entities. The model is loaded once; requests are tagged one at a time (a lock: the
CRF's tagger is not thread-safe), in a worker thread so that health checks still answer. Bad
requests get a 4xx with `{"error": message}`, never a traceback; bodies over the limit get 413.
"""

# No `from __future__ import annotations`: FastAPI reads the handlers' annotations (`request: Request`) at run
# time, and `Request` is imported inside `create_app` so that the library imports without FastAPI.

import json
import logging
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .annotate import score_documents
from .annotation_tools import FROM_NAME, TO_NAME, label_studio_result
from .documents import InputDocument

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "LabelTarget", "create_app", "label_target"]

DEFAULT_MAX_REQUEST_BYTES = 2 * 1024 * 1024  # about 200 news reports; a project's batch of tasks fits
log = logging.getLogger("antq_ner.serve")


class RequestError(ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class LabelTarget:
    """Where a Label Studio project wants span labels: the `<Labels>` name, its `<Text>` name, the
    task data key the text is read from, and the label values it offers (None: any)."""

    from_name: str = FROM_NAME
    to_name: str = TO_NAME
    data_key: str = TO_NAME
    values: frozenset[str] | None = None


def label_target(label_config: str | None) -> LabelTarget:
    """The first `<Labels>` over a `<Text>` of a labelling config; the defaults without a config."""
    if not label_config:
        return LabelTarget()
    try:
        root = ET.fromstring(label_config)
    except ET.ParseError as e:
        raise RequestError(422, f"label_config is not valid XML ({e})") from None
    texts = {el.get("name"): el.get("value", "") for el in root.iter() if el.tag in ("Text", "HyperText")}
    for el in root.iter("Labels"):
        if el.get("toName") in texts:
            value = texts[el.get("toName")]
            return LabelTarget(el.get("name", FROM_NAME), el.get("toName"), value.lstrip("$") or TO_NAME,
                               frozenset(lab.get("value") for lab in el.iter("Label")))
    raise RequestError(422, "label_config has no <Labels> over a <Text>: this backend labels spans of text")


def _parse_json(body: bytes):
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise RequestError(400, f"the body is not UTF-8 ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise RequestError(400, f"the body is not JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None


def _documents(payload) -> tuple[list[InputDocument], bool]:
    """`/entities`' documents, and whether the request was a single `{"text"}`."""
    if not isinstance(payload, dict) or ("text" in payload) == ("documents" in payload):
        raise RequestError(422, 'expected {"text": "..."} or {"documents": [{"id": ..., "text": "..."}, ...]}')
    if "text" in payload:
        if not isinstance(payload["text"], str):
            raise RequestError(422, f'"text" must be a string, got {type(payload["text"]).__name__}')
        return [InputDocument("text", payload["text"], "request")], True
    items = payload["documents"]
    if not isinstance(items, list):
        raise RequestError(422, f'"documents" must be a list, got {type(items).__name__}')
    docs, seen = [], set()
    for k, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise RequestError(422, f'documents[{k - 1}]: expected {{"id": ..., "text": "..."}} with a string text')
        doc_id = item.get("id", str(k))
        if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
            raise RequestError(422, f'documents[{k - 1}]: "id" must be a string or an integer')
        if str(doc_id) in seen:
            raise RequestError(422, f'documents[{k - 1}]: id {doc_id!r} is used twice; ids must be unique')
        seen.add(str(doc_id))
        docs.append(InputDocument(str(doc_id), item["text"], "request"))
    return docs, False


def _predict_tasks(payload) -> tuple[list[InputDocument], LabelTarget]:
    if not isinstance(payload, dict) or not isinstance(payload.get("tasks"), list):
        raise RequestError(422, 'expected {"tasks": [{"id": ..., "data": {"text": "..."}}, ...], "label_config": ...}')
    target = label_target(payload.get("label_config"))
    docs = []
    for k, task in enumerate(payload["tasks"]):
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get(target.data_key), str):
            task_id = task.get("id", k) if isinstance(task, dict) else k
            raise RequestError(422, f"task {task_id}: no string data.{target.data_key} (the <Text> tag's value)")
        docs.append(InputDocument(f"task-{k}", data[target.data_key], "request"))
    return docs, target


def create_app(tagger, model_version: str, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES):
    """The FastAPI application around a loaded `inference.Tagger`."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app = FastAPI(title="antq-ner", version=model_version,
                  description="Vietnamese NER: a Label Studio ML backend and a JSON endpoint")
    lock = threading.Lock()

    def score(docs):
        with lock:
            return score_documents(tagger, docs)

    async def body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_request_bytes:
            raise RequestError(413, f"the body is {declared} bytes; the limit is {max_request_bytes} (serve "
                               "--max-request-bytes): send fewer documents per request")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_request_bytes:
                raise RequestError(413, f"the body is over the limit of {max_request_bytes} bytes (serve "
                                   "--max-request-bytes): send fewer documents per request")
            chunks.append(chunk)
        return b"".join(chunks)

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        log.exception("error while answering %s %s", request.method, request.url.path)
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the server's log"}, status_code=500)

    @app.get("/health")
    async def health():
        return {"status": "UP", "model_class": "antq-ner", "model_version": model_version}

    @app.post("/setup")
    async def setup(request: Request):
        raw = await body(request)
        payload = _parse_json(raw) if raw.strip() else {}
        if isinstance(payload, dict) and payload.get("schema"):
            label_target(payload["schema"])  # a project this backend cannot label is told so at connection
        return {"model_version": model_version}

    @app.post("/webhook")
    async def webhook(request: Request):
        await body(request)  # events (annotation created, training requested) change nothing here
        return {"status": "ok"}

    @app.post("/predict")
    async def predict(request: Request):
        docs, target = _predict_tasks(_parse_json(await body(request)))
        results = []
        for d in await run_in_threadpool(score, docs):
            entities = [e for e in d.entities if target.values is None or e["type"] in target.values]
            results.append({"result": label_studio_result(entities, target.from_name, target.to_name),
                            "score": round(d.confidence, 6), "model_version": model_version})
        return {"results": results}

    @app.post("/entities")
    async def entities(request: Request):
        docs, single = _documents(_parse_json(await body(request)))
        scored = await run_in_threadpool(score, docs)
        if single:
            return {"entities": scored[0].entities}
        # the ids as sent (score_documents names documents as the corpus would)
        return {"documents": [{"id": doc.id, "entities": d.entities} for doc, d in zip(docs, scored, strict=True)]}

    return app


def serve(model_dir: str, host: str, port: int, precision: str, max_request_bytes: int,
          batch_size: int = 32) -> None:
    """Load the checkpoint once and answer requests until interrupted."""
    import uvicorn
    from transformers.utils import logging as hf_logging

    from .checkpoint import checkpoint_version
    from .inference import Tagger

    hf_logging.disable_progress_bar()
    tagger = Tagger.from_pretrained(model_dir, batch_size=batch_size, precision=precision)
    version = checkpoint_version(model_dir)
    app = create_app(tagger, version, max_request_bytes)
    print(f"serving {version} on http://{host}:{port} (Label Studio ML backend: this URL; JSON: POST /entities)",
          flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info")

