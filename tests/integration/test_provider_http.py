"""The real HTTP client code of the OpenAI-compatible and Anthropic providers against local stub servers
(ThreadingHTTPServer on 127.0.0.1, port 0), through the gateway's retries; Bedrock Converse with botocore's
Stubber on a real bedrock-runtime client. No request leaves the machine."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.response import StreamingBody
from botocore.stub import Stubber

from evalgate.providers import _http
from evalgate.providers.anthropic import AnthropicProvider
from evalgate.providers.base import ModelRequest, ProviderError
from evalgate.providers.bedrock import BedrockProvider
from evalgate.providers.config import ProviderSettings
from evalgate.providers.gateway import ModelGateway
from evalgate.providers.openai_compat import OpenAICompatProvider

KEY = "sk-live-THISKEYMUSTNEVERSHOW0123456789"


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


class StubServer:
    """Answers POSTs with queued replies (the last one repeats) and records every request."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                with stub.lock:
                    stub.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw)))
                    reply = stub.replies.pop(0) if len(stub.replies) > 1 else stub.replies[0]
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)


@pytest.fixture
def server() -> Iterator[StubServer]:
    stub = StubServer()
    stub.thread.start()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()


def _openai(server: StubServer, key: str | None = KEY) -> OpenAICompatProvider:
    env = {"EVALGATE_PROVIDER_LOCAL_BASE_URL": f"{server.url}/v1"}
    if key:
        env["EVALGATE_PROVIDER_LOCAL_API_KEY"] = key
    endpoint = ProviderSettings.from_env(env).endpoint("local")
    assert endpoint is not None
    return OpenAICompatProvider(endpoint)


def _anthropic(server: StubServer) -> AnthropicProvider:
    endpoint = ProviderSettings.from_env({"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": KEY}).endpoint(
        "anthropic"
    )
    assert endpoint is not None
    return AnthropicProvider(endpoint)


def _gateway(provider: Any, **kwargs: Any) -> tuple[ModelGateway, list[float]]:
    slept: list[float] = []
    return ModelGateway(None, providers={provider.name: provider}, sleep=slept.append, **kwargs), slept


CHAT_OK = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 21, "completion_tokens": 2, "total_tokens": 23},
}
MESSAGES_OK = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-5-haiku-20241022",
    "content": [{"type": "text", "text": "Bonjour"}, {"type": "text", "text": "!"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 12, "output_tokens": 3},
}


def _chat(provider: str = "local", **params: Any) -> ModelRequest:
    return ModelRequest(provider, "gpt-4o-mini", "What is the capital of France?", params, system="Answer briefly.")


# -- OpenAI-compatible ------------------------------------------------------------------------------
def test_openai_success_maps_text_usage_cost_and_sends_the_right_request(server: StubServer) -> None:
    server.queue(Reply(body=CHAT_OK))
    gw, _ = _gateway(_openai(server))
    c = gw.complete(_chat(temperature=0, max_tokens=5, stop="\n", timeout_s=5, seed=7), project_id="p")
    assert (c.text, c.input_tokens, c.output_tokens, c.model, c.cached) == (
        "Paris",
        21,
        2,
        "gpt-4o-mini-2024-07-18",
        False,
    )
    assert c.cost_usd == pytest.approx((21 * 0.15 + 2 * 0.60) / 1e6) and c.priced
    assert c.raw == {"id": "chatcmpl-1", "finish_reason": "stop"}
    assert c.latency_ms > 0
    (seen,) = server.seen
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        "temperature": 0,
        "max_tokens": 5,
        "stop": ["\n"],
        "seed": 7,
    }  # no timeout_s: control params never reach the API


def test_reasoning_models_get_max_completion_tokens(server: StubServer) -> None:
    server.queue(Reply(body=CHAT_OK))
    _openai(server).complete(ModelRequest("local", "o3-mini", "hi", {"max_tokens": 50}))
    assert server.seen[0].body["max_completion_tokens"] == 50 and "max_tokens" not in server.seen[0].body


def test_a_server_without_usage_is_counted_offline_and_without_a_key_sends_no_auth(server: StubServer) -> None:
    server.queue(Reply(body={**CHAT_OK, "usage": None, "model": "llama3"}))
    c = _openai(server, key=None).complete(ModelRequest("local", "llama3", "Hello there"))
    assert c.input_tokens > 0 and c.output_tokens == 1
    assert c.raw is not None and c.raw["usage_estimated"] is True
    assert c.priced is False and c.cost_usd == 0.0
    assert "authorization" not in server.seen[0].headers


def test_429_with_retry_after_is_retried_after_that_wait(server: StubServer) -> None:
    server.queue(
        Reply(429, {"error": {"message": "Rate limit reached", "type": "requests"}}, {"Retry-After": "2"}),
        Reply(body=CHAT_OK),
    )
    gw, slept = _gateway(_openai(server), base_delay=0.1)
    assert gw.complete(_chat(), project_id="p").text == "Paris"
    assert slept == [2.0]
    assert len(server.seen) == 2


def test_retry_after_as_an_http_date(server: StubServer) -> None:
    server.queue(
        Reply(503, {"error": {"message": "overloaded"}}, {"Retry-After": formatdate(time.time() + 3, usegmt=True)})
    )
    with pytest.raises(ProviderError) as info:
        _openai(server).complete(_chat())
    assert info.value.retryable and info.value.status == 503
    assert info.value.retry_after is not None and 1.0 <= info.value.retry_after <= 3.0


def test_500s_exhaust_the_retries(server: StubServer) -> None:
    server.queue(Reply(500, {"error": {"message": "The server had an error", "type": "server_error"}}))
    gw, slept = _gateway(_openai(server), max_attempts=3, base_delay=0.01)
    with pytest.raises(ProviderError, match="HTTP 500") as info:
        gw.complete(_chat(), project_id="p")
    assert info.value.retryable
    assert len(server.seen) == 3 and len(slept) == 2


def test_400_surfaces_the_api_message_without_the_key(server: StubServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echoed = f"Incorrect API key provided: {KEY}. You can find your API key at https://platform.example/keys."
    server.queue(Reply(401, {"error": {"message": echoed, "type": "invalid_request_error", "code": "invalid_api_key"}}))
    provider = _openai(server)
    gw, slept = _gateway(provider)
    with pytest.raises(ProviderError) as info:
        gw.complete(_chat(), project_id="p")
    error = info.value
    assert not error.retryable and error.status == 401 and slept == []
    assert "Incorrect API key provided" in str(error)
    everything = " ".join(
        [str(error), repr(error), "".join(traceback.format_exception(error)), repr(provider), repr(gw), caplog.text]
    )
    assert KEY not in everything
    assert "sk-live" not in everything


def test_400_with_a_non_json_body(server: StubServer) -> None:
    server.queue(Reply(400, b"Bad Request: model not found"))
    with pytest.raises(ProviderError, match="model not found") as info:
        _openai(server).complete(_chat())
    assert not info.value.retryable


def test_a_timeout_is_retryable(server: StubServer) -> None:
    server.queue(Reply(body=CHAT_OK, delay=1.0))
    gw, _ = _gateway(_openai(server), max_attempts=1)
    started = time.perf_counter()
    with pytest.raises(ProviderError, match="timed out") as info:
        gw.complete(_chat(timeout_s=0.2), project_id="p")
    assert info.value.retryable
    assert time.perf_counter() - started < 0.9


def test_a_refused_connection_is_retryable() -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = ProviderSettings.from_env({"EVALGATE_PROVIDER_DOWN_BASE_URL": f"http://127.0.0.1:{port}/v1"}).endpoint(
        "down"
    )
    assert endpoint is not None
    with pytest.raises(ProviderError, match=r"connection failed|timed out") as info:
        OpenAICompatProvider(endpoint).complete(ModelRequest("down", "m", "hi", timeout_s=1))
    assert info.value.retryable


def test_embeddings(server: StubServer) -> None:
    server.queue(
        Reply(
            body={
                "object": "list",
                "data": [  # out of order on purpose: the index decides
                    {"object": "embedding", "index": 1, "embedding": [0.0, 1.0]},
                    {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]},
                ],
                "model": "text-embedding-3-small",
                "usage": {"prompt_tokens": 4, "total_tokens": 4},
            }
        )
    )
    gw, _ = _gateway(_openai(server))
    assert gw.embed(["a", "b"], provider="local", model="default", project_id="p") == [[1.0, 0.0], [0.0, 1.0]]
    (seen,) = server.seen
    assert seen.path == "/v1/embeddings"
    assert seen.body == {"model": "text-embedding-3-small", "input": ["a", "b"]}


# -- Anthropic --------------------------------------------------------------------------------------
def test_anthropic_success(server: StubServer) -> None:
    server.queue(Reply(body=MESSAGES_OK))
    gw, _ = _gateway(_anthropic(server))
    request = ModelRequest(
        "anthropic",
        "claude-3-5-haiku-20241022",
        "Say hello in French",
        {"temperature": 0.5, "stop": "END"},
        system="Be brief.",
    )
    c = gw.complete(request, project_id="p")
    assert (c.text, c.input_tokens, c.output_tokens) == ("Bonjour!", 12, 3)
    assert c.cost_usd == pytest.approx((12 * 0.80 + 3 * 4.00) / 1e6)
    assert c.raw == {"id": "msg_1", "finish_reason": "end_turn"}
    (seen,) = server.seen
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == KEY and seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.body == {
        "model": "claude-3-5-haiku-20241022",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Say hello in French"}],
        "system": "Be brief.",
        "stop_sequences": ["END"],
        "temperature": 0.5,
    }


def test_anthropic_529_overloaded_is_retried(server: StubServer) -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server.queue(Reply(529, overloaded), Reply(429, overloaded, {"retry-after": "1"}), Reply(body=MESSAGES_OK))
    gw, slept = _gateway(_anthropic(server), base_delay=0.25)
    assert gw.complete(ModelRequest("anthropic", "claude-3-5-haiku-latest", "hi"), project_id="p").text == "Bonjour!"
    assert len(slept) == 2 and slept[1] >= 1.0


def test_anthropic_400_message_without_the_key(server: StubServer) -> None:
    server.queue(
        Reply(
            400,
            {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": f"max_tokens too large; key {KEY}"},
            },
        )
    )
    with pytest.raises(ProviderError, match="invalid_request_error: max_tokens too large") as info:
        _anthropic(server).complete(ModelRequest("anthropic", "claude-3-5-haiku-latest", "hi"))
    assert not info.value.retryable
    assert KEY not in str(info.value)


def test_anthropic_has_no_embeddings(server: StubServer) -> None:
    with pytest.raises(ProviderError, match="no embeddings") as info:
        _anthropic(server).embed(["x"], "default")
    assert not info.value.retryable


# -- Retry-After parsing ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "Retry-After": "1"}, 0.25),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:27:00 GMT"}, 0.0),  # in the past
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    now = 1445412480.0  # 2015-10-21 07:28:00 GMT
    assert _http.parse_retry_after(headers, now=now) == expected


# -- Bedrock ----------------------------------------------------------------------------------------
CONVERSE_OK = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Paris"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 15, "outputTokens": 2, "totalTokens": 17},
    "metrics": {"latencyMs": 180},
}


@pytest.fixture
def bedrock() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_bedrock_converse_success(bedrock: tuple[Any, Stubber]) -> None:
    client, stub = bedrock
    stub.add_response(
        "converse",
        CONVERSE_OK,
        expected_params={
            "modelId": "amazon.nova-lite-v1:0",
            "messages": [{"role": "user", "content": [{"text": "Capital of France?"}]}],
            "system": [{"text": "One word."}],
            "inferenceConfig": {"maxTokens": 5, "temperature": 0, "stopSequences": ["\n"]},
            "additionalModelRequestFields": {"top_k": 20},
        },
    )
    gw, _ = _gateway(BedrockProvider(client))
    request = ModelRequest(
        "bedrock",
        "amazon.nova-lite-v1:0",
        "Capital of France?",
        {"max_tokens": 5, "temperature": 0, "stop": "\n", "top_k": 20},
        "One word.",
    )
    c = gw.complete(request, project_id="p")
    assert (c.text, c.input_tokens, c.output_tokens) == ("Paris", 15, 2)
    assert c.cost_usd == pytest.approx((15 * 0.06 + 2 * 0.24) / 1e6)
    assert c.raw is not None and c.raw["finish_reason"] == "end_turn" and c.raw["model_latency_ms"] == 180


def test_bedrock_throttling_is_retried(bedrock: tuple[Any, Stubber]) -> None:
    client, stub = bedrock
    stub.add_client_error("converse", "ThrottlingException", "Too many requests", 429)
    stub.add_client_error("converse", "ServiceUnavailableException", "try later", 503)
    stub.add_response("converse", CONVERSE_OK)
    gw, slept = _gateway(BedrockProvider(client), base_delay=0.01)
    assert gw.complete(ModelRequest("bedrock", "amazon.nova-lite-v1:0", "hi"), project_id="p").text == "Paris"
    assert len(slept) == 2


def test_bedrock_validation_errors_are_not_retried(bedrock: tuple[Any, Stubber]) -> None:
    client, stub = bedrock
    stub.add_client_error("converse", "ValidationException", "The model ID is invalid", 400)
    gw, slept = _gateway(BedrockProvider(client))
    with pytest.raises(ProviderError, match="ValidationException: The model ID is invalid") as info:
        gw.complete(ModelRequest("bedrock", "nope", "hi"), project_id="p")
    assert not info.value.retryable and slept == []


def test_bedrock_titan_embeddings(bedrock: tuple[Any, Stubber]) -> None:
    client, stub = bedrock
    for text, vector in (("a", [0.6, 0.8]), ("b", [1.0, 0.0])):
        payload = json.dumps({"embedding": vector, "inputTextTokenCount": 1}).encode()
        stub.add_response(
            "invoke_model",
            {"body": StreamingBody(io.BytesIO(payload), len(payload)), "contentType": "application/json"},
            expected_params={
                "modelId": "amazon.titan-embed-text-v2:0",
                "body": json.dumps({"inputText": text, "normalize": True}).encode(),
                "contentType": "application/json",
                "accept": "application/json",
            },
        )
    assert BedrockProvider(client).embed(["a", "b"], "default") == [[0.6, 0.8], [1.0, 0.0]]


def test_bedrock_client_comes_lazily_from_evalgate_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    from evalgate import aws

    built: list[str] = []

    def fake_client(service: str) -> object:
        built.append(service)
        return object()

    monkeypatch.setattr(aws, "client", fake_client)
    provider = BedrockProvider()
    assert built == []
    assert provider.client is not None and built == ["bedrock-runtime"]
