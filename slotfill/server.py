"""The HTTP server: ``slotfill serve`` answers ``POST /parse`` with what ``tag --json`` prints.

Routes: ``POST /parse`` (``{"text": ...}`` or ``{"texts": [...]}``), ``GET /health``,
``GET /`` (the demo page, whose assets slotfill serves itself), ``GET /docs`` (the
OpenAPI page, also served locally) and ``GET /openapi.json``.

FastAPI on uvicorn: FastAPI for the OpenAPI description and its page, uvicorn (with
uvloop and httptools) because it is the fastest well-kept ASGI server and shuts down
gracefully, finishing the requests in flight. Requests are parsed by hand rather than by
a pydantic model so that every kind of bad input gets its own message, and so that a
request costs little beside the model call: concurrent requests are tagged together by
a :class:`~slotfill.batching.Batcher`.

Every problem with a request is a 4xx with a JSON body ``{"error": "..."}`` naming it.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import logging
import signal
import socket
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from slotfill.batching import Batcher, Overloaded
from slotfill.errors import SlotfillError
from slotfill.limits import Limits
from slotfill.tokenizer import tokenize

log = logging.getLogger(__name__)

WEB = resources.files("slotfill") / "web"


class ApiError(Exception):
    """A request the server refuses: its HTTP status and a message naming the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str, headers: dict | None = None) -> Response:
    return Response(json.dumps({"error": message}), status_code=status,
                    media_type="application/json", headers=headers)


def parse_request(body: bytes, limits: Limits) -> tuple[list[str], bool]:
    """The texts a ``/parse`` body asks for, and whether it asked for one (``"text"``).

    Raises:
        ApiError: 400 for a body that is not UTF-8 JSON, 422 for JSON that does not ask
            for texts the server will tag (wrong shape or types, empty, over a limit).
    """
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ApiError(400, f"the request body is not valid UTF-8 (byte {err.start})") from None
    try:
        payload = json.loads(decoded)
    except json.JSONDecodeError as err:
        what = "empty" if not decoded.strip() else f"not valid JSON ({err.msg} at line " \
                                                   f"{err.lineno} column {err.colno})"
        raise ApiError(400, f"the request body is {what}; send "
                            '{"text": "..."} or {"texts": ["...", ...]}') from None
    if not isinstance(payload, dict):
        raise ApiError(422, 'the request body must be a JSON object: {"text": "..."} or '
                            f'{{"texts": ["...", ...]}}, got {_json_type(payload)}')
    unknown = sorted(set(payload) - {"text", "texts"})
    if unknown:
        raise ApiError(422, f"unknown field {unknown[0]!r}: the body has \"text\" (a string) "
                            'or "texts" (a list of strings)')
    if "text" in payload and "texts" in payload:
        raise ApiError(422, 'give "text" or "texts", not both')
    if "text" in payload:
        single, texts = True, [payload["text"]]
        names = ['"text"']
    elif "texts" in payload:
        single, texts = False, payload["texts"]
        if not isinstance(texts, list):
            raise ApiError(422, f'"texts" must be a list of strings, got {_json_type(texts)}')
        if not texts:
            raise ApiError(422, '"texts" is an empty list: nothing to tag')
        if len(texts) > limits.max_texts:
            raise ApiError(422, f'"texts" has {len(texts)} texts; the server tags at most '
                                f"{limits.max_texts} per request (--max-texts)")
        names = [f'"texts"[{i}]' for i in range(len(texts))]
    else:
        raise ApiError(422, 'missing field: "text" (a string) or "texts" (a list of strings)')
    empty = 0
    for name, text in zip(names, texts):
        if not isinstance(text, str):
            raise ApiError(422, f"{name} must be a string, got {_json_type(text)}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ApiError(422, f"{name} holds an unpaired surrogate (\\u{ord(text[err.start]):x} "
                                f"at character {err.start}), which is not text") from None
        tokens = len(tokenize(text))
        if tokens > limits.max_tokens:
            raise ApiError(422, f"{name} has {tokens} tokens; the server tags at most "
                                f"{limits.max_tokens} per text (--max-tokens): split it")
        empty += tokens == 0
    # As `slotfill tag`: an empty line among others gets an empty result; all empty is an error.
    if empty == len(texts):
        what = '"text" is' if single else 'every text of "texts" is'
        raise ApiError(422, f"{what} empty or whitespace: nothing to tag")
    return texts, single


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or a 413 once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the request body has {int(declared)} bytes; the server takes "
                            f"at most {limit} (--max-body-bytes)")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"the request body is over {limit} bytes (--max-body-bytes)")
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody is left to read an answer; a 400 ends the request without a traceback.
        raise ApiError(400, "the client went away before sending the whole body") from None
    return b"".join(chunks)


def create_app(tagger: Any, model_path: str | Path, limits: Limits | None = None) -> FastAPI:
    """The ASGI application serving ``tagger`` (a :class:`~slotfill.tagger.Tagger`).

    Its batcher starts and stops with the application's lifespan, so run it under a server
    that sends lifespan events (uvicorn does; so does ``fastapi.testclient.TestClient``
    used as a context manager).
    """
    from slotfill.versions import versions

    limits = limits or Limits()
    batcher: Batcher = Batcher(tagger.tag, max_texts=limits.batch_size,
                               max_wait=limits.batch_wait_ms / 1000,
                               max_queued=limits.max_queued)
    health = json.dumps({"status": "ok", "model": str(model_path), "arch": tagger.config.arch,
                         "intent": "intent" in tagger.model.output_names,
                         "versions": versions()})

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        yield
        await batcher.stop()

    import slotfill

    app = FastAPI(title="slotfill", version=slotfill.__version__,
                  description="Slot filling and intent detection: `POST /parse` tags text.",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    # Swagger UI 4, which slotfill serves itself, reads OpenAPI 3.0.
    app.openapi_version = "3.0.3"
    app.state.batcher = batcher
    app.state.limits = limits

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> Response:
        if err.status_code == 404:
            message = f"no such path: {request.url.path} (see /docs)"
        elif err.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(err.detail)
        return error_response(err.status_code, message, getattr(err, "headers", None))

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> Response:
        return error_response(err.status, err.message)

    @app.post("/parse", openapi_extra=_PARSE_OPENAPI, summary="Tag one text or a list of texts")
    async def parse(request: Request) -> Response:
        texts, single = parse_request(await read_body(request, limits.max_body_bytes), limits)
        try:
            results = await batcher.submit(texts)
        except Overloaded as err:
            return error_response(429, f"the server is busy: {err}; retry shortly",
                                  headers={"Retry-After": "1"})
        dicts = [result.to_dict() for result in results]
        body = dicts[0] if single else {"results": dicts}
        return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")

    @app.get("/health", summary="The model served and the versions serving it")
    async def get_health() -> Response:
        return Response(health, media_type="application/json")

    @app.get("/", include_in_schema=False)
    async def demo() -> HTMLResponse:
        return HTMLResponse((WEB / "index.html").read_text(encoding="utf-8"))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="slotfill API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")

    app.mount("/static", StaticFiles(directory=str(WEB)), name="static")
    app.mount("/docs-assets", StaticFiles(directory=str(_swagger_assets())), name="docs-assets")
    return app


def _swagger_assets() -> Path:
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


_PARSE_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {
            "schema": {"oneOf": [
                {"type": "object", "required": ["text"],
                 "properties": {"text": {"type": "string"}}},
                {"type": "object", "required": ["texts"],
                 "properties": {"texts": {"type": "array", "items": {"type": "string"}}}},
            ]},
            "examples": {
                "one": {"value": {"text": "arrive Taipei on November 2nd"}},
                "several": {"value": {"texts": ["flights to boston", "show me fares"]}},
            },
        }},
    },
    "responses": {
        "200": {"description": 'One result (as a line of `tag --json`) for "text", '
                               '{"results": [...]} in input order for "texts".'},
        "400": {"description": "The body is not UTF-8 JSON."},
        "413": {"description": "The body is over the size limit."},
        "422": {"description": "Wrong fields or types, empty text, over a text or token limit."},
        "429": {"description": "Too many texts are waiting; retry shortly."},
    },
}


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (not yet listening); SlotfillError if it cannot be."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise SlotfillError(f"port {port} on {host} is already in use; "
                                "choose another with --port") from None
        raise SlotfillError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.set_inheritable(True)
    return sock


def serve(model_path: str | Path | None = None, host: str = "127.0.0.1", port: int = 8080,
          limits: Limits | None = None, access_log: bool = False,
          on_listening: Any = None) -> None:
    """Load a model folder and serve it until SIGTERM or Ctrl-C, which finish the requests
    in flight before returning.

    The port is bound and the model loaded and warmed up before the server listens, so a
    port in use or an unusable model (SlotfillError) stops it before any client connects.
    ``on_listening(url)`` is called once it listens (``port=0`` picks a free port).
    """
    import uvicorn

    from slotfill import model_dir

    sock = bind(host, port)
    try:
        folder = model_dir.resolve(model_path)  # before TensorFlow loads: a typo fails at once
        from slotfill.tagger import Tagger

        tagger = Tagger.load(folder)
        tagger.warm_up()
        # TensorFlow and Keras leave millions of long-lived objects; without freezing them,
        # every full collection walks them all, a pause of hundreds of milliseconds.
        gc.collect()
        gc.freeze()
        app = create_app(tagger, folder, limits or Limits())
        config = uvicorn.Config(app, log_level="warning", access_log=access_log,
                                timeout_graceful_shutdown=30, limit_concurrency=None)
        server = uvicorn.Server(config)
        # uvicorn re-raises the signal that stopped it once it has shut down; these handlers
        # make that a no-op, so a graceful stop returns normally (exit 0).
        previous = {sig: signal.signal(sig, lambda *_: None)
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        sock.listen(2048)
        bound_host, bound_port = sock.getsockname()[:2]
        if on_listening is not None:
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            on_listening(f"http://{shown}:{bound_port}")
        try:
            server.run(sockets=[sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        sock.close()
