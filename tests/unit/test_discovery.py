"""Discovery against scripted servers: every field a server may leave out, every way it may fail."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from router.config import Provider
from router.upstream.discovery import (
    DiscoveryError,
    ModelInfo,
    detect,
    model_key,
    normalize_url,
    probe,
    probe_all,
)

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]
OLLAMA = Provider(type="ollama", url="http://ollama.test:11434")
COMPATIBLE = Provider(type="openai-compatible", url="http://compat.test:8000/v1")


def routes(table: dict[tuple[str, str], Any]) -> Handler:
    """A server answering ``(METHOD, path)`` from ``table``: a value is JSON, a Response is sent
    as it is, a callable gets the request; anything else is 404."""

    async def handle(request: httpx.Request) -> httpx.Response:
        answer = table.get((request.method, request.url.path))
        if callable(answer):
            answer = answer(request)
        if answer is None:
            return httpx.Response(404, text="404 page not found")
        return answer if isinstance(answer, httpx.Response) else httpx.Response(200, json=answer)

    return handle


def transport(handler: Handler) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def show(arch: str | None, context: int | None, capabilities: list[str] | None = None) -> Any:
    info: dict[str, Any] = {"general.parameter_count": 7_000_000_000}
    if arch:
        info["general.architecture"] = arch
    if context:
        info[f"{arch or 'qwen2'}.context_length"] = context
        info[f"{arch or 'qwen2'}.embedding_length"] = 3584
    return {"model_info": info, "capabilities": capabilities or ["completion", "tools"]}


def ollama_server(overrides: dict[tuple[str, str], Any] | None = None) -> Handler:
    """Ollama with three models, one loaded; ``overrides`` replaces answers (None: 404)."""

    def shown(request: httpx.Request) -> Any:
        body = json.loads(request.content)
        found = {"qwen2.5-coder:7b": show("qwen2", 32768), "llama3.2:latest": show("llama", 131072)}
        return found.get(body["model"]) or httpx.Response(404, json={"error": "not found"})

    table: dict[tuple[str, str], Any] = {
        ("GET", "/api/version"): {"version": "0.12.6"},
        ("GET", "/api/tags"): {
            "models": [
                {"name": "qwen2.5-coder:7b", "model": "qwen2.5-coder:7b", "size": 4_683_087_332},
                {"model": "llama3.2:latest"},  # no "name": "model" names it
                {"name": "gone:1b"},  # /api/show answers 404 for it
                "not an object",
            ]
        },
        ("GET", "/api/ps"): {"models": [{"name": "qwen2.5-coder:7b", "context_length": 4096}]},
        ("POST", "/api/show"): shown,
    }
    return routes(table | (overrides or {}))


async def test_ollama_models_windows_and_what_is_loaded() -> None:
    status = await probe("ollama", OLLAMA, transport(ollama_server()))
    assert status.healthy
    assert status.error is None
    assert status.version == "0.12.6"
    assert status.url == "http://ollama.test:11434"
    assert status.models == (
        ModelInfo("qwen2.5-coder:7b", 32768, True, 4096, 4_683_087_332, ("completion", "tools")),
        ModelInfo("llama3.2:latest", 131072, False, None, None, ("completion", "tools")),
        ModelInfo("gone:1b", None, False, None),
    )


async def test_ollama_names_match_as_ollama_matches_them() -> None:
    status = await probe("ollama", OLLAMA, transport(ollama_server()))
    assert status.model("llama3.2") == status.models[1]
    assert status.model("Llama3.2:Latest") == status.models[1]
    assert status.model("registry.ollama.ai/library/qwen2.5-coder:7b") == status.models[0]
    assert status.model("qwen2.5-coder") is None  # :latest is another tag
    assert model_key("ollama", "localhost:5000/team/m") == "localhost:5000/team/m:latest"
    assert model_key("openai-compatible", "Qwen") == "Qwen"


async def test_the_config_window_stands_in_for_one_nobody_reported() -> None:
    configured = Provider(type="ollama", url=OLLAMA.url, model="gone:1b", context_window=8192)
    status = await probe("ollama", configured, transport(ollama_server()))
    windows = {m.name: m.context_window for m in status.models}
    # Only the configured model gets the config's window; a reported one is never replaced.
    assert windows == {"qwen2.5-coder:7b": 32768, "llama3.2:latest": 131072, "gone:1b": 8192}


async def test_without_api_ps_loaded_is_unknown() -> None:
    status = await probe("ollama", OLLAMA, transport(ollama_server({("GET", "/api/ps"): None})))
    assert status.healthy
    assert [m.loaded for m in status.models] == [None, None, None]
    assert [m.loaded_context for m in status.models] == [None, None, None]


async def test_a_window_is_found_without_the_architecture() -> None:
    handler = routes(
        {
            ("GET", "/api/version"): {"version": "0.1.0"},
            ("GET", "/api/tags"): {"models": [{"name": "m:1b"}]},
            ("POST", "/api/show"): show(None, 2048) | {"capabilities": "not a list"},
        }
    )
    status = await probe("ollama", OLLAMA, transport(handler))
    assert status.models == (ModelInfo("m:1b", 2048, None, None),)


async def test_models_come_from_v1_models_when_api_tags_fails() -> None:
    handler = routes(
        {
            ("GET", "/api/version"): {"version": "0.5.0"},
            ("GET", "/api/tags"): httpx.Response(500, json={"error": "boom"}),
            ("GET", "/v1/models"): {"object": "list", "data": [{"id": "qwen:7b"}]},
            ("GET", "/api/ps"): {"models": []},
        }
    )
    status = await probe("ollama", OLLAMA, transport(handler))
    assert status.healthy
    assert status.models == (ModelInfo("qwen:7b", None, False, None),)


NOT_JSON = "answers GET /api/version with something other than JSON"
NOT_OLLAMA = "answers GET /api/version, but not as Ollama does"


async def test_when_neither_list_answers_the_error_names_api_tags() -> None:
    failing = {("GET", "/api/tags"): httpx.Response(500, json={"error": "boom"})}
    status = await probe("ollama", OLLAMA, transport(ollama_server(failing)))
    assert status.error == "http://ollama.test:11434 answers GET /api/tags with HTTP 500"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.Response(404, text="<html>nope</html>"), "answers GET /api/version with HTTP 404"),
        (httpx.Response(200, text="<html>hi</html>"), NOT_JSON),
        (httpx.Response(200, content=b"\xff\xfe"), NOT_JSON),
        (httpx.Response(200, json=["a"]), NOT_OLLAMA),
        (httpx.Response(200, json={"version": 3}), NOT_OLLAMA),
    ],
)
async def test_a_server_that_is_not_ollama_is_unhealthy(
    answer: httpx.Response, reason: str
) -> None:
    status = await probe("ollama", OLLAMA, transport(routes({("GET", "/api/version"): answer})))
    assert not status.healthy
    assert status.reachable  # it answers: not down, just not what discovery expects
    assert status.models == ()
    assert status.error == f"http://ollama.test:11434 {reason}"


async def test_a_refused_connection_is_named() -> None:
    async def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Cannot connect") from ConnectionRefusedError(111, "refused")

    status = await probe("ollama", OLLAMA, transport(refuse))
    assert status.error == "cannot reach http://ollama.test:11434: connection refused"
    assert not status.reachable


async def test_a_server_that_does_not_answer_in_time() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    status = await probe("ollama", OLLAMA, transport(hang), timeout=0.05)
    assert status.error == "cannot reach http://ollama.test:11434: no answer within 0.05 s"
    assert not status.reachable


async def test_slow_details_leave_the_provider_healthy() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    fast = ollama_server()

    async def handle(request: httpx.Request) -> httpx.Response:
        return await (slow if request.url.path == "/api/show" else fast)(request)

    status = await probe("ollama", OLLAMA, transport(handle), timeout=0.2)
    assert status.healthy
    assert [m.context_window for m in status.models] == [None, None, None]


async def test_credentials_are_sent_and_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_KEY", "sk-local-secret")
    seen: list[str | None] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(401, json={"error": "bad key sk-local-secret"})

    provider = Provider(
        type="openai-compatible",
        url="http://user:pw-secret@compat.test/v1",
        api_key_env="LOCAL_KEY",
    )
    status = await probe("compat", provider, transport(handle))
    assert "Bearer sk-local-secret" in seen
    assert status.url == "http://compat.test/v1"
    assert status.error == "http://compat.test/v1 answers GET /v1/models with HTTP 401"


# -- OpenAI-compatible -----------------------------------------------------------------------


async def test_what_vllm_and_llama_cpp_add_to_v1_models() -> None:
    data = [
        {"id": "Qwen/Qwen2.5-7B", "owned_by": "vllm", "max_model_len": 16384},
        {"id": "tiny", "owned_by": "llamacpp", "meta": {"n_ctx_train": 32768, "n_ctx": 4096}},
        {"id": "routed", "status": {"value": "unloaded"}},
        {"id": "plain", "owned_by": "me", "max_model_len": "not a number"},
        {"object": "model"},  # no id: skipped
    ]
    handler = routes({("GET", "/v1/models"): {"object": "list", "data": data}})
    status = await probe("compat", COMPATIBLE, transport(handler))
    assert status.healthy
    assert status.version is None
    assert status.models == (
        ModelInfo("Qwen/Qwen2.5-7B", 16384, True, 16384),
        ModelInfo("tiny", 32768, None, 4096),
        ModelInfo("routed", None, False, None),
        ModelInfo("plain", None, None, None),
    )


async def test_lm_studio_v1_tells_windows_and_loaded_instances() -> None:
    v1 = {
        "models": [
            {
                "type": "llm",
                "key": "qwen2.5-coder-7b-instruct",
                "size_bytes": 4_000_000_000,
                "loaded_instances": [{"id": "qwen", "config": {"context_length": 8192}}],
                "max_context_length": 32768,
                "capabilities": {"vision": False, "trained_for_tool_use": True},
            },
            {
                "type": "embedding",
                "key": "nomic",
                "loaded_instances": [],
                "max_context_length": 2048,
            },
        ]
    }
    data = [{"id": "qwen2.5-coder-7b-instruct"}, {"id": "nomic"}, {"id": "unlisted"}]
    handler = routes({("GET", "/v1/models"): {"data": data}, ("GET", "/api/v1/models"): v1})
    status = await probe("lmstudio", COMPATIBLE, transport(handler))
    assert status.models == (
        ModelInfo("qwen2.5-coder-7b-instruct", 32768, True, 8192, 4_000_000_000, ("tools",)),
        ModelInfo("nomic", 2048, False, None, None, ("embedding",)),
        ModelInfo("unlisted", None, None, None),
    )


async def test_lm_studio_v0_when_there_is_no_v1() -> None:
    v0 = {
        "data": [
            {"id": "a", "type": "llm", "state": "loaded", "max_context_length": 131072},
            {"id": "b", "type": "vlm", "state": "not-loaded", "max_context_length": 32768},
            {"id": "c", "state": "sleeping"},
        ]
    }
    data = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    handler = routes({("GET", "/v1/models"): {"data": data}, ("GET", "/api/v0/models"): v0})
    status = await probe("lmstudio", COMPATIBLE, transport(handler))
    assert status.models == (
        ModelInfo("a", 131072, True, None),
        ModelInfo("b", 32768, False, None),
        ModelInfo("c", None, None, None),
    )


async def test_config_window_for_a_server_that_tells_none() -> None:
    handler = routes({("GET", "/v1/models"): {"data": [{"id": "a"}, {"id": "b"}]}})
    every = Provider(type="openai-compatible", url=COMPATIBLE.url, context_window=4096)
    one = every.model_copy(update={"model": "b"})
    assert [m.context_window for m in (await probe("x", every, transport(handler))).models] == [
        4096,
        4096,
    ]
    assert [m.context_window for m in (await probe("x", one, transport(handler))).models] == [
        None,
        4096,
    ]


@pytest.mark.parametrize(
    "answer", [{"data": "nope"}, {"models": []}, [1, 2], httpx.Response(200, text="ok")]
)
async def test_a_server_without_an_openai_model_list_is_unhealthy(answer: Any) -> None:
    status = await probe("x", COMPATIBLE, transport(routes({("GET", "/v1/models"): answer})))
    assert not status.healthy
    assert status.error is not None
    assert status.error.startswith("http://compat.test:8000/v1 answers GET /v1/models")


async def test_probe_all_asks_every_local_provider_at_once() -> None:
    # Each server answers only once the other has been asked: one after the other would hang.
    arrived = {"a.test": asyncio.Event(), "b.test": asyncio.Event()}

    async def handle(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        arrived[host].set()
        other = next(event for name, event in arrived.items() if name != host)
        await asyncio.wait_for(other.wait(), 5)
        return httpx.Response(200, json={"data": [{"id": host}]})

    providers = {
        "a": Provider(type="openai-compatible", url="http://a.test/v1"),
        "cloud": Provider(type="anthropic"),
        "b": Provider(type="openai-compatible", url="http://b.test/v1"),
    }
    statuses = await probe_all(providers, transport(handle), timeout=10)
    assert [(s.name, s.healthy) for s in statuses] == [("a", True), ("b", True)]


async def test_probe_refuses_a_cloud_provider() -> None:
    with pytest.raises(ValueError, match="not local"):
        await probe("anthropic", Provider(type="anthropic"), transport(routes({})))


# -- detect ----------------------------------------------------------------------------------


async def test_detect_finds_ollama_at_its_root_even_given_v1() -> None:
    handler = ollama_server()
    assert await detect("http://ollama.test:11434", transport(handler)) == (
        "ollama",
        "http://ollama.test:11434",
    )
    assert await detect("ollama.test:11434/v1/", transport(handler)) == (
        "ollama",
        "http://ollama.test:11434",
    )


async def test_detect_finds_an_openai_compatible_base() -> None:
    models = {"object": "list", "data": [{"id": "m"}]}
    at_v1 = routes({("GET", "/v1/models"): models})
    assert await detect("http://compat.test:1234", transport(at_v1)) == (
        "openai-compatible",
        "http://compat.test:1234/v1",
    )
    under_prefix = routes({("GET", "/openai/models"): models})
    assert await detect("http://compat.test/openai", transport(under_prefix)) == (
        "openai-compatible",
        "http://compat.test/openai",
    )


async def test_detect_explains_a_server_that_is_neither() -> None:
    with pytest.raises(DiscoveryError) as caught:
        await detect("http://web.test", transport(routes({})))
    assert str(caught.value) == (
        "http://web.test answers, but neither as Ollama (answers GET /api/version with HTTP "
        "404) nor as an OpenAI-compatible server (answers GET /v1/models with HTTP 404)"
    )


async def test_detect_explains_an_unreachable_server() -> None:
    async def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Cannot connect") from ConnectionRefusedError(111, "refused")

    with pytest.raises(
        DiscoveryError, match=r"^cannot reach http://127.0.0.1:9: connection refused$"
    ):
        await detect("http://127.0.0.1:9", transport(refuse))


@pytest.mark.parametrize("url", ["ftp://host/x", "http://", "http://[bad"])
def test_urls_that_are_not_http_are_refused(url: str) -> None:
    with pytest.raises(DiscoveryError, match="URL"):
        normalize_url(url)
